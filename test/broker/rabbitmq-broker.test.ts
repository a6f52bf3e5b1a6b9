import { Duration, Stack, Tags } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { buildBroker, emptyStack, onlyResource, renderedConfigurationData } from './broker-fixture';
import { ConfigurationChangePolicy } from '../../src/broker/configuration-change-policy';
import { RabbitMqBroker } from '../../src/broker/rabbitmq-broker';
import { RabbitMqDeploymentMode } from '../../src/broker/rabbitmq-deployment-mode';
import { RabbitMqEngineVersion } from '../../src/broker/rabbitmq-engine-version';
import { RabbitMqInstanceType } from '../../src/broker/rabbitmq-instance-type';
import { MaintenanceDay } from '../../src/broker/rabbitmq-maintenance-window';

// ConfigurationApplier loads its handlers from assets/: run `npx projen bundle` first.

function dynamicReference(secretLogicalId: string, key: string) {
  return { 'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: secretLogicalId }, `:SecretString:${key}::}}`]] };
}

function defaultBroker() {
  const { stack, broker, template } = buildBroker();
  return {
    stack,
    broker,
    template,
    brokerId: onlyResource(template, 'AWS::AmazonMQ::Broker').logicalId,
    secretId: onlyResource(template, 'AWS::SecretsManager::Secret').logicalId,
    configurationId: onlyResource(template, 'AWS::AmazonMQ::Configuration').logicalId,
    securityGroupId: Object.keys(template.findResources('AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp('^Amazon MQ') } }))[0],
  };
}

describe('defaults', () => {
  // Built for each test, not when the file is collected, so that coverage per test (what a
  // mutation run selects tests by) credits these assertions.
  let d: ReturnType<typeof defaultBroker>;
  beforeEach(() => {
    d = defaultBroker();
  });


  test('a private single-instance RabbitMQ 4.2 broker on mq.m7g.large with automatic minor upgrades', () => {
    const { resource } = onlyResource(d.template, 'AWS::AmazonMQ::Broker');
    expect(resource.Properties).toEqual({
      BrokerName: d.broker.brokerName,
      EngineType: 'RABBITMQ',
      EngineVersion: '4.2',
      HostInstanceType: 'mq.m7g.large',
      DeploymentMode: 'SINGLE_INSTANCE',
      PubliclyAccessible: false,
      AutoMinorVersionUpgrade: true,
      SubnetIds: [{ Ref: 'VpcPrivateSubnet1Subnet536B997A' }],
      SecurityGroups: [{ 'Fn::GetAtt': [d.securityGroupId, 'GroupId'] }],
      Users: [{ Username: dynamicReference(d.secretId, 'username'), Password: dynamicReference(d.secretId, 'password') }],
      Configuration: { Id: { Ref: d.configurationId }, Revision: { 'Fn::GetAtt': [d.configurationId, 'Revision'] } },
      Logs: { General: true },
    });
  });

  test('the broker name is derived from the construct path: valid, at most 50 characters, the same on every synth', () => {
    expect(d.broker.brokerName).toMatch(/^TestStack-Broker-[A-Za-z0-9]+$/);
    expect(d.broker.brokerName.length).toBeLessThanOrEqual(50);
    expect(buildBroker().broker.brokerName).toBe(d.broker.brokerName);
  });

  test('a long construct path still gives a valid name', () => {
    const { stack: s, vpc } = emptyStack();
    const long = new RabbitMqBroker(s, 'ThisIsAVeryLongConstructIdForTheCeleryBrokerOfTheOrdersService', { vpc });
    expect(long.brokerName).toMatch(/^[A-Za-z0-9_-]{1,50}$/);
  });

  test('a generated administrator secret: username admin, 32 alphanumeric characters (none of , : =)', () => {
    const { resource } = onlyResource(d.template, 'AWS::SecretsManager::Secret');
    expect(resource.Properties.GenerateSecretString).toEqual({
      SecretStringTemplate: '{"username":"admin"}',
      GenerateStringKey: 'password',
      PasswordLength: 32,
      ExcludePunctuation: true,
      IncludeSpace: false,
      RequireEachIncludedType: true,
    });
    expect(resource.Properties.SecretString).toBeUndefined();
    expect(d.broker.credentials).toBeDefined();
    expect(d.stack.resolve(d.broker.credentials!.secretArn)).toEqual({ Ref: d.secretId });
  });

  test('a RabbitMQ configuration with a 24-hour consumer_timeout, attached to the broker itself (no association)', () => {
    d.template.hasResourceProperties('AWS::AmazonMQ::Configuration', {
      Name: d.broker.brokerName,
      EngineType: 'RABBITMQ',
      EngineVersion: '4.2',
    });
    expect(renderedConfigurationData(d.template)).toBe('consumer_timeout = 86400000\n');
    expect(d.broker.renderedConfiguration).toBe('consumer_timeout = 86400000\n');
    d.template.resourceCountIs('AWS::AmazonMQ::ConfigurationAssociation', 0);
    expect(d.stack.resolve(d.broker.configurationId)).toEqual({ Ref: d.configurationId });
    expect(d.stack.resolve(d.broker.configurationRevision)).toEqual({ 'Fn::GetAtt': [d.configurationId, 'Revision'] });
  });

  test('general log retention of one month on /aws/amazonmq/broker/ID/general', () => {
    d.template.hasResourceProperties('Custom::LogRetention', {
      LogGroupName: { 'Fn::Join': ['', ['/aws/amazonmq/broker/', { Ref: d.brokerId }, '/general']] },
      RetentionInDays: 30,
    });
    expect(d.stack.resolve(d.broker.generalLogGroupName)).toEqual({ 'Fn::Join': ['', ['/aws/amazonmq/broker/', { Ref: d.brokerId }, '/general']] });
    // Amazon MQ creates the group itself: no LogGroup resource to race it.
    d.template.resourceCountIs('AWS::Logs::LogGroup', 0);
  });

  test('the security group opens nothing and allows no egress', () => {
    d.template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('^Amazon MQ'),
      SecurityGroupEgress: [Match.objectLike({ CidrIp: '255.255.255.255/32' })],
    });
    expect(d.template.findResources('AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp('^Amazon MQ') } })[d.securityGroupId]
      .Properties.SecurityGroupIngress).toBeUndefined();
    d.template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
  });

  test('no reboot on configuration changes (maintenance window), no KMS key, storage or authentication settings', () => {
    d.template.resourceCountIs('Custom::CdkCeleryConfigurationApplier', 0);
    expect(d.broker.configurationApplier).toBeUndefined();
    const props = onlyResource(d.template, 'AWS::AmazonMQ::Broker').resource.Properties;
    for (const key of ['EncryptionOptions', 'StorageType', 'AuthenticationStrategy', 'MaintenanceWindowStartTime']) expect(props[key]).toBeUndefined();
  });

  test('attributes: id, ARN, name, endpoint host from AmqpEndpoints, ports, URLs without credentials', () => {
    expect(d.stack.resolve(d.broker.brokerId)).toEqual({ Ref: d.brokerId });
    expect(d.stack.resolve(d.broker.brokerArn)).toEqual({ 'Fn::GetAtt': [d.brokerId, 'Arn'] });
    const host = {
      'Fn::Select': [0, { 'Fn::Split': [':', { 'Fn::Select': [1, { 'Fn::Split': ['://', { 'Fn::Select': [0, { 'Fn::GetAtt': [d.brokerId, 'AmqpEndpoints'] }] }] }] }] }],
    };
    expect(d.stack.resolve(d.broker.endpointHost)).toEqual(host);
    expect(d.stack.resolve(d.broker.amqpsUrl)).toEqual({ 'Fn::Join': ['', ['amqps://', host, ':5671']] });
    expect(d.stack.resolve(d.broker.managementUrl)).toEqual({ 'Fn::Join': ['', ['https://', host, ':443']] });
    expect(d.broker.amqpsPort).toBe(5671);
    expect(d.broker.managementPort).toBe(443);
    expect(d.broker.consumerTimeout?.toHours()).toBe(24);
    expect(d.broker.engineVersion).toBe(RabbitMqEngineVersion.V4_2);
    expect(d.broker.instanceType).toBe(RabbitMqInstanceType.M7G_LARGE);
    expect(d.broker.deploymentMode).toBe(RabbitMqDeploymentMode.SINGLE_INSTANCE);
    expect(d.broker.publiclyAccessible).toBe(false);
  });

  test('connections: default port AMQPS 5671 on the broker security group', () => {
    expect(d.broker.connections.defaultPort?.toString()).toBe('5671');
    expect(d.broker.connections.securityGroups).toHaveLength(1);
  });

  test('no warnings', () => {
    expect(Annotations.fromStack(d.stack).findWarning('*', Match.anyValue())).toEqual([]);
  });
});

describe('props', () => {
  test('engine 3.13 on mq.m5.large', () => {
    const { template } = buildBroker({ engineVersion: RabbitMqEngineVersion.V3_13, instanceType: RabbitMqInstanceType.M5_LARGE });
    template.hasResourceProperties('AWS::AmazonMQ::Broker', { EngineVersion: '3.13', HostInstanceType: 'mq.m5.large' });
    template.hasResourceProperties('AWS::AmazonMQ::Configuration', { EngineVersion: '3.13' });
  });

  test('a larger m7g type, and of() escape hatches', () => {
    buildBroker({ instanceType: RabbitMqInstanceType.M7G_4XLARGE }).template.hasResourceProperties('AWS::AmazonMQ::Broker', { HostInstanceType: 'mq.m7g.4xlarge' });
    const { template } = buildBroker({ engineVersion: RabbitMqEngineVersion.of('4.2'), instanceType: RabbitMqInstanceType.of('mq.m7g.2xlarge') });
    template.hasResourceProperties('AWS::AmazonMQ::Broker', { EngineVersion: '4.2', HostInstanceType: 'mq.m7g.2xlarge' });
  });

  test('explicit broker name (also the configuration name)', () => {
    const { template, broker } = buildBroker({ brokerName: 'celery-prod_1' });
    expect(broker.brokerName).toBe('celery-prod_1');
    template.hasResourceProperties('AWS::AmazonMQ::Broker', { BrokerName: 'celery-prod_1' });
    template.hasResourceProperties('AWS::AmazonMQ::Configuration', { Name: 'celery-prod_1' });
  });

  test('cluster: one private subnet per Availability Zone by default', () => {
    const { template, vpc } = buildBroker({ deploymentMode: RabbitMqDeploymentMode.CLUSTER_MULTI_AZ });
    const stack = Stack.of(vpc);
    template.hasResourceProperties('AWS::AmazonMQ::Broker', {
      DeploymentMode: 'CLUSTER_MULTI_AZ',
      SubnetIds: vpc.privateSubnets.map(s => stack.resolve(s.subnetId)),
    });
    expect(vpc.privateSubnets).toHaveLength(3);
  });

  test('cluster: an explicit selection of subnets in distinct AZs', () => {
    const { stack, vpc } = emptyStack();
    new RabbitMqBroker(stack, 'Broker', {
      vpc,
      deploymentMode: RabbitMqDeploymentMode.CLUSTER_MULTI_AZ,
      vpcSubnets: { subnets: [vpc.privateSubnets[0], vpc.publicSubnets[1]] },
    });
    Template.fromStack(stack).hasResourceProperties('AWS::AmazonMQ::Broker', {
      SubnetIds: [stack.resolve(vpc.privateSubnets[0].subnetId), stack.resolve(vpc.publicSubnets[1].subnetId)],
    });
  });

  test('single instance: an explicit selection of exactly one subnet', () => {
    const { stack, vpc } = emptyStack();
    new RabbitMqBroker(stack, 'Broker', { vpc, vpcSubnets: { subnets: [vpc.privateSubnets[2]] } });
    Template.fromStack(stack).hasResourceProperties('AWS::AmazonMQ::Broker', { SubnetIds: [stack.resolve(vpc.privateSubnets[2].subnetId)] });
  });

  test('single instance in a VPC with isolated subnets only', () => {
    const { stack } = emptyStack();
    const isolated = new ec2.Vpc(stack, 'Isolated', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'mq', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    new RabbitMqBroker(stack, 'Broker', { vpc: isolated });
    Template.fromStack(stack).hasResourceProperties('AWS::AmazonMQ::Broker', { SubnetIds: [stack.resolve(isolated.isolatedSubnets[0].subnetId)] });
  });

  test('user security groups are used as they are', () => {
    const { stack, vpc } = emptyStack();
    const sg = new ec2.SecurityGroup(stack, 'Mine', { vpc, allowAllOutbound: false });
    const broker = new RabbitMqBroker(stack, 'Broker', { vpc, securityGroups: [sg] });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::AmazonMQ::Broker', { SecurityGroups: [stack.resolve(sg.securityGroupId)] });
    template.resourceCountIs('AWS::EC2::SecurityGroup', 1); // Mine only: the broker creates none
    expect(broker.connections.securityGroups).toEqual([sg]);
  });

  test('connections: clients open AMQPS; management 443 only when asked', () => {
    const amqpsOnly = emptyStack();
    const broker = new RabbitMqBroker(amqpsOnly.stack, 'Broker', { vpc: amqpsOnly.vpc });
    const client = new ec2.SecurityGroup(amqpsOnly.stack, 'Client', { vpc: amqpsOnly.vpc, allowAllOutbound: false });
    broker.connections.allowDefaultPortFrom(client, 'workers');
    let template = Template.fromStack(amqpsOnly.stack);
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 1);
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { FromPort: 5671, ToPort: 5671, IpProtocol: 'tcp', Description: 'workers' });
    template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', { FromPort: 5671, ToPort: 5671 });

    const withManagement = emptyStack();
    const managed = new RabbitMqBroker(withManagement.stack, 'Broker', { vpc: withManagement.vpc });
    const admin = new ec2.SecurityGroup(withManagement.stack, 'Admin', { vpc: withManagement.vpc, allowAllOutbound: false });
    managed.allowManagementAccessFrom(admin);
    template = Template.fromStack(withManagement.stack);
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 1);
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { FromPort: 443, ToPort: 443, Description: 'RabbitMQ management console and API' });
  });

  test('publicly accessible: no subnets or security groups, a warning, clients get egress to the internet', () => {
    const { stack, vpc } = emptyStack();
    const broker = new RabbitMqBroker(stack, 'Broker', { publiclyAccessible: true });
    const client = new ec2.SecurityGroup(stack, 'Client', { vpc, allowAllOutbound: false });
    broker.connections.allowDefaultPortFrom(client);
    const template = Template.fromStack(stack);
    const props = onlyResource(template, 'AWS::AmazonMQ::Broker').resource.Properties;
    expect(props.PubliclyAccessible).toBe(true);
    expect(props.SubnetIds).toBeUndefined();
    expect(props.SecurityGroups).toBeUndefined();
    expect(broker.connections.securityGroups).toEqual([]);
    Annotations.fromStack(stack).hasWarning('/TestStack/Broker',
      Match.stringLikeRegexp('publiclyAccessible is true: the broker\'s AMQPS and management endpoints are reachable from the internet.*\\[ack: cdk-celery:brokerPubliclyAccessible\\]'));
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupEgress: [Match.objectLike({ CidrIp: '0.0.0.0/0', FromPort: 5671, ToPort: 5671 })],
    });
  });

  test('user-supplied credentials: dynamic references to that secret, no generated secret', () => {
    const { stack, vpc } = emptyStack();
    const secret = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Admin', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:celery-admin-AbCdEf');
    const broker = new RabbitMqBroker(stack, 'Broker', { vpc, credentials: secret });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    template.hasResourceProperties('AWS::AmazonMQ::Broker', {
      Users: [{
        Username: '{{resolve:secretsmanager:arn:aws:secretsmanager:eu-west-1:123456789012:secret:celery-admin-AbCdEf:SecretString:username::}}',
        Password: '{{resolve:secretsmanager:arn:aws:secretsmanager:eu-west-1:123456789012:secret:celery-admin-AbCdEf:SecretString:password::}}',
      }],
    });
    expect(broker.credentials).toBe(secret);
  });

  test('adminUsername of the generated secret', () => {
    buildBroker({ adminUsername: 'celery.admin' }).template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ SecretStringTemplate: '{"username":"celery.admin"}' }),
    });
  });

  test('general logs off: Logs.General false and no retention resource', () => {
    const { template, broker } = buildBroker({ generalLogs: false });
    template.hasResourceProperties('AWS::AmazonMQ::Broker', { Logs: { General: false } });
    template.resourceCountIs('Custom::LogRetention', 0);
    expect(broker.generalLogGroupName).toBeUndefined();
  });

  test('log retention', () => {
    buildBroker({ logRetention: logs.RetentionDays.ONE_WEEK }).template.hasResourceProperties('Custom::LogRetention', { RetentionInDays: 7 });
  });

  test('maintenance window, UTC by default or an explicit time zone', () => {
    buildBroker({ maintenanceWindow: { dayOfWeek: MaintenanceDay.SUNDAY, timeOfDay: '03:30' } }).template.hasResourceProperties('AWS::AmazonMQ::Broker', {
      MaintenanceWindowStartTime: { DayOfWeek: 'SUNDAY', TimeOfDay: '03:30', TimeZone: 'UTC' },
    });
    buildBroker({ maintenanceWindow: { dayOfWeek: MaintenanceDay.TUESDAY, timeOfDay: '23:59', timeZone: 'Europe/Paris' } }).template.hasResourceProperties('AWS::AmazonMQ::Broker', {
      MaintenanceWindowStartTime: { DayOfWeek: 'TUESDAY', TimeOfDay: '23:59', TimeZone: 'Europe/Paris' },
    });
    buildBroker({ maintenanceWindow: { dayOfWeek: MaintenanceDay.WEDNESDAY, timeOfDay: '00:00', timeZone: 'UTC+01:00' } }).template.hasResourceProperties('AWS::AmazonMQ::Broker', {
      MaintenanceWindowStartTime: { DayOfWeek: 'WEDNESDAY', TimeOfDay: '00:00', TimeZone: 'UTC+01:00' },
    });
  });

  test('typed configuration rendered into the configuration data (base64 of rabbitmq.conf)', () => {
    const { template, broker } = buildBroker({
      configuration: {
        consumerTimeout: Duration.hours(6),
        heartbeat: Duration.seconds(120),
        extraLines: ['management.restrictions.operator_policy_changes.disabled = false'],
      },
    });
    expect(renderedConfigurationData(template)).toBe([
      'consumer_timeout = 21600000',
      'heartbeat = 120',
      'management.restrictions.operator_policy_changes.disabled = false',
      '',
    ].join('\n'));
    expect(broker.consumerTimeout?.toHours()).toBe(6);
  });

  test('applyNowWithReboot: a ConfigurationApplier after the broker, with the configuration revision', () => {
    const { template } = buildBroker({ configurationChangePolicy: ConfigurationChangePolicy.applyNowWithReboot() });
    const brokerId = onlyResource(template, 'AWS::AmazonMQ::Broker').logicalId;
    const configurationId = onlyResource(template, 'AWS::AmazonMQ::Configuration').logicalId;
    const applier = onlyResource(template, 'Custom::CdkCeleryConfigurationApplier').resource;
    expect(applier.Properties).toMatchObject({
      BrokerId: { Ref: brokerId },
      BrokerArn: { 'Fn::GetAtt': [brokerId, 'Arn'] },
      ConfigurationId: { Ref: configurationId },
      ConfigurationRevision: { 'Fn::GetAtt': [configurationId, 'Revision'] },
      WaitTimeoutSeconds: '2700',
    });
    expect(applier.DependsOn).toContain(brokerId);
  });

  test('applyNowWithReboot passes waitTimeout through', () => {
    const policy = ConfigurationChangePolicy.applyNowWithReboot({ waitTimeout: Duration.minutes(20) });
    const { template, broker } = buildBroker({ configurationChangePolicy: policy });
    template.hasResourceProperties('Custom::CdkCeleryConfigurationApplier', { WaitTimeoutSeconds: '1200' });
    expect(broker.configurationApplier).toBeDefined();
  });

  test('maintenanceWindow() policy adds no custom resource', () => {
    buildBroker({ configurationChangePolicy: ConfigurationChangePolicy.maintenanceWindow() }).template.resourceCountIs('Custom::CdkCeleryConfigurationApplier', 0);
  });

  test('Tags.of reaches the broker, its configuration, secret and security group', () => {
    const { stack, vpc } = emptyStack();
    const broker = new RabbitMqBroker(stack, 'Broker', { vpc });
    Tags.of(broker).add('team', 'orders');
    const template = Template.fromStack(stack);
    const tag = Match.arrayWith([{ Key: 'team', Value: 'orders' }]);
    for (const type of ['AWS::AmazonMQ::Broker', 'AWS::AmazonMQ::Configuration', 'AWS::SecretsManager::Secret', 'AWS::EC2::SecurityGroup']) {
      template.hasResourceProperties(type, { Tags: tag });
    }
  });
});

describe('warnings', () => {
  const cases: Array<[string, () => Stack, string, RegExp]> = [
    ['evaluation instance type', () => buildBroker({ instanceType: RabbitMqInstanceType.M7G_MEDIUM }).stack,
      'cdk-celery:brokerEvaluationInstanceType', /instanceType mq\.m7g\.medium is meant for evaluation/],
    ['unknown instance family', () => buildBroker({ instanceType: RabbitMqInstanceType.of('mq.m8g.large') }).stack,
      'cdk-celery:brokerUnknownInstanceFamily', /the m8g family is not one this library knows/],
    ['4.3 is upgrade-only', () => buildBroker({ engineVersion: RabbitMqEngineVersion.of('4.3') }).stack,
      'cdk-celery:brokerEngineUpgradeOnly', /engineVersion 4\.3 can only be reached by upgrading an existing 4\.2 broker/],
    ['cluster behind one subnet', () => {
      const { stack, vpc } = emptyStack();
      new RabbitMqBroker(stack, 'Broker', { vpc, deploymentMode: RabbitMqDeploymentMode.CLUSTER_MULTI_AZ, vpcSubnets: { subnets: [vpc.privateSubnets[0]] } });
      return stack;
    }, 'cdk-celery:brokerClusterOneSubnet', /clients reach it through endpoints in one AZ only/],
    ['consumer timeout disabled', () => buildBroker({ configuration: { consumerTimeout: Duration.millis(0) } }).stack,
      'cdk-celery:brokerConsumerTimeoutDisabled', /consumerTimeout is 0/],
  ];
  test.each(cases)('%s', (_name, build, ack, text) => {
    const warnings = Annotations.fromStack(build()).findWarning('/TestStack/Broker', Match.anyValue()).map(w => String(w.entry.data));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(text);
    expect(warnings[0]).toContain(`[ack: ${ack}]`);
  });
});
