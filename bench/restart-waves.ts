import { BenchFleet } from './bench-fleet';
import { IngressLedger, snapshot } from './connection-bytes';
import { JOIN_SETTLE_MS } from './join-ingress';
import { Variant } from './worker-commands';
import { CeleryInstall } from '../test/harness/celery';
import { RabbitMq } from '../test/harness/rabbitmq';

export type WaveMode = 'all-at-once' | 'one-by-one';
export const WAVE_MODES: WaveMode[] = ['all-at-once', 'one-by-one'];

export interface WaveResult {
  readonly celery: string;
  readonly variant: Variant;
  readonly mode: WaveMode;
  readonly n: number;
  readonly held: number;
  /** Ingress during the wave, every connection counted from its first to its last reading. */
  readonly bytes: number;
  readonly durationMs: number;
}

/**
 * Restart all N members of a fresh fleet holding `r` revoked ids each, either all at the same
 * moment (the midnight case: stop and start each at once, concurrently) or one after the other
 * (a rolling deploy: the next stops when the previous is ready). Total ingress is raw (background
 * included); a stopping worker's goodbye frames after the last read before its stop are not seen.
 */
export async function measureWave(
  broker: RabbitMq, install: CeleryInstall, variant: Variant, mode: WaveMode, n: number, r: number,
): Promise<WaveResult> {
  const vhost = `wave-${install.version}-${variant}-${mode}`;
  const fleet = await BenchFleet.start(broker, install, variant, n, vhost);
  try {
    const held = await fleet.revokeTo(r);
    const ledger = new IngressLedger();
    const started = Date.now();
    ledger.observe(await snapshot(broker, vhost));
    if (mode === 'all-at-once') {
      await Promise.all(fleet.workers.map((_, i) => fleet.restartMember(i)));
    } else {
      for (let i = 0; i < fleet.workers.length; i++) {
        // Read just before the stop: a closed connection drops out of the listing.
        if (i > 0) ledger.observe(await snapshot(broker, vhost));
        await fleet.restartMember(i);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, JOIN_SETTLE_MS));
    ledger.observe(await snapshot(broker, vhost));
    return { celery: install.version!, variant, mode, n, held, bytes: ledger.total, durationMs: Date.now() - started };
  } finally {
    await fleet.stop();
  }
}
