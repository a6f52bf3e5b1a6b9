import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { BrokerMetricsPublisher } from './broker-metrics-publisher';
import { QueueMetricReader, QueueMetricsSource } from './queue-metrics';
import { IRabbitMqBroker } from '../broker/rabbitmq-broker-ref';
import { RabbitMqEngineVersion } from '../broker/rabbitmq-engine-version';

const MINUTE = Duration.minutes(1);

/** What decides where `CeleryMonitoring`'s per-queue metrics can come from. */
export interface QueueMetricsSourceInput {
  /** The user's choice, if any. */
  readonly chosen?: QueueMetricsSource;
  /** The broker's engine, when known (a created broker, an imported one given it). */
  readonly engineVersion?: RabbitMqEngineVersion;
  readonly publisherEnabled: boolean;
  readonly hasVpc: boolean;
  readonly hasAdminCredentials: boolean;
}

/**
 * The user's source, or the best one available: Amazon MQ's own on RabbitMQ 3.x, the publisher's
 * when it can read the management API, none otherwise. Throws (plain `Error`, the caller names the
 * construct) for a source that cannot work.
 */
export function resolveQueueMetricsSource(input: QueueMetricsSourceInput): QueueMetricsSource {
  const engine = input.engineVersion;
  const major = engine?.majorVersion;
  const canPublishQueues = input.publisherEnabled && input.hasVpc && input.hasAdminCredentials;
  const source = input.chosen
    ?? (major === 3 ? QueueMetricsSource.AMAZON_MQ : canPublishQueues ? QueueMetricsSource.PUBLISHER : QueueMetricsSource.NONE);
  if (source === QueueMetricsSource.PUBLISHER && !canPublishQueues) {
    throw new Error('queueMetrics: QueueMetricsSource.PUBLISHER is not allowed '
      + (!input.publisherEnabled ? 'with enableMetricsPublisher: false'
        : !input.hasVpc ? 'without vpc (the publisher reads queues from inside the broker\'s VPC)'
          : 'without admin credentials (the broker has none; pass metricsPublisherOptions.adminCredentials)')
      + '; use QueueMetricsSource.AMAZON_MQ (RabbitMQ 3.x) or QueueMetricsSource.NONE.');
  }
  if (source === QueueMetricsSource.AMAZON_MQ && major !== undefined && major >= 4) {
    throw new Error(`queueMetrics: QueueMetricsSource.AMAZON_MQ is not allowed with engine version ${engine!.version}; `
      + 'Amazon MQ publishes no queue metrics for RabbitMQ 4 brokers. Use QueueMetricsSource.PUBLISHER (the default with vpc) or NONE.');
  }
  return source;
}

/** Reads the per-queue metrics of `source` in `virtualHost`; undefined for NONE (or no publisher). */
export function queueMetricReader(source: QueueMetricsSource, broker: IRabbitMqBroker, virtualHost: string,
  publisher: BrokerMetricsPublisher | undefined): QueueMetricReader | undefined {
  if (source === QueueMetricsSource.AMAZON_MQ) {
    return {
      ready: (q) => broker.metricQueueMessageReadyCount(q, virtualHost, { period: MINUTE, statistic: cloudwatch.Stats.MAXIMUM }),
      consumers: (q) => broker.metricQueueConsumerCount(q, virtualHost, { period: MINUTE, statistic: cloudwatch.Stats.MINIMUM }),
    };
  }
  if (source === QueueMetricsSource.PUBLISHER && publisher) {
    return {
      ready: (q) => publisher.metricQueueMessageReadyCount(q),
      consumers: (q) => publisher.metricQueueConsumerCount(q),
    };
  }
  return undefined;
}

/** How alarm descriptions name the source. */
export function queueMetricsSourceLabel(source: QueueMetricsSource): string {
  return source === QueueMetricsSource.PUBLISHER ? 'CdkCelery (metrics publisher)' : 'AWS/AmazonMQ';
}
