import { parseVersion } from './celery-version';
import { DoctorFacts, LiveWorker } from './facts';
import { Finding, Severity } from './finding';
import { formatBytes, formatCount, listSome } from './format';
import { CELERY_VERSIONS, HEARTBEAT_BYTES_PER_MINUTE, SAFE_PREFETCH_MULTIPLIER } from './knowledge';

/**
 * Checks of the running workers (remote control and the management API). Workers are grouped by
 * outcome, so a broker shared by a default fleet and a safe fleet gets one finding per group,
 * naming its workers.
 */
export function liveChecks(facts: DoctorFacts): Finding[] {
  const live = facts.live;
  if (!live) return [];
  const out: Finding[] = [];
  const brokerSubject = `broker ${live.amqpHost}${live.vhost === '/' ? '' : ` vhost ${live.vhost}`}`;

  const probe = `ping, stats, conf, active_queues and report sent (${live.requests.map((r) => `${r.method}: ${r.replies} replies, ${formatBytes(r.replyBytes)}`).join('; ') || 'none'})`;
  if (!live.remoteControlExchange) {
    out.push({
      check: 'live.workers',
      section: 'live',
      subject: brokerSubject,
      severity: live.workers.length > 0 ? 'info' : 'medium',
      title: live.workers.length > 0 ? `${formatCount(live.workers.length)} worker(s) seen by heartbeat only: remote control is off` : 'no workers found',
      evidence: ['no celery.pidbox exchange in this vhost: no worker has remote control on', ...live.partial],
      fix: live.workers.length > 0 ? undefined : 'Check the vhost (in the URL) and that workers run.',
    });
  } else {
    out.push({
      check: 'live.workers',
      section: 'live',
      subject: brokerSubject,
      severity: live.workers.length > 0 ? 'ok' : 'medium',
      title: `${formatCount(live.workers.length)} worker(s) answered ping`,
      evidence: [listSome(live.workers.map((w) => w.node), 6), probe, ...live.partial],
      fix: live.workers.length > 0 ? undefined : 'Check the vhost (in the URL) and that workers run.',
    });
  }
  if (live.workers.length === 0) return out;

  const grouped = (check: string, judge: (w: LiveWorker) => { severity: Severity; title: string; evidence: string; fix?: string } | undefined) => {
    const groups = new Map<string, { severity: Severity; title: string; evidence: string[]; fix?: string; nodes: string[] }>();
    for (const w of live.workers) {
      const j = judge(w);
      if (!j) continue;
      const key = `${j.severity}\0${j.title}`;
      const g = groups.get(key) ?? { severity: j.severity, title: j.title, evidence: [], fix: j.fix, nodes: [] };
      g.nodes.push(w.node);
      if (!g.evidence.includes(j.evidence)) g.evidence.push(j.evidence);
      groups.set(key, g);
    }
    for (const g of groups.values()) {
      out.push({
        check,
        section: 'live',
        severity: g.severity,
        title: g.title,
        fix: g.fix,
        subject: g.nodes.length === 1 ? g.nodes[0] : `${g.nodes.length} workers: ${listSome(g.nodes, 3)}`,
        evidence: [...g.evidence.slice(0, 3), ...(g.nodes.length > 1 ? [`workers: ${listSome(g.nodes, 8)}`] : [])],
      });
    }
  };

  grouped('live.prefetch', (w) => {
    if (!w.prefetchCount || !w.concurrency) return undefined;
    const multiplier = w.prefetchCount / w.concurrency;
    const ev = `prefetch_count ${w.prefetchCount} for ${w.concurrency} process(es): multiplier ${multiplier}`;
    return multiplier > SAFE_PREFETCH_MULTIPLIER
      ? { severity: 'low', title: `prefetch multiplier ${multiplier}`, evidence: ev, fix: `--prefetch-multiplier ${SAFE_PREFETCH_MULTIPLIER} (CeleryWorkerFleet prefetchMultiplier).` }
      : { severity: 'ok', title: `prefetch multiplier ${multiplier}`, evidence: ev };
  });

  grouped('live.acks-late', (w) => w.conf.task_acks_late === true
    ? { severity: 'ok', title: 'late acks', evidence: `task_acks_late ${w.conf.task_acks_late}, task_reject_on_worker_lost ${w.conf.task_reject_on_worker_lost ?? false}` }
    : { severity: 'low', title: 'tasks acknowledged on receipt', evidence: 'task_acks_late not set (conf): a worker killed mid-task loses its task', fix: 'CeleryWorkerFleet acksLate: true (the default), with idempotent tasks.' });

  grouped('live.gossip', (w) => w.gossip === undefined ? undefined : w.gossip
    ? { severity: 'medium', title: 'gossip on', evidence: `consumes a celeryev.* queue on its own connection: every worker's events, ${formatCount(live.workers.length ** 2)} deliveries every 2 s across the fleet`, fix: '--without-gossip (CeleryWorkerFleet enableGossip: false, the default).' }
    : { severity: 'ok', title: 'gossip off', evidence: 'no celeryev.* queue on its connection' });

  grouped('live.heartbeat', (w) => (w.heartbeatsSeen ?? 0) > 0
    ? { severity: 'low', title: 'heartbeat events on', evidence: `worker-heartbeat events seen in ${live.heartbeatSampleSeconds} s (about ${formatBytes(HEARTBEAT_BYTES_PER_MINUTE)} per minute each)`, fix: '--without-heartbeat (CeleryWorkerFleet enableHeartbeatEvents: false, the default) unless Flower needs them.' }
    : { severity: 'ok', title: 'no heartbeat events', evidence: `no worker-heartbeat event in ${live.heartbeatSampleSeconds} s` });

  const engine = parseVersion(facts.broker?.engineVersion ?? live.rabbitmqVersion);
  grouped('live.celery-version', (w) => {
    const v = parseVersion(w.celeryVersion);
    if (!v) return undefined;
    if (v[0] === 5 && v[1] < 3) {
      return { severity: 'medium', title: `Celery ${w.celeryVersion} exits 0 after a crash`, evidence: `Celery ${w.celeryVersion}: 5.0 to 5.2 exit 0 after "Unrecoverable error"`, fix: `Celery >= ${CELERY_VERSIONS.exitZeroFixed}; a supervisor that restarts on every exit (CeleryWorkerFleet: Restart=always).` };
    }
    return { severity: 'ok', title: `Celery ${w.celeryVersion}`, evidence: `Celery ${w.celeryVersion} (report)` };
  });

  // Task queues the workers consume: their type on the broker against the engine and Celery's declaration.
  const byName = new Map(live.queues.map((q) => [q.name, q]));
  grouped('live.queue-types', (w) => {
    const qs = w.queues.map((q) => ({ ...q, broker: byName.get(q.name) }));
    if (qs.length === 0) return undefined;
    const undeclaredQuorum = qs.filter((q) => q.broker?.type === 'quorum' && q.declaredType !== 'quorum');
    const desc = qs.map((q) => `${q.name}: ${q.broker?.type ?? '?'} on the broker, declared ${q.declaredType ?? 'without x-queue-type'}`).join('; ');
    if (undeclaredQuorum.length > 0) {
      return {
        severity: 'high',
        title: 'quorum queue not declared quorum by Celery',
        evidence: desc,
        fix: 'task_default_queue_type = "quorum" (Celery >= 5.5) so worker_detect_quorum_queues sees it; otherwise Celery applies global QoS, which quorum queues refuse.',
      };
    }
    if (engine && engine[0] >= 4 && qs.some((q) => q.broker?.type === 'classic')) {
      return {
        severity: 'low',
        title: 'classic task queues on RabbitMQ 4',
        evidence: desc,
        fix: 'Quorum task queues (task_default_queue_type = "quorum", Celery >= 5.5): replicated, and what 4.3 expects.',
      };
    }
    return { severity: 'ok', title: 'queue types fit the engine', evidence: desc };
  });

  // Transient non-exclusive queues: RabbitMQ 4.3 refuses to declare them, so the workers that
  // declare them cannot start there. On 4.0 to 4.2 that is the next upgrade (Amazon MQ reaches 4.3
  // only from 4.2); on 3.x a later one.
  const transient = live.queues.filter((q) => !q.durable && !q.exclusive);
  const is43 = engine ? engine[0] > 4 || (engine[0] === 4 && engine[1] >= 3) : false;
  const is4 = engine ? engine[0] >= 4 : false;
  out.push(transient.length > 0 ? {
    check: 'live.transient-queues',
    section: 'live',
    subject: brokerSubject,
    severity: is43 ? 'critical' : is4 ? 'medium' : 'low',
    title: `${formatCount(transient.length)} transient non-exclusive queue(s)${is43 ? '' : ': RabbitMQ 4.3 refuses them'}`,
    evidence: [
      listSome(transient.map((q) => q.name), 5),
      'Celery\'s remote-control (*.celery.pidbox) and event (celeryev.*) queues are transient unless made exclusive',
      ...(is4 && !is43 ? [`on RabbitMQ ${engine!.slice(0, 2).join('.')}, the upgrade to 4.3 is the next one: workers that declare them would not start there`] : []),
    ],
    fix: `control_queue_exclusive = True and event_queue_exclusive = True (Celery >= ${CELERY_VERSIONS.exclusiveControlQueues}) before moving to 4.3.`,
  } : {
    check: 'live.transient-queues',
    section: 'live',
    subject: brokerSubject,
    severity: 'ok',
    title: 'no transient non-exclusive queue',
    evidence: [live.queues.length > 0 ? `${formatCount(live.queues.length)} queues read` : 'queues not read (management API)'],
  });

  out.push({
    check: 'live.mingle',
    section: 'live',
    subject: brokerSubject,
    severity: 'info',
    title: 'mingle is not observable on running workers',
    evidence: ['asking would mean sending hello, which is the traffic this tool exists to prevent; it is judged from the command lines (fleet.mingle, with --asg)'],
  });
  return out;
}
