import { DEFAULT_REVOKES_MAX, renderCeleryWorkerCommand } from '../src/workers/render';
import { HARNESS_APP, WorkerCommandLine } from '../test/harness/celery';

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
 * The worker command of a variant for node `nodeName` (`name@%h`).
 *
 * baseline: `celery -A app worker` as public Celery IaC runs it, plus only what one shared host
 * needs: a node name per worker (on EC2 `%h` is already unique) and INFO logging, which the
 * harness reads for readiness (local output, no broker bytes).
 *
 * generated: `renderCeleryWorkerCommand`, the argv and environment the fleet puts in user data.
 */
export function workerCommand(variant: Variant, nodeName: string): WorkerCommandLine {
  if (variant === 'generated') {
    return renderCeleryWorkerCommand({ app: HARNESS_APP, hostname: nodeName, concurrency: BENCH_CONCURRENCY });
  }
  return {
    argv: ['celery', '-A', HARNESS_APP, 'worker', '--loglevel', 'INFO', '--hostname', nodeName, '--concurrency', String(BENCH_CONCURRENCY)],
    environment: {},
  };
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
