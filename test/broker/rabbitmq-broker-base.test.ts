import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import { emptyStack } from './broker-fixture';
import { RabbitMqBroker } from '../../src/broker/rabbitmq-broker';
import { NETWORK_METRICS_DIMENSION } from '../../src/broker/rabbitmq-broker-base';
import { IRabbitMqBroker } from '../../src/broker/rabbitmq-broker-ref';

interface Expected { metricName: string; statistic: string }

const brokerMetrics: Array<[string, (b: IRabbitMqBroker) => cloudwatch.Metric, Expected]> = [
  ['metricNetworkIn', b => b.metricNetworkIn(), { metricName: 'NetworkIn', statistic: 'Sum' }],
  ['metricNetworkOut', b => b.metricNetworkOut(), { metricName: 'NetworkOut', statistic: 'Sum' }],
  ['metricMemoryUsed', b => b.metricMemoryUsed(), { metricName: 'RabbitMQMemUsed', statistic: 'Maximum' }],
  ['metricMemoryLimit', b => b.metricMemoryLimit(), { metricName: 'RabbitMQMemLimit', statistic: 'Maximum' }],
  ['metricCpuUtilization', b => b.metricCpuUtilization(), { metricName: 'SystemCpuUtilization', statistic: 'Maximum' }],
  ['metricDiskFree', b => b.metricDiskFree(), { metricName: 'RabbitMQDiskFree', statistic: 'Minimum' }],
  ['metricDiskFreeLimit', b => b.metricDiskFreeLimit(), { metricName: 'RabbitMQDiskFreeLimit', statistic: 'Maximum' }],
  ['metricConnectionCount', b => b.metricConnectionCount(), { metricName: 'ConnectionCount', statistic: 'Maximum' }],
  ['metricChannelCount', b => b.metricChannelCount(), { metricName: 'ChannelCount', statistic: 'Maximum' }],
  ['metricConsumerCount', b => b.metricConsumerCount(), { metricName: 'ConsumerCount', statistic: 'Minimum' }],
  ['metricMessageReadyCount', b => b.metricMessageReadyCount(), { metricName: 'MessageReadyCount', statistic: 'Maximum' }],
  ['metricMessageUnacknowledgedCount', b => b.metricMessageUnacknowledgedCount(), { metricName: 'MessageUnacknowledgedCount', statistic: 'Maximum' }],
  ['metricPublishRate', b => b.metricPublishRate(), { metricName: 'PublishRate', statistic: 'Average' }],
  ['metric (any name, Average)', b => b.metric('ExchangeCount'), { metricName: 'ExchangeCount', statistic: 'Average' }],
];

function created(): { stack: Stack; broker: RabbitMqBroker } {
  const { stack, vpc } = emptyStack();
  return { stack, broker: new RabbitMqBroker(stack, 'Broker', { vpc, brokerName: 'celery-prod' }) };
}

function imported(): { stack: Stack; broker: IRabbitMqBroker } {
  const { stack } = emptyStack();
  return { stack, broker: RabbitMqBroker.fromRabbitMqBrokerAttributes(stack, 'Broker', { brokerId: 'b-1234a5b6-78cd-901e-2fgh-3i45j6k178l9', brokerName: 'celery-prod' }) };
}

describe.each([['a created broker', created], ['an imported broker', imported]])('metrics of %s', (_kind, build) => {
  test.each(brokerMetrics)('%s: AWS/AmazonMQ, Broker = broker name, 1 minute', (_name, make, expected) => {
    const { broker } = build();
    const metric = make(broker);
    expect(metric.namespace).toBe('AWS/AmazonMQ');
    expect(metric.metricName).toBe(expected.metricName);
    expect(metric.statistic).toBe(expected.statistic);
    expect(metric.dimensions).toEqual({ Broker: 'celery-prod' });
    expect(metric.period.toSeconds()).toBe(60);
  });

  test('props override the statistic and period', () => {
    const { broker } = build();
    const metric = broker.metricNetworkIn({ statistic: 'Maximum', period: Duration.minutes(5) });
    expect(metric.statistic).toBe('Maximum');
    expect(metric.period.toMinutes()).toBe(5);
    expect(metric.dimensions).toEqual({ Broker: 'celery-prod' });
  });

  test('memory used percent is metric math over the Maximum of used and limit', () => {
    const { broker } = build();
    const expression = broker.metricMemoryUsedPercent() as cloudwatch.MathExpression;
    expect(expression).toBeInstanceOf(cloudwatch.MathExpression);
    expect(expression.expression).toBe('100 * used / memLimit');
    expect(expression.period.toSeconds()).toBe(60);
    const used = expression.usingMetrics.used as cloudwatch.Metric;
    const limit = expression.usingMetrics.memLimit as cloudwatch.Metric;
    expect([used.metricName, used.statistic, used.dimensions]).toEqual(['RabbitMQMemUsed', 'Maximum', { Broker: 'celery-prod' }]);
    expect([limit.metricName, limit.statistic, limit.dimensions]).toEqual(['RabbitMQMemLimit', 'Maximum', { Broker: 'celery-prod' }]);
  });

  test('queue metrics: Broker, VirtualHost (default /) and Queue dimensions, which props cannot replace', () => {
    const { broker } = build();
    const ready = broker.metricQueueMessageReadyCount('celery');
    expect([ready.metricName, ready.statistic]).toEqual(['MessageReadyCount', 'Maximum']);
    expect(ready.dimensions).toEqual({ Broker: 'celery-prod', VirtualHost: '/', Queue: 'celery' });
    const consumers = broker.metricQueueConsumerCount('emails', 'shop', { dimensionsMap: { Broker: 'other' } });
    expect([consumers.metricName, consumers.statistic]).toEqual(['ConsumerCount', 'Minimum']);
    expect(consumers.dimensions).toEqual({ Broker: 'celery-prod', VirtualHost: 'shop', Queue: 'emails' });
    expect(consumers.period.toSeconds()).toBe(60);
  });
});

test('the network metrics dimension is one constant (an older AWS page said BrokerId)', () => {
  expect(NETWORK_METRICS_DIMENSION).toBe('Broker');
});

test('an alarm on a created broker\'s ingress names the broker in its dimensions', () => {
  const { stack, broker } = created();
  broker.metricNetworkIn().createAlarm(stack, 'Ingress', { threshold: 1e9, evaluationPeriods: 1 });
  Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
    Namespace: 'AWS/AmazonMQ',
    MetricName: 'NetworkIn',
    Statistic: 'Sum',
    Period: 60,
    Dimensions: [{ Name: 'Broker', Value: 'celery-prod' }],
  });
});

test('grantReadCredentials grants GetSecretValue on the generated secret', () => {
  const { stack, broker } = created();
  const role = new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
  broker.grantReadCredentials(role);
  const secretId = Object.keys(Template.fromStack(stack).findResources('AWS::SecretsManager::Secret'))[0];
  Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
    PolicyDocument: { Statement: [{ Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Effect: 'Allow', Resource: { Ref: secretId } }] },
  });
});
