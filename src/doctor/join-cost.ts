import { DoctorFacts } from './facts';
import { fleetWorkers, revokedCap } from './fleet-checks';
import { formatBytes } from './format';
import { BYTES_PER_REVOKED_ID, CELERY_REVOKES_MAX, SAFE_JOIN_BYTES } from './knowledge';

/** What one worker joining the fleet costs the broker, as far as the facts allow. */
export interface JoinCost {
  /** The fleet whose joining worker costs the most; absent when only live workers are known. */
  readonly fleet?: string;
  /** Bytes of broker ingress for one join (an upper bound when mingle is on: revoked sets at their cap). */
  readonly bytes: number;
  /** Whether the joining worker runs mingle: `unknown` when no command line was read. */
  readonly mingle: boolean | 'unknown';
  /** Workers that answer the joining worker's hello. */
  readonly answeringWorkers: number;
  /** Revoked ids per answering worker assumed (its cap). */
  readonly revokedIdsPerWorker: number;
  /** One sentence. */
  readonly text: string;
}

/**
 * The cost of one join: with mingle, every other worker with remote control answers with its
 * revoked set (up to its cap, ~98 bytes per id); without, a join costs a few KB (measured).
 * The revoked sets' real sizes are not asked for: that request is the incident's traffic.
 */
export function estimateJoinCost(facts: DoctorFacts): JoinCost | undefined {
  const fleets = (facts.fleets ?? []).filter((f) => f.commands.length > 0);
  const liveWorkers = facts.live?.remoteControlExchange ? facts.live.workers.length : undefined;
  const fleetTotal = fleets.reduce((n, f) => n + (f.commands.some((c) => c.facts.remoteControl) ? fleetWorkers(f) : 0), 0);
  const answering = Math.max(liveWorkers ?? 0, fleetTotal);
  if (fleets.length === 0 && liveWorkers === undefined) return undefined;
  const cap = fleets.length > 0 ? Math.max(...fleets.map(revokedCap)) : CELERY_REVOKES_MAX;
  const mingleBytes = Math.max(answering, 1) * cap * BYTES_PER_REVOKED_ID;
  const basis = `${answering} worker(s) answer hello with up to ${cap.toLocaleString('en-US')} revoked ids x ${BYTES_PER_REVOKED_ID} B`;
  if (fleets.length === 0) {
    return {
      bytes: mingleBytes,
      mingle: 'unknown',
      answeringWorkers: answering,
      revokedIdsPerWorker: cap,
      text: `a worker joining with mingle on costs the broker up to ${formatBytes(mingleBytes)} (${basis}); with --without-mingle about ${formatBytes(SAFE_JOIN_BYTES)}`,
    };
  }
  const withMingle = fleets.filter((f) => f.commands.some((c) => c.facts.mingle));
  if (withMingle.length === 0) {
    return {
      fleet: fleets[0].name,
      bytes: SAFE_JOIN_BYTES,
      mingle: false,
      answeringWorkers: 0,
      revokedIdsPerWorker: cap,
      text: `a worker joining costs the broker about ${formatBytes(SAFE_JOIN_BYTES)} (mingle off; measured 9,007 to 9,025 B)`,
    };
  }
  return {
    fleet: withMingle[0].name,
    bytes: mingleBytes,
    mingle: true,
    answeringWorkers: answering,
    revokedIdsPerWorker: cap,
    text: `a worker joining ${withMingle[0].name} costs the broker up to ${formatBytes(mingleBytes)} (${basis}); with --without-mingle about ${formatBytes(SAFE_JOIN_BYTES)}`,
  };
}

