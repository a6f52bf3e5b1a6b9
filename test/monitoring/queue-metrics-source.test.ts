import { RabbitMqEngineVersion } from '../../src/broker';
import { QueueMetricsSource } from '../../src/monitoring';
import { QueueMetricsSourceInput, resolveQueueMetricsSource, queueMetricsSourceLabel } from '../../src/monitoring/queue-metrics-source';

/* Where the per-queue metrics come from, alone: the default for each broker, and the sources that cannot work. */

const able: QueueMetricsSourceInput = { publisherEnabled: true, hasVpc: true, hasAdminCredentials: true };

describe('the default source', () => {
  test.each([
    ['RabbitMQ 3.13: Amazon MQ publishes queue metrics', { ...able, engineVersion: RabbitMqEngineVersion.V3_13 }, QueueMetricsSource.AMAZON_MQ],
    ['RabbitMQ 3.13 without a publisher: still Amazon MQ\'s', { engineVersion: RabbitMqEngineVersion.V3_13, publisherEnabled: false, hasVpc: false, hasAdminCredentials: false }, QueueMetricsSource.AMAZON_MQ],
    ['RabbitMQ 4.2, the publisher in the VPC with credentials', { ...able, engineVersion: RabbitMqEngineVersion.V4_2 }, QueueMetricsSource.PUBLISHER],
    ['unknown engine, the publisher can read queues', able, QueueMetricsSource.PUBLISHER],
    ['RabbitMQ 4.2 without the VPC', { ...able, engineVersion: RabbitMqEngineVersion.V4_2, hasVpc: false }, QueueMetricsSource.NONE],
    ['RabbitMQ 4.2 without admin credentials', { ...able, engineVersion: RabbitMqEngineVersion.V4_2, hasAdminCredentials: false }, QueueMetricsSource.NONE],
    ['RabbitMQ 4.2 with the publisher off', { ...able, engineVersion: RabbitMqEngineVersion.V4_2, publisherEnabled: false }, QueueMetricsSource.NONE],
  ])('%s', (_, input, expected) => {
    expect(resolveQueueMetricsSource(input)).toBe(expected);
  });

  test('the user\'s choice wins where it can work', () => {
    expect(resolveQueueMetricsSource({ ...able, engineVersion: RabbitMqEngineVersion.V3_13, chosen: QueueMetricsSource.PUBLISHER }))
      .toBe(QueueMetricsSource.PUBLISHER);
    expect(resolveQueueMetricsSource({ ...able, engineVersion: RabbitMqEngineVersion.V4_2, chosen: QueueMetricsSource.NONE }))
      .toBe(QueueMetricsSource.NONE);
  });
});

describe('refused, each with the reason and what is allowed', () => {
  test.each([
    [{ ...able, publisherEnabled: false }, 'queueMetrics: QueueMetricsSource.PUBLISHER is not allowed with enableMetricsPublisher: false; '
      + 'use QueueMetricsSource.AMAZON_MQ (RabbitMQ 3.x) or QueueMetricsSource.NONE.'],
    [{ ...able, hasVpc: false }, 'queueMetrics: QueueMetricsSource.PUBLISHER is not allowed without vpc (the publisher reads queues from inside '
      + 'the broker\'s VPC); use QueueMetricsSource.AMAZON_MQ (RabbitMQ 3.x) or QueueMetricsSource.NONE.'],
    [{ ...able, hasAdminCredentials: false }, 'queueMetrics: QueueMetricsSource.PUBLISHER is not allowed without admin credentials (the broker has '
      + 'none; pass metricsPublisherOptions.adminCredentials); use QueueMetricsSource.AMAZON_MQ (RabbitMQ 3.x) or QueueMetricsSource.NONE.'],
  ])('PUBLISHER without what it needs: %j', (input, message) => {
    expect(() => resolveQueueMetricsSource({ ...input, chosen: QueueMetricsSource.PUBLISHER })).toThrow(message);
  });

  test('AMAZON_MQ on RabbitMQ 4 (Amazon MQ publishes no queue metrics there); allowed when the engine is unknown', () => {
    expect(() => resolveQueueMetricsSource({ ...able, engineVersion: RabbitMqEngineVersion.V4_2, chosen: QueueMetricsSource.AMAZON_MQ }))
      .toThrow('queueMetrics: QueueMetricsSource.AMAZON_MQ is not allowed with engine version 4.2; Amazon MQ publishes no queue metrics for '
        + 'RabbitMQ 4 brokers. Use QueueMetricsSource.PUBLISHER (the default with vpc) or NONE.');
    expect(resolveQueueMetricsSource({ ...able, chosen: QueueMetricsSource.AMAZON_MQ })).toBe(QueueMetricsSource.AMAZON_MQ);
  });
});

test('alarm descriptions name the source', () => {
  expect(queueMetricsSourceLabel(QueueMetricsSource.PUBLISHER)).toBe('CdkCelery (metrics publisher)');
  expect(queueMetricsSourceLabel(QueueMetricsSource.AMAZON_MQ)).toBe('AWS/AmazonMQ');
});
