import { spawnSync } from 'child_process';
import { App, Aspects, Duration, Stack, Tags } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { nagFindings } from '../nag';
import { APP_DIR, buildFleet } from './fleet-fixture';
import { userDataText } from './user-data';
import { CeleryPool, CeleryWorkerFleet, CeleryWorkerFleetProps, WorkerCode } from '../../src/workers';
import { importedBroker, stackWithBroker } from '../broker/broker-fixture';
import { scrubAssets } from '../scrub-assets';

jest.setTimeout(60_000);

describe('invalid input fails at synth, naming the prop, the value and what is allowed', () => {
  const cases: Array<[string, Partial<CeleryWorkerFleetProps> | ((s: Stack) => Partial<CeleryWorkerFleetProps>), RegExp]> = [
    ['app with spaces', { app: 'my app' }, /^app: "my app" is not a Celery application/],
    ['bad queue name', { queues: ['ok', 'bad queue'] }, /^queues: "bad queue" is not a queue name/],
    ['zero concurrency', { concurrency: 0 }, /^concurrency: 0 is not allowed; use a whole number of at least 1/],
    ['soft limit not below hard limit', { timeLimit: Duration.minutes(5), softTimeLimit: Duration.minutes(5) }, /^softTimeLimit: 300 s must be shorter than timeLimit \(300 s\)/],
    ['mingle without acknowledgement', { enableMingle: true }, /^enableMingle: true needs acknowledgeMingleBrokerTraffic: true/],
    ['--purge in extra arguments', { extraArguments: ['--purge'] }, /^extraArguments: "--purge" is not allowed in a worker fleet/],
    ['owned argument in extra arguments', { extraArguments: ['-Q', 'x'] }, /^extraArguments: "-Q" "x" is set by the typed option "queues"/],
    // Not in the props type: a plain JavaScript caller, whom no type check stops.
    ['celeryExecutable on the fleet', { celeryExecutable: '/usr/bin/celery' } as Partial<CeleryWorkerFleetProps>, /^celeryExecutable: "\/usr\/bin\/celery" cannot be set on the fleet; .*WorkerCode\.preinstalled/],
    ['min above max', { minCapacity: 5, maxCapacity: 2 }, /^minCapacity: 5 is more than maxCapacity \(2\)/],
    ['max capacity 0', { maxCapacity: 0 }, /^maxCapacity: 0 is not allowed; use a whole number of at least 1/],
    ['batch larger than the group', { maxCapacity: 4, maxBatchSize: 5 }, /^maxBatchSize: 5 is not allowed; use a whole number from 1 to 4/],
    ['min in service not below max', { maxCapacity: 4, minInstancesInService: 4 }, /^minInstancesInService: 4 is not allowed; use a whole number from 0 to 3/],
    ['root user', { user: 'root' }, /^user: "root" is not allowed/],
    ['bad user name', { user: 'Celery User' }, /^user: "Celery User" is not a Linux user name/],
    ['tiny root volume', { rootVolumeSizeGib: 4 }, /^rootVolumeSizeGib: 4 is not allowed; use a whole number from 8 to 16384/],
    ['start limit burst of 1', { startLimitBurst: 1 }, /^startLimitBurst: 1 is not allowed; use a whole number from 2 to 100/],
    ['x86_64 SSM image on a Graviton instance type', {
      machineImage: ec2.MachineImage.fromSsmParameter('/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64'),
    }, /^machineImage: the image is built for x86_64 but instanceType m7g\.large is arm64/],
    ['fractional jitter', { restartJitter: Duration.millis(1500) }, /^restartJitter: 1 second 500 millis is not allowed; use whole seconds from 0 to 3600/],
    ['readiness not shorter than boot', { readinessTimeout: Duration.minutes(20), bootTimeout: Duration.minutes(20) }, /^readinessTimeout: 20 minutes must be shorter than bootTimeout \(20 minutes\)/],
    ['stop timeout beyond the hook maximum', { timeLimit: Duration.hours(2) }, /^stopTimeout: 7260 s \(from timeLimit\) is too long; the termination lifecycle hook waits at most 7200 s/],
    ['remote control off with a quiet log level', { enableRemoteControl: false, logLevel: 'WARNING' }, /^logLevel: "WARNING" hides the worker's "ready\." line/],
    ['bad periodic restart calendar', { periodicRestart: { onCalendar: 'daily\nExecStart=/bin/sh' } }, /^periodicRestart\.onCalendar: "daily\\nExecStart=\/bin\/sh" is not a systemd OnCalendar= expression/],
    ['periodic restart window too short', { periodicRestart: { window: Duration.seconds(30) } }, /^periodicRestart\.window: 30 seconds is not allowed; use 1 minute to 24 hours/],
    ['arm64 image on an x86_64 instance type', {
      instanceType: new ec2.InstanceType('c7i.large'),
      machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }),
    }, /^machineImage: the image is built for arm64 but instanceType c7i\.large is x86_64/],
    ['code directory missing', () => ({ code: WorkerCode.fromAsset('/nonexistent/app') }), /^code: WorkerCode\.fromAsset\("\/nonexistent\/app"\) is not a directory/],
    ['code object not a zip', (s) => ({ code: WorkerCode.fromBucket(s3.Bucket.fromBucketName(s, 'B', 'my-code-bucket'), 'app.tar.gz') }), /^code: WorkerCode\.fromBucket key "app\.tar\.gz" is not a \.zip archive/],
    ['preinstalled relative celery', () => ({ code: WorkerCode.preinstalled({ celeryExecutable: 'celery', workingDirectory: '/srv/app' }) }), /^code: WorkerCode\.preinstalled celeryExecutable "celery" must be an absolute path/],
  ];

  test.each(cases)('%s', (_name, props, message) => {
    expect(() => buildFleet(props)).toThrow(message);
  });

  test('a broker without credentials and no credentials prop', () => {
    const app = new App();
    const stack = new Stack(app, 'S', { env: { account: '123456789012', region: 'eu-west-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    // A created broker always has a secret: only an imported one can come without.
    const broker = importedBroker(stack);
    expect(() => new CeleryWorkerFleet(stack, 'Fleet', { vpc, broker, code: WorkerCode.fromAsset(APP_DIR), app: 'proj' }))
      .toThrow(/^credentials: the broker S\/Broker has no credentials secret; pass credentials/);
  });

  test('user data over 16 KB fails and names the size', () => {
    const settings = { worker_log_format: 'x'.repeat(9000), worker_task_log_format: 'y'.repeat(9000) };
    expect(() => buildFleet({ settings })).toThrow(/^user data: the rendered boot script is about \d{5} bytes, over the 16384-byte launch template limit/);
  });

  test.each(['cost center', 'team/owner'])('an instance tag key %j that instance metadata refuses', (key) => {
    const { app, fleet } = buildFleet();
    Tags.of(fleet).add(key, 'x');
    expect(() => app.synth()).toThrow(new RegExp(`tags: instance tag key "${key}" cannot be used with tags in instance metadata`));
  });

  test('allowed tag keys, and keys not propagated to instances, pass', () => {
    const { app, fleet } = buildFleet();
    Tags.of(fleet).add('cost-center', 'a b/c');
    Tags.of(fleet.autoScalingGroup).add('team/owner', 'x', { applyToLaunchedInstances: false, includeResourceTypes: ['AWS::AutoScaling::AutoScalingGroup'] });
    expect(() => app.synth()).not.toThrow();
  });

  test('scaleOnQueueBacklog: virtualHost without queue', () => {
    const { fleet } = buildFleet();
    expect(() => fleet.scaleOnQueueBacklog('Backlog', { virtualHost: 'jobs' })).toThrow(/^scaleOnQueueBacklog\.virtualHost: "jobs" needs queue/);
  });

  test('scaleOnQueueBacklog: threshold 0', () => {
    const { fleet } = buildFleet();
    expect(() => fleet.scaleOnQueueBacklog('Backlog', { scaleOutThreshold: 0 })).toThrow(/^scaleOnQueueBacklog\.scaleOutThreshold: 0 is not allowed/);
  });
});

describe('warnings for risky but legal choices', () => {
  const warnings = (props: Partial<CeleryWorkerFleetProps>) => {
    const { stack } = buildFleet(props);
    return Annotations.fromStack(stack).findWarning('*', Match.anyValue()).map((w) => String(w.entry.data));
  };

  test('the default fleet warns only that tasks have no time limit', () => {
    const found = warnings({});
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/No timeLimit: a warm stop waits up to 30 minutes/);
  });

  test('a time limit removes the warning', () => {
    expect(warnings({ timeLimit: Duration.minutes(10) })).toEqual([]);
  });

  test.each<[string, Partial<CeleryWorkerFleetProps>, RegExp]>([
    ['remote control off', { enableRemoteControl: false }, /enableRemoteControl is false/],
    ['heartbeat events on', { enableHeartbeatEvents: true }, /enableHeartbeatEvents is true/],
    ['gossip on', { enableGossip: true, maxCapacity: 10 }, /enableGossip is true: .*\(100 at maxCapacity\)/],
    ['mingle on (acknowledged)', { enableMingle: true, acknowledgeMingleBrokerTraffic: true, maxCapacity: 30 }, /enableMingle is true: .*up to 29 replies per start/],
    ['large fleet', { maxCapacity: 60 }, /maxCapacity 60 is large/],
    ['threads pool with late acks', { pool: CeleryPool.THREADS }, /pool threads with acksLate \(the default\).*celery\/celery#6941/],
  ])('%s', (_name, props, message) => {
    expect(warnings({ timeLimit: Duration.minutes(10), ...props }).some((w) => message.test(w))).toBe(true);
  });

  describe("the broker's consumer_timeout", () => {
    const onRealBroker = (consumerTimeout: Duration | undefined, props: Partial<CeleryWorkerFleetProps>) => {
      const { stack, vpc, broker } = stackWithBroker('Stack', { broker: { configuration: { consumerTimeout } } });
      new CeleryWorkerFleet(stack, 'Fleet', { vpc, broker, code: WorkerCode.fromAsset(APP_DIR), app: 'proj', ...props });
      return Annotations.fromStack(stack).findWarning('/Stack/Fleet', Match.anyValue()).map((w) => String(w.entry.data));
    };

    test('a time limit as long as the consumer timeout warns (late acks would be redelivered)', () => {
      const found = onRealBroker(Duration.minutes(30), { timeLimit: Duration.minutes(30) });
      expect(found).toEqual([expect.stringMatching(/^timeLimit 30 minutes is not shorter than the broker's consumer_timeout \(30 minutes on this broker\)/)]);
    });

    test('a shorter time limit, or early acks, do not warn', () => {
      expect(onRealBroker(Duration.minutes(30), { timeLimit: Duration.minutes(29) })).toEqual([]);
      expect(onRealBroker(Duration.minutes(30), { timeLimit: Duration.minutes(45), acksLate: false })).toEqual([]);
    });

    test('the no-time-limit warning names the broker\'s own timeout', () => {
      expect(onRealBroker(undefined, {})).toEqual([expect.stringMatching(/consumer_timeout \(1 day on this broker\)/)]);
    });
  });

  test('a key pair warns', () => {
    const { stack } = buildFleet((s) => ({ timeLimit: Duration.minutes(10), keyPair: ec2.KeyPair.fromKeyPairName(s, 'K', 'ops') }));
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('keyPair is set'));
  });
});

describe('ICeleryWorkerFleet members and scaling', () => {
  test('metrics are by AutoScalingGroupName', () => {
    const { stack, fleet } = buildFleet();
    const asg = stack.resolve(fleet.autoScalingGroupName);
    expect(stack.resolve(fleet.metricWorkerRestarts().toMetricConfig().metricStat)).toMatchObject({
      namespace: 'CdkCelery', metricName: 'WorkerRestarts', statistic: 'Sum', dimensions: [{ name: 'AutoScalingGroupName', value: asg }],
    });
    expect(stack.resolve(fleet.metricNetworkOut().toMetricConfig().metricStat)).toMatchObject({
      namespace: 'AWS/EC2', metricName: 'NetworkOut', statistic: 'Sum', dimensions: [{ name: 'AutoScalingGroupName', value: asg }],
    });
    expect(stack.resolve(fleet.metricNetworkIn().toMetricConfig().metricStat)).toMatchObject({ metricName: 'NetworkIn' });
    expect(fleet.maxCapacity).toBe(4);
    expect(fleet.queues).toEqual(['default']);
    expect(buildFleet({ queues: undefined }).fleet.queues).toEqual(['celery']);
    expect(fleet.connections.securityGroups).toHaveLength(1);
  });

  test('scaleOnQueueBacklog on a queue: steps -1 at 0, +1 at 100, +2 at 1000 on MessageReadyCount by Queue', () => {
    const { stack, fleet } = buildFleet({ maxCapacity: 10 });
    fleet.scaleOnQueueBacklog('Backlog', { queue: 'default' });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'MessageReadyCount',
      Namespace: 'AWS/AmazonMQ',
      Statistic: 'Maximum',
      Period: 60,
      EvaluationPeriods: 3,
      Dimensions: Match.arrayWith([{ Name: 'Queue', Value: 'default' }, { Name: 'VirtualHost', Value: '/' }]),
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 100,
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'MessageReadyCount', ComparisonOperator: 'LessThanOrEqualToThreshold', Threshold: 0 });
    t.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
      PolicyType: 'StepScaling',
      AdjustmentType: 'ChangeInCapacity',
      StepAdjustments: [
        { MetricIntervalLowerBound: 0, MetricIntervalUpperBound: 900, ScalingAdjustment: 1 },
        { MetricIntervalLowerBound: 900, ScalingAdjustment: 2 },
      ],
    });
    t.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', { StepAdjustments: [{ MetricIntervalUpperBound: 0, ScalingAdjustment: -1 }] });
  });

  test('scaleOnQueueBacklog without a queue uses the broker-wide count (RabbitMQ 4.x)', () => {
    const { stack, fleet, broker } = buildFleet();
    fleet.scaleOnQueueBacklog('Backlog', { scaleOutThreshold: 50, evaluationPeriods: 2, instanceWarmup: Duration.minutes(2) });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'MessageReadyCount', Dimensions: [{ Name: 'Broker', Value: stack.resolve(broker.brokerName) }], Threshold: 50, EvaluationPeriods: 2,
    });
  });
});

describe('whole user data of a synthesized fleet', () => {
  test('passes shellcheck (CloudFormation values as placeholders)', () => {
    const { stack } = buildFleet({ periodicRestart: {} });
    const result = spawnSync('shellcheck', ['--shell=bash', '-'], { input: userDataText(stack), encoding: 'utf8' });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});

describe('cdk-nag AwsSolutions', () => {
  test('no unacknowledged findings on the fleet', () => {
    const { app, stack } = buildFleet({ timeLimit: Duration.minutes(10) });
    Aspects.of(app).add(new AwsSolutionsChecks());
    app.synth();
    expect(nagFindings(stack, '/WorkerStack/Fleet/')).toEqual([]);
    // The checks ran: the test VPC (not ours) has findings.
    expect(Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-VPC7')).length).toBeGreaterThan(0);
  });
});

describe('snapshot', () => {
  test('default fleet with periodic restarts and backlog scaling (asset hashes scrubbed)', () => {
    const { stack, fleet } = buildFleet({ timeLimit: Duration.minutes(10), periodicRestart: {} });
    fleet.scaleOnQueueBacklog('Backlog', { queue: 'default' });
    expect(scrubAssets(Template.fromStack(stack).toJSON())).toMatchSnapshot();
  });
});
