import { BenchFleet } from './bench-fleet';
import { deltaForGroups, snapshot } from './connection-bytes';
import { median } from './stats';
import { Variant } from './worker-commands';
import { CeleryInstall } from '../test/harness/celery';
import { RabbitMq } from '../test/harness/rabbitmq';

/** Start-up traffic (mingle, worker-online) is over by then. */
const IDLE_WARMUP_MS = 5_000;

export interface IdleResult {
  readonly celery: string;
  readonly variant: Variant;
  readonly n: number;
  /** Median over the workers of bytes per minute the broker received from one worker. */
  readonly inPerMinute: number;
  /** Same, bytes the broker sent to one worker (gossip: every worker's events). */
  readonly outPerMinute: number;
  readonly windowMs: number;
}

export interface IdleFleetSpec {
  readonly install: CeleryInstall;
  readonly variant: Variant;
}

/**
 * Idle fleets of `n` workers, one per spec, each in its own vhost, measured over the same
 * `windowMs`. They run side by side: idle traffic is timer-driven, so sharing the cores changes
 * no byte count, and one window serves all.
 */
export async function measureIdle(broker: RabbitMq, specs: IdleFleetSpec[], n: number, windowMs: number): Promise<IdleResult[]> {
  const fleets: BenchFleet[] = [];
  try {
    const started = await Promise.allSettled(specs.map((spec) =>
      BenchFleet.start(broker, spec.install, spec.variant, n, `idle-${spec.install.version}-${spec.variant}`)));
    for (const s of started) if (s.status === 'fulfilled') fleets.push(s.value);
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    await new Promise((resolve) => setTimeout(resolve, IDLE_WARMUP_MS));
    const before = await Promise.all(fleets.map((f) => snapshot(broker, f.vhost)));
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const after = await Promise.all(fleets.map((f) => snapshot(broker, f.vhost)));
    return fleets.map((fleet, i) => {
      const elapsed = after[i].at - before[i].at;
      const perWorker = fleet.pgids.map((pgid) => deltaForGroups(before[i], after[i], [pgid]));
      return {
        celery: fleet.install.version!,
        variant: fleet.variant,
        n,
        inPerMinute: median(perWorker.map((d) => (d.recv * 60_000) / elapsed)),
        outPerMinute: median(perWorker.map((d) => (d.send * 60_000) / elapsed)),
        windowMs: elapsed,
      };
    });
  } finally {
    await Promise.all(fleets.map((f) => f.stop()));
  }
}
