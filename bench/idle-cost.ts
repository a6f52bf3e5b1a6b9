import { BenchFleet } from './bench-fleet';
import { BenchBroker, BrokerSetupName } from './broker-setups';
import { ByteCounts, bytesBetween, countsOf } from './connection-bytes';
import { median } from './stats';
import { Variant } from './worker-commands';
import { CeleryInstall } from '../test/harness/celery';

/** Start-up traffic (mingle, worker-online) is over by then. */
const IDLE_WARMUP_MS = 5_000;

export interface IdleResult {
  readonly broker: BrokerSetupName;
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
  readonly broker: BenchBroker;
  readonly install: CeleryInstall;
  readonly variant: Variant;
}

/**
 * Idle fleets of `n` workers, one per spec, each in its own vhost, measured over the same
 * `windowMs`. They run side by side: idle traffic is timer-driven, so sharing the cores changes
 * no byte count, and one window serves all.
 */
export async function measureIdle(specs: IdleFleetSpec[], n: number, windowMs: number): Promise<IdleResult[]> {
  const fleets: BenchFleet[] = [];
  try {
    // One fleet after the other: thirty Python workers starting at once on two cores time out.
    for (const spec of specs) fleets.push(await BenchFleet.start(spec.broker, spec.install, spec.variant, n, `idle-${spec.install.version}-${spec.variant}`));
    await new Promise((resolve) => setTimeout(resolve, IDLE_WARMUP_MS));
    const read = (): ByteCounts[][] => fleets.map((f) => f.workers.map((w) => countsOf([w.proxy])));
    const before = read();
    const start = Date.now();
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const after = read();
    const elapsed = Date.now() - start;
    for (const fleet of fleets) await fleet.checkCounts();
    return fleets.map((fleet, i) => {
      const perWorker = fleet.workers.map((_, w) => bytesBetween(before[i][w], after[i][w]));
      return {
        broker: fleet.broker.setup.name,
        celery: fleet.install.version!,
        variant: fleet.variant,
        n,
        inPerMinute: median(perWorker.map((d) => (d.toBroker * 60_000) / elapsed)),
        outPerMinute: median(perWorker.map((d) => (d.fromBroker * 60_000) / elapsed)),
        windowMs: elapsed,
      };
    });
  } finally {
    await Promise.all(fleets.map((f) => f.stop()));
  }
}
