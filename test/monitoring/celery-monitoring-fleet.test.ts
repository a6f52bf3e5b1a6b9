/**
 * CeleryMonitoring with the real RabbitMqBroker (created, its name derived from the construct
 * path) and the real CeleryWorkerFleet: dimensions, cdk-nag, snapshot and the incident replay.
 */
import { parseAlarms, replay } from './alarm-evaluator';
import { buildMonitoring, groupNameIn, monitoringResources, nagFindings } from './monitoring-fixture';
import { FleetShape, recordDay, WorkerTraffic } from './recorded-series';
import { AlarmThresholdDefaults as D } from '../../src/monitoring/alarm-thresholds';
import { renderCeleryWorkerCommand } from '../../src/workers/render/celery-worker-command';

jest.setTimeout(60_000);

const build = () => buildMonitoring({ fleets: [['Workers', 30]] });

const built = build();
const template = built.template();
const [fleet] = built.fleets;
const asgRef = groupNameIn(built.stack, fleet);
const brokerName: string = built.stack.resolve(built.broker.brokerName);

test('fleet alarms use the Auto Scaling group name of the real fleet', () => {
  expect(asgRef).toEqual({ Ref: expect.any(String) });
  template.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 1);
  expect(template.findResources('AWS::AutoScaling::AutoScalingGroup')).toHaveProperty(asgRef.Ref);
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    AlarmName: `${brokerName}-celery-Workers-worker-restarts`,
    Namespace: 'CdkCelery',
    MetricName: 'WorkerRestarts',
    Dimensions: [{ Name: 'AutoScalingGroupName', Value: asgRef }],
    Statistic: 'Sum',
    Period: 60,
    Threshold: 3,
  });
  // An instance whose Celery is too old for the broker publishes 1 and starts no worker: a ticket.
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    AlarmName: `${brokerName}-celery-Workers-incompatible-celery`,
    Namespace: 'CdkCelery',
    MetricName: 'IncompatibleCelery',
    Dimensions: [{ Name: 'AutoScalingGroupName', Value: asgRef }],
    Statistic: 'Maximum',
    Period: 60,
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    TreatMissingData: 'notBreaching',
  });
  expect(built.monitoring.fleetAlarms[0].incompatibleCeleryAlarm).toBeDefined();
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    AlarmName: `${brokerName}-celery-Workers-network-out`,
    Namespace: 'AWS/EC2',
    MetricName: 'NetworkOut',
    Dimensions: [{ Name: 'AutoScalingGroupName', Value: asgRef }],
    Statistic: 'Sum',
    Period: 60,
    Threshold: 30 * D.FLEET_NETWORK_OUT_BYTES_PER_WORKER_PER_MINUTE,
  });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    AlarmName: `${brokerName}-celery-broker-ingress`,
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
    brokerName,
    taskBytes: () => 5_000_000,
    producerConnections: 10,
    readyMessages: () => 1_000,
    memoryLimitBytes: 4.3 * 2 ** 30,
    memoryUsedPercent: () => 30,
    cpuPercent: () => 20,
  }, [fleetShape]);
  const r = replay(alarms, series.source, 90);
  const id = (c: { node: { defaultChild?: unknown } } | undefined) => built.stack.getLogicalId(c!.node.defaultChild as any);
  expect(r.firstAlarm(id(built.monitoring.incidentAlarm))).toBe(61);
  expect(r.firstAlarm(id(built.monitoring.fleetAlarms[0].workerRestartsAlarm))).toBe(61);
  expect(r.firstAlarm(id(built.monitoring.fleetAlarms[0].networkOutAlarm))).toBe(61);
  const paging = built.stack.getLogicalId(built.monitoring.pagingTopic!.node.defaultChild as any);
  expect(r.alarmsSentTo(paging).map(n => [n.alarm, n.minute])).toEqual([[id(built.monitoring.incidentAlarm), 61]]);
});

test('cdk-nag AwsSolutions: no unacknowledged findings', () => {
  expect(nagFindings(build())).toEqual([]);
});

test('snapshot of the monitoring resources (asset hashes scrubbed)', () => {
  // Only the kinds of resources this construct creates: the fleet's snapshot lives with the fleet's tests.
  const resources = monitoringResources(template);
  // 17 alarms, 3 composites, the dashboard, 2 topics and their policies; the publisher's function, role, policy, log group, rule and permission.
  expect(Object.keys(resources)).toHaveLength(17 + 3 + 1 + 4 + 6);
  expect(resources).toMatchSnapshot();
});
