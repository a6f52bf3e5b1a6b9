import { CfnParameter, Duration, Lazy, Token } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { emptyStack } from './broker-fixture';
import { ConfigurationChangePolicy } from '../../src/broker/configuration-change-policy';
import { RabbitMqBroker, RabbitMqBrokerProps } from '../../src/broker/rabbitmq-broker';
import { RabbitMqDeploymentMode } from '../../src/broker/rabbitmq-deployment-mode';
import { RabbitMqEngineVersion } from '../../src/broker/rabbitmq-engine-version';
import { RabbitMqInstanceType } from '../../src/broker/rabbitmq-instance-type';
import { MaintenanceDay } from '../../src/broker/rabbitmq-maintenance-window';

type PropsFor = (ctx: ReturnType<typeof emptyStack>) => RabbitMqBrokerProps;

/** [name, props (built in a fresh stack with a 3-AZ VPC), expected message]. */
const invalid: Array<[string, PropsFor, string]> = [
  ['mq.t3.micro for a new broker', ({ vpc }) => ({ vpc, instanceType: RabbitMqInstanceType.of('mq.t3.micro') }),
    'instanceType: mq.t3.micro is not allowed; use an mq.m7g.* type such as mq.m7g.large (mq.t3.micro can no longer be used for new brokers (end of support 2026-10-01); mq.m7g.medium is the evaluation size)'],
  ['instance type without the mq. prefix', ({ vpc }) => ({ vpc, instanceType: RabbitMqInstanceType.of('m7g.large') }),
    'instanceType: "m7g.large" is not allowed; use the full name mq.FAMILY.SIZE, for example mq.m7g.large (RabbitMqInstanceType.M7G_LARGE)'],
  ['RabbitMQ 4.2 on m5', ({ vpc }) => ({ vpc, instanceType: RabbitMqInstanceType.M5_LARGE }),
    'instanceType: mq.m5.large is not allowed with engineVersion 4.2; use an mq.m7g.* type (RabbitMQ 4.x runs only on m7g)'],
  ['RabbitMQ 4.3 on m5', ({ vpc }) => ({ vpc, engineVersion: RabbitMqEngineVersion.of('4.3'), instanceType: RabbitMqInstanceType.M5_2XLARGE }),
    'instanceType: mq.m5.2xlarge is not allowed with engineVersion 4.3; use an mq.m7g.* type (RabbitMQ 4.x runs only on m7g)'],
  ['an end-of-support engine', ({ vpc }) => ({ vpc, engineVersion: RabbitMqEngineVersion.of('3.12') }),
    'engineVersion: 3.12 is not allowed; use 3.13 or 4.2 (RabbitMqEngineVersion.V3_13, RabbitMqEngineVersion.V4_2). RabbitMQ 3.12 and older are end of support on Amazon MQ.'],
  ['a malformed engine version', ({ vpc }) => ({ vpc, engineVersion: RabbitMqEngineVersion.of('latest') }),
    'engineVersion: "latest" is not allowed; use 3.13 or 4.2 (RabbitMqEngineVersion.V3_13, RabbitMqEngineVersion.V4_2), in the MAJOR.MINOR format'],
  ['automatic minor upgrades off', ({ vpc }) => ({ vpc, engineVersion: RabbitMqEngineVersion.V3_13, autoMinorVersionUpgrade: false }),
    'autoMinorVersionUpgrade: false is not allowed with engineVersion 3.13; use true (Amazon MQ requires automatic minor version upgrades for RabbitMQ 3.13 and later'],
  ['a broker name over 50 characters', ({ vpc }) => ({ vpc, brokerName: 'b'.repeat(51) }),
    `brokerName: "${'b'.repeat(51)}" is not allowed; use 1 to 50 letters, digits, '-' and '_' (the name is the Broker dimension of the metrics; changing it replaces the broker)`],
  ['a broker name with a dot', ({ vpc }) => ({ vpc, brokerName: 'celery.prod' }),
    'brokerName: "celery.prod" is not allowed; use 1 to 50 letters, digits'],
  ['single instance with three subnets', ({ vpc }) => ({ vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } }),
    'vpcSubnets: a selection of 3 subnets (dummy1a, dummy1b, dummy1c) is not allowed; use a selection of exactly one subnet for a SINGLE_INSTANCE broker, for example { subnets: [vpc.privateSubnets[0]] }'],
  ['cluster with two subnets in one AZ', ({ vpc }) => ({
    vpc,
    deploymentMode: RabbitMqDeploymentMode.CLUSTER_MULTI_AZ,
    vpcSubnets: { subnets: [vpc.privateSubnets[0], vpc.publicSubnets[0], vpc.privateSubnets[1]] },
  }), 'vpcSubnets: a selection of 3 subnets (dummy1a, dummy1a, dummy1b) is not allowed; use subnets in distinct Availability Zones for a CLUSTER_MULTI_AZ broker (dummy1a has more than one)'],
  ['cluster with an empty selection', ({ vpc }) => ({ vpc, deploymentMode: RabbitMqDeploymentMode.CLUSTER_MULTI_AZ, vpcSubnets: { subnets: [] } }),
    'vpcSubnets: a selection of 0 subnets is not allowed; use at least one subnet for a private CLUSTER_MULTI_AZ broker'],
  ['a private broker without a VPC', () => ({}),
    'vpc: undefined is not allowed for a private broker; pass the VPC of the Celery workers (or set publiclyAccessible: true)'],
  ['a public broker in a VPC', ({ vpc }) => ({ vpc, publiclyAccessible: true }),
    'vpc: a value is not allowed with publiclyAccessible: true; omit vpc, vpcSubnets and securityGroups (Amazon MQ places a public broker outside your VPC and accepts no security groups for it), or use publiclyAccessible: false'],
  ['a public broker with security groups', ({ stack }) => ({ publiclyAccessible: true, securityGroups: [ec2.SecurityGroup.fromSecurityGroupId(stack, 'Sg', 'sg-12345678')] }),
    'securityGroups: a value is not allowed with publiclyAccessible: true'],
  ['no security groups', ({ vpc }) => ({ vpc, securityGroups: [] }),
    'securityGroups: 0 security groups is not allowed; use 1 to 5'],
  ['six security groups', ({ stack, vpc }) => ({ vpc, securityGroups: [1, 2, 3, 4, 5, 6].map(i => ec2.SecurityGroup.fromSecurityGroupId(stack, `Sg${i}`, `sg-0000000${i}`)) }),
    'securityGroups: 6 security groups is not allowed; use 1 to 5'],
  ['a log retention without logs', ({ vpc }) => ({ vpc, generalLogs: false, logRetention: logs.RetentionDays.ONE_WEEK }),
    'logRetention: 7 days is not allowed with generalLogs: false; use generalLogs: true, or omit logRetention'],
  ['adminUsername with user credentials', ({ stack, vpc }) => ({
    vpc, adminUsername: 'root', credentials: secretsmanager.Secret.fromSecretNameV2(stack, 'Admin', 'celery-admin'),
  }), 'adminUsername: "root" is not allowed with credentials; use the secret\'s "username" key, or omit credentials to generate a secret'],
  ['a one-character username', ({ vpc }) => ({ vpc, adminUsername: 'a' }),
    'adminUsername: "a" is not allowed; use 2 to 100 letters, digits, \'-\', \'.\' and \'_\' (Amazon MQ for RabbitMQ refuses \'~\')'],
  ['a username with @', ({ vpc }) => ({ vpc, adminUsername: 'admin@example' }),
    'adminUsername: "admin@example" is not allowed; use 2 to 100 letters'],
  ['a maintenance time past midnight', ({ vpc }) => ({ vpc, maintenanceWindow: { dayOfWeek: MaintenanceDay.MONDAY, timeOfDay: '24:00' } }),
    'maintenanceWindow.timeOfDay: "24:00" is not allowed; use HH:MM in 24-hour format, for example 03:00'],
  ['a maintenance time without a leading zero', ({ vpc }) => ({ vpc, maintenanceWindow: { dayOfWeek: MaintenanceDay.MONDAY, timeOfDay: '3:00' } }),
    'maintenanceWindow.timeOfDay: "3:00" is not allowed; use HH:MM'],
  ['a time zone with a space', ({ vpc }) => ({ vpc, maintenanceWindow: { dayOfWeek: MaintenanceDay.MONDAY, timeOfDay: '03:00', timeZone: 'Europe Paris' } }),
    'maintenanceWindow.timeZone: "Europe Paris" is not allowed; use UTC, an IANA time zone name such as Europe/Paris, or a UTC offset such as UTC+01:00'],
  ['a heartbeat below 60 s', ({ vpc }) => ({ vpc, configuration: { heartbeat: Duration.seconds(10) } }),
    'configuration.heartbeat: 10 s is not allowed; use a whole number of seconds from 60 to 3600'],
  ['a consumer timeout beyond the limit', ({ vpc }) => ({ vpc, configuration: { consumerTimeout: Duration.days(30) } }),
    'configuration.consumerTimeout: 2592000000 ms is not allowed; use a whole number of milliseconds from 0 (no timeout) to 2147483647 ms'],
  ['a memory watermark line', ({ vpc }) => ({ vpc, configuration: { extraLines: ['vm_memory_high_watermark.absolute = 6GB'] } }),
    'configuration.extraLines[0]: "vm_memory_high_watermark.absolute = 6GB" is not allowed; Amazon MQ manages vm_memory_high_watermark itself'],
  ['an extra line that sets a typed key', ({ vpc }) => ({ vpc, configuration: { extraLines: ['heartbeat = 30'] } }),
    'configuration.extraLines[0]: "heartbeat = 30" is not allowed; use configuration.heartbeat to set heartbeat'],
  ['a reboot wait over 55 minutes', ({ vpc }) => ({ vpc, configurationChangePolicy: ConfigurationChangePolicy.applyNowWithReboot({ waitTimeout: Duration.hours(2) }) }),
    'waitTimeout: 2 hours is not allowed; use between 1 minute and 55 minutes'],
];

describe('invalid input fails at synth, naming the prop, the value and what is allowed', () => {
  test('at least 15 distinct cases', () => {
    expect(new Set(invalid.map(([, , message]) => message)).size).toBe(invalid.length);
    expect(invalid.length).toBeGreaterThanOrEqual(15);
  });

  test.each(invalid)('%s', (_name, props, message) => {
    const ctx = emptyStack();
    expect(() => new RabbitMqBroker(ctx.stack, 'Broker', props(ctx))).toThrow(message);
  });
});

describe('validation skips unresolved tokens', () => {
  test('token name, engine version, instance type, maintenance time, time zone and username synthesize', () => {
    const { stack, vpc } = emptyStack();
    const name = new CfnParameter(stack, 'BrokerName').valueAsString;
    const version = new CfnParameter(stack, 'EngineVersion').valueAsString;
    const instance = new CfnParameter(stack, 'InstanceType').valueAsString;
    const broker = new RabbitMqBroker(stack, 'Broker', {
      vpc,
      brokerName: name,
      engineVersion: RabbitMqEngineVersion.of(version),
      instanceType: RabbitMqInstanceType.of(instance),
      // Only a concrete engine version can be checked against this: with a token it is left to Amazon MQ.
      autoMinorVersionUpgrade: false,
      adminUsername: Lazy.string({ produce: () => 'x' }),
      maintenanceWindow: {
        dayOfWeek: MaintenanceDay.FRIDAY,
        timeOfDay: new CfnParameter(stack, 'Time').valueAsString,
        timeZone: new CfnParameter(stack, 'Zone').valueAsString,
      },
      configuration: { consumerTimeout: Duration.millis(new CfnParameter(stack, 'Timeout', { type: 'Number' }).valueAsNumber) },
    });
    expect(Token.isUnresolved(broker.brokerName)).toBe(true);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::AmazonMQ::Broker', {
      BrokerName: { Ref: 'BrokerName' }, EngineVersion: { Ref: 'EngineVersion' }, HostInstanceType: { Ref: 'InstanceType' },
    });
    // A token in the rendered file: the data is base64-encoded by CloudFormation.
    template.hasResourceProperties('AWS::AmazonMQ::Configuration', {
      Data: { 'Fn::Base64': { 'Fn::Join': ['', ['consumer_timeout = ', { Ref: 'Timeout' }, '\n']] } },
    });
  });
});
