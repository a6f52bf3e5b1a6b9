import { createHash } from 'crypto';
import { Duration } from 'aws-cdk-lib';
import { median, quantile } from './stats';
import { periodicRestartSlotSeconds, renderPeriodicRestartScript, renderPeriodicRestartTimerUnit } from '../src/workers/render';

/** The span the incident counted restarts in. */
export const SPREAD_SPAN_SECONDS = 60;

/** What a simulated fleet looks like at the window start. */
export type SpreadScenario =
  /** Every instance lists its group: the rank slots. */
  | 'slots'
  /** Every listing fails (API down or throttled everywhere): every instance uses its fallback offset. */
  | 'listing failed'
  /** Three fleets of this size on one broker, each with its own group name (phase); restarts of all three counted together. */
  | '3 fleets, one broker';

export const SPREAD_SCENARIOS: SpreadScenario[] = ['slots', 'listing failed', '3 fleets, one broker'];

export interface SpreadResult {
  readonly scenario: SpreadScenario;
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
 * The window the fleet's periodic restart really gets: read back from the rendered script, so the
 * simulation follows the rendering; fails loudly if the timer adds a random delay of its own (the
 * slot rule would then not be the whole story).
 */
export function renderedWindowSeconds(): number {
  const timer = renderPeriodicRestartTimerUnit();
  if (/^(RandomizedDelaySec|FixedRandomDelay)=/m.test(timer)) throw new Error(`the periodic-restart timer adds a random delay; the slot model does not apply:\n${timer}`);
  const script = renderPeriodicRestartScript();
  const match = script.match(/^window=(\d+)$/m);
  if (!match) throw new Error(`no window= in the rendered periodic-restart script:\n${script}`);
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

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** An EC2 instance id (`i-` and 17 hex digits), drawn from the seed so a run can be replayed. */
export function simulatedInstanceId(seed: string, fleet: number, instance: number): string {
  return `i-${digest(`${seed}/${fleet}/${instance}`).slice(0, 17)}`;
}

/** An Auto Scaling group name as CloudFormation generates them, drawn from the seed. */
export function simulatedGroupName(seed: string, fleet: number): string {
  const d = digest(`${seed}/group/${fleet}`);
  return `WorkerStack-FleetGroupASG${d.slice(0, 8).toUpperCase()}-${d.slice(8, 20)}`;
}

/** Restart offsets of one simulated group through the fleet's rule. */
function groupOffsets(ids: string[], groupName: string, window: Duration, listed: boolean): number[] {
  return ids.map((instanceId) => periodicRestartSlotSeconds({ instanceIds: listed ? ids : undefined, instanceId, groupName, window }));
}

/**
 * Simulate `fleets` fleets of `instances` instances (random instance ids and group name per fleet)
 * through the fleet's rule, `periodicRestartSlotSeconds`, in a scenario.
 */
export function simulateSpread(instances: number, fleets: number, seed: string, scenario: SpreadScenario = 'slots'): SpreadResult {
  const windowSeconds = renderedWindowSeconds();
  const window = Duration.seconds(windowSeconds);
  const groupsPerBroker = scenario === '3 fleets, one broker' ? 3 : 1;
  const most: number[] = [];
  for (let f = 0; f < fleets; f++) {
    const offsets: number[] = [];
    for (let g = 0; g < groupsPerBroker; g++) {
      const key = f * groupsPerBroker + g;
      const ids = Array.from({ length: instances }, (_, i) => simulatedInstanceId(seed, key, i));
      offsets.push(...groupOffsets(ids, simulatedGroupName(seed, key), window, scenario !== 'listing failed'));
    }
    most.push(mostInAnySpan(offsets));
  }
  return {
    scenario,
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

/**
 * The benchmark's spread rows: the rank slots for each fleet size, then the limits of the
 * guarantee at the smallest size (every listing failing; three fleets sharing a broker).
 */
export function simulateSpreadCases(instanceCounts: number[], fleets: number, seed: string): SpreadResult[] {
  const rows = instanceCounts.map((n) => simulateSpread(n, fleets, seed, 'slots'));
  if (instanceCounts.length > 0) {
    const smallest = Math.min(...instanceCounts);
    for (const scenario of SPREAD_SCENARIOS.filter((s) => s !== 'slots')) rows.push(simulateSpread(smallest, fleets, seed, scenario));
  }
  return rows;
}
