import { Annotations, Duration, Lazy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { BrokerMetricNames } from './broker-metric-names';
import { BrokerMetricsPublisherFunction } from './broker-metrics-publisher-function';
import { BrokerMonitoringUser } from '../access/broker-monitoring-user';
import { IRabbitMqBroker } from '../broker/rabbitmq-broker-ref';
import { addNagSuppressions } from '../private/nag-suppressions';

/**
 * Everything a user chooses for the broker metrics publisher of a `CeleryMonitoring` except the
 * broker, the VPC and the queues (the monitoring construct passes its own).
 */
export interface BrokerMetricsPublisherOptions {
  /**
   * Subnets of the function when it reads queue metrics (in the broker's VPC). They need a route
   * to the broker and to the Amazon MQ, CloudWatch and Secrets Manager APIs (a NAT gateway, or
   * interface endpoints).
   * @default - the VPC's private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * Credentials of a broker user with the administrator tag, used once (at deployment) to create
   * the read-only monitoring user.
   * @default - the broker's `credentials`
   */
  readonly adminCredentials?: secretsmanager.ISecret;

  /**
   * Name of the read-only monitoring user.
   * @default 'cdk-celery-monitoring'
   */
  readonly monitoringUsername?: string;

  /**
   * How long after its creation the broker counts as restarting (its metrics may not flow yet), so
   * that a first deployment pages nothing.
   * @default Duration.minutes(30) - a broker takes 15 to 20 minutes to create, then up to a few
   * minutes until its first metrics
   */
  readonly creationGrace?: Duration;

  /**
   * Retention of the function's log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/** Properties of a `BrokerMetricsPublisher`. */
export interface BrokerMetricsPublisherProps extends BrokerMetricsPublisherOptions {
  /** The broker whose state, and whose queues, are published. */
  readonly broker: IRabbitMqBroker;

  /**
   * The broker's VPC. With it, the function runs in the VPC and publishes the queue metrics of
   * `queues`; without it, it publishes the broker state only (it then needs no VPC).
   * @default - no VPC: broker state only
   */
  readonly vpc?: ec2.IVpc;

  /**
   * Virtual host of the queues.
   * @default '/'
   */
  readonly virtualHost?: string;

  /**
   * Queues whose depth and consumers are published (more with `addQueues`). Needs `vpc`.
   * @default - none
   */
  readonly queues?: string[];
}

/** Most bytes of queue names the function's environment takes (Lambda allows 4 KB in all). */
const QUEUES_ENVIRONMENT_LIMIT = 3000;

/**
 * A small scheduled function that publishes, once a minute, what Amazon MQ does not:
 *
 * - `CdkCelery` `BrokerRestarting` by `Broker`: 1 while Amazon MQ reports the broker being created,
 *   rebooted (maintenance window, `RebootBroker`, the configuration applier) or deleted, or the
 *   broker is younger than `creationGrace`; 0 otherwise (DescribeBroker).
 * - With `vpc`: `CdkCelery` `MessageReadyCount`, `MessageUnacknowledgedCount` and `ConsumerCount` by
 *   `Broker`, `VirtualHost` and `Queue` for each of `queues`, read from the RabbitMQ management API.
 *   Amazon MQ publishes no queue metrics for RabbitMQ 4 brokers; these have the names and
 *   dimensions of its RabbitMQ 3 queue metrics.
 *
 * Least privilege: the function may describe this broker only, put metric data in the `CdkCelery`
 * namespace only and read the secret of a `BrokerMonitoringUser` (the `monitoring` tag, an empty
 * permission entry on the vhost: it can list queues and nothing else). Its security group allows
 * HTTPS out only; the broker's management port is opened to it.
 */
export class BrokerMetricsPublisher extends Construct implements ec2.IConnectable {
  /** Default `creationGrace`. */
  public static readonly DEFAULT_CREATION_GRACE = Duration.minutes(30);
  /** How often the function runs: Amazon MQ's own metrics are per minute too. */
  public static readonly INTERVAL = Duration.minutes(1);

  /** The function. */
  public readonly function: lambda.IFunction;
  /** The schedule. */
  public readonly rule: events.Rule;
  /** The read-only user the function reads queues as; only with `vpc`. */
  public readonly monitoringUser?: BrokerMonitoringUser;
  /** Virtual host of the published queues. */
  public readonly virtualHost: string;
  /** The function's security group (none without `vpc`). */
  public readonly connections: ec2.Connections;

  private readonly broker: IRabbitMqBroker;
  private readonly queueNames: string[] = [];

  /**
   * @param scope Scope in which the publisher is defined
   * @param id Construct id
   * @param props The broker, its VPC, the queues and the options
   */
  constructor(scope: Construct, id: string, props: BrokerMetricsPublisherProps) {
    super(scope, id);
    this.broker = props.broker;
    this.virtualHost = props.virtualHost ?? '/';
    const creationGrace = props.creationGrace ?? BrokerMetricsPublisher.DEFAULT_CREATION_GRACE;
    if (!creationGrace.isUnresolved() && (creationGrace.toSeconds() % 60 !== 0 || creationGrace.toMinutes() > 240)) {
      throw new Error(`creationGrace: ${creationGrace.toHumanString()} is not allowed; use whole minutes, at most 4 hours.`);
    }

    let securityGroup: ec2.ISecurityGroup | undefined;
    if (props.vpc) {
      const adminCredentials = props.adminCredentials ?? props.broker.credentials;
      if (!adminCredentials) {
        throw new Error('adminCredentials: not given and the broker has no credentials (it was imported without them); '
          + 'the read-only monitoring user is created with the admin credentials. Pass them, or omit vpc (broker state only).');
      }
      this.monitoringUser = new BrokerMonitoringUser(this, 'MonitoringUser', {
        broker: props.broker,
        vpc: props.vpc,
        vpcSubnets: props.vpcSubnets,
        vhost: this.virtualHost,
        username: props.monitoringUsername,
        adminCredentials,
      });
      securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
        vpc: props.vpc,
        description: 'cdk-celery broker metrics publisher: broker management API and HTTPS AWS APIs only',
        allowAllOutbound: false,
      });
      securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to the broker management API and AWS APIs (Amazon MQ, CloudWatch, Secrets Manager)');
      props.broker.allowManagementAccessFrom(securityGroup, 'RabbitMQ management API from the cdk-celery metrics publisher');
    }
    this.connections = new ec2.Connections({ securityGroups: securityGroup ? [securityGroup] : [] });

    const logGroup = new logs.LogGroup(this, 'LogGroup', { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH });
    const fn = new BrokerMetricsPublisherFunction(this, 'Function', {
      description: 'cdk-celery: publishes the broker state and its queues\' depth and consumers to CloudWatch',
      architecture: lambda.Architecture.ARM_64,
      memorySize: 128,
      // A run lists queues once per vhost and puts the metrics: seconds. Never longer than its interval.
      timeout: Duration.seconds(50),
      logGroup,
      vpc: props.vpc,
      vpcSubnets: props.vpc ? props.vpcSubnets : undefined,
      securityGroups: securityGroup ? [securityGroup] : undefined,
      environment: {
        BROKER_ID: props.broker.brokerId,
        BROKER_NAME: props.broker.brokerName,
        ...(this.monitoringUser ? {
          MANAGEMENT_URL: props.broker.managementUrl,
          CREDENTIALS_SECRET_ARN: this.monitoringUser.secret.secretArn,
          QUEUES: Lazy.string({ produce: () => this.renderQueues() }),
        } : {}),
        REQUEST_TIMEOUT_MS: '10000',
        CREATION_GRACE_MINUTES: String(creationGrace.toMinutes()),
      },
    });
    this.function = fn;
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['mq:DescribeBroker'], resources: [props.broker.brokerArn] }));
    fn.addToRolePolicy(new iam.PolicyStatement({
      actions: ['cloudwatch:PutMetricData'],
      // PutMetricData has no resource ARN; the condition keeps it to the library's namespace.
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': BrokerMetricNames.NAMESPACE } },
    }));
    if (this.monitoringUser) {
      this.monitoringUser.grantReadCredentials(fn);
      // The first run reads queues as the user: it must exist.
      fn.node.addDependency(this.monitoringUser);
    }

    this.rule = new events.Rule(this, 'Schedule', {
      description: `cdk-celery: publish the state and queue metrics of broker ${props.broker.brokerName} every minute`,
      schedule: events.Schedule.rate(BrokerMetricsPublisher.INTERVAL),
      // The next run is a minute later: a retry would only publish stale values.
      targets: [new targets.LambdaFunction(fn, { retryAttempts: 0, maxEventAge: Duration.minutes(1) })],
    });

    if (props.queues) this.addQueues(...props.queues);
    this.node.addValidation({ validate: () => this.validateQueues() });

    addNagSuppressions(fn, [{
      id: 'AwsSolutions-IAM4',
      reason: 'AWSLambdaBasicExecutionRole (and AWSLambdaVPCAccessExecutionRole in a VPC) are the AWS-managed minimum for a Lambda function\'s logs and network interfaces.',
    }], ['AWS::IAM::Role']);
    addNagSuppressions(fn, [{
      id: 'AwsSolutions-IAM5',
      reason: 'cloudwatch:PutMetricData has no resource ARN; it is conditioned on the CdkCelery namespace. Secrets Manager grants end in the generated secret suffix.',
    }], ['AWS::IAM::Policy']);
    addNagSuppressions(fn, [{
      id: 'AwsSolutions-L1',
      reason: 'The runtime is pinned by the projen-generated BrokerMetricsPublisherFunction (nodejs22.x, a supported runtime), updated with the project configuration.',
    }], ['AWS::Lambda::Function']);
  }

  /** The queues whose metrics are published. */
  public get queues(): string[] {
    return [...this.queueNames];
  }

  /**
   * Publish the metrics of more queues (of `virtualHost`). Names already published are ignored.
   *
   * @param queues Queue names
   */
  public addQueues(...queues: string[]): void {
    if (queues.length === 0) return;
    if (!this.monitoringUser) {
      throw new Error(`queues: ${JSON.stringify(queues)} need the broker's VPC (vpc): the function reads queues from the management API inside it.`);
    }
    for (const queue of queues) {
      if (Token.isUnresolved(queue)) throw new Error('queues: queue names must be known at synth time; got a token.');
      if (!this.queueNames.includes(queue)) this.queueNames.push(queue);
    }
  }

  /**
   * Ready messages in one queue (`CdkCelery` `MessageReadyCount`, Maximum per minute).
   *
   * @param queue The queue
   * @param props Options that override the statistic, period, label, ... (the dimensions always apply)
   */
  public metricQueueMessageReadyCount(queue: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queueMetric(BrokerMetricNames.QUEUE_MESSAGE_READY_COUNT, cloudwatch.Stats.MAXIMUM, queue, props);
  }

  /**
   * Unacknowledged messages in one queue (`CdkCelery` `MessageUnacknowledgedCount`, Maximum per minute).
   *
   * @param queue The queue
   * @param props Options that override the statistic, period, label, ... (the dimensions always apply)
   */
  public metricQueueMessageUnacknowledgedCount(queue: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queueMetric(BrokerMetricNames.QUEUE_MESSAGE_UNACKNOWLEDGED_COUNT, cloudwatch.Stats.MAXIMUM, queue, props);
  }

  /**
   * Consumers of one queue (`CdkCelery` `ConsumerCount`, Minimum per minute).
   *
   * @param queue The queue
   * @param props Options that override the statistic, period, label, ... (the dimensions always apply)
   */
  public metricQueueConsumerCount(queue: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queueMetric(BrokerMetricNames.QUEUE_CONSUMER_COUNT, cloudwatch.Stats.MINIMUM, queue, props);
  }

  /**
   * 1 while the broker is being created, rebooted or deleted, 0 otherwise (`CdkCelery`
   * `BrokerRestarting`, Maximum per minute).
   *
   * @param props Options that override the statistic, period, label, ...
   */
  public metricBrokerRestarting(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: BrokerMetricNames.NAMESPACE,
      metricName: BrokerMetricNames.BROKER_RESTARTING,
      dimensionsMap: { [BrokerMetricNames.BROKER_DIMENSION]: this.broker.brokerName },
      statistic: cloudwatch.Stats.MAXIMUM,
      period: BrokerMetricsPublisher.INTERVAL,
      ...props,
    });
  }

  /**
   * Failed runs of the function (`AWS/Lambda` `Errors`, Sum per minute).
   *
   * @param props Options that override the statistic, period, label, ...
   */
  public metricErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.function.metricErrors({ period: BrokerMetricsPublisher.INTERVAL, statistic: cloudwatch.Stats.SUM, ...props });
  }

  private queueMetric(metricName: string, statistic: string, queue: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: BrokerMetricNames.NAMESPACE,
      metricName,
      statistic,
      period: BrokerMetricsPublisher.INTERVAL,
      ...props,
      dimensionsMap: {
        [BrokerMetricNames.BROKER_DIMENSION]: this.broker.brokerName,
        [BrokerMetricNames.VIRTUAL_HOST_DIMENSION]: this.virtualHost,
        [BrokerMetricNames.QUEUE_DIMENSION]: queue,
      },
    });
  }

  private renderQueues(): string {
    return Stack.of(this).toJsonString(this.queueNames.map((queue) => ({ vhost: this.virtualHost, queue })));
  }

  private validateQueues(): string[] {
    if (this.monitoringUser && this.queueNames.length === 0) {
      Annotations.of(this).addWarningV2('cdk-celery:publisherWithoutQueues',
        'The metrics publisher has no queue to publish: it only publishes the broker state. Add the fleets\' queues (addQueues).');
    }
    const size = Buffer.byteLength(JSON.stringify(this.queueNames.map((queue) => ({ vhost: this.virtualHost, queue }))), 'utf8');
    return size > QUEUES_ENVIRONMENT_LIMIT
      ? [`queues: ${this.queueNames.length} queues take ${size} bytes of the function's environment, over ${QUEUES_ENVIRONMENT_LIMIT}; publish fewer queues.`]
      : [];
  }
}
