import { BenchFleet } from './bench-fleet';
import { BenchBroker, BrokerSetupName } from './broker-setups';
import { whenQuiet } from './connection-bytes';
import { median } from './stats';
import { Variant } from './worker-commands';
import { CeleryInstall } from '../test/harness/celery';

/**
 * After the joiner logs "ready." (mingle done, consumers running), wait this long, then until
 * the counts stop moving: mingle replies the joiner stopped waiting for still cost the broker,
 * and the start sends a little right after (for the baseline, its first heartbeat events).
 */
export const JOIN_SETTLE_MS = 500;
/** Two equal readings this far apart: nothing of the join is on its way any more. */
export const JOIN_QUIET_MS = 250;
/** Length of the idle window that gives a fleet's background rate (heartbeat events every 2 s). */
export const BACKGROUND_WINDOW_MS = 6_000;
/**
 * The joiner is killed once read: its exit is not measured, its connections close with it (its
 * auto-delete queues go), and a warm shutdown would cost seconds per sample.
 */
const JOINER_STOP_GRACE_MS = 0;

export interface JoinSample {
  /** Everything the joiner sent, over every connection it opened (closed ones included), from connect to the read. */
  readonly joinerBytes: number;
  /** Connections the joiner opened. */
  readonly joinerConnections: number;
  /** What the running workers sent during the join window (mingle replies and background). */
  readonly othersBytes: number;
  /** The running workers' idle bytes expected in a window this long (subtracted). */
  readonly othersBackground: number;
  /** joinerBytes + othersBytes - othersBackground. */
  readonly total: number;
  readonly windowMs: number;
}

export interface JoinCell {
  readonly broker: BrokerSetupName;
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
export async function backgroundRate(fleet: BenchFleet, windowMs = BACKGROUND_WINDOW_MS): Promise<number> {
  const before = fleet.counts().toBroker;
  const start = Date.now();
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  return (fleet.counts().toBroker - before) / (Date.now() - start);
}

/**
 * One worker of the fleet's command joins the fleet: broker ingress it causes, counted by the
 * joiner's proxy and the fleet's. The joiner is stopped once read, so the next join meets the
 * same fleet. With `check`, the counts are compared with the broker's first.
 */
export async function measureJoin(fleet: BenchFleet, joinerTemplate: string, rate: number, check = false): Promise<JoinSample> {
  const othersBefore = fleet.counts().toBroker;
  const start = Date.now();
  const joiner = await fleet.startWorker(joinerTemplate);
  try {
    await new Promise((resolve) => setTimeout(resolve, JOIN_SETTLE_MS));
    await whenQuiet(() => fleet.counts().toBroker + joiner.proxy.bytesToServer, { quietMs: JOIN_QUIET_MS, timeoutMs: 60_000, what: `${fleet.vhost}: join traffic over` });
    const windowMs = Date.now() - start;
    const joinerBytes = joiner.proxy.bytesToServer;
    const othersBytes = fleet.counts().toBroker - othersBefore;
    if (joinerBytes <= 0) throw new Error(`${joiner.worker.nodeName}: nothing counted on its proxy`);
    if (check) await fleet.checkCounts([joiner]);
    const othersBackground = rate * windowMs;
    const total = joinerBytes + othersBytes - othersBackground;
    return { joinerBytes, joinerConnections: joiner.proxy.connections, othersBytes, othersBackground, total, windowMs };
  } finally {
    await joiner.stop(JOINER_STOP_GRACE_MS);
  }
}

export interface JoinGridOptions {
  readonly broker: BenchBroker;
  readonly install: CeleryInstall;
  readonly variant: Variant;
  readonly n: number;
  /** Revoked-set sizes, ascending: one fleet serves them all, topped up between steps. */
  readonly rs: number[];
  readonly repetitions: number;
  readonly log?: (line: string) => void;
}

/** The cells of one fleet (broker setup, installation, variant, N) for each R. */
export async function runJoinCells(options: JoinGridOptions): Promise<JoinCell[]> {
  const { broker, install, variant, n } = options;
  const fleet = await BenchFleet.start(broker, install, variant, n, `join-${install.version}-${variant}-n${n}`);
  const cells: JoinCell[] = [];
  try {
    // Heartbeat events do not depend on the revoked set: one idle window per fleet.
    const rate = await backgroundRate(fleet);
    for (const r of options.rs) {
      const held = await fleet.revokeTo(r);
      const samples: JoinSample[] = [];
      for (let rep = 1; rep <= options.repetitions; rep++) {
        // The first join of each fleet is also checked against the broker's own counters.
        samples.push(await measureJoin(fleet, `join-${rep}@%h`, rate, cells.length === 0 && rep === 1));
      }
      const cell = { broker: broker.setup.name, celery: install.version!, variant, n, r, held, samples, median: median(samples.map((s) => s.total)) };
      options.log?.(`join ${broker.setup.name} ${cell.celery} ${variant} N=${n} R=${r}: ${samples.map((s) => Math.round(s.total)).join(', ')} bytes`);
      cells.push(cell);
    }
  } finally {
    await fleet.stop();
  }
  return cells;
}
