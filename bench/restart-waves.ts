import { BenchFleet } from './bench-fleet';
import { BenchBroker, BrokerSetupName } from './broker-setups';
import { bytesBetween, whenQuiet } from './connection-bytes';
import { JOIN_QUIET_MS, JOIN_SETTLE_MS } from './join-ingress';
import { Variant } from './worker-commands';
import { CeleryInstall } from '../test/harness/celery';

export type WaveMode = 'all-at-once' | 'one-by-one';
export const WAVE_MODES: WaveMode[] = ['all-at-once', 'one-by-one'];

export interface WaveResult {
  readonly broker: BrokerSetupName;
  readonly celery: string;
  readonly variant: Variant;
  readonly mode: WaveMode;
  readonly n: number;
  readonly held: number;
  /** Ingress during the wave: every connection of the old and the new members, from the start to the end of the wave. */
  readonly bytes: number;
  readonly durationMs: number;
}

/**
 * Restart all N members of a fresh fleet holding `r` revoked ids each, either all at the same
 * moment (the midnight case: stop and start each at once, concurrently) or one after the other
 * (a rolling deploy: the next stops when the previous is ready). Total ingress is raw (background
 * included), counted by the members' proxies: the stopping workers' last frames and any
 * short-lived connection of the new ones count.
 */
export async function measureWave(
  broker: BenchBroker, install: CeleryInstall, variant: Variant, mode: WaveMode, n: number, r: number,
): Promise<WaveResult> {
  const fleet = await BenchFleet.start(broker, install, variant, n, `wave-${install.version}-${variant}-${mode}`);
  try {
    const held = await fleet.revokeTo(r);
    const before = fleet.countsEver();
    const started = Date.now();
    if (mode === 'all-at-once') {
      await Promise.all(fleet.workers.map((_, i) => fleet.restartMember(i)));
    } else {
      for (let i = 0; i < fleet.workers.length; i++) await fleet.restartMember(i);
    }
    await new Promise((resolve) => setTimeout(resolve, JOIN_SETTLE_MS));
    await whenQuiet(() => fleet.countsEver().toBroker, { quietMs: JOIN_QUIET_MS, timeoutMs: 60_000, what: `${fleet.vhost}: wave traffic over` });
    const bytes = bytesBetween(before, fleet.countsEver()).toBroker;
    return { broker: broker.setup.name, celery: install.version!, variant, mode, n, held, bytes, durationMs: Date.now() - started };
  } finally {
    await fleet.stop();
  }
}
