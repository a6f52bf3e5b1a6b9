import { olderThan } from './celery-version';
import { DoctorFacts, FleetCommand, FleetFacts } from './facts';
import { Finding } from './finding';
import { formatBytes, formatCount } from './format';
import {
  BYTES_PER_REVOKED_ID, CELERY_REVOKES_MAX, CELERY_VERSIONS, HEARTBEAT_BYTES_PER_MINUTE, LIBRARY_REVOKES_MAX, REVOKES_MAX_ENV,
  SAFE_BOOTSTEP_FLAGS, SAFE_PREFETCH_MULTIPLIER,
} from './knowledge';

/** Longest command line quoted in evidence. */
const MAX_LINE = 160;

/** The revoked-set cap a fleet's workers run with (Celery's 50,000 unless the environment lowers it on >= 5.3). */
export function revokedCap(fleet: FleetFacts): number {
  const env = Number(fleet.environment[REVOKES_MAX_ENV]);
  const old = fleet.celeryPins.some((p) => olderThan(p.replace(/^[^\d]+/, ''), CELERY_VERSIONS.revokedEnv));
  return Number.isFinite(env) && env > 0 && !old ? env : CELERY_REVOKES_MAX;
}

/** Workers a fleet runs: desired capacity x workers per instance. */
export function fleetWorkers(fleet: FleetFacts): number {
  const perInstance = fleet.commands.length === 0 ? 1 : Math.max(...fleet.commands.map((c) => c.facts.nodes));
  return Math.max(fleet.desired, fleet.inService) * perInstance;
}

/** Checks of each Auto Scaling group's launch configuration (its user data). */
export function fleetChecks(facts: DoctorFacts): Finding[] {
  return (facts.fleets ?? []).flatMap((f) => checksOf(f));
}

function shortLine(c: FleetCommand): string {
  const text = c.argv.join(' ');
  return text.length > MAX_LINE ? `${text.slice(0, MAX_LINE - 3)}...` : text;
}

function checksOf(fleet: FleetFacts): Finding[] {
  const subject = `asg ${fleet.name}`;
  const out: Finding[] = [];
  const add = (f: Omit<Finding, 'section' | 'subject'>) => out.push({ section: 'fleet', subject, ...f });
  const made = fleet.library ? ' (user data rendered by cdk-celery)' : '';

  if (fleet.userDataError) {
    add({ check: 'fleet.worker-command', severity: 'medium', title: 'user data not readable', evidence: [`${fleet.launchSource}: ${fleet.userDataError}`] });
    return out;
  }
  if (fleet.commands.length === 0) {
    add({
      check: 'fleet.worker-command',
      severity: 'medium',
      title: 'no celery worker command line in the user data',
      evidence: [`${fleet.launchSource}: ${formatBytes(fleet.userDataBytes)} of user data, no "celery ... worker" or "celery multi start" line`,
        'the command may be baked into the image or started by a tool the doctor cannot read: the fleet checks could not judge it'],
      fix: 'Run the workers with CeleryWorkerFleet, or check the image\'s service definition by hand against this report\'s rules.',
    });
    return out;
  }
  add({
    check: 'fleet.worker-command',
    severity: 'ok',
    title: `${plural(fleet.commands.length, 'worker command line')} found${made}`,
    evidence: [`${fleet.launchSource}; ${formatCount(fleet.desired)} instance(s) desired, ${formatCount(fleetWorkers(fleet))} worker(s)`,
      ...fleet.commands.map((c) => `${c.origin}: ${shortLine(c)}`)],
  });

  const cap = revokedCap(fleet);
  const n = fleetWorkers(fleet);
  const synchronised = fleet.schedules.filter((s) => s.synchronised);
  const mingle = fleet.commands.filter((c) => c.facts.mingle);
  if (mingle.length > 0) {
    const answering = Math.max(n - 1, 0);
    const perJoin = answering * cap * BYTES_PER_REVOKED_ID;
    add({
      check: 'fleet.mingle',
      severity: synchronised.length > 0 && n > 1 ? 'critical' : 'high',
      title: 'mingle is on: each worker start pulls every peer\'s revoked set',
      evidence: [
        `no --without-mingle: ${shortLine(mingle[0])}`,
        `${formatCount(answering)} peer(s) x up to ${formatCount(cap)} revoked ids x ${BYTES_PER_REVOKED_ID} B = up to ${formatBytes(perJoin)} per start`,
        ...(synchronised.length > 0 ? [`restarts are synchronised (${synchronised[0].schedule}): ${formatCount(n)} starts at once, up to ${formatBytes(n * perJoin)}`] : []),
      ],
      fix: `CeleryWorkerFleet (mingle off by default) or add ${SAFE_BOOTSTEP_FLAGS.join(' ')} to the worker command.`,
    });
  } else {
    add({ check: 'fleet.mingle', severity: 'ok', title: 'mingle off', evidence: ['--without-mingle on every worker command line'] });
  }

  const gossip = fleet.commands.filter((c) => c.facts.gossip);
  add(gossip.length > 0 ? {
    check: 'fleet.gossip',
    severity: 'medium',
    title: 'gossip is on: every worker consumes every worker\'s events',
    evidence: [`no --without-gossip: ${formatCount(n)} workers = ${formatCount(n * n)} event deliveries every 2 s`],
    fix: 'CeleryWorkerFleet enableGossip: false (the default), or --without-gossip.',
  } : { check: 'fleet.gossip', severity: 'ok', title: 'gossip off', evidence: ['--without-gossip on every worker command line'] });

  const heartbeat = fleet.commands.filter((c) => c.facts.heartbeat);
  add(heartbeat.length > 0 ? {
    check: 'fleet.heartbeat',
    severity: 'low',
    title: 'heartbeat events are on',
    evidence: [`no --without-heartbeat: about ${formatBytes(HEARTBEAT_BYTES_PER_MINUTE * n)} per minute into the broker from ${formatCount(n)} workers`],
    fix: 'CeleryWorkerFleet enableHeartbeatEvents: false (the default) unless Flower or celery events need them.',
  } : { check: 'fleet.heartbeat', severity: 'ok', title: 'heartbeat events off', evidence: ['--without-heartbeat on every worker command line'] });

  const prefetch = Math.max(...fleet.commands.map((c) => c.facts.prefetchMultiplier));
  const explicit = fleet.commands.every((c) => c.facts.prefetchMultiplierExplicit);
  add(prefetch > SAFE_PREFETCH_MULTIPLIER ? {
    check: 'fleet.prefetch',
    severity: 'low',
    title: `prefetch multiplier ${prefetch}`,
    evidence: [`${explicit ? '--prefetch-multiplier' : 'not set: Celery\'s default'} ${prefetch}: each process reserves ${prefetch} messages a dying worker strands`],
    fix: `CeleryWorkerFleet prefetchMultiplier (default ${SAFE_PREFETCH_MULTIPLIER}) or --prefetch-multiplier ${SAFE_PREFETCH_MULTIPLIER}.`,
  } : { check: 'fleet.prefetch', severity: 'ok', title: `prefetch multiplier ${prefetch}`, evidence: ['--prefetch-multiplier on the command line'] });

  const acks = fleet.commands.map((c) => c.facts.acksLate);
  add(acks.every((a) => a === true) ? {
    check: 'fleet.acks-late', severity: 'ok', title: 'late acks', evidence: ['task_acks_late=True on the command line'],
  } : acks.some((a) => a === false) ? {
    check: 'fleet.acks-late',
    severity: 'low',
    title: 'late acks turned off',
    evidence: ['task_acks_late=False on the command line: a worker killed mid-task loses the task'],
    fix: 'CeleryWorkerFleet acksLate: true (the default).',
  } : {
    check: 'fleet.acks-late',
    severity: 'info',
    title: 'late acks not on the command line',
    evidence: ['the application\'s own configuration may set task_acks_late; broker credentials let the doctor ask the workers (live.acks-late)'],
    fix: 'CeleryWorkerFleet acksLate: true (the default) renders task_acks_late=True and task_reject_on_worker_lost=True.',
  });

  const envCap = fleet.environment[REVOKES_MAX_ENV];
  const oldCelery = fleet.celeryPins.filter((p) => olderThan(p.replace(/^[^\d]+/, ''), CELERY_VERSIONS.revokedEnv));
  add(cap <= LIBRARY_REVOKES_MAX ? {
    check: 'fleet.revoked-set-cap',
    severity: 'ok',
    title: `revoked set capped at ${formatCount(cap)} ids`,
    evidence: [`${REVOKES_MAX_ENV}=${envCap}: a full set is ${formatBytes(cap * BYTES_PER_REVOKED_ID)} in a mingle reply`],
  } : {
    check: 'fleet.revoked-set-cap',
    severity: mingle.length > 0 ? 'medium' : 'low',
    title: `revoked set up to ${formatCount(cap)} ids`,
    evidence: [
      envCap ? `${REVOKES_MAX_ENV}=${envCap}` : `${REVOKES_MAX_ENV} not set: Celery's ${formatCount(CELERY_REVOKES_MAX)}`,
      ...(oldCelery.length > 0 ? [`celery ${oldCelery.join(', ')} ignores the variable (read from 5.3.0)`] : []),
      `expired tasks fill it too: up to ${formatBytes(cap * BYTES_PER_REVOKED_ID)} per mingle reply`,
    ],
    fix: `CeleryWorkerFleet revokesMax (default ${formatCount(LIBRARY_REVOKES_MAX)}) renders ${REVOKES_MAX_ENV}; Celery >= 5.3 reads it.`,
  });

  for (const c of fleet.commands) {
    if (c.facts.stateDb) {
      add({
        check: 'fleet.state-db',
        severity: 'high',
        title: '--statedb persists the revoked set',
        evidence: [`${shortLine(c)}`, 'the revoked set survives restarts and grows every mingle reply'],
        fix: 'Remove --statedb/-S (CeleryWorkerFleet refuses it).',
      });
    }
    if (c.facts.purge) {
      add({
        check: 'fleet.purge',
        severity: 'high',
        title: '--purge erases the queues at every start',
        evidence: [shortLine(c), 'in an Auto Scaling group every launch deletes the waiting tasks'],
        fix: 'Remove --purge/--discard (CeleryWorkerFleet refuses it).',
      });
    }
    if (c.facts.detach) {
      add({
        check: 'fleet.detach',
        severity: 'medium',
        title: 'the worker detaches from its supervisor',
        evidence: [shortLine(c)],
        fix: 'Run a foreground worker under systemd with Restart=always (CeleryWorkerFleet does).',
      });
    }
  }

  if (fleet.schedules.length === 0) {
    add({ check: 'fleet.restart-schedule', severity: 'ok', title: 'no planned restarts', evidence: ['no cron line or systemd timer that restarts the worker'] });
  }
  for (const s of fleet.schedules) {
    add(s.synchronised ? {
      check: 'fleet.restart-schedule',
      severity: mingle.length > 0 && n > 1 ? 'critical' : 'high',
      title: `synchronised restarts: ${s.schedule} on every instance`,
      evidence: [`${s.origin}: ${s.schedule} ${s.command}`.slice(0, MAX_LINE),
        `${formatCount(n)} workers restart in the same minute${mingle.length > 0 ? ' and all mingle at once (the incident)' : ''}`],
      fix: 'CeleryWorkerFleet periodicRestart spreads restarts over a window, window / n apart; or RandomizedDelaySec= on the timer.',
    } : {
      check: 'fleet.restart-schedule',
      severity: s.kind === 'library-periodic-restart' ? 'ok' : 'low',
      title: `restarts spread: ${s.schedule}`,
      evidence: [`${s.origin}: ${s.spread}`],
      fix: s.kind === 'library-periodic-restart' ? undefined : 'A random delay spreads restarts but can still put two in one minute; CeleryWorkerFleet periodicRestart keeps them window / n apart.',
    });
  }

  const old = fleet.celeryPins.filter((p) => olderThan(p.replace(/^[^\d]+/, ''), CELERY_VERSIONS.exitZeroFixed));
  if (old.length > 0) {
    const always = fleet.systemdRestart === 'always';
    add({
      check: 'fleet.exit-status',
      severity: always ? 'low' : 'high',
      title: `celery ${old.join(', ')} exits 0 after a crash`,
      evidence: ['Celery 5.0 to 5.2 exit with status 0 after "Unrecoverable error"',
        fleet.systemdRestart ? `the worker unit has Restart=${fleet.systemdRestart}${always ? ': restarted anyway' : ': a crash looks like a clean stop and is not restarted'}` : 'no systemd unit for the worker in the user data'],
      fix: `Celery >= ${CELERY_VERSIONS.exitZeroFixed}; CeleryWorkerFleet's unit restarts on every exit (Restart=always) and counts it.`,
    });
  }
  return out;
}

function plural(n: number, one: string): string {
  return `${formatCount(n)} ${n === 1 ? one : `${one}s`}`;
}

