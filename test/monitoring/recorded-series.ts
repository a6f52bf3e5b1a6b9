/**
 * Recorded-shape CloudWatch series for the alarm replay tests: one value per minute, shaped like
 * what Amazon MQ, EC2 and the library's metrics publisher publish, with per-worker costs taken
 * from the measurements in the incident notes (98 bytes per revoked id, 9,025 bytes per safe
 * join, ~200 B/s of heartbeat events per default worker). Worker behaviour follows the `celery
 * worker` argv that `renderCeleryWorkerCommand` generates, so the "normal day" runs the library's
 * own workers.
 */
import { MetricIdentity, SeriesSource } from './alarm-evaluator';
import { AlarmThresholdDefaults as D } from '../../src/monitoring/alarm-thresholds';
import { BrokerMetricNames } from '../../src/monitoring/broker-metric-names';
import { RESTARTING_STATES } from '../../src/monitoring/broker-metrics-publisher-handler';

export type Minute = number;
type Value = number | undefined;

/** What one worker costs the broker, from its command line. */
export class WorkerTraffic {
  constructor(private readonly argv: string[], private readonly revokedIdsHeld: number) {}

  /** Broker ingress caused by this worker joining a fleet where `peers` workers already run. */
  public joinBytes(peers: number): number {
    if (this.argv.includes('--without-mingle')) return D.SAFE_JOIN_BYTES;
    // Every running peer replies with its whole revoked set.
    return peers * this.revokedIdsHeld * D.BYTES_PER_REVOKED_ID;
  }

  /** Bytes per minute the worker sends while idle (heartbeat events unless disabled). */
  public idleBytesPerMinute(): number {
    return this.argv.includes('--without-heartbeat') ? 1_000 : D.DEFAULT_WORKER_HEARTBEAT_BYTES_PER_MINUTE;
  }
}

/** A deterministic pseudo-random generator, so that every run replays the same day. */
export function jitter(seed: number): () => number {
  // Park-Miller minimal standard generator: exact in double arithmetic, no bit operations.
  let state = seed % 2147483647 || 1;
  return () => {
    state = (state * 16807) % 2147483647;
    return state / 2147483647;
  };
}

function seriesKey(namespace: string, metricName: string, dimensionValue: string): string {
  return `${namespace}|${metricName}|${dimensionValue}`;
}

/** Series keyed by namespace, metric name and dimension values. */
export class RecordedSeries {
  private readonly series = new Map<string, Value[]>();
  private readonly identities: MetricIdentity[] = [];

  /** The source the evaluator reads. Metrics without a recorded series have no data. */
  public readonly source: SeriesSource;

  constructor(public readonly minutes: number) {
    this.source = (metric: MetricIdentity) =>
      this.series.get(seriesKey(metric.namespace, metric.metricName, Object.values(metric.dimensions).sort().join(',')));
  }

  /** Every series recorded with its dimension keys (`setWithDimensions`), for Metrics Insights. */
  public catalog(): MetricIdentity[] {
    return [...this.identities];
  }

  public set(namespace: string, metricName: string, dimensionValue: string, perMinute: (m: Minute) => Value): this {
    const values: Value[] = [];
    for (let m = 0; m < this.minutes; m++) values.push(perMinute(m));
    this.series.set(seriesKey(namespace, metricName, dimensionValue), values);
    return this;
  }

  /** A series with its dimension keys, so that Metrics Insights queries can find it. */
  public setWithDimensions(namespace: string, metricName: string, dimensions: { [key: string]: string }, perMinute: (m: Minute) => Value): this {
    this.identities.push({ namespace, metricName, dimensions });
    return this.set(namespace, metricName, Object.values(dimensions).sort().join(','), perMinute);
  }

  public broker(brokerName: string, metricName: string, perMinute: (m: Minute) => Value): this {
    return this.set('AWS/AmazonMQ', metricName, brokerName, perMinute);
  }

  public get(namespace: string, metricName: string, dimensionValue: string): Value[] | undefined {
    return this.series.get(seriesKey(namespace, metricName, dimensionValue));
  }
}

export interface FleetShape {
  readonly autoScalingGroupName: string;
  /** Workers running each minute. */
  readonly running: (m: Minute) => number;
  /** Workers that join (new instance or restarted process) each minute. */
  readonly joins: (m: Minute) => number;
  /** Worker process restarts each minute (new instances are not restarts); missing when none. */
  readonly restarts: (m: Minute) => number;
  readonly worker: WorkerTraffic;
  /** Connections and channels each running worker holds. */
  readonly connectionsPerWorker: number;
  readonly channelsPerWorker: number;
  /** The queues the fleet consumes (each running worker is one consumer of each). */
  readonly queues?: string[];
  /** Ready messages in one of its queues each minute. @default 0 */
  readonly queueReady?: (queue: string, m: Minute) => number;
}

/** A cluster node, for the per-node metrics (`Broker`, `Node`). */
export interface NodeShape {
  readonly name: string;
  readonly cpuPercent: (m: Minute) => number;
}

export interface BrokerShape {
  readonly brokerName: string;
  /** Bytes per minute that producers publish (tasks) and workers return (acks, results). */
  readonly taskBytes: (m: Minute) => number;
  readonly producerConnections: number;
  /** Ready messages in queues that no fleet consumes. */
  readonly readyMessages: (m: Minute) => number;
  readonly memoryLimitBytes: number;
  readonly memoryUsedPercent: (m: Minute) => number;
  readonly cpuPercent: (m: Minute) => number;
  /** From this minute on the broker publishes nothing (it fell over); Amazon MQ still says RUNNING. */
  readonly deadFrom?: Minute;
  /** Minutes in which the broker publishes nothing by design (being created, rebooting). */
  readonly silent?: (m: Minute) => boolean;
  /** The state DescribeBroker returns each minute. @default 'RUNNING' */
  readonly state?: (m: Minute) => string;
  /** Minute of the broker's creation (DescribeBroker `Created`). @default long before the replay */
  readonly createdMinute?: Minute;
  /** First minute the metrics publisher runs; undefined: no publisher. @default 0 */
  readonly publisherFrom?: Minute | null;
  /** RabbitMQ 3 brokers publish Amazon MQ queue metrics; 4 do not (the publisher does). @default 4 */
  readonly engine?: 3 | 4;
  /** Which dimension AWS publishes `NetworkIn` under: the broker name, the broker id, or none. @default 'Broker' */
  readonly networkInDimension?: 'Broker' | 'BrokerId' | 'none';
  /** The `BrokerId` dimension value as the template holds it (JSON of its `Ref`). */
  readonly brokerIdKey?: string;
  /** Virtual host of the fleets' queues. @default 'celery' */
  readonly vhost?: string;
  /** Nodes of a cluster; their CPU is published per node, and the broker-level CPU aggregates them. */
  readonly nodes?: NodeShape[];
  /** How the broker-level metrics of a cluster aggregate its nodes (AWS does not say). @default 'sum' */
  readonly aggregate?: 'sum' | 'average';
}

/** Creation grace of the metrics publisher, in minutes (its default). */
const CREATION_GRACE_MINUTES = 30;

/**
 * Series for one broker and its fleets. Broker ingress = task traffic + every worker's idle
 * traffic + the cost of every join; each fleet's EC2 NetworkOut is its share of that. The metrics
 * publisher publishes `BrokerRestarting` from `publisherFrom` on, and on RabbitMQ 4 the queue
 * metrics (while the broker answers).
 */
export function recordDay(minutes: number, broker: BrokerShape, fleets: FleetShape[]): RecordedSeries {
  const s = new RecordedSeries(minutes);
  const alive = (m: Minute) => (broker.deadFrom === undefined || m < broker.deadFrom) && !(broker.silent?.(m) ?? false);
  const state = (m: Minute) => broker.state?.(m) ?? 'RUNNING';
  const engine = broker.engine ?? 4;
  const vhost = broker.vhost ?? 'celery';
  const fleetBytes = (f: FleetShape, m: Minute) => {
    // Every joining worker hears from every other running worker (synchronised or not).
    const join = f.joins(m) * f.worker.joinBytes(Math.max(0, f.running(m) - 1));
    return f.running(m) * f.worker.idleBytesPerMinute() + join;
  };
  const workers = (m: Minute) => fleets.reduce((n, f) => n + f.running(m), 0);
  const queueReady = (f: FleetShape, q: string, m: Minute) => f.queueReady?.(q, m) ?? 0;
  const fleetReady = (m: Minute) => fleets.reduce((n, f) => n + (f.queues ?? []).reduce((k, q) => k + queueReady(f, q, m), 0), 0);
  const b = (name: string, perMinute: (m: Minute) => Value) => s.broker(broker.brokerName, name, m => (alive(m) ? perMinute(m) : undefined));

  const networkIn = (m: Minute) => broker.taskBytes(m) + fleets.reduce((sum, f) => sum + fleetBytes(f, m), 0);
  const inDimension = broker.networkInDimension ?? 'Broker';
  if (inDimension === 'Broker') b('NetworkIn', networkIn);
  if (inDimension === 'BrokerId') {
    if (!broker.brokerIdKey) throw new Error('networkInDimension BrokerId needs brokerIdKey');
    s.set('AWS/AmazonMQ', 'NetworkIn', broker.brokerIdKey, m => (alive(m) ? networkIn(m) : undefined));
  }
  b('NetworkOut', m => broker.taskBytes(m) + fleets.reduce((sum, f) => sum + fleetBytes(f, m), 0));
  // A cluster's broker-level memory and CPU aggregate its nodes; how, AWS does not say.
  const nodes = broker.nodes ?? [];
  const scale = nodes.length > 0 && (broker.aggregate ?? 'sum') === 'sum' ? nodes.length : 1;
  b('RabbitMQMemLimit', () => broker.memoryLimitBytes * scale);
  b('RabbitMQMemUsed', m => broker.memoryLimitBytes * scale * broker.memoryUsedPercent(m) / 100);
  b('SystemCpuUtilization', nodes.length === 0 ? broker.cpuPercent
    : m => nodes.reduce((sum, n) => sum + n.cpuPercent(m), 0) / (scale === 1 ? nodes.length : 1));
  for (const node of nodes) {
    s.setWithDimensions('AWS/AmazonMQ', 'SystemCpuUtilization', { Broker: broker.brokerName, Node: node.name }, m => (alive(m) ? node.cpuPercent(m) : undefined));
  }
  b('RabbitMQDiskFreeLimit', () => 3_000_000_000 * scale);
  b('RabbitMQDiskFree', () => 150_000_000_000 * scale);
  b('ExchangeCount', () => 12);
  // Joining workers open their connections before the old ones time out.
  b('ConnectionCount', m => broker.producerConnections
    + fleets.reduce((n, f) => n + (f.running(m) + f.joins(m)) * f.connectionsPerWorker, 0));
  b('ChannelCount', m => broker.producerConnections * 2
    + fleets.reduce((n, f) => n + (f.running(m) + f.joins(m)) * f.channelsPerWorker, 0));
  b('ConsumerCount', m => workers(m));
  b('MessageReadyCount', m => broker.readyMessages(m) + fleetReady(m));
  b('MessageUnacknowledgedCount', m => workers(m) * 2);

  // The metrics publisher: DescribeBroker every minute, and the queues while the broker answers.
  const publisherFrom = broker.publisherFrom === undefined ? 0 : broker.publisherFrom;
  const created = broker.createdMinute ?? -1_000_000;
  const publishing = (m: Minute) => publisherFrom !== null && m >= publisherFrom;
  const restarting = (m: Minute) => RESTARTING_STATES.includes(state(m)) || m - created < CREATION_GRACE_MINUTES;
  s.set(BrokerMetricNames.NAMESPACE, BrokerMetricNames.BROKER_RESTARTING, broker.brokerName,
    m => (publishing(m) ? (restarting(m) ? 1 : 0) : undefined));

  for (const f of fleets) {
    // EC2 reports NetworkOut of the group's instances; the broker-bound bytes plus the results they
    // write elsewhere (a result backend, S3): 200 KB per worker per minute.
    s.set('AWS/EC2', 'NetworkOut', f.autoScalingGroupName, m => (f.running(m) > 0 ? fleetBytes(f, m) + f.running(m) * 200_000 : undefined));
    s.set('AWS/EC2', 'NetworkIn', f.autoScalingGroupName, m => (f.running(m) > 0 ? f.running(m) * 300_000 : undefined));
    // The restart metric is only published when a worker restarts.
    s.set('CdkCelery', 'WorkerRestarts', f.autoScalingGroupName, m => (f.restarts(m) > 0 ? f.restarts(m) : undefined));
    for (const q of f.queues ?? []) {
      const consumers = (m: Minute) => fleets.filter(g => (g.queues ?? []).includes(q)).reduce((n, g) => n + g.running(m), 0);
      const queueSeries: Array<[string, (m: Minute) => number]> = [
        [BrokerMetricNames.QUEUE_MESSAGE_READY_COUNT, m => queueReady(f, q, m)],
        [BrokerMetricNames.QUEUE_MESSAGE_UNACKNOWLEDGED_COUNT, m => consumers(m) * 2],
        [BrokerMetricNames.QUEUE_CONSUMER_COUNT, consumers],
      ];
      for (const [name, value] of queueSeries) {
        const dims = { Broker: broker.brokerName, VirtualHost: vhost, Queue: q };
        if (engine === 3) {
          s.setWithDimensions('AWS/AmazonMQ', name, dims, m => (alive(m) ? value(m) : undefined));
        }
        // The publisher reads the management API, which answers only while the broker runs.
        const answers = (m: Minute) => publishing(m) && alive(m) && !RESTARTING_STATES.includes(state(m));
        s.setWithDimensions(BrokerMetricNames.NAMESPACE, name, dims, m => (answers(m) ? value(m) : undefined));
      }
    }
  }
  return s;
}
