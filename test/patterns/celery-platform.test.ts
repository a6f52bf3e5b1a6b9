import { Duration } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { buildPlatform, fleetOptions, PlatformFixture } from './platform-fixture';
import { CeleryBrokerAccess, CeleryPermissions } from '../../src/access';
import { RabbitMqBroker, RabbitMqDeploymentMode, RabbitMqEngineVersion, RabbitMqInstanceType } from '../../src/broker';
import { CeleryMonitoring } from '../../src/monitoring';
import { CeleryCredentials } from '../../src/patterns';
import { CeleryWorkerFleet } from '../../src/workers';

function sgId(f: PlatformFixture, connectable: ec2.IConnectable): string {
  return f.logicalId(connectable.connections.securityGroups[0] as never);
}

function ingress(f: PlatformFixture, to: ec2.IConnectable, from: ec2.IConnectable, port: number) {
  return {
    IpProtocol: 'tcp',
    FromPort: port,
    ToPort: port,
    GroupId: { 'Fn::GetAtt': [sgId(f, to), 'GroupId'] },
    SourceSecurityGroupId: { 'Fn::GetAtt': [sgId(f, from), 'GroupId'] },
  };
}

/** Names of the resources in the policies attached to a role. */
function policyResourcesOf(f: PlatformFixture, role: iam.IRole): string {
  const roleId = f.logicalId(role as never);
  const policies = f.template().findResources('AWS::IAM::Policy', { Properties: { Roles: Match.arrayWith([{ Ref: roleId }]) } });
  return JSON.stringify(policies);
}

describe('CeleryPlatform with defaults and two fleets', () => {
  const f = buildPlatform();
  const { platform } = f;
  const template = f.template();
  const orders = platform.fleet('orders');
  const reports = platform.fleet('reports');
  const broker = platform.createdBroker!;
  const access = platform.access!;

  test('every part is a public property', () => {
    expect(platform.broker).toBe(broker);
    expect(broker).toBeInstanceOf(RabbitMqBroker);
    expect(access).toBeInstanceOf(CeleryBrokerAccess);
    expect(platform.credentials).toBe(access.secret);
    expect(platform.monitoring).toBeInstanceOf(CeleryMonitoring);
    expect(platform.fleetNames).toEqual(['orders', 'reports']);
    expect(Object.keys(platform.fleets)).toEqual(['orders', 'reports']);
    expect(orders).toBeInstanceOf(CeleryWorkerFleet);
    expect(platform.fleets.reports).toBe(reports);
    expect(platform.fleetAlarms('orders').fleet).toBe(orders);
    expect(platform.backlogScalingPolicy('orders')).toBeDefined();
    // RabbitMQ 4.2: the queue metrics come from the monitoring's metrics publisher.
    expect(platform.scaleOnQueueMetrics).toBe(true);
    expect(platform.monitoring.queueMetrics).toBe('PUBLISHER');
    expect(platform.virtualHost).toBe('celery');
  });

  test('stable construct ids: Broker, ApplicationUser, Monitoring, Fleets/<name>', () => {
    expect(broker.node.path).toBe('Stack/Celery/Broker');
    expect(access.node.path).toBe('Stack/Celery/ApplicationUser');
    expect(platform.monitoring.node.path).toBe('Stack/Celery/Monitoring');
    expect(orders.node.path).toBe('Stack/Celery/Fleets/orders');
    expect(reports.node.path).toBe('Stack/Celery/Fleets/reports');
    expect(platform.backlogScalingPolicy('orders')!.node.path).toBe('Stack/Celery/Fleets/orders/Group/BacklogScaling');
  });

  test('one broker with the RabbitMqBroker defaults, private, in the given VPC', () => {
    template.resourceCountIs('AWS::AmazonMQ::Broker', 1);
    template.hasResourceProperties('AWS::AmazonMQ::Broker', {
      EngineType: 'RABBITMQ',
      EngineVersion: '4.2',
      HostInstanceType: 'mq.m7g.large',
      DeploymentMode: 'SINGLE_INSTANCE',
      PubliclyAccessible: false,
      SubnetIds: [f.stack.resolve(f.vpc.privateSubnets[0].subnetId)],
    });
    template.resourceCountIs('AWS::EC2::VPC', 1);
  });

  test('two fleets, each an Auto Scaling group of its own with the fleet defaults', () => {
    template.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 2);
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MinSize: '1', MaxSize: '4' });
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MinSize: '1', MaxSize: '2' });
    expect(orders.queues).toEqual(['orders']);
    expect(reports.queues).toEqual(['reports']);
  });

  test('the application user may use exactly the fleets\' queues (and read the dead-letter queue their poison tasks end in)', () => {
    const expected = CeleryPermissions.forApplication({ taskQueues: ['orders', 'reports'], deadLetterQueue: 'celery.dead-letter' });
    template.hasResourceProperties('Custom::CeleryBrokerUser', {
      Vhost: 'celery',
      Username: 'celery',
      Configure: expected.configure,
      Write: expected.write,
      Read: expected.read,
      DefaultQueueType: 'quorum',
      DeliveryLimit: '5',
      TaskQueuePattern: '^(orders|reports)$',
      AdminSecretArn: { Ref: f.logicalId(broker.credentials as never) },
      UserSecretArn: { Ref: f.logicalId(access.secret as never) },
    });
  });

  test('both fleets connect with the application user\'s secret, never the admin\'s', () => {
    const appSecret = f.logicalId(access.secret as never);
    const adminSecret = f.logicalId(broker.credentials as never);
    for (const fleet of [orders, reports]) {
      const launchTemplate = JSON.stringify(template.toJSON().Resources[f.logicalId(fleet.launchTemplate)]);
      expect(launchTemplate).toContain(`{"Ref":"${appSecret}"}`);
      expect(launchTemplate).not.toContain(adminSecret);
      const policies = policyResourcesOf(f, fleet.role);
      expect(policies).toContain(`{"Ref":"${appSecret}"}`);
      expect(policies).not.toContain(adminSecret);
    }
  });

  test('security groups: each fleet to the broker on AMQPS 5671, the user functions and the metrics publisher on 443, nothing else into the broker', () => {
    const publisher = platform.monitoring.metricsPublisher!;
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', ingress(f, broker, orders, 5671));
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', ingress(f, broker, reports, 5671));
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', ingress(f, broker, access, 443));
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', ingress(f, broker, publisher.monitoringUser!, 443));
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', ingress(f, broker, publisher, 443));
    const intoBroker = template.findResources('AWS::EC2::SecurityGroupIngress', {
      Properties: { GroupId: { 'Fn::GetAtt': [sgId(f, broker), 'GroupId'] } },
    });
    expect(Object.keys(intoBroker)).toHaveLength(5);
    for (const fleet of [orders, reports]) {
      template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
        GroupId: { 'Fn::GetAtt': [sgId(f, fleet), 'GroupId'] },
        DestinationSecurityGroupId: { 'Fn::GetAtt': [sgId(f, broker), 'GroupId'] },
        FromPort: 5671,
        ToPort: 5671,
      });
    }
  });

  test('each fleet\'s group waits for the application user (it must exist before a worker boots)', () => {
    const userResource = f.logicalId(access.node.findChild('Resource') as never);
    for (const fleet of [orders, reports]) {
      const group = template.toJSON().Resources[f.logicalId(fleet.autoScalingGroup as never)];
      expect(group.DependsOn).toEqual(expect.arrayContaining([userResource]));
    }
  });

  test('backlog scaling per fleet: on RabbitMQ 4.2, the ready messages of its own queues as the metrics publisher publishes them', () => {
    for (const fleet of [orders, reports]) {
      const group = { Ref: f.logicalId(fleet.autoScalingGroup as never) };
      template.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
        AutoScalingGroupName: group,
        PolicyType: 'StepScaling',
        EstimatedInstanceWarmup: 300,
        StepAdjustments: Match.arrayWith([Match.objectLike({ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 })]),
      });
      template.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
        AutoScalingGroupName: group,
        StepAdjustments: [{ MetricIntervalUpperBound: 0, ScalingAdjustment: -1 }],
      });
    }
    template.resourceCountIs('AWS::AutoScaling::ScalingPolicy', 4);
    for (const queue of ['orders', 'reports']) {
      const scalingAlarms = template.findResources('AWS::CloudWatch::Alarm', {
        Properties: {
          Namespace: 'CdkCelery',
          MetricName: 'MessageReadyCount',
          Dimensions: [{ Name: 'Broker', Value: broker.brokerName }, { Name: 'Queue', Value: queue }, { Name: 'VirtualHost', Value: 'celery' }],
          Statistic: 'Maximum',
          AlarmName: Match.absent(),
        },
      });
      // The upper and lower alarm of the fleet's scaling policy.
      expect(Object.keys(scalingAlarms)).toHaveLength(2);
    }
    // The publisher publishes exactly the fleets' queues, as the read-only user on the application's vhost.
    const fn = template.toJSON().Resources[f.logicalId(platform.monitoring.metricsPublisher!.function as never)];
    expect(JSON.parse(f.stack.resolve(fn.Properties.Environment.Variables.QUEUES))).toEqual([
      { vhost: 'celery', queue: 'orders' }, { vhost: 'celery', queue: 'reports' },
    ]);
    template.hasResourceProperties('Custom::CeleryBrokerUser', { Username: 'cdk-celery-monitoring', Vhost: 'celery', Tags: 'monitoring', Read: '' });
    const monitoringUser = template.toJSON().Resources[f.logicalId(platform.monitoring.metricsPublisher!.monitoringUser!.node.defaultChild as never)];
    expect(monitoringUser.DependsOn).toEqual(expect.arrayContaining([f.logicalId(access.node.defaultChild as never)]));
  });

  test('alarms: the broker\'s, two per fleet named after the fleet, and a composite over both fleets\' restarts', () => {
    const prefix = `${broker.brokerName}-celery`;
    for (const name of ['orders', 'reports']) {
      const alarms = platform.fleetAlarms(name);
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `${prefix}-${name}-network-out`,
        Namespace: 'AWS/EC2',
        MetricName: 'NetworkOut',
        Dimensions: [{ Name: 'AutoScalingGroupName', Value: { Ref: f.logicalId(platform.fleet(name).autoScalingGroup as never) } }],
      });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: `${prefix}-${name}-worker-restarts`, MetricName: 'WorkerRestarts' });
      expect(alarms.networkOutAlarm!.node.path).toBe(`Stack/Celery/Monitoring/${name}NetworkOutAlarm`);
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: `${prefix}-${name}-backlog`, Namespace: 'CdkCelery' });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: `${prefix}-${name}-no-consumers` });
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${prefix}-broker-ingress`, Metrics: Match.arrayWith([Match.objectLike({ Expression: 'MAX([FILL(inByName, 0), FILL(inById, 0)])' })]),
    });
    // 14 broker alarms, 2 x 5 fleet alarms, the suppressor and the two pages.
    expect(platform.monitoring.alarms).toHaveLength(14 + 10 + 3);
    const composite = JSON.stringify(template.findResources('AWS::CloudWatch::CompositeAlarm'));
    for (const name of ['orders', 'reports']) {
      expect(composite).toContain(f.logicalId(platform.fleetAlarms(name).workerRestartsAlarm as never));
    }
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: prefix });
  });

  test('the derived broker thresholds count both fleets (4 + 2 instances)', () => {
    // 6 workers x 10 connections + 100 other clients.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: `${broker.brokerName}-celery-connection-storm`, Threshold: 160 });
  });

  test('no warning beyond the fleets\' own (a default platform synthesizes clean)', () => {
    expect(Annotations.fromStack(f.stack).findWarning('/Stack/Celery/*', Match.anyValue())
      .map((w) => String(w.entry.data))).toEqual([]);
  });
});

describe('addFleet after construction', () => {
  const f = buildPlatform();
  const { platform } = f;
  const late = platform.addFleet('late', fleetOptions('late', { minCapacity: 0, maxCapacity: 10 }));
  const template = f.template();
  const prefix = `${platform.broker.brokerName}-celery`;

  test('the fleet is reachable by name and lives under Fleets/<name>', () => {
    expect(platform.fleet('late')).toBe(late);
    expect(platform.fleetNames).toEqual(['orders', 'reports', 'late']);
    expect(late.node.path).toBe('Stack/Celery/Fleets/late');
  });

  test('its queue reaches the application user\'s permissions (rendered at synth)', () => {
    const expected = CeleryPermissions.forApplication({ taskQueues: ['orders', 'reports', 'late'], deadLetterQueue: 'celery.dead-letter' });
    template.hasResourceProperties('Custom::CeleryBrokerUser', {
      Configure: expected.configure, Write: expected.write, Read: expected.read, TaskQueuePattern: '^(orders|reports|late)$',
    });
    expect(platform.access!.taskQueues).toEqual(['orders', 'reports', 'late']);
  });

  test('it gets its alarms, joins the composite alarm and the derived thresholds', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: `${prefix}-late-network-out` });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: `${prefix}-late-worker-restarts` });
    const composite = JSON.stringify(template.findResources('AWS::CloudWatch::CompositeAlarm'));
    expect(composite).toContain(f.logicalId(platform.fleetAlarms('late').workerRestartsAlarm as never));
    // (4 + 2 + 10) workers x 10 connections + 100.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: `${prefix}-connection-storm`, Threshold: 260 });
    const dashboard = JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboard).toContain('late');
  });

  test('it scales on the backlog, connects with the user\'s secret, opens AMQPS and waits for the user', () => {
    template.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', { AutoScalingGroupName: { Ref: f.logicalId(late.autoScalingGroup as never) } });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', ingress(f, platform.broker, late, 5671));
    expect(policyResourcesOf(f, late.role)).toContain(`{"Ref":"${f.logicalId(platform.credentials as never)}"}`);
    const group = template.toJSON().Resources[f.logicalId(late.autoScalingGroup as never)];
    expect(group.DependsOn).toEqual(expect.arrayContaining([f.logicalId(platform.access!.node.findChild('Resource') as never)]));
  });

  test('a platform may start with no fleet at all', () => {
    const g = buildPlatform({ fleets: undefined });
    expect(g.platform.fleetNames).toEqual([]);
    g.platform.addFleet('only', fleetOptions('only'));
    g.template().hasResourceProperties('Custom::CeleryBrokerUser', { Read: CeleryPermissions.forApplication({ taskQueues: ['only'], deadLetterQueue: 'celery.dead-letter' }).read });
  });
});

describe('options pass through', () => {
  test('brokerOptions configure the created broker', () => {
    const f = buildPlatform({
      brokerOptions: {
        brokerName: 'shop-celery',
        engineVersion: RabbitMqEngineVersion.V3_13,
        instanceType: RabbitMqInstanceType.M7G_XLARGE,
        deploymentMode: RabbitMqDeploymentMode.CLUSTER_MULTI_AZ,
      },
    });
    f.template().hasResourceProperties('AWS::AmazonMQ::Broker', {
      BrokerName: 'shop-celery',
      EngineVersion: '3.13',
      HostInstanceType: 'mq.m7g.xlarge',
      DeploymentMode: 'CLUSTER_MULTI_AZ',
    });
    expect(f.platform.broker.brokerName).toBe('shop-celery');
  });

  test('RabbitMQ 3.x: each fleet scales on its own queues in the application user\'s vhost (Amazon MQ\'s queue metrics)', () => {
    const f = buildPlatform({
      brokerOptions: { engineVersion: RabbitMqEngineVersion.V3_13 },
      fleets: { orders: fleetOptions('orders'), mixed: fleetOptions('reports', { queues: ['reports', 'emails'] }) },
    });
    expect(f.platform.scaleOnQueueMetrics).toBe(true);
    expect(f.platform.monitoring.queueMetrics).toBe('AMAZON_MQ');
    const t = f.template();
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/AmazonMQ',
      MetricName: 'MessageReadyCount',
      Dimensions: Match.arrayWith([{ Name: 'Queue', Value: 'orders' }, { Name: 'VirtualHost', Value: 'celery' }]),
      AlarmName: Match.absent(),
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([Match.objectLike({ Expression: 'FILL(ready0, 0) + FILL(ready1, 0)' })]),
      AlarmName: Match.absent(),
    });
    const json = JSON.stringify(t.findResources('AWS::CloudWatch::Alarm'));
    expect(json).toContain('"Value":"emails"');
  });

  test.each([RabbitMqEngineVersion.V3_13, RabbitMqEngineVersion.V4_2])('scaleOnQueueMetrics: false (RabbitMQ %s) keeps the broker-wide count', (engineVersion) => {
    const f = buildPlatform({ brokerOptions: { engineVersion }, scaleOnQueueMetrics: false });
    // The scaling alarms (no name) read the broker-wide count; the monitoring's own queue alarms stay.
    const scaling = Object.values(f.template().findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: Match.absent() } }));
    expect(scaling).toHaveLength(4);
    expect(JSON.stringify(scaling)).not.toContain('"Name":"Queue"');
  });

  test('backlogScaling tunes a fleet; enableBacklogScaling: false and a fixed size turn it off', () => {
    const f = buildPlatform({
      fleets: {
        tuned: fleetOptions('tuned', { backlogScaling: { scaleOutThreshold: 20, evaluationPeriods: 2, instanceWarmup: Duration.minutes(8) } }),
        manual: fleetOptions('manual', { enableBacklogScaling: false }),
        fixed: fleetOptions('fixed', { minCapacity: 3, maxCapacity: 3 }),
      },
    });
    const t = f.template();
    t.resourceCountIs('AWS::AutoScaling::ScalingPolicy', 2);
    t.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', { EstimatedInstanceWarmup: 480 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'MessageReadyCount', Threshold: 20, EvaluationPeriods: 2 });
    expect(f.platform.backlogScalingPolicy('manual')).toBeUndefined();
    expect(f.platform.backlogScalingPolicy('fixed')).toBeUndefined();
  });

  test('a fleet whose default minCapacity equals its maxCapacity gets no scaling policy (the fleet\'s resolved capacities decide)', () => {
    const f = buildPlatform({ fleets: { single: fleetOptions('single', { maxCapacity: 1 }), scaling: fleetOptions('scaling', { minCapacity: 0, maxCapacity: 1 }) } });
    expect(f.platform.fleet('single').minCapacity).toBe(1);
    expect(f.platform.backlogScalingPolicy('single')).toBeUndefined();
    expect(f.platform.fleet('scaling').minCapacity).toBe(0);
    expect(f.platform.backlogScalingPolicy('scaling')).toBeDefined();
  });

  test('CeleryCredentials.applicationUser options configure the user (vhost, name, rpc:// results, extra queues)', () => {
    const f = buildPlatform({
      credentials: CeleryCredentials.applicationUser({ vhost: 'shop', username: 'shop-worker', enableRpcResultBackend: true, taskQueues: ['beat'] }),
    });
    const expected = CeleryPermissions.forApplication({ taskQueues: ['beat', 'orders', 'reports'], enableRpcResultBackend: true, deadLetterQueue: 'celery.dead-letter' });
    f.template().hasResourceProperties('Custom::CeleryBrokerUser', { Vhost: 'shop', Username: 'shop-worker', Read: expected.read });
    expect(f.platform.virtualHost).toBe('shop');
    expect(f.platform.credentials).toBe(f.platform.access!.secret);
  });

  test('no credentials means CeleryCredentials.applicationUser(): the same template', () => {
    const implicit = buildPlatform().template().toJSON();
    const explicit = buildPlatform({ credentials: CeleryCredentials.applicationUser() }).template().toJSON();
    expect(explicit).toEqual(implicit);
  });

  test('the application user\'s subnets and admin credentials are the metrics publisher\'s too', () => {
    const f = buildPlatform((stack, vpc) => ({
      credentials: CeleryCredentials.applicationUser({
        vpcSubnets: { subnets: [vpc.privateSubnets[1]] },
        adminCredentials: secretsmanager.Secret.fromSecretNameV2(stack, 'OtherAdmin', 'mq/other-admin'),
      }),
    }));
    const subnet = { Ref: f.logicalId(f.vpc.privateSubnets[1] as never) };
    const functionOf = (scope: Construct) => scope.node.findAll().find((c): c is lambda.Function => c instanceof lambda.Function)!;
    for (const scope of [f.platform.access!, f.platform.monitoring.metricsPublisher!.monitoringUser!]) {
      const fn = functionOf(scope);
      expect(f.stack.resolve((fn.node.defaultChild as lambda.CfnFunction).vpcConfig)).toMatchObject({ subnetIds: [subnet] });
      expect(policyResourcesOf(f, fn.role!)).toContain('secret:mq/other-admin');
    }
  });

  test('monitoringOptions: given topics receive the pages and the tickets, and no topic is created', () => {
    const f = buildPlatform((stack) => ({
      monitoringOptions: { pagingTopic: new sns.Topic(stack, 'Pager'), ticketingTopic: new sns.Topic(stack, 'Tickets'), alarmNamePrefix: 'shop' },
    }));
    const t = f.template();
    t.resourceCountIs('AWS::SNS::Topic', 2);
    const ref = (id: string) => ({ Ref: f.stack.getLogicalId(f.stack.node.findChild(id).node.defaultChild as never) });
    t.hasResourceProperties('AWS::CloudWatch::CompositeAlarm', { AlarmName: 'shop-ingress-storm-page', AlarmActions: [ref('Pager')] });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'shop-orders-worker-restarts', AlarmActions: [ref('Tickets')] });
    t.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'shop' });
  });

  test('CeleryCredentials.fromSecret: the fleets connect with the given secret and no application user is made', () => {
    const f = buildPlatform((stack) => ({ credentials: CeleryCredentials.fromSecret(secretsmanager.Secret.fromSecretNameV2(stack, 'Existing', 'shop/celery')) }));
    expect(f.platform.access).toBeUndefined();
    // Only the metrics publisher's read-only user, on the fleets' vhost.
    expect(Object.values(f.template().findResources('Custom::CeleryBrokerUser')).map((r: any) => [r.Properties.Username, r.Properties.Vhost]))
      .toEqual([['cdk-celery-monitoring', '/']]);
    expect(policyResourcesOf(f, f.platform.fleet('orders').role)).toContain('secret:shop/celery');
    expect(f.platform.virtualHost).toBe('/');
  });

  test('CeleryCredentials.brokerAdministrator() connects the fleets as the administrator, with a warning', () => {
    const f = buildPlatform({ credentials: CeleryCredentials.brokerAdministrator() });
    expect(f.platform.access).toBeUndefined();
    expect(f.platform.credentials).toBe(f.platform.createdBroker!.credentials);
    expect(Object.values(f.template().findResources('Custom::CeleryBrokerUser')).map((r: any) => r.Properties.Username)).toEqual(['cdk-celery-monitoring']);
    Annotations.fromStack(f.stack).hasWarning('/Stack/Celery', Match.stringLikeRegexp('every worker connects as the broker administrator.*platformWorkersUseAdmin'));
  });

  test('a publicly accessible broker is created outside the VPC; the fleets still run in it', () => {
    const f = buildPlatform({ brokerOptions: { publiclyAccessible: true } });
    const broker = Object.values(f.template().findResources('AWS::AmazonMQ::Broker'))[0] as any;
    expect(broker.Properties.PubliclyAccessible).toBe(true);
    expect(broker.Properties.SubnetIds).toBeUndefined();
    f.template().hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupEgress: Match.arrayWith([Match.objectLike({ CidrIp: '0.0.0.0/0', FromPort: 5671, ToPort: 5671 })]),
    });
  });
});

describe('clients of the platform', () => {
  test('allowAmqpsFrom opens the broker\'s AMQPS port; grantReadCredentials grants the fleets\' secret', () => {
    const f = buildPlatform();
    const web = new ec2.SecurityGroup(f.stack, 'Web', { vpc: f.vpc });
    const webRole = new iam.Role(f.stack, 'WebRole', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    f.platform.allowAmqpsFrom(web);
    f.platform.grantReadCredentials(webRole);
    const t = f.template();
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 5671,
      GroupId: { 'Fn::GetAtt': [sgId(f, f.platform.broker), 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [f.logicalId(web as never), 'GroupId'] },
      Description: 'Celery clients (AMQPS)',
    });
    expect(policyResourcesOf(f, webRole)).toContain(`{"Ref":"${f.logicalId(f.platform.credentials as never)}"}`);
  });
});
