import { App, Aspects, CfnResource } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CeleryExampleStack } from '../../example/celery-example-stack';
import { CeleryPermissions } from '../../src/access';
import { nagFindings } from '../nag';

function synth(nag?: AwsSolutionsChecks, context?: { [key: string]: string }): { stack: CeleryExampleStack; template: Template } {
  const app = new App({ context });
  if (nag) Aspects.of(app).add(nag);
  const stack = new CeleryExampleStack(app, 'CdkCeleryExample');
  return { stack, template: Template.fromStack(stack) };
}

describe('example app', () => {
  const { stack, template } = synth();
  const logicalId = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId((c.node.defaultChild ?? c) as never);

  test('a VPC over 2 AZs with one NAT gateway and flow logs, and a private broker in it', () => {
    template.resourceCountIs('AWS::EC2::Subnet', 4);
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
    template.resourceCountIs('AWS::EC2::FlowLog', 1);
    template.resourceCountIs('AWS::AmazonMQ::Broker', 1);
    template.hasResourceProperties('AWS::AmazonMQ::Broker', {
      PubliclyAccessible: false, DeploymentMode: 'SINGLE_INSTANCE', EngineVersion: '4.2', HostInstanceType: 'mq.m7g.large',
    });
  });

  test('two fleets of the shop app: orders (1 to 4 instances) and reports (1 to 2, two processes each)', () => {
    expect(stack.platform.fleetNames).toEqual(['orders', 'reports']);
    template.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 2);
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MinSize: '1', MaxSize: '4' });
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MinSize: '1', MaxSize: '2' });
    const userData = (name: string) => JSON.stringify(template.toJSON().Resources[logicalId(stack.platform.fleet(name).launchTemplate)]);
    expect(userData('orders')).toMatch(/-A shop worker .*--queues orders .*--time-limit 60/);
    expect(userData('reports')).toMatch(/-A shop worker .*--concurrency 2 --queues reports .*--time-limit 300 --soft-time-limit 240/);
  });

  test('the application user may use both queues and rpc:// reply queues, and the fleets connect as it', () => {
    const expected = CeleryPermissions.forApplication({ taskQueues: ['orders', 'reports'], enableRpcResultBackend: true, deadLetterQueue: 'celery.dead-letter' });
    template.hasResourceProperties('Custom::CeleryBrokerUser', { Vhost: 'celery', Configure: expected.configure, Write: expected.write, Read: expected.read });
    expect(stack.platform.credentials).toBe(stack.platform.access!.secret);
  });

  test('every alarm with actions, the pages included, notifies the example\'s topic on ALARM and OK', () => {
    const topic = { Ref: logicalId(stack.alarmTopic) };
    template.resourceCountIs('AWS::SNS::Topic', 1);
    const alarms = {
      ...template.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: Match.anyValue() } }),
      ...template.findResources('AWS::CloudWatch::CompositeAlarm'),
    };
    // 14 broker alarms, 5 per fleet; the two pages and the restart suppressor.
    expect(Object.keys(alarms)).toHaveLength(14 + 2 * 5 + 3);
    // The signals the broker-down page is made of notify nothing of their own.
    const silent = /-(broker-not-reporting|broker-restarting|broker-restarting-too-long|broker-restarting-suppressor)$/;
    const notifying = (Object.values(alarms) as any[]).filter(a => !silent.test(a.Properties.AlarmName));
    expect(notifying).toHaveLength(14 + 2 * 5 + 3 - 4);
    for (const alarm of notifying) {
      expect(alarm.Properties.AlarmActions).toEqual([topic]);
      expect(alarm.Properties.OKActions).toEqual([topic]);
    }
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  test('-c alarmEmail=... subscribes an address to the topic', () => {
    synth(undefined, { alarmEmail: 'ops@example.com' }).template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email', Endpoint: 'ops@example.com',
    });
  });

  test('outputs for the walkthrough', () => {
    expect(Object.keys(template.toJSON().Outputs).sort()).toEqual([
      'AdminSecretArn', 'AlarmTopicArn', 'AppUserSecretArn', 'BrokerAmqpsUrl', 'BrokerDownAlarmName', 'BrokerManagementUrl', 'BrokerName',
      'DashboardUrl', 'IncidentAlarmName', 'OrdersAutoScalingGroup', 'ReportsAutoScalingGroup',
    ]);
    template.hasOutput('AppUserSecretArn', { Value: { Ref: logicalId(stack.platform.credentials as never) } });
  });

  test('no warning but the acknowledged ones (a clean synth)', () => {
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue()).map((w) => `${w.id}: ${w.entry.data}`)).toEqual([]);
  });

  // The example's one snapshot is the integration test's (test/integ.celery-platform.ts.snapshot,
  // the example stack plus the probe): `npx projen integ` fails the build when a synth differs.
});

describe('example app cdk-nag', () => {
  test('AwsSolutionsChecks: zero unacknowledged findings', () => {
    const { stack } = synth(new AwsSolutionsChecks({ verbose: true }));
    expect(nagFindings(stack)).toEqual([]);
  });

  test('every acknowledgement matches a real finding on its resource and carries a specific reason', () => {
    const { stack } = synth(new AwsSolutionsChecks({ logIgnores: true }));
    const declared = new Set<string>();
    for (const resource of stack.node.findAll().filter(CfnResource.isCfnResource)) {
      for (const s of (resource.getMetadata('cdk_nag') as any)?.rules_to_suppress ?? []) {
        expect(s.reason.length).toBeGreaterThan(60);
        declared.add(`${resource.node.path} ${s.id}`);
      }
    }
    const used = new Set(Annotations.fromStack(stack).findInfo('*', Match.stringLikeRegexp('CdkNagSuppression'))
      .map((u) => `${u.id.slice(1)} ${String(u.entry.data).match(/AwsSolutions-[A-Z0-9]+/)![0]}`));
    expect(declared.size).toBeGreaterThan(0);
    expect([...declared].filter((d) => !used.has(d))).toEqual([]);
    expect([...used].filter((u) => !declared.has(u))).toEqual([]);
  });
});
