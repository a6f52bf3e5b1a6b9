import { AutoScalingClient, DescribeAutoScalingGroupsCommand, DescribeScalingActivitiesCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeLaunchTemplateVersionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeBrokerCommand, DescribeConfigurationRevisionCommand, ListBrokersCommand, MqClient } from '@aws-sdk/client-mq';
import { mockClient } from 'aws-sdk-client-mock';
import { HAND_WRITTEN_CRON } from './fixtures';
import { readBroker } from '../../src/doctor/aws/broker-reader';
import { readFleets } from '../../src/doctor/aws/fleet-reader';
import { brokerChecks, celeryCompatibilityChecks } from '../../src/doctor/broker-checks';
import { DoctorFacts } from '../../src/doctor/facts';
import { metricsChecks } from '../../src/doctor/metrics-checks';

/**
 * What moto_server cannot emulate (see aws-moto.e2e.test.ts), with client mocks: a broker whose
 * engine, instance type and configuration changes wait for a reboot, and Auto Scaling launch
 * activities lined up with an ingress peak.
 */

const mq = mockClient(MqClient);
const asg = mockClient(AutoScalingClient);
const ec2 = mockClient(EC2Client);

beforeEach(() => {
  mq.reset();
  asg.reset();
  ec2.reset();
});

function pendingBroker() {
  mq.on(ListBrokersCommand).resolves({ BrokerSummaries: [{ BrokerId: 'b-1', BrokerName: 'orders', DeploymentMode: 'CLUSTER_MULTI_AZ', EngineType: 'RABBITMQ' }] });
  mq.on(DescribeBrokerCommand, { BrokerId: 'b-1' }).resolves({
    BrokerId: 'b-1',
    BrokerName: 'orders',
    EngineType: 'RABBITMQ',
    EngineVersion: '3.13',
    PendingEngineVersion: '4.2',
    HostInstanceType: 'mq.m5.large',
    PendingHostInstanceType: 'mq.m7g.large',
    DeploymentMode: 'CLUSTER_MULTI_AZ',
    BrokerState: 'RUNNING',
    MaintenanceWindowStartTime: { DayOfWeek: 'SUNDAY', TimeOfDay: '03:00', TimeZone: 'UTC' },
    Configurations: { Current: { Id: 'c-1', Revision: 2 }, Pending: { Id: 'c-1', Revision: 3 } },
    BrokerInstances: [{ ConsoleURL: 'https://b-1.mq.eu-west-1.amazonaws.com', Endpoints: ['amqps://b-1.mq.eu-west-1.amazonaws.com:5671'] }],
  });
  mq.on(DescribeConfigurationRevisionCommand, { ConfigurationId: 'c-1', ConfigurationRevision: '2' })
    .resolves({ Data: Buffer.from('heartbeat = 60\n').toString('base64') });
}

test('pending engine, instance type and configuration changes, and a Celery that the pending 4.2 cannot run', async () => {
  pendingBroker();
  const broker = await readBroker(new MqClient({ region: 'eu-west-1' }), 'orders');
  expect(broker).toMatchObject({
    id: 'b-1',
    pendingEngineVersion: '4.2',
    pendingInstanceType: 'mq.m7g.large',
    amqpEndpoints: ['amqps://b-1.mq.eu-west-1.amazonaws.com:5671'],
    configuration: { id: 'c-1', revision: 2, pending: { id: 'c-1', revision: 3 }, consumerTimeoutMs: undefined },
  });
  const findings = brokerChecks({ broker });
  const pending = findings.find((f) => f.check === 'broker.pending-changes')!;
  expect(pending.severity).toBe('medium');
  expect(pending.evidence).toEqual([
    'engine 3.13 -> 4.2', 'instance type mq.m5.large -> mq.m7g.large', 'configuration c-1 revision 2 -> c-1 revision 3',
    'applied at the next reboot or maintenance window (SUNDAY 03:00 UTC): every worker reconnects at once',
  ]);
  // Without consumer_timeout in the revision, Amazon MQ's default applies.
  expect(findings.find((f) => f.check === 'broker.consumer-timeout')?.evidence[0])
    .toBe('consumer_timeout not set: Amazon MQ\'s default 1800000 ms');
  // A live worker on Celery 5.4 runs on 3.13 but not on the pending 4.2 (quorum queues need 5.5).
  const compat = celeryCompatibilityChecks({ broker, fleets: [{ ...emptyFleet, celeryPins: ['5.4.0'] }] });
  expect(compat).toEqual([expect.objectContaining({
    severity: 'critical', title: 'the pending RabbitMQ 4.2 needs Celery >= 5.5.0', evidence: ['asg w pins celery==5.4.0', 'the upgrade happens at the next reboot or maintenance window'],
  })]);
});

const emptyFleet = {
  name: 'w',
  desired: 1,
  min: 1,
  max: 1,
  inService: 1,
  launchSource: 'x',
  userDataBytes: 0,
  library: false,
  commands: [],
  schedules: [],
  environment: {},
  celeryPins: [],
  launches: [],
};

test('a pending change with mingle on in a fleet is high: the reboot is a mingle storm', async () => {
  pendingBroker();
  asg.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [{
      AutoScalingGroupName: 'w',
      DesiredCapacity: 4,
      MinSize: 1,
      MaxSize: 8,
      Instances: [],
      LaunchTemplate: { LaunchTemplateId: 'lt-1', Version: '$Default' },
      AvailabilityZones: [],
      HealthCheckType: 'EC2',
      CreatedTime: new Date(),
      DefaultCooldown: 300,
    }],
  });
  ec2.on(DescribeLaunchTemplateVersionsCommand).resolves({ LaunchTemplateVersions: [{ VersionNumber: 7, LaunchTemplateData: { UserData: Buffer.from(HAND_WRITTEN_CRON).toString('base64') } }] });
  asg.on(DescribeScalingActivitiesCommand).resolves({ Activities: [] });
  const facts: DoctorFacts = {
    broker: await readBroker(new MqClient({ region: 'eu-west-1' }), 'orders'),
    fleets: await readFleets(new AutoScalingClient({ region: 'eu-west-1' }), new EC2Client({ region: 'eu-west-1' }), ['w'], new Date(0), new Date()),
  };
  expect(facts.fleets![0].launchSource).toBe('launch template lt-1 version 7');
  const findings = brokerChecks(facts);
  expect(findings.find((f) => f.check === 'broker.pending-changes')).toMatchObject({ severity: 'high' });
});

test('instance launches from scaling activities line up with an ingress peak', async () => {
  const peak = new Date('2026-05-04T00:00:00Z');
  asg.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [{
      AutoScalingGroupName: 'w',
      DesiredCapacity: 2,
      MinSize: 1,
      MaxSize: 8,
      Instances: [],
      LaunchConfigurationName: 'lc-1',
      AvailabilityZones: [],
      HealthCheckType: 'EC2',
      CreatedTime: new Date(),
      DefaultCooldown: 300,
    }],
  });
  asg.on(DescribeScalingActivitiesCommand).resolves({
    Activities: [
      { ActivityId: '1', AutoScalingGroupName: 'w', Cause: 'c', StatusCode: 'Successful', Progress: 100, StartTime: new Date(peak.getTime() + 30_000), Description: 'Launching a new EC2 instance: i-1' },
      { ActivityId: '2', AutoScalingGroupName: 'w', Cause: 'c', StatusCode: 'Successful', Progress: 100, StartTime: new Date(peak.getTime() - 3_600_000), Description: 'Terminating EC2 instance: i-0' },
    ],
  });
  // No user data: a launch configuration read fails are reported, not thrown.
  const fleets = await readFleets(new AutoScalingClient({ region: 'eu-west-1' }), new EC2Client({ region: 'eu-west-1' }), ['w'],
    new Date(peak.getTime() - 86_400_000), new Date(peak.getTime() + 86_400_000));
  expect(fleets[0].launches).toEqual([new Date(peak.getTime() + 30_000)]);
  expect(fleets[0].launchSource).toBe('launch configuration lc-1');
  const values = Array.from({ length: 30 }, (_, i) => (i === 15 ? 5e9 : 1e6));
  const timestamps = values.map((_, i) => new Date(peak.getTime() + (i - 15) * 60_000));
  const facts: DoctorFacts = {
    broker: { id: 'b-1', name: 'orders', engineType: 'RABBITMQ', amqpEndpoints: [] },
    fleets,
    metrics: {
      start: timestamps[0],
      end: timestamps[29],
      periodSeconds: 60,
      networkInDimensions: [{ Broker: 'orders' }],
      brokerMetricNames: [],
      ingress: { timestamps, values },
      alarms: [],
      workerRestarts: {},
    },
  };
  const peaks = metricsChecks(facts).find((f) => f.check === 'metrics.ingress-peaks')!;
  expect(peaks.severity).toBe('high');
  expect(peaks.evidence[1]).toBe('5.0 GB in 1 min at 2026-05-04 00:00 UTC = launch in w');
});
