import { Duration, Resource } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AMQPS_PORT, MANAGEMENT_PORT } from './rabbitmq-broker-ports';
import { IRabbitMqBroker } from './rabbitmq-broker-ref';
import { RabbitMqEngineVersion } from './rabbitmq-engine-version';
import { ValidationError } from '../private/validation-error';

/** CloudWatch namespace of Amazon MQ metrics. */
export const AMAZON_MQ_METRICS_NAMESPACE = 'AWS/AmazonMQ';

/**
 * Dimension key of the broker-level metrics, whose value is the broker NAME (not its id).
 */
export const BROKER_DIMENSION = 'Broker';

/**
 * Dimension key of `NetworkIn`/`NetworkOut`. The current AWS page lists `Broker`; an older copy
 * said `BrokerId`. Kept apart so that a correction is one edit here and one test.
 */
export const NETWORK_METRICS_DIMENSION = 'Broker';

/** Period of every metric helper: Amazon MQ publishes one data point per minute. */
export const BROKER_METRICS_PERIOD = Duration.minutes(1);

/**
 * Shared implementation of `IRabbitMqBroker` for created and imported brokers: the metric helpers
 * (namespace `AWS/AmazonMQ`, dimension `Broker` = broker name, 1-minute period), the port helpers
 * (`allowAmqpsAccessFrom`, `allowManagementAccessFrom`) and `grantReadCredentials`.
 */
export abstract class RabbitMqBrokerBase extends Resource implements IRabbitMqBroker {
  public abstract readonly brokerId: string;
  public abstract readonly brokerArn: string;
  public abstract readonly brokerName: string;
  public abstract readonly endpointHost: string;
  /** AMQPS port (TLS): 5671 on every Amazon MQ for RabbitMQ broker. */
  public readonly amqpsPort: number = AMQPS_PORT;
  /** HTTPS port of the management API and console: 443 on every Amazon MQ for RabbitMQ broker. */
  public readonly managementPort: number = MANAGEMENT_PORT;
  public abstract readonly connections: ec2.Connections;
  public abstract readonly credentials?: secretsmanager.ISecret;
  public abstract readonly consumerTimeout?: Duration;
  public abstract readonly engineVersion?: RabbitMqEngineVersion;

  /** Credential-free AMQPS URL, `amqps://HOST:5671`. */
  public get amqpsUrl(): string {
    return `amqps://${this.endpointHost}:${this.amqpsPort}`;
  }

  /** Base URL of the RabbitMQ management API, `https://HOST:443`. */
  public get managementUrl(): string {
    return `https://${this.endpointHost}:${this.managementPort}`;
  }

  /**
   * The named broker-level metric (namespace `AWS/AmazonMQ`, dimension `Broker` = broker name,
   * 1-minute period, Average unless `props` says otherwise).
   *
   * @param metricName The Amazon MQ metric name, for example `RabbitMQMemUsed` or `ConnectionCount`
   * @param props Options that override the defaults (statistic, period, label, ...), where a
   * `dimensionsMap` replaces the `Broker` dimension
   */
  public metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: AMAZON_MQ_METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { [BROKER_DIMENSION]: this.brokerName },
      period: BROKER_METRICS_PERIOD,
      ...props,
    }).attachTo(this);
  }

  /**
   * Bytes received by the broker (Sum per period). The incident's first signal.
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  public metricNetworkIn(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.networkMetric('NetworkIn', props);
  }

  /**
   * Bytes sent by the broker (Sum per period).
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  public metricNetworkOut(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.networkMetric('NetworkOut', props);
  }

  /**
   * RabbitMQ memory used, bytes (Maximum).
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  public metricMemoryUsed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('RabbitMQMemUsed', { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /**
   * RabbitMQ memory high watermark, bytes (Maximum); publishers are blocked above it.
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  public metricMemoryLimit(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('RabbitMQMemLimit', { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /**
   * RabbitMQ memory used as a percent of the memory limit: `100 * used / memLimit`, from the
   * Maximum of both over 1-minute periods.
   *
   * @param props Options that override the expression's defaults (label, period, ...)
   */
  public metricMemoryUsedPercent(props?: cloudwatch.MathExpressionOptions): cloudwatch.IMetric {
    return new cloudwatch.MathExpression({
      expression: '100 * used / memLimit',
      usingMetrics: { used: this.metricMemoryUsed(), memLimit: this.metricMemoryLimit() },
      label: 'RabbitMQ memory used (% of limit)',
      period: BROKER_METRICS_PERIOD,
      ...props,
    });
  }

  /**
   * System CPU utilization, percent (Maximum).
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  public metricCpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('SystemCpuUtilization', { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /**
   * Free disk, bytes (Minimum).
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  public metricDiskFree(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('RabbitMQDiskFree', { statistic: cloudwatch.Stats.MINIMUM, ...props });
  }

  /**
   * Disk free limit below which publishers are blocked, bytes (Maximum).
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  public metricDiskFreeLimit(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('RabbitMQDiskFreeLimit', { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /**
   * Open connections (Maximum).
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  public metricConnectionCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ConnectionCount', { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /**
   * Open channels (Maximum).
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  public metricChannelCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ChannelCount', { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /**
   * Consumers (Minimum: a dip to zero is what matters).
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  public metricConsumerCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ConsumerCount', { statistic: cloudwatch.Stats.MINIMUM, ...props });
  }

  /**
   * Messages ready for delivery, all queues (Maximum).
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  public metricMessageReadyCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('MessageReadyCount', { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /**
   * Messages delivered and not yet acknowledged, all queues (Maximum).
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  public metricMessageUnacknowledgedCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('MessageUnacknowledgedCount', { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /**
   * Publish rate, messages per second (Average).
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  public metricPublishRate(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('PublishRate', { statistic: cloudwatch.Stats.AVERAGE, ...props });
  }

  /**
   * Ready messages in one queue (Maximum; dimensions `Broker`, `VirtualHost`, `Queue`).
   *
   * Amazon MQ publishes queue-level metrics only for RabbitMQ 3.x, for the first 500 queues, and
   * not for names with spaces or non-ASCII characters. RabbitMQ 4.x brokers publish none: the
   * metric stays empty there; use `metricMessageReadyCount`.
   *
   * @param queueName The queue, for example `celery`
   * @param virtualHost The virtual host (default `/`)
   * @param props Options that override the statistic, period, label, ... (the queue dimensions always apply)
   */
  public metricQueueMessageReadyCount(queueName: string, virtualHost?: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queueMetric('MessageReadyCount', cloudwatch.Stats.MAXIMUM, queueName, virtualHost, props);
  }

  /**
   * Consumers of one queue (Minimum; dimensions `Broker`, `VirtualHost`, `Queue`). Same
   * availability as `metricQueueMessageReadyCount`: none on RabbitMQ 4.x.
   *
   * @param queueName The queue, for example `celery`
   * @param virtualHost The virtual host (default `/`)
   * @param props Options that override the statistic, period, label, ... (the queue dimensions always apply)
   */
  public metricQueueConsumerCount(queueName: string, virtualHost?: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queueMetric('ConsumerCount', cloudwatch.Stats.MINIMUM, queueName, virtualHost, props);
  }

  /**
   * Let a client reach the broker's AMQPS port (`amqpsPort`) through `connections`: an ingress
   * rule on the broker's security groups, and an egress rule on the client's groups that restrict
   * outbound traffic.
   *
   * @param peer The client to allow, for example a worker fleet or a service that sends tasks
   * @param description Description of the rules (default `Celery clients (AMQPS)`)
   */
  public allowAmqpsAccessFrom(peer: ec2.IConnectable, description?: string): void {
    this.connections.allowFrom(peer, ec2.Port.tcp(this.amqpsPort), description ?? 'Celery clients (AMQPS)');
  }

  /**
   * Let a client reach the RabbitMQ management console and API (`managementPort`, HTTPS), for
   * example an administration host or a function that manages vhosts and users. Closed by default.
   *
   * @param peer The client to allow, for example a bastion host or a function in the VPC
   * @param description Description of the rules (default `RabbitMQ management console and API`)
   */
  public allowManagementAccessFrom(peer: ec2.IConnectable, description?: string): void {
    this.connections.allowFrom(peer, ec2.Port.tcp(this.managementPort), description ?? 'RabbitMQ management console and API');
  }

  /**
   * Grant read access to the administrator credentials secret.
   * Throws if the broker was imported without one.
   *
   * @param grantee The principal that may read the secret, for example the role of a function
   * that manages the broker
   */
  public grantReadCredentials(grantee: iam.IGrantable): iam.Grant {
    if (!this.credentials) {
      throw new ValidationError(this, `grantReadCredentials: the broker ${this.node.path} has no credentials secret; `
        + 'import it with fromRabbitMqBrokerAttributes({ ..., credentials }) to grant access to one.');
    }
    return this.credentials.grantRead(grantee);
  }

  private networkMetric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(metricName, {
      statistic: cloudwatch.Stats.SUM,
      ...props,
      dimensionsMap: props?.dimensionsMap ?? { [NETWORK_METRICS_DIMENSION]: this.brokerName },
    });
  }

  private queueMetric(metricName: string, statistic: string, queueName: string, virtualHost: string | undefined,
    props: cloudwatch.MetricOptions | undefined): cloudwatch.Metric {
    return this.metric(metricName, {
      statistic,
      ...props,
      // The queue dimensions are the point of these helpers: they win over props.
      dimensionsMap: { [BROKER_DIMENSION]: this.brokerName, VirtualHost: virtualHost ?? '/', Queue: queueName },
    });
  }
}
