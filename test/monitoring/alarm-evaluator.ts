/**
 * A small model of how CloudWatch evaluates alarms, used to replay recorded-shape time series
 * against the alarms of a SYNTHESIZED template (thresholds, periods, comparison, datapoints and
 * missing-data treatment are read from the template, never copied into tests).
 *
 * Model (and its simplifications):
 * - Time advances in whole minutes. A series gives one value per minute (the per-minute Sum for
 *   Sum metrics, the per-minute Maximum/Minimum for gauges); `undefined` is a missing datapoint.
 * - A period of P minutes aggregates its minutes with the alarm's statistic (Sum, Maximum,
 *   Minimum, Average, SampleCount); a period with no value at all is missing. Its datapoint is
 *   available when the period ends (no publication delay is modelled).
 * - Each time a period ends the alarm looks at its last N = EvaluationPeriods datapoints. Missing
 *   ones are treated per TreatMissingData: `breaching` counts them as breaching, `notBreaching` as
 *   not breaching, `missing` and `ignore` skip them; when all N are missing, `missing` goes to
 *   INSUFFICIENT_DATA and `ignore` keeps the current state. Otherwise the alarm is ALARM when at
 *   least M = DatapointsToAlarm datapoints breach, else OK. (CloudWatch's wider "evaluation range"
 *   for late data is not modelled.) The replay starts at minute 0 with every alarm in
 *   INSUFFICIENT_DATA and evaluates an alarm once N periods of history exist.
 * - Metric math: the subset the library uses: numbers, metric ids, + - * /, comparisons
 *   (== != < > <= >=), AND / && / OR / || / NOT, IF(cond, a, b) and parentheses. A comparison is
 *   1 when true, 0 when false. When a referenced metric is missing for a period, the expression
 *   has no datapoint for it. ANOMALY_DETECTION_BAND and other functions are reported unsupported.
 * - Composite alarms: ALARM(x), OK(x), INSUFFICIENT_DATA(x), AND, OR, NOT, TRUE, FALSE and
 *   parentheses, evaluated every minute after the metric alarms.
 */

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/** Which series a metric reads. Dimension values that are not literal strings are JSON-encoded. */
export interface MetricIdentity {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: { [name: string]: string };
}

/** Per-minute values of a metric, or undefined when the metric has no data at all. */
export type SeriesSource = (metric: MetricIdentity) => ReadonlyArray<number | undefined> | undefined;

interface MetricQuery {
  readonly id: string;
  readonly metric?: MetricIdentity;
  readonly stat?: string;
  readonly periodMinutes?: number;
  readonly expression?: string;
  readonly returnData: boolean;
}

export interface MetricAlarmConfig {
  readonly logicalId: string;
  readonly alarmName: string;
  readonly comparison: string;
  readonly threshold: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly treatMissingData: string;
  readonly periodMinutes: number;
  readonly queries: MetricQuery[];
}

export interface CompositeAlarmConfig {
  readonly logicalId: string;
  readonly alarmName: string;
  readonly rule: string;
}

export interface ParsedAlarms {
  readonly metricAlarms: MetricAlarmConfig[];
  readonly compositeAlarms: CompositeAlarmConfig[];
  /** Alarms this model cannot evaluate, with the reason (e.g. anomaly-detection bands). */
  readonly unsupported: { [logicalId: string]: string };
}

function literal(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function dimensionsOf(dims: Array<{ Name: string; Value: unknown }> | undefined): { [name: string]: string } {
  const out: { [name: string]: string } = {};
  for (const d of dims ?? []) out[d.Name] = literal(d.Value);
  return out;
}

/** Flatten `Fn::Join`/`Fn::GetAtt` in a composite rule into `ALARM("LogicalId")` references. */
function renderRule(rule: unknown): string {
  if (typeof rule === 'string') return rule;
  const r = rule as { [key: string]: any };
  if (r['Fn::Join']) {
    const [sep, parts] = r['Fn::Join'];
    return (parts as unknown[]).map(renderRule).join(sep);
  }
  if (r['Fn::GetAtt']) return r['Fn::GetAtt'][0];
  if (r.Ref) return r.Ref;
  throw new Error(`unsupported token in AlarmRule: ${JSON.stringify(rule)}`);
}

/** Read every alarm of a synthesized template (the output of `Template.toJSON()`). */
export function parseAlarms(template: { Resources: { [id: string]: any } }): ParsedAlarms {
  const metricAlarms: MetricAlarmConfig[] = [];
  const compositeAlarms: CompositeAlarmConfig[] = [];
  const unsupported: { [logicalId: string]: string } = {};
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const p = resource.Properties ?? {};
    if (resource.Type === 'AWS::CloudWatch::CompositeAlarm') {
      compositeAlarms.push({ logicalId, alarmName: literal(p.AlarmName), rule: renderRule(p.AlarmRule) });
      continue;
    }
    if (resource.Type !== 'AWS::CloudWatch::Alarm') continue;
    if (p.ThresholdMetricId !== undefined) {
      unsupported[logicalId] = 'anomaly-detection band: the band is a model CloudWatch trains on the metric history';
      continue;
    }
    if (p.ExtendedStatistic !== undefined) {
      unsupported[logicalId] = `percentile statistic ${p.ExtendedStatistic}`;
      continue;
    }
    let queries: MetricQuery[];
    let periodSeconds: number;
    if (p.Metrics) {
      queries = p.Metrics.map((m: any) => ({
        id: m.Id,
        expression: m.Expression,
        metric: m.MetricStat ? {
          namespace: m.MetricStat.Metric.Namespace,
          metricName: m.MetricStat.Metric.MetricName,
          dimensions: dimensionsOf(m.MetricStat.Metric.Dimensions),
        } : undefined,
        stat: m.MetricStat?.Stat,
        periodMinutes: m.MetricStat ? m.MetricStat.Period / 60 : undefined,
        returnData: m.ReturnData ?? true,
      }));
      const periods = queries.filter(q => q.periodMinutes !== undefined).map(q => q.periodMinutes! * 60);
      periodSeconds = Math.max(...periods);
      if (queries.some(q => q.expression && /ANOMALY_DETECTION_BAND/i.test(q.expression))) {
        unsupported[logicalId] = 'anomaly-detection band expression';
        continue;
      }
    } else {
      queries = [{
        id: 'm',
        metric: { namespace: p.Namespace, metricName: p.MetricName, dimensions: dimensionsOf(p.Dimensions) },
        stat: p.Statistic,
        periodMinutes: p.Period / 60,
        returnData: true,
      }];
      periodSeconds = p.Period;
    }
    if (periodSeconds % 60 !== 0) {
      unsupported[logicalId] = `period ${periodSeconds} s is not whole minutes`;
      continue;
    }
    metricAlarms.push({
      logicalId,
      alarmName: literal(p.AlarmName),
      comparison: p.ComparisonOperator,
      threshold: p.Threshold,
      evaluationPeriods: p.EvaluationPeriods,
      datapointsToAlarm: p.DatapointsToAlarm ?? p.EvaluationPeriods,
      treatMissingData: p.TreatMissingData ?? 'missing',
      periodMinutes: periodSeconds / 60,
      queries,
    });
  }
  return { metricAlarms, compositeAlarms, unsupported };
}

function aggregate(values: Array<number | undefined>, stat: string): number | undefined {
  const present = values.filter((v): v is number => v !== undefined);
  if (present.length === 0) return undefined;
  switch (stat) {
    case 'Sum': return present.reduce((a, b) => a + b, 0);
    case 'Maximum': return Math.max(...present);
    case 'Minimum': return Math.min(...present);
    case 'Average': return present.reduce((a, b) => a + b, 0) / present.length;
    case 'SampleCount': return present.length;
    default: throw new Error(`unsupported statistic ${stat}`);
  }
}

/** The datapoint of each complete period of one metric query. */
function metricDatapoints(q: MetricQuery, source: SeriesSource, minutes: number): Array<number | undefined> {
  const series = source(q.metric!) ?? [];
  const p = q.periodMinutes!;
  const out: Array<number | undefined> = [];
  for (let start = 0; start + p <= minutes; start += p) {
    const slice: Array<number | undefined> = [];
    for (let m = start; m < start + p; m++) slice.push(series[m]);
    out.push(aggregate(slice, q.stat!));
  }
  return out;
}

// ---- metric math --------------------------------------------------------------------------

type Expr = (vars: { [id: string]: number }) => number;

/** Compile the supported subset of CloudWatch metric math (see the module comment). */
export function compileExpression(source: string): { evaluate: Expr; ids: string[] } {
  const tokens = source.match(/\s*(\d+(?:\.\d+)?|[A-Za-z_][A-Za-z0-9_]*|==|!=|<=|>=|&&|\|\||[-+*/()<>,])/g);
  if (!tokens || tokens.join('').replace(/\s/g, '') !== source.replace(/\s/g, '')) {
    throw new Error(`cannot tokenize metric math: ${source}`);
  }
  const toks = tokens.map(t => t.trim());
  const ids = new Set<string>();
  let i = 0;
  const peek = () => toks[i];
  const take = (expected?: string) => {
    const t = toks[i++];
    if (expected !== undefined && t?.toUpperCase() !== expected) throw new Error(`expected ${expected} at ${t} in ${source}`);
    return t;
  };
  const bool = (b: boolean) => (b ? 1 : 0);

  const primary = (): Expr => {
    const t = take();
    if (t === undefined) throw new Error(`unexpected end of ${source}`);
    if (/^\d/.test(t)) { const n = Number(t); return () => n; }
    if (t === '(') { const e = orExpr(); take(')'); return e; }
    if (t === '-') { const e = primary(); return v => -e(v); }
    if (/^[A-Za-z_]/.test(t)) {
      if (peek() === '(') {
        if (t.toUpperCase() !== 'IF') throw new Error(`unsupported metric math function ${t} in ${source}`);
        take('(');
        const cond = orExpr(); take(',');
        const a = orExpr(); take(',');
        const b = orExpr(); take(')');
        return v => (cond(v) !== 0 ? a(v) : b(v));
      }
      ids.add(t);
      return v => {
        if (!(t in v)) throw new Error(`metric ${t} has no value`);
        return v[t];
      };
    }
    throw new Error(`unexpected ${t} in ${source}`);
  };
  const multiplicative = (): Expr => {
    let left = primary();
    while (peek() === '*' || peek() === '/') {
      const op = take(); const l = left; const r = primary();
      left = op === '*' ? v => l(v) * r(v) : v => l(v) / r(v);
    }
    return left;
  };
  const additive = (): Expr => {
    let left = multiplicative();
    while (peek() === '+' || peek() === '-') {
      const op = take(); const l = left; const r = multiplicative();
      left = op === '+' ? v => l(v) + r(v) : v => l(v) - r(v);
    }
    return left;
  };
  const comparison = (): Expr => {
    const left = additive();
    const op = peek();
    const ops: { [op: string]: (a: number, b: number) => boolean } = {
      '==': (a, b) => a === b,
      '!=': (a, b) => a !== b,
      '<': (a, b) => a < b,
      '>': (a, b) => a > b,
      '<=': (a, b) => a <= b,
      '>=': (a, b) => a >= b,
    };
    if (op && ops[op]) {
      take(); const right = additive(); const f = ops[op];
      return v => bool(f(left(v), right(v)));
    }
    return left;
  };
  const notExpr = (): Expr => {
    if (peek()?.toUpperCase() === 'NOT') { take(); const e = notExpr(); return v => bool(e(v) === 0); }
    return comparison();
  };
  const andExpr = (): Expr => {
    let left = notExpr();
    while (peek()?.toUpperCase() === 'AND' || peek() === '&&') {
      take(); const l = left; const r = notExpr();
      left = v => bool(l(v) !== 0 && r(v) !== 0);
    }
    return left;
  };
  function orExpr(): Expr {
    let left = andExpr();
    while (peek()?.toUpperCase() === 'OR' || peek() === '||') {
      take(); const l = left; const r = andExpr();
      left = v => bool(l(v) !== 0 || r(v) !== 0);
    }
    return left;
  }
  const evaluate = orExpr();
  if (i !== toks.length) throw new Error(`unexpected ${toks[i]} in ${source}`);
  return { evaluate, ids: [...ids] };
}

/** The datapoints the alarm compares with its threshold, one per complete period. */
export function alarmDatapoints(alarm: MetricAlarmConfig, source: SeriesSource, minutes: number): Array<number | undefined> {
  const byId: { [id: string]: Array<number | undefined> } = {};
  for (const q of alarm.queries) {
    if (q.metric) byId[q.id] = metricDatapoints(q, source, minutes);
  }
  const result = alarm.queries.find(q => q.returnData);
  if (!result) throw new Error(`${alarm.logicalId} returns no data`);
  if (!result.expression) return byId[result.id];
  const { evaluate, ids } = compileExpression(result.expression);
  const count = Math.floor(minutes / alarm.periodMinutes);
  const out: Array<number | undefined> = [];
  for (let p = 0; p < count; p++) {
    const vars: { [id: string]: number } = {};
    let complete = true;
    for (const id of ids) {
      const v = byId[id]?.[p];
      if (v === undefined) complete = false; else vars[id] = v;
    }
    out.push(complete ? evaluate(vars) : undefined);
  }
  return out;
}

export function breaches(comparison: string, value: number, threshold: number): boolean {
  switch (comparison) {
    case 'GreaterThanThreshold': return value > threshold;
    case 'GreaterThanOrEqualToThreshold': return value >= threshold;
    case 'LessThanThreshold': return value < threshold;
    case 'LessThanOrEqualToThreshold': return value <= threshold;
    default: throw new Error(`unsupported comparison ${comparison}`);
  }
}

/** The state an alarm moves to, given its last N datapoints (oldest first) and its current state. */
export function nextState(alarm: Pick<MetricAlarmConfig, 'comparison' | 'threshold' | 'datapointsToAlarm' | 'treatMissingData'>,
  window: Array<number | undefined>, current: AlarmState): AlarmState {
  let breaching = 0;
  let present = 0;
  for (const v of window) {
    if (v === undefined) {
      if (alarm.treatMissingData === 'breaching') { breaching++; present++; }
      if (alarm.treatMissingData === 'notBreaching') present++;
      continue;
    }
    present++;
    if (breaches(alarm.comparison, v, alarm.threshold)) breaching++;
  }
  if (present === 0) return alarm.treatMissingData === 'ignore' ? current : 'INSUFFICIENT_DATA';
  return breaching >= alarm.datapointsToAlarm ? 'ALARM' : 'OK';
}

// ---- composite rules ----------------------------------------------------------------------

/** Evaluate a composite AlarmRule against the current states (keyed by logical id or name). */
export function evaluateRule(rule: string, states: { [alarm: string]: AlarmState }): boolean {
  const toks = rule.match(/ALARM|OK|INSUFFICIENT_DATA|AND|OR|NOT|TRUE|FALSE|\(|\)|"[^"]*"/g) ?? [];
  let i = 0;
  const take = (expected?: string) => {
    const t = toks[i++];
    if (expected !== undefined && t !== expected) throw new Error(`expected ${expected} at ${t} in ${rule}`);
    return t;
  };
  const primary = (): boolean => {
    const t = take();
    if (t === 'TRUE') return true;
    if (t === 'FALSE') return false;
    if (t === 'NOT') return !primary();
    if (t === '(') { const v = or(); take(')'); return v; }
    if (t === 'ALARM' || t === 'OK' || t === 'INSUFFICIENT_DATA') {
      take('(');
      const name = take().slice(1, -1);
      take(')');
      if (!(name in states)) throw new Error(`composite rule names unknown alarm ${name}`);
      return states[name] === t;
    }
    throw new Error(`unexpected ${t} in ${rule}`);
  };
  const and = (): boolean => {
    let v = primary();
    while (toks[i] === 'AND') { take(); const r = primary(); v = v && r; }
    return v;
  };
  function or(): boolean {
    let v = and();
    while (toks[i] === 'OR') { take(); const r = and(); v = v || r; }
    return v;
  }
  const result = or();
  if (i !== toks.length) throw new Error(`unexpected ${toks[i]} in ${rule}`);
  return result;
}

// ---- replay -------------------------------------------------------------------------------

export interface Replay {
  /** State of every evaluated alarm (by logical id) at the end of each minute. */
  readonly states: { [logicalId: string]: AlarmState[] };
  /** Minute (end of) at which the alarm first entered ALARM, or undefined. */
  firstAlarm(logicalId: string): number | undefined;
  /** Logical ids of every alarm that entered ALARM at least once. */
  fired(): string[];
}

/** Replay `minutes` minutes of series through every supported alarm of the template. */
export function replay(alarms: ParsedAlarms, source: SeriesSource, minutes: number): Replay {
  const states: { [logicalId: string]: AlarmState[] } = {};
  const current: { [logicalId: string]: AlarmState } = {};
  const datapoints: { [logicalId: string]: Array<number | undefined> } = {};
  for (const a of alarms.metricAlarms) {
    datapoints[a.logicalId] = alarmDatapoints(a, source, minutes);
    current[a.logicalId] = 'INSUFFICIENT_DATA';
    states[a.logicalId] = [];
  }
  for (const c of alarms.compositeAlarms) {
    current[c.logicalId] = 'INSUFFICIENT_DATA';
    states[c.logicalId] = [];
  }
  for (let minute = 1; minute <= minutes; minute++) {
    for (const a of alarms.metricAlarms) {
      if (minute % a.periodMinutes === 0) {
        const completed = minute / a.periodMinutes; // periods 0..completed-1 are complete
        // History starts at minute 0: evaluate once a full window of N periods exists.
        if (completed >= a.evaluationPeriods) {
          const window = datapoints[a.logicalId].slice(completed - a.evaluationPeriods, completed);
          current[a.logicalId] = nextState(a, window, current[a.logicalId]);
        }
      }
      states[a.logicalId].push(current[a.logicalId]);
    }
    for (const c of alarms.compositeAlarms) {
      current[c.logicalId] = evaluateRule(c.rule, current) ? 'ALARM' : 'OK';
      states[c.logicalId].push(current[c.logicalId]);
    }
  }
  return {
    states,
    firstAlarm: (id: string) => {
      const s = states[id];
      if (!s) throw new Error(`alarm ${id} was not evaluated`);
      const idx = s.indexOf('ALARM');
      return idx < 0 ? undefined : idx + 1;
    },
    fired: () => Object.keys(states).filter(id => states[id].includes('ALARM')),
  };
}
