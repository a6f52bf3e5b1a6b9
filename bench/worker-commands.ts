import { BenchBroker } from './broker-setups';
import { CeleryRequirement, celeryVersionAtLeast, DEFAULT_REVOKES_MAX, renderBrokerSettings, renderCeleryWorkerCommand } from '../src/workers/render';
import { CeleryInstall, HARNESS_APP, WorkerCommandLine } from '../test/harness/celery';

/** What a benchmark fleet runs: Celery's defaults, or the command the fleet construct renders. */
export type Variant = 'baseline' | 'generated';
export const VARIANTS: Variant[] = ['baseline', 'generated'];

/**
 * One pool process per worker for both variants: seven workers share two cores, and the pool
 * size changes no broker bytes (only the prefetch number inside one `basic.qos` frame).
 */
export const BENCH_CONCURRENCY = 1;

/** Celery's own revoked-set cap (`REVOKES_MAX`, hard-coded before 5.3). */
export const CELERY_DEFAULT_REVOKES_MAX = 50_000;

/**
 * The worker command of a variant for node `nodeName` (`name@%h`) on a broker setup.
 *
 * baseline: `celery -A app worker` as public Celery IaC runs it, plus only what one shared host
 * needs: a node name per worker (on EC2 `%h` is already unique) and INFO logging, which the
 * harness reads for readiness (local output, no broker bytes). In a quorum vhost a default
 * worker cannot consume at all (Celery asks quorum queues for global QoS): there it also gets the
 * queue settings the library renders for the engine, and nothing else (as the end-to-end join
 * test's default worker).
 *
 * generated: `renderCeleryWorkerCommand` for the broker's engine version and the vhost's queue
 * type, the argv and environment the fleet puts in user data.
 */
export function workerCommand(broker: BenchBroker, variant: Variant, nodeName: string): WorkerCommandLine & { celeryRequirement: CeleryRequirement } {
  if (variant === 'generated') {
    return renderCeleryWorkerCommand(
      { app: HARNESS_APP, hostname: nodeName, concurrency: BENCH_CONCURRENCY, queueType: broker.queueType },
      { engineVersion: broker.engineVersion },
    );
  }
  const queueSettings = broker.setup.vhostQueueType === 'quorum'
    ? renderBrokerSettings({ engineVersion: broker.engineVersion }, { queues: [] })
    : renderBrokerSettings({}, { queues: [] });
  const settings = Object.keys(queueSettings.settings).sort().map((key) => `${key}=${queueSettings.settings[key]}`);
  return {
    argv: ['celery', '-A', HARNESS_APP, 'worker', '--loglevel', 'INFO', '--hostname', nodeName, '--concurrency', String(BENCH_CONCURRENCY),
      ...(settings.length > 0 ? ['--', ...settings] : [])],
    environment: {},
    celeryRequirement: queueSettings.requirement,
  };
}

/**
 * Whether an installation runs both variants on a setup: the oldest Celery the generated command
 * needs there (a quorum vhost needs Celery >= 5.5); the baseline needs no more. Otherwise why not.
 */
export function unsupportedReason(broker: BenchBroker, install: CeleryInstall): string | undefined {
  const requirement = workerCommand(broker, 'generated', 'x@%h').celeryRequirement;
  if (install.version !== undefined && celeryVersionAtLeast(install.version, requirement.version)) return undefined;
  return `needs Celery >= ${requirement.version} (${requirement.reason})`;
}

/**
 * How many revoked ids a worker of this command keeps: `CELERY_WORKER_REVOKES_MAX` from its
 * environment on Celery >= 5.3 (read at import time), Celery's 50 000 before.
 */
export function revokedCap(command: WorkerCommandLine, celeryVersion: string): number {
  const [major, minor] = celeryVersion.split('.').map(Number);
  const readsEnvironment = major > 5 || (major === 5 && minor >= 3);
  const configured = command.environment.CELERY_WORKER_REVOKES_MAX;
  if (readsEnvironment && configured !== undefined) return Number(configured);
  return CELERY_DEFAULT_REVOKES_MAX;
}

/** The library default, for the result notes. */
export const GENERATED_REVOKES_MAX = DEFAULT_REVOKES_MAX;
