import { App, Aspects, Stack, StackProps } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Construct } from 'constructs';
import { nagFindings } from '../nag';
import { ENV, fleetOptions } from './platform-fixture';
import { RabbitMqBroker } from '../../src/broker';
import { CeleryPlatform } from '../../src/patterns';
import { stackWithBroker } from '../broker/broker-fixture';

// How users compose the platform: with a broker of another stack, in two environments of one app,
// and twice in one stack. Nothing may collide: construct ids, logical ids or physical names.

/** Properties that hold a physical name, by resource type. */
const NAME_PROPERTIES: { [type: string]: string[] } = {
  'AWS::AmazonMQ::Broker': ['BrokerName'],
  'AWS::AmazonMQ::Configuration': ['Name'],
  'AWS::CloudWatch::Alarm': ['AlarmName'],
  'AWS::CloudWatch::CompositeAlarm': ['AlarmName'],
  'AWS::CloudWatch::Dashboard': ['DashboardName'],
  'AWS::SecretsManager::Secret': ['Name'],
  'AWS::SNS::Topic': ['TopicName'],
  'AWS::Logs::LogGroup': ['LogGroupName'],
  'AWS::IAM::Role': ['RoleName'],
  'AWS::Lambda::Function': ['FunctionName'],
  'AWS::EC2::LaunchTemplate': ['LaunchTemplateName'],
  'AWS::AutoScaling::AutoScalingGroup': ['AutoScalingGroupName'],
};

interface PhysicalName {
  readonly where: string;
  readonly type: string;
  readonly name: string;
}

/**
 * Every explicit physical name of the stacks, as deployed names (stack-scoped references made
 * absolute with the stack name). Lifecycle hook names are unique per Auto Scaling group, so they
 * are keyed by their group.
 */
function physicalNames(stacks: Stack[]): PhysicalName[] {
  const names: PhysicalName[] = [];
  for (const stack of stacks) {
    const resources = Template.fromStack(stack).toJSON().Resources as Record<string, any>;
    const absolute = (value: unknown) => JSON.stringify(value).replace(/"(Ref|Fn::GetAtt)":\s*"?\[?"([A-Za-z0-9]+)/g, `"$1":"${stack.stackName}/$2`);
    for (const [logicalId, resource] of Object.entries(resources)) {
      for (const property of NAME_PROPERTIES[resource.Type] ?? []) {
        const value = resource.Properties?.[property];
        if (value !== undefined) names.push({ where: `${stack.stackName}/${logicalId}`, type: resource.Type, name: absolute(value) });
      }
      if (resource.Type === 'AWS::AutoScaling::LifecycleHook') {
        names.push({
          where: `${stack.stackName}/${logicalId}`,
          type: resource.Type,
          name: `${absolute(resource.Properties.AutoScalingGroupName)}:${resource.Properties.LifecycleHookName}`,
        });
      }
    }
  }
  return names;
}

function duplicates(names: PhysicalName[]): string[] {
  const seen = new Map<string, string>();
  const dups: string[] = [];
  for (const n of names) {
    const key = `${n.type} ${n.name}`;
    if (seen.has(key)) dups.push(`${key}: ${seen.get(key)} and ${n.where}`);
    else seen.set(key, n.where);
  }
  return dups;
}

/** A user's stack: its own VPC and a platform with two fleets. */
class CeleryStack extends Stack {
  public readonly platform: CeleryPlatform;
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const vpc = new ec2.Vpc(this, 'Vpc', { maxAzs: 2, natGateways: 1 });
    this.platform = new CeleryPlatform(this, 'Celery', {
      vpc,
      fleets: { orders: fleetOptions('orders'), reports: fleetOptions('reports') },
    });
  }
}

describe('a broker of another stack (fromRabbitMqBrokerAttributes)', () => {
  const app = new App();
  const { stack: shared, vpc, broker: brokerOfShared } = stackWithBroker('Shared', { app, broker: { brokerName: 'shared-celery' } });

  const workers = new Stack(app, 'Workers', { env: ENV });
  const broker = RabbitMqBroker.fromRabbitMqBrokerAttributes(workers, 'Broker', {
    brokerId: brokerOfShared.brokerId,
    brokerName: brokerOfShared.brokerName,
    endpointHost: brokerOfShared.endpointHost,
    securityGroups: brokerOfShared.connections.securityGroups,
    credentials: brokerOfShared.credentials,
  });
  const platform = new CeleryPlatform(workers, 'Celery', {
    vpc,
    broker,
    fleets: { orders: fleetOptions('orders'), reports: fleetOptions('reports') },
  });
  platform.addFleet('late', fleetOptions('late'));
  Aspects.of(workers).add(new AwsSolutionsChecks());
  const assembly = app.synth();
  const template = Template.fromStack(workers);

  test('the app synthesizes, the workers\' stack depending on the broker\'s', () => {
    expect(assembly.getStackByName('Workers').dependencies.map((d) => d.id)).toContain('Shared');
    expect(assembly.getStackByName('Shared').dependencies.map((d) => d.id)).not.toContain('Workers');
    expect(platform.createdBroker).toBeUndefined();
    template.resourceCountIs('AWS::AmazonMQ::Broker', 0);
    expect(Template.fromStack(shared).toJSON().Resources).not.toHaveProperty(['Celery']);
  });

  test('the application user is made on it with its admin secret, from the workers\' VPC', () => {
    template.hasResourceProperties('Custom::CeleryBrokerUser', {
      AdminSecretArn: { 'Fn::ImportValue': Match.stringLikeRegexp('^Shared:ExportsOutputRefBrokerCredentials') },
      Read: Match.stringLikeRegexp('orders\\|reports\\|late'),
    });
    const user = Object.values(template.findResources('Custom::CeleryBrokerUser'))[0] as any;
    expect(JSON.stringify(user.Properties.ManagementUrl)).toMatch(/"https:\/\/",\{"Fn::Select".*"Fn::ImportValue":"Shared:ExportsOutputFnGetAttBroker[0-9A-F]+AmqpEndpoints/);
  });

  test('fleets and the user function reach the broker\'s security group on 5671 and 443, through rules in their own stack', () => {
    const brokerGroup = { 'Fn::ImportValue': Match.stringLikeRegexp('^Shared:ExportsOutputFnGetAttBrokerSecurityGroup') };
    const rules = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress', { Properties: { GroupId: brokerGroup } })) as any[];
    // The application user's function, the monitoring user's function and the metrics publisher on 443.
    expect(rules.map((r) => r.Properties.FromPort).sort()).toEqual([443, 443, 443, 5671, 5671, 5671]);
    // Nothing in the broker's stack refers to the workers' stack (no dependency cycle).
    Template.fromStack(shared).resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
  });

  test('alarms use the broker\'s name; each fleet has its own, the late one too', () => {
    for (const name of ['orders', 'reports', 'late']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: `shared-celery-celery-${name}-worker-restarts` });
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'shared-celery-celery-broker-cpu',
      Dimensions: [{ Name: 'Broker', Value: 'shared-celery' }],
    });
    // The broker's version is unknown here: the metrics publisher's queue metrics work on any.
    expect(platform.monitoring.queueMetrics).toBe('PUBLISHER');
    expect(platform.scaleOnQueueMetrics).toBe(true);
  });

  test('cdk-nag AwsSolutions: no unacknowledged finding on the platform', () => {
    expect(nagFindings(workers, '/Workers/Celery/')).toEqual([]);
  });
});

describe('a RabbitMqBroker of another stack, passed as it is', () => {
  test('synthesizes without a dependency cycle; the rules go to the platform\'s stack', () => {
    const app = new App();
    const { stack: shared, vpc, broker } = stackWithBroker('Shared', { app });
    const workers = new Stack(app, 'Workers', { env: ENV });
    const platform = new CeleryPlatform(workers, 'Celery', { vpc, broker, fleets: { orders: fleetOptions('orders') } });
    expect(() => app.synth()).not.toThrow();
    expect(platform.broker).toBe(broker);
    expect(Template.fromStack(workers).findResources('AWS::EC2::SecurityGroupIngress')).not.toEqual({});
    Template.fromStack(shared).resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
  });

  test('the reference in the platform\'s stack keeps the broker\'s engine version: quorum vhost, no unknown-version warning', () => {
    const app = new App();
    const { broker } = stackWithBroker('Shared', { app });
    const workers = new Stack(app, 'Workers', { env: ENV });
    const vpc = new ec2.Vpc(workers, 'Vpc', { maxAzs: 2, natGateways: 1 });
    const platform = new CeleryPlatform(workers, 'Celery', { vpc, broker, fleets: { orders: fleetOptions('orders') } });
    app.synth();
    expect(platform.access!.defaultQueueType?.name).toBe('quorum');
    expect(Annotations.fromStack(workers).findWarning('*', Match.stringLikeRegexp('engineVersionUnknown|unknownDefaultQueueType'))).toEqual([]);
  });
});

describe('two environments in one app (Dev and Prod stacks of the same class)', () => {
  const app = new App();
  const dev = new CeleryStack(app, 'Dev', { env: ENV });
  const prod = new CeleryStack(app, 'Prod', { env: ENV });
  dev.platform.addFleet('late', fleetOptions('late'));
  prod.platform.addFleet('late', fleetOptions('late'));
  app.synth();

  test('no two explicit physical names are the same (same account and Region)', () => {
    const names = physicalNames([dev, prod]);
    expect(names.filter((n) => n.type === 'AWS::AmazonMQ::Broker')).toHaveLength(2);
    expect(names.filter((n) => n.type === 'AWS::CloudWatch::Dashboard')).toHaveLength(2);
    expect(names.filter((n) => n.type === 'AWS::AutoScaling::LifecycleHook')).toHaveLength(6);
    // 14 broker alarms + 3 fleets x 5, per stack; the suppressor and the two pages apart.
    expect(names.filter((n) => n.type === 'AWS::CloudWatch::Alarm' && /-celery-/.test(n.name))).toHaveLength(2 * 29);
    expect(names.filter((n) => n.type === 'AWS::CloudWatch::CompositeAlarm')).toHaveLength(2 * 3);
    expect(duplicates(names)).toEqual([]);
  });

  test('broker names carry the stack name', () => {
    expect(dev.platform.broker.brokerName).toMatch(/^Dev-/);
    expect(prod.platform.broker.brokerName).toMatch(/^Prod-/);
  });
});

describe('two platforms in one stack', () => {
  const app = new App();
  const stack = new Stack(app, 'Stack', { env: ENV });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const shop = new CeleryPlatform(stack, 'Shop', { vpc, fleets: { orders: fleetOptions('orders'), reports: fleetOptions('reports') } });
  const billing = new CeleryPlatform(stack, 'Billing', { vpc, fleets: { orders: fleetOptions('orders'), invoices: fleetOptions('invoices') } });
  app.synth();

  test('each has its own broker, user, fleets and alarms, and no physical name is shared', () => {
    expect(shop.broker.brokerName).not.toEqual(billing.broker.brokerName);
    expect(shop.fleet('orders').node.path).toBe('Stack/Shop/Fleets/orders');
    expect(billing.fleet('orders').node.path).toBe('Stack/Billing/Fleets/orders');
    const names = physicalNames([stack]);
    expect(names.filter((n) => n.type === 'AWS::AmazonMQ::Broker')).toHaveLength(2);
    expect(duplicates(names)).toEqual([]);
    // An application user and a read-only monitoring user each.
    Template.fromStack(stack).resourceCountIs('Custom::CeleryBrokerUser', 4);
  });

  test('the duplicate check finds a collision when there is one', () => {
    expect(duplicates([
      { where: 'a', type: 'AWS::CloudWatch::Alarm', name: '"x"' },
      { where: 'b', type: 'AWS::CloudWatch::Alarm', name: '"x"' },
    ])).toEqual(['AWS::CloudWatch::Alarm "x": a and b']);
  });
});
