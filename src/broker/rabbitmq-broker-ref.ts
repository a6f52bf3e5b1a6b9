import { Duration, IResource } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { RabbitMqEngineVersion } from './rabbitmq-engine-version';

/**
 * An Amazon MQ for RabbitMQ broker, created by this library or imported.
 *
 * Credentials secrets used with a broker are JSON objects with the keys `username` and
 * `password`, and optionally `vhost` (default `/`).
 */
export interface IRabbitMqBroker extends IResource, ec2.IConnectable {
  /**
   * The broker id, for example `b-1234a5b6-78cd-901e-2fgh-3i45j6k178l9`.
   * @attribute
   */
  readonly brokerId: string;

  /**
   * The broker ARN.
   * @attribute
   */
  readonly brokerArn: string;

  /**
   * The broker name. Amazon MQ's CloudWatch metrics use it as the `Broker` dimension.
   * @attribute
   */
  readonly brokerName: string;

  /**
   * Host name of the broker's AMQPS (and management) endpoint, without scheme or port.
   */
  readonly endpointHost: string;

  /**
   * AMQPS port (TLS).
   */
  readonly amqpsPort: number;

  /**
   * Credential-free AMQPS URL, `amqps://HOST:5671`.
   */
  readonly amqpsUrl: string;

  /**
   * HTTPS port of the RabbitMQ management API and console.
   */
  readonly managementPort: number;

  /**
   * Base URL of the RabbitMQ management API, `https://HOST:443`.
   */
  readonly managementUrl: string;

  /**
   * The administrator credentials secret (JSON with `username` and `password`), if known.
   */
  readonly credentials?: secretsmanager.ISecret;

  /**
   * The broker's `consumer_timeout`, if known: a consumer that holds a delivery unacknowledged
   * longer than this has its channel closed. Celery tasks (with late acks) and ETA/countdown waits
   * must stay below it. `Duration.millis(0)` means no timeout.
   */
  readonly consumerTimeout?: Duration;

  /**
   * The broker's engine version: what a worker fleet renders its queue declarations and
   * remote-control settings for (RabbitMQ 4 declares quorum queues by default).
   * Undefined for an imported broker whose version was not given.
   */
  readonly engineVersion?: RabbitMqEngineVersion;

  /**
   * Return the given named metric for this broker (namespace `AWS/AmazonMQ`,
   * dimension `Broker` = broker name).
   *
   * @param metricName The Amazon MQ metric name, for example `RabbitMQMemUsed` or `ConnectionCount`
   * @param props Options that override the defaults (statistic, period, label, ...), where a
   * `dimensionsMap` replaces the `Broker` dimension
   */
  metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric;

  /**
   * Bytes received by the broker (Sum per period).
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  metricNetworkIn(props?: cloudwatch.MetricOptions): cloudwatch.Metric;

  /**
   * Bytes sent by the broker (Sum per period).
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  metricNetworkOut(props?: cloudwatch.MetricOptions): cloudwatch.Metric;

  /**
   * RabbitMQ memory used, bytes (Maximum).
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  metricMemoryUsed(props?: cloudwatch.MetricOptions): cloudwatch.Metric;

  /**
   * RabbitMQ memory high watermark, bytes (Maximum).
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  metricMemoryLimit(props?: cloudwatch.MetricOptions): cloudwatch.Metric;

  /**
   * RabbitMQ memory used as a percent of the memory limit (metric math).
   *
   * @param props Options that override the expression's defaults (label, period, ...)
   */
  metricMemoryUsedPercent(props?: cloudwatch.MathExpressionOptions): cloudwatch.IMetric;

  /**
   * System CPU utilization, percent (Maximum).
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  metricCpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric;

  /**
   * Free disk, bytes (Minimum).
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  metricDiskFree(props?: cloudwatch.MetricOptions): cloudwatch.Metric;

  /**
   * Disk free limit below which publishers are blocked, bytes (Maximum).
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  metricDiskFreeLimit(props?: cloudwatch.MetricOptions): cloudwatch.Metric;

  /**
   * Open connections (Maximum).
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  metricConnectionCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric;

  /**
   * Open channels (Maximum).
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  metricChannelCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric;

  /**
   * Consumers (Minimum).
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  metricConsumerCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric;

  /**
   * Messages ready for delivery, all queues (Maximum).
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  metricMessageReadyCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric;

  /**
   * Messages delivered and not yet acknowledged, all queues (Maximum).
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  metricMessageUnacknowledgedCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric;

  /**
   * Publish rate, messages per second (Average).
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  metricPublishRate(props?: cloudwatch.MetricOptions): cloudwatch.Metric;

  /**
   * Ready messages in one queue (dimensions `Broker`, `VirtualHost`, `Queue`).
   * RabbitMQ 4.x brokers publish no queue-level metrics: use `metricMessageReadyCount` there.
   *
   * @param queueName The queue, for example `celery`
   * @param virtualHost The virtual host (default `/`)
   * @param props Options that override the statistic, period, label, ... (the queue dimensions always apply)
   */
  metricQueueMessageReadyCount(queueName: string, virtualHost?: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric;

  /**
   * Consumers of one queue (dimensions `Broker`, `VirtualHost`, `Queue`); none on RabbitMQ 4.x.
   *
   * @param queueName The queue, for example `celery`
   * @param virtualHost The virtual host (default `/`)
   * @param props Options that override the statistic, period, label, ... (the queue dimensions always apply)
   */
  metricQueueConsumerCount(queueName: string, virtualHost?: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric;

  /**
   * Let a client reach the broker's AMQPS port (`amqpsPort`) through `connections`: an ingress
   * rule on the broker's security groups, and an egress rule on the client's groups that restrict
   * outbound traffic. A broker without security groups (publicly accessible, or imported without
   * them) gets no ingress rule.
   *
   * @param peer The client to allow, for example a worker fleet or a service that sends tasks
   * @param description Description of the rules (default `Celery clients (AMQPS)`)
   */
  allowAmqpsAccessFrom(peer: ec2.IConnectable, description?: string): void;

  /**
   * Let a client reach the RabbitMQ management console and API (`managementPort`, HTTPS) through
   * `connections`, like `allowAmqpsAccessFrom`. Closed by default.
   *
   * @param peer The client to allow, for example an administration host or a function that
   * manages vhosts and users
   * @param description Description of the rules (default `RabbitMQ management console and API`)
   */
  allowManagementAccessFrom(peer: ec2.IConnectable, description?: string): void;

  /**
   * Grant read access to the administrator credentials secret.
   * Throws if the broker was imported without one.
   *
   * @param grantee The principal that may read the secret, for example the role of a function
   * that manages the broker
   */
  grantReadCredentials(grantee: iam.IGrantable): iam.Grant;
}
