/**
 * Recorded-shape CloudWatch series for the alarm replay tests: one value per minute, shaped like
 * what Amazon MQ and EC2 publish, with per-worker costs taken from the measurements in the
 * incident notes (98 bytes per revoked id, 9,025 bytes per safe join, ~200 B/s of heartbeat
 * events per default worker). Worker behaviour follows the `celery worker` argv that
 * `renderCeleryWorkerCommand` generates, so the "normal day" runs the library's own workers.
 */
import { MetricIdentity, SeriesSource } from './alarm-evaluator';
import { AlarmThresholdDefaults as D } from '../../src/monitoring/alarm-thresholds';

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

  /** The source the evaluator reads. Metrics without a recorded series have no data. */
  public readonly source: SeriesSource;

  constructor(public readonly minutes: number) {
    this.source = (metric: MetricIdentity) =>
      this.series.get(seriesKey(metric.namespace, metric.metricName, Object.values(metric.dimensions).sort().join(',')));
  }

  public set(namespace: string, metricName: string, dimensionValue: string, perMinute: (m: Minute) => Value): this {
    const values: Value[] = [];
    for (let m = 0; m < this.minutes; m++) values.push(perMinute(m));
    this.series.set(seriesKey(namespace, metricName, dimensionValue), values);
    return this;
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
}

export interface BrokerShape {
  readonly brokerName: string;
  /** Bytes per minute that producers publish (tasks) and workers return (acks, results). */
  readonly taskBytes: (m: Minute) => number;
  readonly producerConnections: number;
  readonly readyMessages: (m: Minute) => number;
  readonly memoryLimitBytes: number;
  readonly memoryUsedPercent: (m: Minute) => number;
  readonly cpuPercent: (m: Minute) => number;
  /** From this minute on the broker publishes nothing (it fell over). */
  readonly deadFrom?: Minute;
}

/**
 * Series for one broker and its fleets. Broker ingress = task traffic + every worker's idle
 * traffic + the cost of every join; each fleet's EC2 NetworkOut is its share of that.
 */
export function recordDay(minutes: number, broker: BrokerShape, fleets: FleetShape[]): RecordedSeries {
  const s = new RecordedSeries(minutes);
  const alive = (m: Minute) => broker.deadFrom === undefined || m < broker.deadFrom;
  const fleetBytes = (f: FleetShape, m: Minute) => {
    // Every joining worker hears from every other running worker (synchronised or not).
    const join = f.joins(m) * f.worker.joinBytes(Math.max(0, f.running(m) - 1));
    return f.running(m) * f.worker.idleBytesPerMinute() + join;
  };
  const workers = (m: Minute) => fleets.reduce((n, f) => n + f.running(m), 0);
  const b = (name: string, perMinute: (m: Minute) => Value) => s.broker(broker.brokerName, name, m => (alive(m) ? perMinute(m) : undefined));

  b('NetworkIn', m => broker.taskBytes(m) + fleets.reduce((sum, f) => sum + fleetBytes(f, m), 0));
  b('NetworkOut', m => broker.taskBytes(m) + fleets.reduce((sum, f) => sum + fleetBytes(f, m), 0));
  b('RabbitMQMemLimit', () => broker.memoryLimitBytes);
  b('RabbitMQMemUsed', m => broker.memoryLimitBytes * broker.memoryUsedPercent(m) / 100);
  b('SystemCpuUtilization', broker.cpuPercent);
  b('RabbitMQDiskFreeLimit', () => 3_000_000_000);
  b('RabbitMQDiskFree', () => 150_000_000_000);
  // Joining workers open their connections before the old ones time out.
  b('ConnectionCount', m => broker.producerConnections
    + fleets.reduce((n, f) => n + (f.running(m) + f.joins(m)) * f.connectionsPerWorker, 0));
  b('ChannelCount', m => broker.producerConnections * 2
    + fleets.reduce((n, f) => n + (f.running(m) + f.joins(m)) * f.channelsPerWorker, 0));
  b('ConsumerCount', m => workers(m));
  b('MessageReadyCount', broker.readyMessages);
  b('MessageUnacknowledgedCount', m => workers(m) * 2);

  for (const f of fleets) {
    // EC2 reports NetworkOut of the group's instances; the broker-bound bytes plus the results they
    // write elsewhere (a result backend, S3): 200 KB per worker per minute.
    s.set('AWS/EC2', 'NetworkOut', f.autoScalingGroupName, m => (f.running(m) > 0 ? fleetBytes(f, m) + f.running(m) * 200_000 : undefined));
    s.set('AWS/EC2', 'NetworkIn', f.autoScalingGroupName, m => (f.running(m) > 0 ? f.running(m) * 300_000 : undefined));
    // The restart metric is only published when a worker restarts.
    s.set('CdkCelery', 'WorkerRestarts', f.autoScalingGroupName, m => (f.restarts(m) > 0 ? f.restarts(m) : undefined));
  }
  return s;
}
