import { createHash } from 'crypto';
import { Duration } from 'aws-cdk-lib';
import { median, quantile } from './stats';
import { periodicRestartOffsetSeconds, renderPeriodicRestartTimerUnit } from '../src/workers/render';

/** The span the incident counted restarts in. */
export const SPREAD_SPAN_SECONDS = 60;

export interface SpreadResult {
  readonly instances: number;
  readonly fleets: number;
  readonly windowSeconds: number;
  /** Most restarts in any 60 s, for the first simulated fleet (one typical fleet). */
  readonly firstFleet: number;
  readonly median: number;
  readonly p99: number;
  readonly worst: number;
  /** Share of fleets with more than 2 restarts in some 60 s. */
  readonly shareAbove2: number;
}

/**
 * The window the fleet's timer unit really gets: read back from the rendered unit, so the
 * simulation follows the rendering (and fails loudly if the rule stops being a fixed random delay).
 */
export function renderedWindowSeconds(): number {
  const unit = renderPeriodicRestartTimerUnit();
  if (!/^FixedRandomDelay=yes$/m.test(unit)) throw new Error('the periodic-restart timer no longer uses FixedRandomDelay=yes; the offset model does not apply');
  const match = unit.match(/^RandomizedDelaySec=(\d+)$/m);
  if (!match) throw new Error(`no RandomizedDelaySec= in the rendered timer unit:\n${unit}`);
  return Number(match[1]);
}

/** Most of the sorted offsets that fall in any half-open span [t, t + span). */
export function mostInAnySpan(offsets: number[], span = SPREAD_SPAN_SECONDS): number {
  const sorted = [...offsets].sort((a, b) => a - b);
  let most = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[end] - sorted[start] >= span) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

/** A machine id (32 hex digits, as /etc/machine-id), drawn from the seed so a run can be replayed. */
export function machineId(seed: string, fleet: number, instance: number): string {
  return createHash('sha256').update(`${seed}/${fleet}/${instance}`).digest('hex').slice(0, 32);
}

/** Simulate `fleets` fleets of `instances` instances with random machine ids, through the fleet's offset rule. */
export function simulateSpread(instances: number, fleets: number, seed: string): SpreadResult {
  const windowSeconds = renderedWindowSeconds();
  const window = Duration.seconds(windowSeconds);
  const most: number[] = [];
  for (let f = 0; f < fleets; f++) {
    const offsets = Array.from({ length: instances }, (_, i) => periodicRestartOffsetSeconds(machineId(seed, f, i), window));
    most.push(mostInAnySpan(offsets));
  }
  return {
    instances,
    fleets,
    windowSeconds,
    firstFleet: most[0],
    median: median(most),
    p99: quantile(most, 0.99),
    worst: Math.max(...most),
    shareAbove2: most.filter((m) => m > 2).length / fleets,
  };
}
