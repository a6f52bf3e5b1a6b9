import { Duration, Resource } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { IRabbitMqBroker } from '../../src/broker/rabbitmq-broker-ref';

/**
 * Stand-in for the broker construct until src/broker/rabbitmq-broker.ts lands: a security group
 * whose default port is AMQPS, an admin secret, and the metrics documented on IRabbitMqBroker.
 */
export class TestBroker extends Resource implements IRabbitMqBroker {
  public readonly brokerId = 'b-1234a5b6-78cd-901e-2fgh-3i45j6k178l9';
  public readonly brokerArn = 'arn:aws:mq:eu-west-1:123456789012:broker:celery:b-1234a5b6-78cd-901e-2fgh-3i45j6k178l9';
  public readonly brokerName = 'celery';
  public readonly endpointHost = 'b-1234a5b6-78cd-901e-2fgh-3i45j6k178l9.mq.eu-west-1.on.aws';
  public readonly amqpsPort = 5671;
  public readonly amqpsUrl = `amqps://${this.endpointHost}:5671`;
  public readonly managementPort = 443;
  public readonly managementUrl = `https://${this.endpointHost}:443`;
  public readonly connections: ec2.Connections;
  public readonly credentials?: secretsmanager.ISecret;

  constructor(scope: Construct, id: string, vpc: ec2.IVpc, options: { withCredentials?: boolean } = {}) {
    super(scope, id);
    const sg = new ec2.SecurityGroup(this, 'SecurityGroup', { vpc, allowAllOutbound: false, description: 'broker' });
    this.connections = new ec2.Connections({ securityGroups: [sg], defaultPort: ec2.Port.tcp(5671) });
    if (options.withCredentials ?? true) {
      this.credentials = new secretsmanager.Secret(this, 'Admin', {
        generateSecretString: { secretStringTemplate: '{"username":"admin"}', generateStringKey: 'password', excludeCharacters: ',:=' },
      });
    }
  }

  public metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({ namespace: 'AWS/AmazonMQ', metricName, dimensionsMap: { Broker: this.brokerName }, period: Duration.minutes(1), ...props });
  }
  public metricNetworkIn(p?: cloudwatch.MetricOptions) { return this.metric('NetworkIn', { statistic: 'Sum', ...p }); }
  public metricNetworkOut(p?: cloudwatch.MetricOptions) { return this.metric('NetworkOut', { statistic: 'Sum', ...p }); }
  public metricMemoryUsed(p?: cloudwatch.MetricOptions) { return this.metric('RabbitMQMemUsed', { statistic: 'Maximum', ...p }); }
  public metricMemoryLimit(p?: cloudwatch.MetricOptions) { return this.metric('RabbitMQMemLimit', { statistic: 'Maximum', ...p }); }
  public metricMemoryUsedPercent(p?: cloudwatch.MathExpressionOptions): cloudwatch.IMetric {
    return new cloudwatch.MathExpression({ expression: '100 * used / memLimit', usingMetrics: { used: this.metricMemoryUsed(), memLimit: this.metricMemoryLimit() }, ...p });
  }
  public metricCpuUtilization(p?: cloudwatch.MetricOptions) { return this.metric('SystemCpuUtilization', { statistic: 'Maximum', ...p }); }
  public metricDiskFree(p?: cloudwatch.MetricOptions) { return this.metric('RabbitMQDiskFree', { statistic: 'Minimum', ...p }); }
  public metricDiskFreeLimit(p?: cloudwatch.MetricOptions) { return this.metric('RabbitMQDiskFreeLimit', { statistic: 'Maximum', ...p }); }
  public metricConnectionCount(p?: cloudwatch.MetricOptions) { return this.metric('ConnectionCount', { statistic: 'Maximum', ...p }); }
  public metricChannelCount(p?: cloudwatch.MetricOptions) { return this.metric('ChannelCount', { statistic: 'Maximum', ...p }); }
  public metricConsumerCount(p?: cloudwatch.MetricOptions) { return this.metric('ConsumerCount', { statistic: 'Minimum', ...p }); }
  public metricMessageReadyCount(p?: cloudwatch.MetricOptions) { return this.metric('MessageReadyCount', { statistic: 'Maximum', ...p }); }
  public metricMessageUnacknowledgedCount(p?: cloudwatch.MetricOptions) { return this.metric('MessageUnacknowledgedCount', { statistic: 'Maximum', ...p }); }
  public metricPublishRate(p?: cloudwatch.MetricOptions) { return this.metric('PublishRate', { statistic: 'Average', ...p }); }
  public metricQueueMessageReadyCount(queueName: string, virtualHost: string = '/', p?: cloudwatch.MetricOptions) {
    return this.metric('MessageReadyCount', { statistic: 'Maximum', ...p, dimensionsMap: { Broker: this.brokerName, VirtualHost: virtualHost, Queue: queueName } });
  }
  public metricQueueConsumerCount(queueName: string, virtualHost: string = '/', p?: cloudwatch.MetricOptions) {
    return this.metric('ConsumerCount', { statistic: 'Minimum', ...p, dimensionsMap: { Broker: this.brokerName, VirtualHost: virtualHost, Queue: queueName } });
  }
  public grantReadCredentials(grantee: iam.IGrantable): iam.Grant {
    if (!this.credentials) throw new Error('no credentials');
    return this.credentials.grantRead(grantee);
  }
}
