/**
 * CeleryMonitoring with the real CeleryWorkerFleet (the broker is still a stand-in until
 * src/broker/rabbitmq-broker.ts lands): dimensions, cdk-nag, snapshot and the incident replay.
 */
import { App, Aspects, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { AwsSolutionsChecks, NagSuppressions } from 'cdk-nag';
import { parseAlarms, replay } from './alarm-evaluator';
import { FleetShape, recordDay, WorkerTraffic } from './recorded-series';
import { FakeBroker } from './test-doubles';
import { CeleryMonitoring } from '../../src/monitoring';
import { AlarmThresholdDefaults as D } from '../../src/monitoring/alarm-thresholds';
import { CeleryWorkerFleet, WorkerCode } from '../../src/workers';
import { renderCeleryWorkerCommand } from '../../src/workers/render/celery-worker-command';
import { APP_DIR } from '../workers/fleet-fixture';

jest.setTimeout(60_000);

function build() {
  const app = new App();
  const stack = new Stack(app, 'Prod', { env: { account: '123456789012', region: 'eu-west-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const broker = new FakeBroker(stack, 'Broker', 'prod-broker', vpc);
  const fleet = new CeleryWorkerFleet(stack, 'Workers', {
    vpc, broker, code: WorkerCode.fromAsset(APP_DIR), app: 'proj', queues: ['default'], maxCapacity: 30,
  });
  const monitoring = new CeleryMonitoring(stack, 'Monitoring', { broker, fleets: [fleet] });
  return { app, stack, fleet, monitoring };
}

const built = build();
const template = Template.fromStack(built.stack);
const asgRef = built.stack.resolve(built.fleet.autoScalingGroupName);

test('fleet alarms use the Auto Scaling group name of the real fleet', () => {
  expect(asgRef).toEqual({ Ref: expect.any(String) });
  template.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 1);
  expect(template.findResources('AWS::AutoScaling::AutoScalingGroup')).toHaveProperty(asgRef.Ref);
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    AlarmName: 'prod-broker-celery-Workers-worker-restarts',
    Namespace: 'CdkCelery',
    MetricName: 'WorkerRestarts',
    Dimensions: [{ Name: 'AutoScalingGroupName', Value: asgRef }],
    Statistic: 'Sum',
    Period: 60,
    Threshold: 3,
  });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    AlarmName: 'prod-broker-celery-Workers-network-out',
    Namespace: 'AWS/EC2',
    MetricName: 'NetworkOut',
    Dimensions: [{ Name: 'AutoScalingGroupName', Value: asgRef }],
    Statistic: 'Sum',
    Period: 300,
    Threshold: 30 * D.FLEET_NETWORK_OUT_BYTES_PER_WORKER_PER_MINUTE * 5,
  });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    AlarmName: 'prod-broker-celery-broker-ingress',
    Threshold: 30 * D.INGRESS_BYTES_PER_WORKER_PER_MINUTE,
  });
});

test('the incident replays through the real fleet\'s alarms', () => {
  const alarms = parseAlarms(template.toJSON() as any);
  expect(alarms.unsupported).toEqual({});
  const asgKey = JSON.stringify(asgRef);
  const fleetShape: FleetShape = {
    autoScalingGroupName: asgKey,
    running: () => 30,
    joins: m => (m === 60 ? 30 : 0),
    restarts: m => (m === 60 ? 30 : 0),
    worker: new WorkerTraffic(renderCeleryWorkerCommand({
      app: 'proj', enableMingle: true, acknowledgeMingleBrokerTraffic: true, enableGossip: true, enableHeartbeatEvents: true,
    }).argv, D.REVOKED_IDS_CAP),
    connectionsPerWorker: 3,
    channelsPerWorker: 6,
  };
  const series = recordDay(90, {
    brokerName: 'prod-broker',
    taskBytes: () => 5_000_000,
    producerConnections: 10,
    readyMessages: () => 1_000,
    memoryLimitBytes: 4.3 * 2 ** 30,
    memoryUsedPercent: () => 30,
    cpuPercent: () => 20,
  }, [fleetShape]);
  const r = replay(alarms, series.source, 90);
  const id = (c: { node: { defaultChild?: unknown } }) => built.stack.getLogicalId(c.node.defaultChild as any);
  expect(r.firstAlarm(id(built.monitoring.incidentAlarm))).toBe(61);
  expect(r.firstAlarm(id(built.monitoring.fleetAlarms[0].workerRestartsAlarm))).toBe(61);
  expect(r.firstAlarm(id(built.monitoring.fleetAlarms[0].networkOutAlarm))).toBe(65);
});

test('cdk-nag AwsSolutions: no unacknowledged findings', () => {
  const { app, stack, monitoring } = build();
  NagSuppressions.addResourceSuppressions(monitoring.alarmTopic!, [{
    id: 'AwsSolutions-SNS2',
    reason: 'Alarm notifications carry alarm names and metric values, nothing secret; CloudWatch cannot publish to a topic '
      + 'encrypted with the AWS managed aws/sns key. Users who need SSE pass their own topic with a customer managed key (alarmTopic).',
  }]);
  NagSuppressions.addResourceSuppressionsByPath(stack, '/Prod/Vpc', [{
    id: 'AwsSolutions-VPC7', reason: 'Test VPC standing in for the user\'s; flow logs are the VPC owner\'s choice.',
  }], true);
  NagSuppressions.addResourceSuppressionsByPath(stack, '/Prod/Broker/Admin/Resource', [{
    id: 'AwsSolutions-SMG4', reason: 'Secret of the broker stand-in; rotation belongs to the real broker construct.',
  }]);
  Aspects.of(app).add(new AwsSolutionsChecks());
  app.synth();
  const findings = [
    ...Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
    ...Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
  ];
  expect(findings.map(f => `${f.id}: ${f.entry.data}`)).toEqual([]);
});

test('snapshot of the monitoring resources (asset hashes scrubbed)', () => {
  // Only the kinds of resources this construct creates: the fleet's snapshot lives with the fleet's tests.
  const resources = Object.fromEntries(Object.entries(template.toJSON().Resources as { [id: string]: any })
    .filter(([, r]) => r.Type.startsWith('AWS::CloudWatch::') || r.Type.startsWith('AWS::SNS::')));
  expect(Object.keys(resources)).toHaveLength(14); // 10 alarms, the composite, the dashboard, the topic and its policy
  const json = JSON.stringify(resources, null, 1).replace(/[0-9a-f]{64}(\.zip|\.json)?/g, '<asset-hash>$1');
  expect(JSON.parse(json)).toMatchSnapshot();
});
