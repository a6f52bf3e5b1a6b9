import {
  CloudWatchClient, Dimension, MetricAlarm, MetricDataQuery, paginateDescribeAlarms, paginateGetMetricData, paginateListMetrics,
} from '@aws-sdk/client-cloudwatch';
import { AlarmFacts, MetricsFacts, Series } from '../facts';
import { AMAZON_MQ_NAMESPACE, BROKER_DIMENSION_KEYS, WORKER_METRICS } from '../knowledge';

/** Read-only calls: cloudwatch:ListMetrics, cloudwatch:GetMetricData, cloudwatch:DescribeAlarms. */
export const METRICS_READER_ACTIONS = ['cloudwatch:ListMetrics', 'cloudwatch:GetMetricData', 'cloudwatch:DescribeAlarms'];

/** At most this many data points per series (GetMetricData returns up to 100,800 per call). */
const MAX_POINTS = 1440;
/** Stop paging alarms after this many (an account can have thousands). */
const MAX_ALARM_PAGES = 20;

export interface MetricsReadOptions {
  readonly brokerName: string;
  readonly brokerId: string;
  readonly start: Date;
  readonly end: Date;
  readonly groups: string[];
}

/** A period (multiple of 60 s) that keeps the series under MAX_POINTS. */
export function periodFor(start: Date, end: Date): number {
  const seconds = Math.max(60, (end.getTime() - start.getTime()) / 1000);
  return Math.max(60, Math.ceil(seconds / MAX_POINTS / 60) * 60);
}

function dimensionMap(dims: Dimension[] | undefined): { [name: string]: string } {
  return Object.fromEntries((dims ?? []).map((d) => [d.Name ?? '', d.Value ?? '']));
}

function sameDimensions(a: { [k: string]: string }, b: { [k: string]: string }): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}

export async function readMetrics(cw: CloudWatchClient, options: MetricsReadOptions): Promise<MetricsFacts> {
  const names = new Set([options.brokerName, options.brokerId]);
  const namesTheBroker = (dims: { [k: string]: string }) =>
    Object.entries(dims).some(([k, v]) => BROKER_DIMENSION_KEYS.includes(k) && names.has(v));

  const networkInDimensions: Array<{ [name: string]: string }> = [];
  for await (const page of paginateListMetrics({ client: cw }, { Namespace: AMAZON_MQ_NAMESPACE, MetricName: 'NetworkIn' })) {
    for (const m of page.Metrics ?? []) {
      const dims = dimensionMap(m.Dimensions);
      if (namesTheBroker(dims)) networkInDimensions.push(dims);
    }
  }
  const brokerMetricNames = new Set<string>();
  for await (const page of paginateListMetrics({ client: cw }, {
    Namespace: AMAZON_MQ_NAMESPACE, Dimensions: [{ Name: 'Broker', Value: options.brokerName }],
  })) {
    for (const m of page.Metrics ?? []) if (Object.keys(dimensionMap(m.Dimensions)).length === 1) brokerMetricNames.add(m.MetricName ?? '');
  }

  const periodSeconds = periodFor(options.start, options.end);
  // Periods start at StartTime: align it, so that a period holds whole minutes like 00:00 to 00:02.
  const start = new Date(Math.floor(options.start.getTime() / (periodSeconds * 1000)) * periodSeconds * 1000);
  const broker = [{ Name: 'Broker', Value: options.brokerName }];
  // Ingress under the dimensions it is published with: the broker name first, as documented.
  const ingressDims = networkInDimensions.find((d) => d.Broker === options.brokerName && Object.keys(d).length === 1)
    ?? networkInDimensions.find((d) => Object.keys(d).length === 1);
  const queries: MetricDataQuery[] = [];
  const stat = (id: string, metricName: string, statistic: string, dims: Dimension[], namespace = AMAZON_MQ_NAMESPACE) => queries.push({
    Id: id,
    ReturnData: true,
    MetricStat: { Metric: { Namespace: namespace, MetricName: metricName, Dimensions: dims }, Period: periodSeconds, Stat: statistic },
  });
  if (ingressDims) stat('ingress', 'NetworkIn', 'Sum', Object.entries(ingressDims).map(([Name, Value]) => ({ Name, Value })));
  stat('memused', 'RabbitMQMemUsed', 'Maximum', broker);
  stat('memlimit', 'RabbitMQMemLimit', 'Minimum', broker);
  stat('connections', 'ConnectionCount', 'Maximum', broker);
  options.groups.forEach((g, i) => stat(`restarts${i}`, WORKER_METRICS.restarts, 'Sum',
    [{ Name: WORKER_METRICS.groupDimension, Value: g }], WORKER_METRICS.namespace));

  const series = new Map<string, { t: Date[]; v: number[] }>();
  for await (const page of paginateGetMetricData({ client: cw }, {
    MetricDataQueries: queries, StartTime: start, EndTime: options.end, ScanBy: 'TimestampAscending',
  })) {
    for (const r of page.MetricDataResults ?? []) {
      const s = series.get(r.Id!) ?? { t: [], v: [] };
      s.t.push(...(r.Timestamps ?? []));
      s.v.push(...(r.Values ?? []));
      series.set(r.Id!, s);
    }
  }
  const get = (id: string): Series | undefined => {
    const s = series.get(id);
    if (!s || s.t.length === 0) return undefined;
    const order = s.t.map((_, i) => i).sort((a, b) => s.t[a].getTime() - s.t[b].getTime());
    return { timestamps: order.map((i) => new Date(s.t[i])), values: order.map((i) => s.v[i]) };
  };

  const alarms: AlarmFacts[] = [];
  const listed = new Map<string, boolean>();
  let pages = 0;
  for await (const page of paginateDescribeAlarms({ client: cw }, { AlarmTypes: ['MetricAlarm'] })) {
    for (const a of page.MetricAlarms ?? []) {
      const fact = await alarmFacts(cw, a, namesTheBroker, listed);
      if (fact) alarms.push(fact);
    }
    if (++pages >= MAX_ALARM_PAGES) break;
  }

  const workerRestarts: { [group: string]: Series } = {};
  options.groups.forEach((g, i) => {
    const s = get(`restarts${i}`);
    if (s) workerRestarts[g] = s;
  });
  return {
    start,
    end: options.end,
    periodSeconds,
    networkInDimensions,
    brokerMetricNames: [...brokerMetricNames].sort(),
    ingress: get('ingress'),
    memoryUsed: get('memused'),
    memoryLimit: get('memlimit'),
    connections: get('connections'),
    alarms,
    workerRestarts,
  };
}

async function alarmFacts(cw: CloudWatchClient, a: MetricAlarm, namesTheBroker: (d: { [k: string]: string }) => boolean,
  listed: Map<string, boolean>): Promise<AlarmFacts | undefined> {
  if (a.Metrics && a.Metrics.length > 0) {
    const stats = a.Metrics.filter((m) => m.MetricStat?.Metric);
    const concerned = stats.filter((m) => namesTheBroker(dimensionMap(m.MetricStat!.Metric!.Dimensions)));
    if (concerned.length === 0) return undefined;
    // Metric math: judged by its first metric on the broker.
    const metric = concerned[0].MetricStat!.Metric!;
    const dims = dimensionMap(metric.Dimensions);
    return {
      name: a.AlarmName ?? '',
      state: a.StateValue ?? 'unknown',
      metricName: metric.MetricName,
      namespace: metric.Namespace,
      dimensions: dims,
      metricMath: true,
      metricListed: await isListed(cw, metric.Namespace!, metric.MetricName!, dims, listed),
    };
  }
  const dims = dimensionMap(a.Dimensions);
  if (!namesTheBroker(dims)) return undefined;
  return {
    name: a.AlarmName ?? '',
    state: a.StateValue ?? 'unknown',
    metricName: a.MetricName,
    namespace: a.Namespace,
    dimensions: dims,
    metricMath: false,
    metricListed: await isListed(cw, a.Namespace!, a.MetricName!, dims, listed),
  };
}

/** ListMetrics lists metrics with data in the last two weeks: an alarm on one it does not list watches nothing. */
async function isListed(cw: CloudWatchClient, namespace: string, metricName: string, dims: { [k: string]: string },
  cache: Map<string, boolean>): Promise<boolean> {
  const key = JSON.stringify([namespace, metricName, Object.entries(dims).sort()]);
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  let found = false;
  for await (const page of paginateListMetrics({ client: cw }, {
    Namespace: namespace, MetricName: metricName, Dimensions: Object.entries(dims).map(([Name, Value]) => ({ Name, Value })),
  })) {
    if ((page.Metrics ?? []).some((m) => sameDimensions(dimensionMap(m.Dimensions), dims))) found = true;
  }
  cache.set(key, found);
  return found;
}
