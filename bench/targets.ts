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
  readonly verdict: Verdict;
  /** The numbers behind the verdict; on a miss, why. */
  readonly detail: string;
}

export interface TargetInputs {
  readonly join: JoinCell[];
  readonly floors: FloorResult[];
  readonly idle: IdleResult[];
  readonly spread: SpreadResult[];
  /** Celery versions the full matrix covers. */
  readonly celeryVersions: string[];
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const cellName = (c: JoinCell) => `Celery ${c.celery}, N=${c.n}, R=${fmt(c.r)}`;

function joinMax(inputs: TargetInputs): TargetResult {
  const target = `Generated join ingress <= ${fmt(TARGETS.joinMaxBytes)} bytes in every cell`;
  const cells = inputs.join.filter((c) => c.variant === 'generated');
  if (cells.length === 0) return { target, verdict: 'NOT RUN', detail: 'no generated join cell ran' };
  const worst = cells.reduce((a, b) => (b.median > a.median ? b : a));
  const over = cells.filter((c) => c.median > TARGETS.joinMaxBytes);
  return over.length === 0
    ? { target, verdict: 'PASS', detail: `largest cell median ${fmt(worst.median)} bytes (${cellName(worst)}), ${cells.length} cells` }
    : { target, verdict: 'MISS', detail: `${over.length} of ${cells.length} cells above: ${over.map((c) => `${cellName(c)} ${fmt(c.median)} bytes`).join('; ')}` };
}

function joinFlat(inputs: TargetInputs): TargetResult {
  const target = `Generated join flat in N and R (max/min of cell medians <= ${1 + TARGETS.joinFlatness})`;
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
  if (judged === 0) return { target, verdict: 'NOT RUN', detail: 'needs several N and R' };
  return { target, verdict: miss ? 'MISS' : 'PASS', detail: details.join('; ') };
}

function incident(inputs: TargetInputs): TargetResult {
  const { n, r } = TARGETS.incidentCell;
  const target = `N=${n}, R=${fmt(r)}: generated at least ${fmt(TARGETS.incidentRatio)}x below baseline, every Celery version`;
  const details: string[] = [];
  let miss = false;
  for (const version of inputs.celeryVersions) {
    const find = (variant: string) => inputs.join.find((c) => c.celery === version && c.variant === variant && c.n === n && c.r === r);
    const baseline = find('baseline');
    const generated = find('generated');
    if (!baseline || !generated) return { target, verdict: 'NOT RUN', detail: `no N=${n}, R=${fmt(r)} cell for Celery ${version}` };
    const ratio = baseline.median / generated.median;
    if (!(ratio >= TARGETS.incidentRatio)) miss = true;
    details.push(`Celery ${version}: ${fmt(baseline.median)} / ${fmt(generated.median)} bytes = ${fmt(ratio)}x`);
  }
  if (details.length === 0) return { target, verdict: 'NOT RUN', detail: 'no Celery version ran' };
  return { target, verdict: miss ? 'MISS' : 'PASS', detail: details.join('; ') };
}

function idle(inputs: TargetInputs): TargetResult {
  const target = `Idle ingress per worker at least ${TARGETS.idleRatio}x below baseline`;
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
  if (details.length === 0) return { target, verdict: 'NOT RUN', detail: 'idle cost not measured' };
  return { target, verdict: miss ? 'MISS' : 'PASS', detail: details.join('; ') };
}

function spread(inputs: TargetInputs): TargetResult {
  const target = `Restart spread: at most ${TARGETS.spreadMaxPerMinute} restarts in any 60 s, ${TARGETS.spreadInstances} instances, default window (worst simulated fleet)`;
  const s = inputs.spread.find((x) => x.instances === TARGETS.spreadInstances && x.scenario === 'slots');
  if (!s) return { target, verdict: 'NOT RUN', detail: 'not simulated' };
  const numbers = `worst ${s.worst} of ${fmt(s.fleets)} fleets, median ${s.median}, ${(s.shareAbove2 * 100).toFixed(1)} % of fleets above 2`;
  if (s.worst <= TARGETS.spreadMaxPerMinute) return { target, verdict: 'PASS', detail: numbers };
  return {
    target,
    verdict: 'MISS',
    detail: `${numbers}. The rank slots are ${s.windowSeconds / s.instances} s apart; more than ${TARGETS.spreadMaxPerMinute} in a minute means the slot rule (periodicRestartSlotSeconds) is broken. Versus the incident's ${s.instances} in one minute.`,
  };
}

function floor(inputs: TargetInputs): TargetResult {
  const target = `Generated join within ${TARGETS.floorMultiple}x the physical floor (worst cell)`;
  const details: string[] = [];
  let miss = false;
  for (const f of inputs.floors) {
    const cells = inputs.join.filter((c) => c.variant === 'generated' && c.celery === f.celery);
    if (cells.length === 0) continue;
    const worst = cells.reduce((a, b) => (b.median > a.median ? b : a));
    const multiple = worst.median / f.median;
    if (!(multiple <= TARGETS.floorMultiple)) miss = true;
    details.push(`Celery ${f.celery}: ${fmt(worst.median)} / ${fmt(f.median)} bytes = ${multiple.toFixed(2)}x`);
  }
  if (details.length === 0) return { target, verdict: 'NOT RUN', detail: 'floor not measured' };
  return { target, verdict: miss ? 'MISS' : 'PASS', detail: details.join('; ') };
}

/** Verdict per target of the issue, from whatever ran. */
export function evaluateTargets(inputs: TargetInputs): TargetResult[] {
  return [joinMax(inputs), joinFlat(inputs), incident(inputs), idle(inputs), spread(inputs), floor(inputs)];
}
