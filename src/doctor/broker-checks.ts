import { compareVersions, parseVersion } from './celery-version';
import { DoctorFacts, engineVersionOf, mingleOnSomewhere } from './facts';
import { Finding } from './finding';
import { formatSeconds, listSome } from './format';
import {
  AMAZON_MQ_DEFAULT_CONSUMER_TIMEOUT_MS, CELERY_VERSIONS, CURRENT_ENGINE_VERSIONS, EVALUATION_INSTANCE_TYPES, LIBRARY_CONSUMER_TIMEOUT_MS,
  REFUSED_INSTANCE_TYPES,
} from './knowledge';

/** Checks of the broker itself (Amazon MQ DescribeBroker and its configuration revision). */
export function brokerChecks(facts: DoctorFacts): Finding[] {
  const b = facts.broker;
  if (!b) return [];
  const subject = `broker ${b.name}`;
  const out: Finding[] = [];
  const add = (f: Omit<Finding, 'section' | 'subject'> & { subject?: string }) => out.push({ section: 'broker', subject, ...f });

  if (b.engineType.toUpperCase() !== 'RABBITMQ') {
    add({
      check: 'broker.engine-type',
      severity: 'critical',
      title: `${b.engineType} broker, not RabbitMQ`,
      evidence: [`EngineType ${b.engineType}`],
      fix: 'Point --broker at the Amazon MQ for RabbitMQ broker the workers use.',
    });
    return out;
  }

  if (b.state && b.state !== 'RUNNING') {
    add({
      check: 'broker.state',
      severity: 'high',
      title: `broker is ${b.state}, not RUNNING`,
      evidence: [`BrokerState ${b.state}`],
      fix: 'Wait for the broker to be RUNNING; a reboot only works then.',
    });
  }

  const v = parseVersion(b.engineVersion);
  const mm = v ? `${v[0]}.${v[1]}` : undefined;
  if (!v) {
    add({ check: 'broker.engine-version', severity: 'info', title: 'engine version unknown', evidence: [`EngineVersion ${b.engineVersion ?? '(none)'}`] });
  } else if (!CURRENT_ENGINE_VERSIONS.includes(mm!) && compareVersions(v, [3, 13, 0]) < 0) {
    add({
      check: 'broker.engine-version',
      severity: 'high',
      title: `RabbitMQ ${b.engineVersion} is past end of support`,
      evidence: [`EngineVersion ${b.engineVersion}; Amazon MQ supports ${CURRENT_ENGINE_VERSIONS.join(', ')}`],
      fix: 'RabbitMqBroker engineVersion: RabbitMqEngineVersion.V3_13 (any Celery 5), or V4_2 with Celery >= 5.5 and quorum queues.',
    });
  } else {
    const needs = v[0] >= 4
      ? mm === '4.3'
        ? `Celery >= ${CELERY_VERSIONS.exclusiveControlQueues} with quorum task queues and control_queue_exclusive / event_queue_exclusive (4.3 refuses global QoS and transient non-exclusive queues)`
        : `Celery >= ${CELERY_VERSIONS.quorum} with the task queues declared quorum (new queues are quorum by default; quorum queues refuse global QoS)`
      : 'any Celery 5; classic queues by default';
    add({
      check: 'broker.engine-version',
      severity: 'ok',
      title: `RabbitMQ ${b.engineVersion}`,
      evidence: [`needs ${needs}`],
    });
  }

  const type = b.instanceType ?? '';
  if (REFUSED_INSTANCE_TYPES[type]) {
    add({
      check: 'broker.instance-type',
      severity: 'high',
      title: `${type}: ${REFUSED_INSTANCE_TYPES[type]}`,
      evidence: [`HostInstanceType ${type}`],
      fix: 'RabbitMqBroker instanceType: RabbitMqInstanceType.M7G_LARGE (the default) or larger.',
    });
  } else if (EVALUATION_INSTANCE_TYPES.includes(type)) {
    add({
      check: 'broker.instance-type',
      severity: 'medium',
      title: `${type} is meant for evaluation`,
      evidence: [`HostInstanceType ${type}: one vCPU, the smallest memory limit`],
      fix: 'RabbitMqBroker instanceType: RabbitMqInstanceType.M7G_LARGE or larger for production fleets.',
    });
  } else if (type) {
    add({ check: 'broker.instance-type', severity: 'ok', title: type, evidence: [`HostInstanceType ${type}`] });
  }

  const mingle = mingleOnSomewhere(facts);
  if (b.deploymentMode === 'SINGLE_INSTANCE') {
    add({
      check: 'broker.deployment-mode',
      severity: mingle ? 'medium' : 'low',
      title: 'single-instance broker',
      evidence: [
        'DeploymentMode SINGLE_INSTANCE: every reboot and maintenance disconnects all workers at once',
        ...(mingle ? ['mingle is on in a fleet: each reconnecting worker reruns it, all at the same moment'] : []),
      ],
      fix: 'RabbitMqBroker deploymentMode: RabbitMqDeploymentMode.CLUSTER_MULTI_AZ (replaces the broker), and turn mingle off.',
    });
  } else if (b.deploymentMode) {
    add({ check: 'broker.deployment-mode', severity: 'ok', title: b.deploymentMode, evidence: [`DeploymentMode ${b.deploymentMode}`] });
  }

  const pending: string[] = [];
  if (b.pendingEngineVersion && b.pendingEngineVersion !== b.engineVersion) pending.push(`engine ${b.engineVersion} -> ${b.pendingEngineVersion}`);
  if (b.pendingInstanceType && b.pendingInstanceType !== b.instanceType) pending.push(`instance type ${b.instanceType} -> ${b.pendingInstanceType}`);
  const cfg = b.configuration;
  if (cfg?.pending) pending.push(`configuration ${cfg.id} revision ${cfg.revision} -> ${cfg.pending.id} revision ${cfg.pending.revision}`);
  if (pending.length > 0) {
    add({
      check: 'broker.pending-changes',
      severity: mingle ? 'high' : 'medium',
      title: 'changes wait for a reboot',
      evidence: [
        ...pending,
        `applied at the next reboot or maintenance window${b.maintenanceWindow ? ` (${b.maintenanceWindow})` : ''}: every worker reconnects at once`,
        ...(mingle ? ['mingle is on in a fleet: the reconnect wave is a mingle storm'] : []),
      ],
      fix: 'Turn mingle off first (CeleryWorkerFleet renders --without-mingle), then reboot at a quiet time; RabbitMqBroker configurationChangePolicy decides when the library reboots.',
    });
  } else {
    add({ check: 'broker.pending-changes', severity: 'ok', title: 'nothing waits for a reboot', evidence: ['no pending engine, instance type or configuration'] });
  }

  out.push(...consumerTimeoutCheck(facts, subject));
  return out;
}

/** The Celery release a RabbitMQ version needs, or undefined when any Celery 5 works. */
export function celeryNeededFor(engineVersion: string | undefined): string | undefined {
  const v = parseVersion(engineVersion);
  if (!v || v[0] < 4) return undefined;
  return v[0] === 4 && v[1] < 3 ? CELERY_VERSIONS.quorum : CELERY_VERSIONS.exclusiveControlQueues;
}

/**
 * Celery versions found (pinned in user data, reported by live workers) against the engine
 * (Amazon MQ's, else the management API's) and a pending engine upgrade.
 */
export function celeryCompatibilityChecks(facts: DoctorFacts): Finding[] {
  const engine = engineVersionOf(facts);
  const section = facts.broker ? 'broker' : 'live';
  const subject = facts.broker ? `broker ${facts.broker.name}` : `broker ${facts.live?.amqpHost ?? ''}`;
  const needed = celeryNeededFor(engine);
  const pendingNeeded = celeryNeededFor(facts.broker?.pendingEngineVersion);
  const found: Array<{ who: string; version: string }> = [];
  for (const f of facts.fleets ?? []) for (const p of f.celeryPins) found.push({ who: `asg ${f.name} pins celery${/^\d/.test(p) ? '==' : ''}${p}`, version: p });
  for (const w of facts.live?.workers ?? []) if (w.celeryVersion) found.push({ who: `${w.node} runs ${w.celeryVersion}`, version: w.celeryVersion });
  if (found.length === 0) return [];
  const tooOld = (need: string | undefined) => need ? found.filter((x) => {
    const a = parseVersion(x.version);
    const b = parseVersion(need);
    return a && b && compareVersions(a, b) < 0;
  }) : [];
  const now = tooOld(needed);
  if (now.length > 0) {
    return [{
      check: 'broker.celery-compatibility',
      section,
      subject,
      severity: 'critical',
      title: `RabbitMQ ${engine} needs Celery >= ${needed}`,
      evidence: [listSome(now.map((x) => x.who))],
      fix: `Upgrade Celery to ${needed} or later and declare the task queues quorum (task_default_queue_type = "quorum").`,
    }];
  }
  const later = tooOld(pendingNeeded);
  if (later.length > 0) {
    return [{
      check: 'broker.celery-compatibility',
      section,
      subject,
      severity: 'critical',
      title: `the pending RabbitMQ ${facts.broker?.pendingEngineVersion} needs Celery >= ${pendingNeeded}`,
      evidence: [listSome(later.map((x) => x.who)), 'the upgrade happens at the next reboot or maintenance window'],
      fix: `Upgrade Celery to ${pendingNeeded} or later before the broker reboots.`,
    }];
  }
  return [{
    check: 'broker.celery-compatibility',
    section,
    subject,
    severity: 'ok',
    title: `Celery versions fit RabbitMQ ${engine ?? '(unknown)'}`,
    evidence: [listSome(found.map((x) => x.who))],
  }];
}

/** `consumer_timeout` against the longest task the workers may run. */
function consumerTimeoutCheck(facts: DoctorFacts, subject: string): Finding[] {
  const cfg = facts.broker?.configuration;
  if (cfg?.readError) {
    return [{
      check: 'broker.consumer-timeout',
      section: 'broker',
      subject,
      severity: 'info',
      title: 'configuration revision not readable',
      evidence: [`configuration ${cfg.id} revision ${cfg.revision}: ${cfg.readError}`],
    }];
  }
  const timeoutMs = cfg?.consumerTimeoutMs ?? AMAZON_MQ_DEFAULT_CONSUMER_TIMEOUT_MS;
  const source = cfg?.consumerTimeoutMs !== undefined
    ? `consumer_timeout = ${timeoutMs} ms in configuration ${cfg.id} revision ${cfg.revision}`
    : `consumer_timeout not set: Amazon MQ's default ${AMAZON_MQ_DEFAULT_CONSUMER_TIMEOUT_MS} ms`;
  const timeoutText = timeoutMs === 0 ? 'disabled' : formatSeconds(Math.round(timeoutMs / 1000));
  const fix = `RabbitMqBroker configuration.consumerTimeout (the library renders ${formatSeconds(LIBRARY_CONSUMER_TIMEOUT_MS / 1000)}) longer than the longest task and ETA wait, and a hard time limit (CeleryWorkerFleet worker timeLimit) below it.`;
  if (timeoutMs === 0) {
    return [{ check: 'broker.consumer-timeout', section: 'broker', subject, severity: 'ok', title: 'consumer_timeout disabled', evidence: [source] }];
  }
  // Hard time limits the workers run with: command lines, then live workers.
  const limits: Array<{ who: string; seconds?: number }> = [];
  for (const f of facts.fleets ?? []) {
    for (const c of f.commands) limits.push({ who: `asg ${f.name}`, seconds: c.facts.timeLimitSeconds });
  }
  for (const w of facts.live?.workers ?? []) {
    const hard = w.timeLimits?.[1] || Number(w.conf.task_time_limit) || undefined;
    if (w.timeLimits || w.conf.task_time_limit !== undefined) limits.push({ who: w.node, seconds: hard });
  }
  if (limits.length === 0) {
    return [{
      check: 'broker.consumer-timeout',
      section: 'broker',
      subject,
      severity: 'info',
      title: `consumer_timeout ${timeoutText}`,
      evidence: [source, 'no worker time limits known (pass --asg or broker credentials to compare)'],
    }];
  }
  const over = limits.filter((l) => l.seconds !== undefined && l.seconds * 1000 > timeoutMs);
  const none = limits.filter((l) => l.seconds === undefined);
  const whoList = (ls: typeof limits) => listSome([...new Set(ls.map((l) => l.seconds !== undefined ? `${l.who} (${formatSeconds(l.seconds)})` : l.who))]);
  if (over.length > 0) {
    return [{
      check: 'broker.consumer-timeout',
      section: 'broker',
      subject,
      severity: 'high',
      title: `tasks may run longer than consumer_timeout (${timeoutText})`,
      evidence: [source, `hard time limits above it: ${whoList(over)}`,
        'a late-acked task running longer gets its channel closed (PRECONDITION_FAILED) and runs again'],
      fix,
    }];
  }
  if (none.length > 0) {
    return [{
      check: 'broker.consumer-timeout',
      section: 'broker',
      subject,
      severity: 'medium',
      title: `no task time limit under consumer_timeout (${timeoutText})`,
      evidence: [source, `no hard time limit: ${whoList(none)}`,
        'a task (or an ETA/countdown wait) longer than the timeout loses its channel and is redelivered'],
      fix,
    }];
  }
  return [{
    check: 'broker.consumer-timeout',
    section: 'broker',
    subject,
    severity: 'ok',
    title: `consumer_timeout ${timeoutText} covers the time limits`,
    evidence: [source, `hard time limits: ${whoList(limits)}`],
  }];
}
