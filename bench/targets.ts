import { BrokerSetupName } from './broker-setups';
import { IdleResult } from './idle-cost';
import { JoinCell } from './join-ingress';
import { FloorResult } from './physical-floor';
import { SpreadResult } from './restart-spread';

/** The targets of issue 4. */
export const TARGETS = {
  joinMaxBytes: 16_000,
  joinFlatness: 0.2,
  incidentCell: { n: 3, r: 50_000 },
  incidentRatio: 1_000,
  idleRatio: 20,
  spreadInstances: 30,
  spreadMaxPerMinute: 2,
  floorMultiple: 3,
};

export type Verdict = 'PASS' | 'MISS' | 'NOT RUN';

export interface TargetResult {
  readonly target: string;
  /** The broker setup judged; unset for targets that do not depend on the broker (restart spread). */
  readonly broker?: BrokerSetupName;
  readonly verdict: Verdict;
  /** The numbers behind the verdict; on a miss, why. */
  readonly detail: string;
}

/** What one broker setup ran. */
export interface BrokerTargetInputs {
  readonly name: BrokerSetupName;
  /** Celery versions the setup's matrix covers. */
  readonly celeryVersions: string[];
}

export interface TargetInputs {
  readonly join: JoinCell[];
  readonly floors: FloorResult[];
  readonly idle: IdleResult[];
  readonly spread: SpreadResult[];
  readonly brokers: BrokerTargetInputs[];
}

type Judged = Omit<TargetResult, 'target' | 'broker'>;

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const cellName = (c: JoinCell) => `Celery ${c.celery}, N=${c.n}, R=${fmt(c.r)}`;

/** The inputs of one setup only. */
interface SetupInputs {
  readonly join: JoinCell[];
  readonly floors: FloorResult[];
  readonly idle: IdleResult[];
  readonly celeryVersions: string[];
}

const JOIN_MAX = `Generated join ingress <= ${fmt(TARGETS.joinMaxBytes)} bytes in every cell`;
function joinMax(inputs: SetupInputs): Judged {
  const cells = inputs.join.filter((c) => c.variant === 'generated');
  if (cells.length === 0) return { verdict: 'NOT RUN', detail: 'no generated join cell ran' };
  const worst = cells.reduce((a, b) => (b.median > a.median ? b : a));
  const over = cells.filter((c) => c.median > TARGETS.joinMaxBytes);
  return over.length === 0
    ? { verdict: 'PASS', detail: `largest cell median ${fmt(worst.median)} bytes (${cellName(worst)}), ${cells.length} cells` }
    : { verdict: 'MISS', detail: `${over.length} of ${cells.length} cells above: ${over.map((c) => `${cellName(c)} ${fmt(c.median)} bytes`).join('; ')}` };
}

const JOIN_FLAT = `Generated join flat in N and R (max/min of cell medians <= ${1 + TARGETS.joinFlatness})`;
function joinFlat(inputs: SetupInputs): Judged {
  const details: string[] = [];
  let miss = false;
  let judged = 0;
  for (const version of inputs.celeryVersions) {
    const cells = inputs.join.filter((c) => c.variant === 'generated' && c.celery === version);
    if (new Set(cells.map((c) => c.n)).size < 2 || new Set(cells.map((c) => c.r)).size < 2) continue;
    judged++;
    const min = cells.reduce((a, b) => (b.median < a.median ? b : a));
    const max = cells.reduce((a, b) => (b.median > a.median ? b : a));
    const range = max.median / min.median;
    if (range > 1 + TARGETS.joinFlatness) miss = true;
    details.push(`Celery ${version}: ${fmt(min.median)} to ${fmt(max.median)} bytes (x${range.toFixed(3)}; max at N=${max.n}, R=${fmt(max.r)})`);
  }
  if (judged === 0) return { verdict: 'NOT RUN', detail: 'needs several N and R' };
  return { verdict: miss ? 'MISS' : 'PASS', detail: details.join('; ') };
}

const { n: INCIDENT_N, r: INCIDENT_R } = TARGETS.incidentCell;
const INCIDENT = `N=${INCIDENT_N}, R=${fmt(INCIDENT_R)}: generated at least ${fmt(TARGETS.incidentRatio)}x below baseline, every Celery version`;
function incident(inputs: SetupInputs): Judged {
  const details: string[] = [];
  let miss = false;
  for (const version of inputs.celeryVersions) {
    const find = (variant: string) =>
      inputs.join.find((c) => c.celery === version && c.variant === variant && c.n === INCIDENT_N && c.r === INCIDENT_R);
    const baseline = find('baseline');
    const generated = find('generated');
    if (!baseline || !generated) return { verdict: 'NOT RUN', detail: `no N=${INCIDENT_N}, R=${fmt(INCIDENT_R)} cell for Celery ${version}` };
    const ratio = baseline.median / generated.median;
    if (!(ratio >= TARGETS.incidentRatio)) miss = true;
    details.push(`Celery ${version}: ${fmt(baseline.median)} / ${fmt(generated.median)} bytes = ${fmt(ratio)}x`);
  }
  if (details.length === 0) return { verdict: 'NOT RUN', detail: 'no Celery version ran' };
  return { verdict: miss ? 'MISS' : 'PASS', detail: details.join('; ') };
}

const IDLE = `Idle ingress per worker at least ${TARGETS.idleRatio}x below baseline`;
function idle(inputs: SetupInputs): Judged {
  const details: string[] = [];
  let miss = false;
  for (const version of inputs.celeryVersions) {
    const baseline = inputs.idle.find((i) => i.celery === version && i.variant === 'baseline');
    const generated = inputs.idle.find((i) => i.celery === version && i.variant === 'generated');
    if (!baseline || !generated) continue;
    const ok = baseline.inPerMinute >= TARGETS.idleRatio * generated.inPerMinute;
    if (!ok) miss = true;
    const ratio = generated.inPerMinute > 0 ? `${fmt(baseline.inPerMinute / generated.inPerMinute)}x` : 'generated sent 0 bytes in the window';
    details.push(`Celery ${version}: ${fmt(baseline.inPerMinute)} vs ${fmt(generated.inPerMinute)} bytes/min (${ratio})`);
  }
  if (details.length === 0) return { verdict: 'NOT RUN', detail: 'idle cost not measured' };
  return { verdict: miss ? 'MISS' : 'PASS', detail: details.join('; ') };
}

const FLOOR = `Generated join within ${TARGETS.floorMultiple}x the physical floor (worst cell)`;
function floor(inputs: SetupInputs): Judged {
  const details: string[] = [];
  let miss = false;
  for (const f of inputs.floors.filter((x) => x.kind === 'consumer')) {
    const cells = inputs.join.filter((c) => c.variant === 'generated' && c.celery === f.celery);
    if (cells.length === 0) continue;
    const worst = cells.reduce((a, b) => (b.median > a.median ? b : a));
    const multiple = worst.median / f.median;
    let detail = `Celery ${f.celery}: ${fmt(worst.median)} / ${fmt(f.median)} bytes = ${multiple.toFixed(2)}x`;
    if (!(multiple <= TARGETS.floorMultiple)) {
      miss = true;
      const delayed = inputs.floors.find((x) => x.kind === 'consumer + delayed delivery' && x.celery === f.celery);
      // Name what the rest is, where it is measured: Celery's delayed-delivery topology on quorum queues.
      if (delayed) detail += ` (a bare consumer that also declares Celery's native delayed-delivery topology, as every Celery >= 5.5 worker on quorum queues does on start: ${fmt(delayed.median)} bytes, generated ${(worst.median / delayed.median).toFixed(2)}x that)`;
    }
    details.push(detail);
  }
  if (details.length === 0) return { verdict: 'NOT RUN', detail: 'floor not measured' };
  return { verdict: miss ? 'MISS' : 'PASS', detail: details.join('; ') };
}

const SPREAD = `Restart spread: at most ${TARGETS.spreadMaxPerMinute} restarts in any 60 s, ${TARGETS.spreadInstances} instances, default window (worst simulated fleet)`;
function spread(results: SpreadResult[]): Judged {
  const s = results.find((x) => x.instances === TARGETS.spreadInstances && x.scenario === 'slots');
  if (!s) return { verdict: 'NOT RUN', detail: 'not simulated' };
  const numbers = `worst ${s.worst} of ${fmt(s.fleets)} fleets, median ${s.median}, ${(s.shareAbove2 * 100).toFixed(1)} % of fleets above 2`;
  if (s.worst <= TARGETS.spreadMaxPerMinute) return { verdict: 'PASS', detail: numbers };
  return {
    verdict: 'MISS',
    detail: `${numbers}. The rank slots are ${s.windowSeconds / s.instances} s apart; more than ${TARGETS.spreadMaxPerMinute} in a minute means the slot rule (periodicRestartSlotSeconds) is broken. Versus the incident's ${s.instances} in one minute.`,
  };
}

/** The broker-dependent targets, in report order. */
const PER_BROKER: Array<[string, (inputs: SetupInputs) => Judged]> = [
  [JOIN_MAX, joinMax], [JOIN_FLAT, joinFlat], [INCIDENT, incident], [IDLE, idle], [FLOOR, floor],
];

/**
 * Verdict per target of the issue, from whatever ran: each broker-dependent target once per
 * broker setup (rows of one target together), then the restart spread, which is the fleet's rule
 * and no broker's.
 */
export function evaluateTargets(inputs: TargetInputs): TargetResult[] {
  const results: TargetResult[] = [];
  for (const [target, judge] of PER_BROKER) {
    for (const broker of inputs.brokers) {
      const mine = {
        join: inputs.join.filter((c) => c.broker === broker.name),
        floors: inputs.floors.filter((f) => f.broker === broker.name),
        idle: inputs.idle.filter((i) => i.broker === broker.name),
        celeryVersions: broker.celeryVersions,
      };
      results.push({ target, broker: broker.name, ...judge(mine) });
    }
  }
  results.push({ target: SPREAD, ...spread(inputs.spread) });
  return results;
}
