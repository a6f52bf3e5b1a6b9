/**
 * A small model of how CloudWatch evaluates alarms and runs their actions, used to replay
 * recorded-shape time series against the alarms of a SYNTHESIZED template (thresholds, periods,
 * comparisons, datapoints, missing-data treatment, actions and action suppressors are read from
 * the template, never copied into tests).
 *
 * Model (and its simplifications):
 * - Time advances in whole minutes. A series gives one value per minute (the per-minute Sum for
 *   Sum metrics, the per-minute Maximum/Minimum for gauges); `undefined` is a missing datapoint.
 * - A period of P minutes aggregates its minutes with the query's statistic (Sum, Maximum,
 *   Minimum, Average, SampleCount); a period with no value at all is missing. Its datapoint is
 *   available when the period ends (no publication delay is modelled).
 * - Each time a period ends the alarm looks at its last N = EvaluationPeriods datapoints. Missing
 *   ones are treated per TreatMissingData: `breaching` counts them as breaching, `notBreaching` as
 *   not breaching, `missing` and `ignore` skip them; when all N are missing, `missing` goes to
 *   INSUFFICIENT_DATA and `ignore` keeps the current state. Otherwise the alarm is ALARM when at
 *   least M = DatapointsToAlarm datapoints breach, else OK. (CloudWatch's wider "evaluation range"
 *   for late data is not modelled.) An alarm is evaluated once N periods of history exist; the
 *   window may reach back before the alarm was created (`createdAt`), as CloudWatch's does.
 * - Metric math, evaluated over the alarm's N-period window:
 *   numbers, metric and expression ids, + - * /, comparisons (== != < > <= >=, 1 when true),
 *   AND / && / OR / || / NOT, IF(cond, a, b), parentheses, arrays `[a, b]` with
 *   MAX / MIN / SUM / AVG over them (per period, ignoring missing members; missing when all are),
 *   FILL(s, v), RATE(s) and DIFF(s).
 *   A binary operation or IF is missing where an operand it needs is missing.
 *   FILL gives `v` where `s` is missing but another metric of the expression has a datapoint
 *   (CloudWatch aligns an expression on the timestamps its metrics return); it never makes a
 *   datapoint from nothing, so no test depends on how CloudWatch treats an empty FILL.
 *   RATE and DIFF compare each datapoint with the previous one IN THE WINDOW (the first has none),
 *   RATE per second. ANOMALY_DETECTION_BAND and other functions are reported unsupported.
 * - Metrics Insights: `SELECT FUNC(Metric) FROM SCHEMA("Namespace", Key, ...) [WHERE Key = 'v'
 *   [AND ...]]` with FUNC one of MAX, MIN, SUM, AVG, COUNT, over every recorded series of exactly
 *   those dimension keys (`ReplayOptions.catalog`), aggregated per period.
 * - Composite alarms: ALARM(x), OK(x), INSUFFICIENT_DATA(x), AND, OR, NOT, TRUE, FALSE and
 *   parentheses, evaluated every minute after the metric alarms (composites of composites in
 *   dependency order).
 * - Actions: an alarm whose ActionsEnabled is not false runs its AlarmActions when it enters
 *   ALARM and its OKActions when it enters OK (from any state, as CloudWatch does). A composite
 *   with an ActionsSuppressor holds its ALARM actions while the suppressor is in ALARM, for
 *   ActionsSuppressorExtensionPeriod after the suppressor leaves ALARM, and for up to
 *   ActionsSuppressorWaitPeriod after the composite enters ALARM while the suppressor has not
 *   (yet) gone to ALARM; after that, if it is still in ALARM, it runs them. Its OK actions run
 *   only after ALARM actions that ran (nothing to resolve otherwise).
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

export interface ReplayOptions {
  /** Every recorded series, for Metrics Insights queries. */
  readonly catalog?: () => MetricIdentity[];
  /**
   * Minute at which the stack creates the alarms (after the broker, on a first deployment).
   * Before it they have no state and run no action; their first windows still look back.
   * @default 0
   */
  readonly createdAt?: number;
}

interface MetricQuery {
  readonly id: string;
  readonly metric?: MetricIdentity;
  readonly stat?: string;
  readonly periodMinutes?: number;
  readonly expression?: string;
  readonly returnData: boolean;
}

interface AlarmActions {
  readonly actionsEnabled: boolean;
  /** Action ARNs, or the logical id of a `Ref`/`Fn::GetAtt`. */
  readonly alarmActions: string[];
  readonly okActions: string[];
}

export interface MetricAlarmConfig extends AlarmActions {
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

export interface CompositeAlarmConfig extends AlarmActions {
  readonly logicalId: string;
  readonly alarmName: string;
  readonly rule: string;
  /** Logical id of the actions suppressor. */
  readonly suppressor?: string;
  readonly waitMinutes: number;
  readonly extensionMinutes: number;
}

export interface ParsedAlarms {
  readonly metricAlarms: MetricAlarmConfig[];
  readonly compositeAlarms: CompositeAlarmConfig[];
  /** Alarms this model cannot evaluate, with the reason (e.g. anomaly-detection bands). */
  readonly unsupported: { [logicalId: string]: string };
}

/** A value of the template as text: literal strings as they are, anything else JSON-encoded. */
function literal(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** A string that may be an `Fn::Join` of literals and CloudFormation values (JSON-encoded, like dimension values). */
function joined(value: unknown): string {
  const v = value as { [key: string]: any };
  if (v && typeof v === 'object' && v['Fn::Join']) {
    const [sep, parts] = v['Fn::Join'];
    return (parts as unknown[]).map(literal).join(sep);
  }
  return literal(value);
}

function dimensionsOf(dims: Array<{ Name: string; Value: unknown }> | undefined): { [name: string]: string } {
  const out: { [name: string]: string } = {};
  for (const d of dims ?? []) out[d.Name] = literal(d.Value);
  return out;
}

/** The logical id behind a `Ref` or `Fn::GetAtt`, or the string itself. */
function reference(value: unknown): string {
  if (typeof value === 'string') return value;
  const r = value as { [key: string]: any };
  if (r['Fn::GetAtt']) return r['Fn::GetAtt'][0];
  if (r.Ref) return r.Ref;
  return JSON.stringify(value);
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

function actionsOf(p: any): AlarmActions {
  return {
    actionsEnabled: p.ActionsEnabled !== false,
    alarmActions: (p.AlarmActions ?? []).map(reference),
    okActions: (p.OKActions ?? []).map(reference),
  };
}

/** Read every alarm of a synthesized template (the output of `Template.toJSON()`). */
export function parseAlarms(template: { Resources: { [id: string]: any } }): ParsedAlarms {
  const metricAlarms: MetricAlarmConfig[] = [];
  const compositeAlarms: CompositeAlarmConfig[] = [];
  const unsupported: { [logicalId: string]: string } = {};
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const p = resource.Properties ?? {};
    if (resource.Type === 'AWS::CloudWatch::CompositeAlarm') {
      compositeAlarms.push({
        logicalId,
        alarmName: joined(p.AlarmName),
        rule: renderRule(p.AlarmRule),
        suppressor: p.ActionsSuppressor === undefined ? undefined : reference(p.ActionsSuppressor),
        // CloudFormation's defaults when a suppressor is set: 60 s each.
        waitMinutes: (p.ActionsSuppressorWaitPeriod ?? 60) / 60,
        extensionMinutes: (p.ActionsSuppressorExtensionPeriod ?? 60) / 60,
        ...actionsOf(p),
      });
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
        expression: m.Expression === undefined ? undefined : joined(m.Expression),
        metric: m.MetricStat ? {
          namespace: m.MetricStat.Metric.Namespace,
          metricName: m.MetricStat.Metric.MetricName,
          dimensions: dimensionsOf(m.MetricStat.Metric.Dimensions),
        } : undefined,
        stat: m.MetricStat?.Stat,
        periodMinutes: m.MetricStat ? m.MetricStat.Period / 60 : (m.Period !== undefined ? m.Period / 60 : undefined),
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
    if (!Number.isFinite(periodSeconds) || periodSeconds % 60 !== 0) {
      unsupported[logicalId] = `period ${periodSeconds} s is not whole minutes`;
      continue;
    }
    metricAlarms.push({
      logicalId,
      alarmName: joined(p.AlarmName),
      comparison: p.ComparisonOperator,
      threshold: p.Threshold,
      evaluationPeriods: p.EvaluationPeriods,
      datapointsToAlarm: p.DatapointsToAlarm ?? p.EvaluationPeriods,
      treatMissingData: p.TreatMissingData ?? 'missing',
      periodMinutes: periodSeconds / 60,
      queries,
      ...actionsOf(p),
    });
  }
  return { metricAlarms, compositeAlarms, unsupported };
}

type Series = Array<number | undefined>;

function aggregate(values: Series, stat: string): number | undefined {
  const present = values.filter((v): v is number => v !== undefined);
  if (present.length === 0) return undefined;
  switch (stat.toUpperCase()) {
    case 'SUM': return present.reduce((a, b) => a + b, 0);
    case 'MAXIMUM': case 'MAX': return Math.max(...present);
    case 'MINIMUM': case 'MIN': return Math.min(...present);
    case 'AVERAGE': case 'AVG': return present.reduce((a, b) => a + b, 0) / present.length;
    case 'SAMPLECOUNT': case 'COUNT': return present.length;
    default: throw new Error(`unsupported statistic ${stat}`);
  }
}

/** The datapoint of each complete period of one series. */
function periodDatapoints(series: ReadonlyArray<number | undefined>, periodMinutes: number, stat: string, minutes: number): Series {
  const out: Series = [];
  for (let start = 0; start + periodMinutes <= minutes; start += periodMinutes) {
    out.push(aggregate(series.slice(start, start + periodMinutes) as Series, stat));
  }
  return out;
}

// ---- Metrics Insights ---------------------------------------------------------------------

interface InsightsQuery {
  readonly func: string;
  readonly metricName: string;
  readonly namespace: string;
  /** Exact dimension keys (SCHEMA), or undefined for `FROM "Namespace"` (any). */
  readonly schemaKeys?: string[];
  readonly where: Array<[string, string]>;
}

const unquote = (s: string) => s.trim().replace(/^"(.*)"$/, '$1');

/** Parse the supported subset of a Metrics Insights query. */
export function parseInsightsQuery(query: string): InsightsQuery {
  const m = /^\s*SELECT\s+(\w+)\(\s*("?[\w.-]+"?)\s*\)\s+FROM\s+(SCHEMA\(([^)]*)\)|"[^"]+")\s*(?:WHERE\s+(.+?))?\s*$/is.exec(query);
  if (!m) throw new Error(`unsupported Metrics Insights query: ${query}`);
  const [, func, metric, from, schemaArgs, where] = m;
  let namespace: string;
  let schemaKeys: string[] | undefined;
  if (schemaArgs !== undefined) {
    const parts = schemaArgs.split(',').map(unquote);
    namespace = parts[0];
    schemaKeys = parts.slice(1);
  } else {
    namespace = unquote(from);
  }
  const conditions: Array<[string, string]> = [];
  if (where) {
    for (const clause of where.split(/\s+AND\s+/i)) {
      const c = /^\s*("?[\w.-]+"?)\s*=\s*'((?:[^'\\]|\\.)*)'\s*$/.exec(clause);
      if (!c) throw new Error(`unsupported WHERE clause ${clause} in ${query}`);
      conditions.push([unquote(c[1]), c[2].replace(/\\(.)/g, '$1')]);
    }
  }
  return { func: func.toUpperCase(), metricName: unquote(metric), namespace, schemaKeys, where: conditions };
}

function insightsDatapoints(query: InsightsQuery, periodMinutes: number, source: SeriesSource, catalog: MetricIdentity[], minutes: number): Series {
  const matched = catalog.filter((id) => {
    if (id.namespace !== query.namespace || id.metricName !== query.metricName) return false;
    const keys = Object.keys(id.dimensions).sort();
    if (query.schemaKeys && keys.join('|') !== [...query.schemaKeys].sort().join('|')) return false;
    return query.where.every(([k, v]) => id.dimensions[k] === v);
  }).map(id => source(id) ?? []);
  const out: Series = [];
  for (let start = 0; start + periodMinutes <= minutes; start += periodMinutes) {
    const values: Series = [];
    for (const s of matched) for (let m = start; m < start + periodMinutes; m++) values.push(s[m]);
    out.push(aggregate(values, query.func));
  }
  return out;
}

// ---- metric math --------------------------------------------------------------------------

type Node =
  | { kind: 'num'; value: number }
  | { kind: 'id'; name: string }
  | { kind: 'neg'; arg: Node }
  | { kind: 'not'; arg: Node }
  | { kind: 'bin'; op: string; left: Node; right: Node }
  | { kind: 'call'; fn: string; args: Node[] }
  | { kind: 'array'; items: Node[] };

const FUNCTIONS = ['IF', 'FILL', 'RATE', 'DIFF', 'MAX', 'MIN', 'SUM', 'AVG'];

/** Parse the supported subset of CloudWatch metric math (see the module comment). */
export function parseExpression(source: string): Node {
  const tokens = source.match(/\s*(\d+(?:\.\d+)?|[A-Za-z_][A-Za-z0-9_]*|==|!=|<=|>=|&&|\|\||[-+*/()<>,[\]])/g);
  if (!tokens || tokens.join('').replace(/\s/g, '') !== source.replace(/\s/g, '')) {
    throw new Error(`cannot tokenize metric math: ${source}`);
  }
  const toks = tokens.map(t => t.trim());
  let i = 0;
  const peek = () => toks[i];
  const take = (expected?: string) => {
    const t = toks[i++];
    if (expected !== undefined && t?.toUpperCase() !== expected) throw new Error(`expected ${expected} at ${t} in ${source}`);
    return t;
  };
  const primary = (): Node => {
    const t = take();
    if (t === undefined) throw new Error(`unexpected end of ${source}`);
    if (/^\d/.test(t)) return { kind: 'num', value: Number(t) };
    if (t === '(') { const e = orExpr(); take(')'); return e; }
    if (t === '[') {
      const items = [orExpr()];
      while (peek() === ',') { take(); items.push(orExpr()); }
      take(']');
      return { kind: 'array', items };
    }
    if (t === '-') return { kind: 'neg', arg: primary() };
    if (/^[A-Za-z_]/.test(t)) {
      if (peek() === '(') {
        const fn = t.toUpperCase();
        if (!FUNCTIONS.includes(fn)) throw new Error(`unsupported metric math function ${t} in ${source}`);
        take('(');
        const args = [orExpr()];
        while (peek() === ',') { take(); args.push(orExpr()); }
        take(')');
        return { kind: 'call', fn, args };
      }
      return { kind: 'id', name: t };
    }
    throw new Error(`unexpected ${t} in ${source}`);
  };
  const binary = (next: () => Node, ops: string[]) => (): Node => {
    let left = next();
    while (peek() !== undefined && ops.includes(peek()!.toUpperCase())) {
      const op = take().toUpperCase();
      left = { kind: 'bin', op, left, right: next() };
    }
    return left;
  };
  const multiplicative = binary(primary, ['*', '/']);
  const additive = binary(multiplicative, ['+', '-']);
  const comparison = (): Node => {
    const left = additive();
    if (['==', '!=', '<', '>', '<=', '>='].includes(peek() ?? '')) {
      const op = take();
      return { kind: 'bin', op, left, right: additive() };
    }
    return left;
  };
  const notExpr = (): Node => {
    if (peek()?.toUpperCase() === 'NOT') { take(); return { kind: 'not', arg: notExpr() }; }
    return comparison();
  };
  const andExpr = binary(notExpr, ['AND', '&&']);
  function orExpr(): Node { return binary(andExpr, ['OR', '||'])(); }
  const tree = orExpr();
  if (i !== toks.length) throw new Error(`unexpected ${toks[i]} in ${source}`);
  return tree;
}

/** The ids an expression refers to. */
function idsOf(node: Node): string[] {
  switch (node.kind) {
    case 'num': return [];
    case 'id': return [node.name];
    case 'neg': case 'not': return idsOf(node.arg);
    case 'bin': return [...idsOf(node.left), ...idsOf(node.right)];
    case 'call': return node.args.flatMap(idsOf);
    case 'array': return node.items.flatMap(idsOf);
  }
}

interface Context {
  /** Series (over the window) of each id. */
  readonly series: (id: string) => Series;
  /** Periods where any metric of the expression has a datapoint (FILL fills only there). */
  readonly present: boolean[];
  readonly periodSeconds: number;
}

const BINARY: { [op: string]: (a: number, b: number) => number } = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  '/': (a, b) => a / b,
  '==': (a, b) => Number(a === b),
  '!=': (a, b) => Number(a !== b),
  '<': (a, b) => Number(a < b),
  '>': (a, b) => Number(a > b),
  '<=': (a, b) => Number(a <= b),
  '>=': (a, b) => Number(a >= b),
  'AND': (a, b) => Number(a !== 0 && b !== 0),
  '&&': (a, b) => Number(a !== 0 && b !== 0),
  'OR': (a, b) => Number(a !== 0 || b !== 0),
  '||': (a, b) => Number(a !== 0 || b !== 0),
};

function evaluateNode(node: Node, ctx: Context): Series {
  const n = ctx.present.length;
  const map = (s: Series, f: (v: number) => number): Series => s.map(v => (v === undefined ? undefined : f(v)));
  switch (node.kind) {
    case 'num': return new Array(n).fill(node.value);
    case 'id': return ctx.series(node.name);
    case 'neg': return map(evaluateNode(node.arg, ctx), v => -v);
    case 'not': return map(evaluateNode(node.arg, ctx), v => Number(v === 0));
    case 'bin': {
      const l = evaluateNode(node.left, ctx);
      const r = evaluateNode(node.right, ctx);
      const f = BINARY[node.op];
      return l.map((a, p) => (a === undefined || r[p] === undefined ? undefined : f(a, r[p]!)));
    }
    case 'array': throw new Error('an array is only allowed as the argument of MAX, MIN, SUM or AVG');
    case 'call': {
      const args = node.args;
      switch (node.fn) {
        case 'IF': {
          if (args.length !== 3) throw new Error('IF takes 3 arguments');
          const [c, a, b] = args.map(x => evaluateNode(x, ctx));
          return c.map((v, p) => (v === undefined ? undefined : v !== 0 ? a[p] : b[p]));
        }
        case 'FILL': {
          const s = evaluateNode(args[0], ctx);
          const fill = evaluateNode(args[1], ctx);
          return s.map((v, p) => (v !== undefined ? v : ctx.present[p] ? fill[p] : undefined));
        }
        case 'RATE': case 'DIFF': {
          const s = evaluateNode(args[0], ctx);
          const out: Series = new Array(n).fill(undefined);
          let prev: number | undefined;
          s.forEach((v, p) => {
            if (v === undefined) return;
            if (prev !== undefined) {
              const diff = v - s[prev]!;
              out[p] = node.fn === 'DIFF' ? diff : diff / ((p - prev) * ctx.periodSeconds);
            }
            prev = p;
          });
          return out;
        }
        default: {
          if (args.length !== 1 || args[0].kind !== 'array') throw new Error(`${node.fn} is supported over an array [a, b, ...] only`);
          const members = args[0].items.map(x => evaluateNode(x, ctx));
          const stat = node.fn;
          return new Array(n).fill(0).map((_, p) => aggregate(members.map(m => m[p]), stat));
        }
      }
    }
  }
}

/**
 * Evaluate a metric math expression over a window, given the series of its ids. Exposed for
 * unit tests of the math itself.
 */
export function evaluateExpression(source: string, series: { [id: string]: Series }, periodSeconds = 60): Series {
  const tree = parseExpression(source);
  const ids = idsOf(tree);
  const length = Math.max(1, ...Object.values(series).map(s => s.length));
  const present = new Array(length).fill(false).map((_, p) => ids.some(id => series[id]?.[p] !== undefined));
  return evaluateNode(tree, {
    series: (id) => {
      if (!(id in series)) throw new Error(`metric math refers to unknown id ${id} in ${source}`);
      return series[id];
    },
    present,
    periodSeconds,
  });
}

/** Per-period base series of an alarm's metric queries (MetricStat and Metrics Insights). */
function baseSeries(alarm: MetricAlarmConfig, source: SeriesSource, options: ReplayOptions, minutes: number): { [id: string]: Series } {
  const out: { [id: string]: Series } = {};
  for (const q of alarm.queries) {
    if (q.metric) {
      out[q.id] = periodDatapoints(source(q.metric) ?? [], q.periodMinutes!, q.stat!, minutes);
    } else if (q.expression && /^\s*SELECT\b/i.test(q.expression)) {
      if (!options.catalog) throw new Error(`${alarm.logicalId} runs a Metrics Insights query: pass ReplayOptions.catalog`);
      out[q.id] = insightsDatapoints(parseInsightsQuery(q.expression), q.periodMinutes ?? alarm.periodMinutes, source, options.catalog(), minutes);
    }
  }
  return out;
}

/** The datapoints of the periods [from, to) of an alarm, given its base series. */
function windowDatapoints(alarm: MetricAlarmConfig, base: { [id: string]: Series }, from: number, to: number): Series {
  const result = alarm.queries.find(q => q.returnData);
  if (!result) throw new Error(`${alarm.logicalId} returns no data`);
  const byId = new Map(alarm.queries.map(q => [q.id, q]));
  const cache = new Map<string, Series>();
  const seriesOf = (id: string, stack: string[]): Series => {
    if (cache.has(id)) return cache.get(id)!;
    if (base[id]) return base[id].slice(from, to);
    const q = byId.get(id);
    if (!q?.expression) throw new Error(`${alarm.logicalId}: unknown metric id ${id}`);
    if (stack.includes(id)) throw new Error(`${alarm.logicalId}: expression ${id} refers to itself`);
    const tree = parseExpression(q.expression);
    const metricIds = (node: Node): string[] =>
      idsOf(node).flatMap(ref => (base[ref] ? [ref] : metricIds(parseExpression(byId.get(ref)!.expression!))));
    const refs = metricIds(tree);
    const present = new Array(to - from).fill(false).map((_, p) => refs.some(ref => base[ref][from + p] !== undefined));
    const value = evaluateNode(tree, { series: ref => seriesOf(ref, [...stack, id]), present, periodSeconds: alarm.periodMinutes * 60 });
    cache.set(id, value);
    return value;
  };
  return seriesOf(result.id, []);
}

/** The datapoints of every complete period of an alarm, evaluated as one window (for inspection in tests). */
export function alarmDatapoints(alarm: MetricAlarmConfig, source: SeriesSource, minutes: number, options: ReplayOptions = {}): Series {
  const base = baseSeries(alarm, source, options, minutes);
  return windowDatapoints(alarm, base, 0, Math.floor(minutes / alarm.periodMinutes));
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

function ruleTokens(rule: string): string[] {
  return rule.match(/ALARM|OK|INSUFFICIENT_DATA|AND|OR|NOT|TRUE|FALSE|\(|\)|"[^"]*"/g) ?? [];
}

/** The alarms a composite rule names. */
export function ruleAlarms(rule: string): string[] {
  return ruleTokens(rule).filter(t => t.startsWith('"')).map(t => t.slice(1, -1));
}

/** Evaluate a composite AlarmRule against the current states (keyed by logical id or name). */
export function evaluateRule(rule: string, states: { [alarm: string]: AlarmState }): boolean {
  const toks = ruleTokens(rule);
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

/** Composites ordered so that each comes after the composites its rule names. */
function compositeOrder(composites: CompositeAlarmConfig[]): CompositeAlarmConfig[] {
  const byId = new Map(composites.map(c => [c.logicalId, c]));
  const done = new Set<string>();
  const out: CompositeAlarmConfig[] = [];
  const visit = (c: CompositeAlarmConfig, path: string[]) => {
    if (done.has(c.logicalId)) return;
    if (path.includes(c.logicalId)) throw new Error(`composite alarms refer to each other: ${[...path, c.logicalId].join(' -> ')}`);
    for (const ref of ruleAlarms(c.rule)) {
      const dep = byId.get(ref);
      if (dep) visit(dep, [...path, c.logicalId]);
    }
    done.add(c.logicalId);
    out.push(c);
  };
  composites.forEach(c => visit(c, []));
  return out;
}

// ---- replay -------------------------------------------------------------------------------

/** Actions an alarm ran. */
export interface Notification {
  /** Minute (end of) at which the actions ran. */
  readonly minute: number;
  readonly alarm: string;
  readonly state: AlarmState;
  readonly actions: string[];
}

export interface Replay {
  /** State of every evaluated alarm (by logical id) at the end of each minute. */
  readonly states: { [logicalId: string]: AlarmState[] };
  /** Every action run, in order. */
  readonly notifications: Notification[];
  /** Minute (end of) at which the alarm first entered ALARM, or undefined. */
  firstAlarm(logicalId: string): number | undefined;
  /** Logical ids of every alarm that entered ALARM at least once. */
  fired(): string[];
  /** The ALARM notifications that reached `action` (a logical id or ARN). */
  alarmsSentTo(action: string): Notification[];
}

/** Replay `minutes` minutes of series through every supported alarm of the template. */
export function replay(alarms: ParsedAlarms, source: SeriesSource, minutes: number, options: ReplayOptions = {}): Replay {
  const createdAt = options.createdAt ?? 0;
  const states: { [logicalId: string]: AlarmState[] } = {};
  const current: { [logicalId: string]: AlarmState } = {};
  const base: { [logicalId: string]: { [id: string]: Series } } = {};
  const notifications: Notification[] = [];
  const notify = (minute: number, a: AlarmActions & { logicalId: string }, state: AlarmState) => {
    const actions = state === 'ALARM' ? a.alarmActions : state === 'OK' ? a.okActions : [];
    if (a.actionsEnabled && actions.length > 0) notifications.push({ minute, alarm: a.logicalId, state, actions });
  };
  for (const a of alarms.metricAlarms) {
    base[a.logicalId] = baseSeries(a, source, options, minutes);
    current[a.logicalId] = 'INSUFFICIENT_DATA';
    states[a.logicalId] = [];
  }
  const composites = compositeOrder(alarms.compositeAlarms);
  // Suppression bookkeeping per composite: when its ALARM episode started, whether its actions ran,
  // whether its suppressor was in ALARM during the episode; per alarm: when it last left ALARM.
  const episode: { [id: string]: { start: number; acted: boolean; suppressorSeen: boolean } | undefined } = {};
  const leftAlarmAt: { [id: string]: number | undefined } = {};
  for (const c of composites) {
    current[c.logicalId] = 'INSUFFICIENT_DATA';
    states[c.logicalId] = [];
  }

  for (let minute = 1; minute <= minutes; minute++) {
    const exists = minute > createdAt;
    for (const a of alarms.metricAlarms) {
      if (exists && minute % a.periodMinutes === 0) {
        const completed = minute / a.periodMinutes; // periods 0..completed-1 are complete
        if (completed >= a.evaluationPeriods) {
          const window = windowDatapoints(a, base[a.logicalId], completed - a.evaluationPeriods, completed);
          const next = nextState(a, window, current[a.logicalId]);
          if (next !== current[a.logicalId]) {
            if (current[a.logicalId] === 'ALARM') leftAlarmAt[a.logicalId] = minute;
            current[a.logicalId] = next;
            notify(minute, a, next);
          }
        }
      }
      states[a.logicalId].push(current[a.logicalId]);
    }
    for (const c of composites) {
      if (exists) {
        const previous = current[c.logicalId];
        const next: AlarmState = evaluateRule(c.rule, current) ? 'ALARM' : 'OK';
        if (next !== previous) {
          if (previous === 'ALARM') leftAlarmAt[c.logicalId] = minute;
          current[c.logicalId] = next;
          if (next === 'ALARM') {
            episode[c.logicalId] = { start: minute, acted: false, suppressorSeen: false };
          } else {
            const ended = episode[c.logicalId];
            episode[c.logicalId] = undefined;
            // OK resolves a page that was sent; a held-back ALARM has nothing to resolve.
            if (next === 'OK' && (previous !== 'ALARM' || ended?.acted)) notify(minute, c, 'OK');
          }
        }
        const e = episode[c.logicalId];
        if (e && !e.acted) {
          let held = false;
          if (c.suppressor) {
            const s = c.suppressor;
            if (!(s in current)) throw new Error(`${c.logicalId}: unknown actions suppressor ${s}`);
            if (current[s] === 'ALARM') {
              e.suppressorSeen = true;
              held = true;
            } else if (leftAlarmAt[s] !== undefined && minute - leftAlarmAt[s]! < c.extensionMinutes) {
              held = true;
            } else if (!e.suppressorSeen && minute - e.start < c.waitMinutes) {
              held = true;
            }
          }
          if (!held) {
            e.acted = true;
            notify(minute, c, 'ALARM');
          }
        }
      }
      states[c.logicalId].push(current[c.logicalId]);
    }
  }
  return {
    states,
    notifications,
    firstAlarm: (id: string) => {
      const s = states[id];
      if (!s) throw new Error(`alarm ${id} was not evaluated`);
      const idx = s.indexOf('ALARM');
      return idx < 0 ? undefined : idx + 1;
    },
    fired: () => Object.keys(states).filter(id => states[id].includes('ALARM')),
    alarmsSentTo: (action: string) => notifications.filter(n => n.state === 'ALARM' && n.actions.includes(action)),
  };
}
