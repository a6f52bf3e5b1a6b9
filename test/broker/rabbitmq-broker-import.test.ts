import { CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { BROKER_ID, emptyStack } from './broker-fixture';
import { RabbitMqBroker } from '../../src/broker/rabbitmq-broker';

describe('RabbitMqBroker.fromRabbitMqBrokerAttributes', () => {
  test('derives the ARN and the IPv4 endpoint host from id, name, Region and partition', () => {
    const { stack } = emptyStack();
    const broker = RabbitMqBroker.fromRabbitMqBrokerAttributes(stack, 'Broker', { brokerId: BROKER_ID, brokerName: 'celery' });
    expect(broker.brokerId).toBe(BROKER_ID);
    expect(broker.brokerName).toBe('celery');
    expect(stack.resolve(broker.brokerArn)).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:mq:eu-west-1:123456789012:broker:celery:${BROKER_ID}`]],
    });
    expect(stack.resolve(broker.endpointHost)).toEqual({ 'Fn::Join': ['', [`${BROKER_ID}.mq.eu-west-1.`, { Ref: 'AWS::URLSuffix' }]] });
    expect(stack.resolve(broker.amqpsUrl)).toEqual({ 'Fn::Join': ['', [`amqps://${BROKER_ID}.mq.eu-west-1.`, { Ref: 'AWS::URLSuffix' }, ':5671']] });
    expect(stack.resolve(broker.managementUrl)).toEqual({ 'Fn::Join': ['', [`https://${BROKER_ID}.mq.eu-west-1.`, { Ref: 'AWS::URLSuffix' }, ':443']] });
    expect([broker.amqpsPort, broker.managementPort]).toEqual([5671, 443]);
    expect(broker.credentials).toBeUndefined();
    expect(broker.consumerTimeout).toBeUndefined();
    expect(broker.connections.securityGroups).toEqual([]);
    expect(broker.connections.defaultPort?.toString()).toBe('5671');
  });

  test('explicit ARN, host, security groups, credentials and consumer timeout are used as given', () => {
    const { stack, vpc } = emptyStack();
    const sg = ec2.SecurityGroup.fromSecurityGroupId(stack, 'BrokerSg', 'sg-0123456789abcdef0');
    const credentials = secretsmanager.Secret.fromSecretNameV2(stack, 'Admin', 'celery-admin');
    const broker = RabbitMqBroker.fromRabbitMqBrokerAttributes(stack, 'Broker', {
      brokerId: BROKER_ID,
      brokerName: 'celery',
      brokerArn: `arn:aws:mq:eu-west-1:123456789012:broker:celery:${BROKER_ID}`,
      endpointHost: `${BROKER_ID}.mq.eu-west-1.on.aws`,
      securityGroups: [sg],
      credentials,
      consumerTimeout: Duration.hours(2),
    });
    expect(broker.brokerArn).toBe(`arn:aws:mq:eu-west-1:123456789012:broker:celery:${BROKER_ID}`);
    expect(broker.amqpsUrl).toBe(`amqps://${BROKER_ID}.mq.eu-west-1.on.aws:5671`);
    expect(broker.credentials).toBe(credentials);
    expect(broker.consumerTimeout?.toHours()).toBe(2);

    const client = new ec2.SecurityGroup(stack, 'Client', { vpc, allowAllOutbound: false });
    broker.connections.allowDefaultPortFrom(client);
    const role = new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    broker.grantReadCredentials(role);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { GroupId: 'sg-0123456789abcdef0', FromPort: 5671, ToPort: 5671 });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [{ Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Effect: 'Allow' }] },
    });
  });

  test('grantReadCredentials without credentials fails with a clear message', () => {
    const { stack } = emptyStack();
    const broker = RabbitMqBroker.fromRabbitMqBrokerAttributes(stack, 'Broker', { brokerId: BROKER_ID, brokerName: 'celery' });
    const role = new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    expect(() => broker.grantReadCredentials(role)).toThrow(
      'grantReadCredentials: the broker TestStack/Broker has no credentials secret; import it with fromRabbitMqBrokerAttributes({ ..., credentials }) to grant access to one.');
  });

  test('token-safe: id and name from parameters in an environment-agnostic stack', () => {
    const stack = new Stack();
    const id = new CfnParameter(stack, 'BrokerId').valueAsString;
    const name = new CfnParameter(stack, 'BrokerName').valueAsString;
    const broker = RabbitMqBroker.fromRabbitMqBrokerAttributes(stack, 'Broker', { brokerId: id, brokerName: name });
    expect(stack.resolve(broker.brokerArn)).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':mq:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':broker:', { Ref: 'BrokerName' }, ':', { Ref: 'BrokerId' }]],
    });
    expect(stack.resolve(broker.endpointHost)).toEqual({ 'Fn::Join': ['', [{ Ref: 'BrokerId' }, '.mq.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]] });
    expect(stack.resolve(broker.metricConnectionCount().dimensions)).toEqual({ Broker: { Ref: 'BrokerName' } });
  });

  test.each([
    ['an ARN instead of an id', { brokerId: `arn:aws:mq:eu-west-1:123456789012:broker:celery:${BROKER_ID}`, brokerName: 'celery' },
      `brokerId: "arn:aws:mq:eu-west-1:123456789012:broker:celery:${BROKER_ID}" is not allowed; use the broker id, for example b-1234a5b6-78cd-901e-2fgh-3i45j6k178l9`],
    ['a name with a space', { brokerId: BROKER_ID, brokerName: 'celery prod' },
      'brokerName: "celery prod" is not allowed; use 1 to 50 letters, digits, \'-\' and \'_\''],
  ])('refuses %s', (_name, attrs, message) => {
    const { stack } = emptyStack();
    expect(() => RabbitMqBroker.fromRabbitMqBrokerAttributes(stack, 'Broker', attrs)).toThrow(message);
  });
});
