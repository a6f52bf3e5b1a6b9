import { BenchFleet } from './bench-fleet';
import { ByteSnapshot, deltaForGroups, snapshot } from './connection-bytes';
import { median } from './stats';
import { Variant } from './worker-commands';
import { CeleryInstall } from '../test/harness/celery';
import { RabbitMq } from '../test/harness/rabbitmq';

/**
 * After the joiner logs "ready." (mingle done, consumers running), wait this long before reading:
 * the replies it waited for are through the broker by then; the wait catches anything the start
 * sends right after (for the baseline, its first heartbeat events).
 */
export const JOIN_SETTLE_MS = 500;
/** Length of the idle window that gives a fleet's background rate (heartbeat events every 2 s). */
export const BACKGROUND_WINDOW_MS = 6_000;
/**
 * The joiner is killed once read: its exit is not measured, its connections close with it (its
 * auto-delete queues go), and a warm shutdown would cost seconds per sample.
 */
const JOINER_STOP_GRACE_MS = 0;

export interface JoinSample {
  /** Everything the joiner's own connections sent, from connect to the read. */
  readonly joinerBytes: number;
  /** What the running workers sent during the join window (mingle replies and background). */
  readonly othersBytes: number;
  /** The running workers' idle bytes expected in a window this long (subtracted). */
  readonly othersBackground: number;
  /** joinerBytes + othersBytes - othersBackground. */
  readonly total: number;
  readonly windowMs: number;
}

export interface JoinCell {
  readonly celery: string;
  readonly variant: Variant;
  readonly n: number;
  readonly r: number;
  /** Revoked ids each running worker held (its cap may be below r). */
  readonly held: number;
  readonly samples: JoinSample[];
  /** Median of the samples' totals. */
  readonly median: number;
}

/** Ingress per millisecond of the fleet while idle, over `windowMs`. */
export async function backgroundRate(broker: RabbitMq, fleet: BenchFleet, windowMs = BACKGROUND_WINDOW_MS): Promise<number> {
  const before = await snapshot(broker, fleet.vhost);
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  const after = await snapshot(broker, fleet.vhost);
  return deltaForGroups(before, after, fleet.pgids).recv / (after.at - before.at);
}

/**
 * One worker of the fleet's command joins the fleet: broker ingress it causes. The joiner's
 * connections stay open until read, then it is stopped, so the next join meets the same fleet.
 * `before` is the last reading of the fleet (the previous join's `after` serves: the fleet only
 * idled since, which the background rate accounts for over the whole window).
 */
export async function measureJoin(
  broker: RabbitMq, fleet: BenchFleet, joinerTemplate: string, rate: number, before: ByteSnapshot,
): Promise<{ sample: JoinSample; after: ByteSnapshot }> {
  const joiner = await fleet.startWorker(joinerTemplate);
  try {
    await new Promise((resolve) => setTimeout(resolve, JOIN_SETTLE_MS));
    const after = await snapshot(broker, fleet.vhost);
    const joinerBytes = deltaForGroups(before, after, [joiner.pid]).recv;
    if (joinerBytes <= 0) throw new Error(`${joiner.nodeName}: no connection of the joiner found in ${fleet.vhost}`);
    const othersBytes = deltaForGroups(before, after, fleet.pgids).recv;
    const windowMs = after.at - before.at;
    const othersBackground = rate * windowMs;
    return { sample: { joinerBytes, othersBytes, othersBackground, total: joinerBytes + othersBytes - othersBackground, windowMs }, after };
  } finally {
    await joiner.stop(JOINER_STOP_GRACE_MS);
  }
}

export interface JoinGridOptions {
  readonly broker: RabbitMq;
  readonly install: CeleryInstall;
  readonly variant: Variant;
  readonly n: number;
  /** Revoked-set sizes, ascending: one fleet serves them all, topped up between steps. */
  readonly rs: number[];
  readonly repetitions: number;
  readonly log?: (line: string) => void;
}

/** The cells of one fleet (installation, variant, N) for each R. */
export async function runJoinCells(options: JoinGridOptions): Promise<JoinCell[]> {
  const { broker, install, variant, n } = options;
  const vhost = `join-${install.version}-${variant}-n${n}`;
  const fleet = await BenchFleet.start(broker, install, variant, n, vhost);
  const cells: JoinCell[] = [];
  try {
    // Heartbeat events do not depend on the revoked set: one idle window per fleet.
    const rate = await backgroundRate(broker, fleet);
    for (const r of options.rs) {
      const held = await fleet.revokeTo(r);
      const samples: JoinSample[] = [];
      // A fresh reading after the revokes and their check (inspect replies are fleet traffic).
      let before = await snapshot(broker, fleet.vhost);
      for (let rep = 1; rep <= options.repetitions; rep++) {
        const { sample, after } = await measureJoin(broker, fleet, `join-${rep}@%h`, rate, before);
        samples.push(sample);
        before = after;
      }
      const cell = { celery: install.version!, variant, n, r, held, samples, median: median(samples.map((s) => s.total)) };
      options.log?.(`join ${cell.celery} ${variant} N=${n} R=${r}: ${samples.map((s) => Math.round(s.total)).join(', ')} bytes`);
      cells.push(cell);
    }
  } finally {
    await fleet.stop();
  }
  return cells;
}
