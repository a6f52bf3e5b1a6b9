/**
 * Small implementations of the shared broker and fleet contracts, following the metric
 * definitions documented on `IRabbitMqBroker` and `ICeleryWorkerFleet`. They stand in until the
 * real `RabbitMqBroker` and `CeleryWorkerFleet` constructs exist.
 */
import { Duration, Resource } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { IRabbitMqBroker } from '../../src/broker/rabbitmq-broker-ref';
import { ICeleryWorkerFleet } from '../../src/workers/celery-worker-fleet-ref';
import { WorkerMetricNames } from '../../src/workers/worker-metrics';

export class FakeBroker extends Resource implements IRabbitMqBroker {
  public readonly brokerId = 'b-1234a5b6-78cd-901e-2fgh-3i45j6k178l9';
  public readonly brokerArn: string;
  public readonly endpointHost = 'b-1234a5b6.mq.eu-west-1.on.aws';
  public readonly amqpsPort = 5671;
  public readonly amqpsUrl = 'amqps://b-1234a5b6.mq.eu-west-1.on.aws:5671';
  public readonly managementPort = 443;
  public readonly managementUrl = 'https://b-1234a5b6.mq.eu-west-1.on.aws:443';
  public readonly connections: ec2.Connections;
  public readonly credentials?: secretsmanager.ISecret;

  /** With a VPC the broker gets a security group (AMQPS default port) and an admin secret, as a fleet needs. */
  constructor(scope: Construct, id: string, public readonly brokerName: string, vpc?: ec2.IVpc) {
    super(scope, id);
    this.brokerArn = `arn:aws:mq:eu-west-1:111111111111:broker:${brokerName}:${this.brokerId}`;
    if (vpc) {
      const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', { vpc, allowAllOutbound: false, description: 'broker' });
      this.connections = new ec2.Connections({ securityGroups: [securityGroup], defaultPort: ec2.Port.tcp(5671) });
      this.credentials = new secretsmanager.Secret(this, 'Admin', {
        generateSecretString: { secretStringTemplate: '{"username":"admin"}', generateStringKey: 'password', excludeCharacters: ',:=' },
      });
    } else {
      this.connections = new ec2.Connections();
    }
  }

  public metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/AmazonMQ',
      metricName,
      dimensionsMap: { Broker: this.brokerName },
      period: Duration.minutes(1),
      ...props,
    }).attachTo(this);
  }
  public metricNetworkIn(p?: cloudwatch.MetricOptions) { return this.metric('NetworkIn', { statistic: 'Sum', ...p }); }
  public metricNetworkOut(p?: cloudwatch.MetricOptions) { return this.metric('NetworkOut', { statistic: 'Sum', ...p }); }
  public metricMemoryUsed(p?: cloudwatch.MetricOptions) { return this.metric('RabbitMQMemUsed', { statistic: 'Maximum', ...p }); }
  public metricMemoryLimit(p?: cloudwatch.MetricOptions) { return this.metric('RabbitMQMemLimit', { statistic: 'Maximum', ...p }); }
  public metricMemoryUsedPercent(p?: cloudwatch.MathExpressionOptions): cloudwatch.IMetric {
    return new cloudwatch.MathExpression({
      expression: '100 * used / memLimit',
      usingMetrics: { used: this.metricMemoryUsed(), memLimit: this.metricMemoryLimit() },
      ...p,
    });
  }
  public metricCpuUtilization(p?: cloudwatch.MetricOptions) { return this.metric('SystemCpuUtilization', { statistic: 'Maximum', ...p }); }
  public metricDiskFree(p?: cloudwatch.MetricOptions) { return this.metric('RabbitMQDiskFree', { statistic: 'Minimum', ...p }); }
  public metricDiskFreeLimit(p?: cloudwatch.MetricOptions) { return this.metric('RabbitMQDiskFreeLimit', { statistic: 'Maximum', ...p }); }
  public metricConnectionCount(p?: cloudwatch.MetricOptions) { return this.metric('ConnectionCount', { statistic: 'Maximum', ...p }); }
  public metricChannelCount(p?: cloudwatch.MetricOptions) { return this.metric('ChannelCount', { statistic: 'Maximum', ...p }); }
  public metricConsumerCount(p?: cloudwatch.MetricOptions) { return this.metric('ConsumerCount', { statistic: 'Minimum', ...p }); }
  public metricMessageReadyCount(p?: cloudwatch.MetricOptions) { return this.metric('MessageReadyCount', { statistic: 'Maximum', ...p }); }
  public metricMessageUnacknowledgedCount(p?: cloudwatch.MetricOptions) {
    return this.metric('MessageUnacknowledgedCount', { statistic: 'Maximum', ...p });
  }
  public metricPublishRate(p?: cloudwatch.MetricOptions) { return this.metric('PublishRate', { statistic: 'Average', ...p }); }
  public metricQueueMessageReadyCount(queueName: string, virtualHost: string = '/', p?: cloudwatch.MetricOptions) {
    return this.metric('MessageReadyCount', { statistic: 'Maximum', ...p, dimensionsMap: { Broker: this.brokerName, VirtualHost: virtualHost, Queue: queueName } });
  }
  public metricQueueConsumerCount(queueName: string, virtualHost: string = '/', p?: cloudwatch.MetricOptions) {
    return this.metric('ConsumerCount', { statistic: 'Minimum', ...p, dimensionsMap: { Broker: this.brokerName, VirtualHost: virtualHost, Queue: queueName } });
  }
  public grantReadCredentials(_grantee: iam.IGrantable): iam.Grant {
    throw new Error('FakeBroker has no credentials');
  }
}

export class FakeFleet extends Construct implements ICeleryWorkerFleet {
  public readonly autoScalingGroup: autoscaling.IAutoScalingGroup;
  public readonly queues = ['celery'];

  constructor(scope: Construct, id: string, public readonly autoScalingGroupName: string, public readonly maxCapacity: number) {
    super(scope, id);
    this.autoScalingGroup = autoscaling.AutoScalingGroup.fromAutoScalingGroupName(this, 'Group', autoScalingGroupName);
  }

  public metricWorkerRestarts(p?: cloudwatch.MetricOptions) {
    return new cloudwatch.Metric({
      namespace: WorkerMetricNames.NAMESPACE,
      metricName: WorkerMetricNames.WORKER_RESTARTS,
      dimensionsMap: { [WorkerMetricNames.AUTO_SCALING_GROUP_DIMENSION]: this.autoScalingGroupName },
      statistic: 'Sum',
      ...p,
    });
  }
  public metricNetworkOut(p?: cloudwatch.MetricOptions) { return this.ec2Metric('NetworkOut', p); }
  public metricNetworkIn(p?: cloudwatch.MetricOptions) { return this.ec2Metric('NetworkIn', p); }

  private ec2Metric(metricName: string, p?: cloudwatch.MetricOptions) {
    return new cloudwatch.Metric({
      namespace: 'AWS/EC2',
      metricName,
      dimensionsMap: { AutoScalingGroupName: this.autoScalingGroupName },
      statistic: 'Sum',
      period: Duration.minutes(5),
      ...p,
    });
  }
}
