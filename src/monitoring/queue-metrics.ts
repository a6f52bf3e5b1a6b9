import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';

/** Where the per-queue metrics of `CeleryMonitoring` (per-fleet alarms, backlog scaling) come from. */
export enum QueueMetricsSource {
  /**
   * Amazon MQ's own queue metrics (`AWS/AmazonMQ`, dimensions `Broker`, `VirtualHost`, `Queue`):
   * RabbitMQ 3.x brokers only, the first 500 queues, names without spaces or non-ASCII characters.
   */
  AMAZON_MQ = 'AMAZON_MQ',

  /**
   * The metrics publisher's (`CdkCelery`, same names and dimensions), read from the management
   * API: any engine version. Needs the broker's VPC and admin credentials (for the read-only
   * monitoring user).
   */
  PUBLISHER = 'PUBLISHER',

  /** None: backlog and consumers are watched broker-wide only, and fleets scale on the broker-wide count. */
  NONE = 'NONE',
}

/** Reads the per-queue metrics of one source. */
export interface QueueMetricReader {
  ready(queue: string): cloudwatch.IMetric;
  consumers(queue: string): cloudwatch.IMetric;
}

/**
 * Most metrics an alarm's metric math may read (a hard CloudWatch limit), hence at most 10
 * queues in a backlog sum and 5 in a no-consumer check (two metrics per queue).
 */
export const MAX_ALARM_METRICS = 10;

const MINUTE = Duration.minutes(1);

/**
 * Ready messages in `queues`, summed: the metric itself for one queue, else metric math where a
 * queue without a datapoint (not declared yet, or idle and not reported) counts as empty. At most
 * `MAX_ALARM_METRICS` queues.
 */
export function queuesReadyMetric(reader: QueueMetricReader, queues: string[]): cloudwatch.IMetric {
  if (queues.length === 1) return reader.ready(queues[0]);
  const usingMetrics: { [id: string]: cloudwatch.IMetric } = {};
  queues.forEach((queue, i) => { usingMetrics[`ready${i}`] = reader.ready(queue); });
  return new cloudwatch.MathExpression({
    expression: Object.keys(usingMetrics).map((id) => `FILL(${id}, 0)`).join(' + '),
    usingMetrics,
    label: `Ready messages in ${queues.join(', ')}`,
    period: MINUTE,
  });
}

/**
 * 1 when any of `queues` has ready messages and no consumer, else 0 (metric math, at most
 * `MAX_ALARM_METRICS / 2` queues).
 */
export function queuesWithoutConsumersMetric(reader: QueueMetricReader, queues: string[]): cloudwatch.IMetric {
  const usingMetrics: { [id: string]: cloudwatch.IMetric } = {};
  const checks = queues.map((queue, i) => {
    usingMetrics[`consumers${i}`] = reader.consumers(queue);
    usingMetrics[`ready${i}`] = reader.ready(queue);
    return `IF(consumers${i} == 0 AND ready${i} > 0, 1, 0)`;
  });
  return new cloudwatch.MathExpression({
    expression: checks.length === 1 ? checks[0] : `MAX([${checks.join(', ')}])`,
    usingMetrics,
    label: `Queues of ${queues.join(', ')} with messages and no consumer`,
    period: MINUTE,
  });
}
