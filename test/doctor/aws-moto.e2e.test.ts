import { spawn } from 'child_process';
import { join } from 'path';
import { AutoScalingClient, CreateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient, MetricDatum, PutMetricAlarmCommand, PutMetricDataCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { CreateLaunchTemplateCommand, DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateBrokerCommand, CreateConfigurationCommand, MqClient, UpdateConfigurationCommand } from '@aws-sdk/client-mq';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import Ajv from 'ajv';
import { HAND_WRITTEN_CRON, libraryUserData } from './fixtures';
import { MOTO_REGION, MotoServer, motoServerMissing, startMotoServer } from './moto-server';
import { readBrokerCredentials } from '../../src/doctor/aws/secret-reader';
import { Finding } from '../../src/doctor/finding';
import { DoctorReport } from '../../src/doctor/report';
import { REPORT_JSON_SCHEMA } from '../../src/doctor/report-schema';

/**
 * The AWS side end to end: the real CLI (bin/cdk-celery running the esbuild bundle) with the
 * SDK's default credential chain and AWS_ENDPOINT_URL pointed at moto_server, seeded through real
 * SDK clients with an incident-shaped deployment: a RabbitMQ 3.11 broker whose configuration has a
 * 10-minute consumer_timeout, NetworkIn published under both Broker and BrokerId with a midnight
 * peak, memory near its limit, a connection drop, an ingress alarm on a dimension that has no data
 * (INSUFFICIENT_DATA), and two Auto Scaling groups: one with hand-written user data (plain
 * `celery worker`, Celery 5.2.7, a midnight cron restart) and one with this library's boot script.
 *
 * What moto 5.2.1 cannot emulate, tested with client mocks instead (aws-readers.test.ts):
 * - pending changes: UpdateBroker applies engine and instance type at once and never reports
 *   PendingEngineVersion / PendingHostInstanceType / Configurations.Pending;
 * - DescribeScalingActivities returns no activities (instance launches);
 * - new alarms start in OK, where AWS starts them in INSUFFICIENT_DATA: seeded with SetAlarmState.
 */

jest.setTimeout(180_000);

const missing = motoServerMissing();
if (missing) {
  // eslint-disable-next-line no-console
  console.warn(`skipping the moto_server suite: ${missing}`);
}
const describeMoto = missing ? describe.skip : describe;

const BIN = join(__dirname, '..', '..', 'bin', 'cdk-celery');
const HOUR = 3_600_000;

interface Run { code: number | null; stdout: string; stderr: string }

function runCli(env: { [k: string]: string }, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describeMoto('doctor against moto_server', () => {
  let moto: MotoServer;
  let brokerId: string;
  let end: Date;
  let midnight: Date;

  beforeAll(async () => {
    moto = await startMotoServer();
    const config = { endpoint: moto.endpoint, region: MOTO_REGION, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
    const mq = new MqClient(config);
    // moto cannot read gzip bodies; the SDK compresses PutMetricData bodies over 10 KB.
    const cw = new CloudWatchClient({ ...config, disableRequestCompression: true });
    const ec2 = new EC2Client(config);
    const asg = new AutoScalingClient(config);

    const cfg = await mq.send(new CreateConfigurationCommand({ Name: 'orders', EngineType: 'RABBITMQ', EngineVersion: '3.11.20', AuthenticationStrategy: 'SIMPLE' }));
    const rev = await mq.send(new UpdateConfigurationCommand({ ConfigurationId: cfg.Id, Data: Buffer.from('consumer_timeout = 600000\nheartbeat = 60\n').toString('base64') }));
    brokerId = (await mq.send(new CreateBrokerCommand({
      BrokerName: 'orders',
      EngineType: 'RABBITMQ',
      EngineVersion: '3.11.20',
      HostInstanceType: 'mq.m5.large',
      DeploymentMode: 'SINGLE_INSTANCE',
      PubliclyAccessible: false,
      AutoMinorVersionUpgrade: true,
      Users: [{ Username: 'admin', Password: 'admin-password-1234' }],
      Configuration: { Id: cfg.Id, Revision: rev.LatestRevision?.Revision },
    }))).BrokerId!;
    // A decoy with another name: resolution must pick the right one.
    await mq.send(new CreateBrokerCommand({
      BrokerName: 'payments',
      EngineType: 'RABBITMQ',
      EngineVersion: '3.13',
      HostInstanceType: 'mq.m7g.large',
      DeploymentMode: 'SINGLE_INSTANCE',
      PubliclyAccessible: false,
      AutoMinorVersionUpgrade: true,
      Users: [{ Username: 'admin', Password: 'admin-password-1234' }],
    }));

    // Two days of metrics every 10 minutes, the incident at the last midnight at least 2 h ago.
    end = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    midnight = new Date(Math.floor((end.getTime() - 2 * HOUR) / (24 * HOUR)) * 24 * HOUR);
    const first = midnight.getTime() - Math.ceil((midnight.getTime() - (end.getTime() - 47 * HOUR)) / (10 * 60_000)) * 10 * 60_000;
    const data: MetricDatum[] = [];
    for (let t = first; t <= end.getTime(); t += 10 * 60_000) {
      const storm = t === midnight.getTime();
      const at = new Date(t);
      data.push(
        { MetricName: 'NetworkIn', Dimensions: [{ Name: 'Broker', Value: 'orders' }], Timestamp: at, Value: storm ? 4.2e9 : 2e6, Unit: 'Bytes' },
        { MetricName: 'NetworkIn', Dimensions: [{ Name: 'BrokerId', Value: brokerId }], Timestamp: at, Value: storm ? 4.2e9 : 2e6, Unit: 'Bytes' },
        { MetricName: 'RabbitMQMemUsed', Dimensions: [{ Name: 'Broker', Value: 'orders' }], Timestamp: at, Value: storm ? 3.6e9 : 8e8, Unit: 'Bytes' },
        { MetricName: 'RabbitMQMemLimit', Dimensions: [{ Name: 'Broker', Value: 'orders' }], Timestamp: at, Value: 4e9, Unit: 'Bytes' },
        { MetricName: 'ConnectionCount', Dimensions: [{ Name: 'Broker', Value: 'orders' }], Timestamp: at, Value: storm ? 4 : 96, Unit: 'Count' },
      );
    }
    for (let i = 0; i < data.length; i += 500) {
      await cw.send(new PutMetricDataCommand({ Namespace: 'AWS/AmazonMQ', MetricData: data.slice(i, i + 500) }));
    }
    // An ingress alarm keyed on BrokerId = the broker NAME (no such data), and a working memory alarm.
    await cw.send(new PutMetricAlarmCommand({
      AlarmName: 'orders-ingress',
      Namespace: 'AWS/AmazonMQ',
      MetricName: 'NetworkIn',
      Dimensions: [{ Name: 'BrokerId', Value: 'orders' }],
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 1e9,
      ComparisonOperator: 'GreaterThanThreshold',
    }));
    await cw.send(new SetAlarmStateCommand({ AlarmName: 'orders-ingress', StateValue: 'INSUFFICIENT_DATA', StateReason: 'seeded: AWS starts alarms here' }));
    await cw.send(new PutMetricAlarmCommand({
      AlarmName: 'orders-memory',
      Namespace: 'AWS/AmazonMQ',
      MetricName: 'RabbitMQMemUsed',
      Dimensions: [{ Name: 'Broker', Value: 'orders' }],
      Statistic: 'Maximum',
      Period: 60,
      EvaluationPeriods: 5,
      Threshold: 3.2e9,
      ComparisonOperator: 'GreaterThanThreshold',
    }));

    const subnet = (await ec2.send(new DescribeSubnetsCommand({}))).Subnets![0].SubnetId!;
    for (const [name, userData] of [['orders-workers', HAND_WRITTEN_CRON], ['orders-generated', libraryUserData()]] as const) {
      const lt = await ec2.send(new CreateLaunchTemplateCommand({
        LaunchTemplateName: name,
        LaunchTemplateData: { ImageId: 'ami-12c6146b', InstanceType: 't3.micro', UserData: Buffer.from(userData).toString('base64') },
      }));
      await asg.send(new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: name,
        LaunchTemplate: { LaunchTemplateId: lt.LaunchTemplate!.LaunchTemplateId, Version: '$Latest' },
        MinSize: 3,
        MaxSize: 6,
        DesiredCapacity: 3,
        VPCZoneIdentifier: subnet,
      }));
    }
    await new SecretsManagerClient(config).send(new CreateSecretCommand({
      Name: 'orders-doctor', SecretString: JSON.stringify({ username: 'doctor', password: 'p@ss:w/rd' }),
    }));
  });

  afterAll(async () => {
    await moto?.stop();
  });

  const args = () => ['doctor', '--broker', 'orders', '--asg', 'orders-workers,orders-generated', '--window', '2d', '--end', end.toISOString()];
  const finding = (report: DoctorReport, check: string, subject?: string): Finding => {
    const f = report.findings.find((x) => x.check === check && (subject === undefined || x.subject === subject));
    if (!f) throw new Error(`no ${check} ${subject ?? ''} finding in ${report.findings.map((x) => `${x.check}/${x.subject}`).join(', ')}`);
    return f;
  };

  test('--json: the incident\'s failure modes, each with its evidence, valid against the published schema', async () => {
    const run = await runCli(moto.env, [...args(), '--json', '--fail-on', 'high']);
    expect(run.stderr).not.toMatch(/error/i);
    const report = JSON.parse(run.stdout) as DoctorReport;
    const ajv = new Ajv({ strict: true, allErrors: true, validateFormats: false });
    const valid = ajv.validate(REPORT_JSON_SCHEMA, report);
    expect(ajv.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
    expect(report.sections).toEqual({
      broker: { status: 'read' },
      metrics: { status: 'read' },
      fleet: { status: 'read' },
      live: { status: 'skipped', reason: 'pass --broker-secret or --broker-url-env' },
    });

    // Broker
    expect(finding(report, 'broker.engine-version')).toMatchObject({ severity: 'high', title: 'RabbitMQ 3.11.20 is past end of support' });
    expect(finding(report, 'broker.instance-type')).toMatchObject({ severity: 'ok', title: 'mq.m5.large' });
    expect(finding(report, 'broker.deployment-mode')).toMatchObject({ severity: 'medium' });
    const timeout = finding(report, 'broker.consumer-timeout');
    expect(timeout.severity).toBe('high');
    expect(timeout.evidence.join('\n')).toContain('consumer_timeout = 600000 ms');
    expect(timeout.evidence.join('\n')).toContain('asg orders-workers (30 min)');
    expect(finding(report, 'broker.celery-compatibility')).toMatchObject({ severity: 'ok' });

    // Metrics: both dimensions listed; the BrokerId=orders alarm watches nothing.
    expect(finding(report, 'metrics.network-dimensions')).toMatchObject({
      severity: 'ok', title: `NetworkIn is published under Broker=orders, BrokerId=${brokerId}`,
    });
    expect(finding(report, 'metrics.alarm-without-data', 'alarm orders-ingress')).toMatchObject({
      severity: 'high', title: 'alarm watches a metric with no data: NetworkIn{BrokerId=orders}',
    });
    expect(finding(report, 'metrics.alarm-insufficient-data', 'alarm orders-ingress').severity).toBe('medium');
    expect(report.findings.filter((f) => f.subject === 'alarm orders-memory')).toEqual([]);
    expect(finding(report, 'metrics.alarm-coverage')).toMatchObject({ severity: 'medium', title: 'no working alarm on NetworkIn, ConnectionCount' });
    const peaks = finding(report, 'metrics.ingress-peaks');
    expect(peaks).toMatchObject({ severity: 'high', title: 'ingress peaks line up with worker restarts' });
    expect(peaks.evidence.join('\n')).toContain(`4.2 GB in 2 min at ${midnight.toISOString().slice(0, 16).replace('T', ' ')} UTC = orders-workers cron 0 0 * * *`);
    expect(finding(report, 'metrics.memory-headroom')).toMatchObject({ severity: 'high', title: 'memory peaked at 90 % of the limit' });
    expect(finding(report, 'metrics.connection-churn').severity).toBe('medium');

    // The hand-written fleet: the incident, check by check.
    const hand = 'asg orders-workers';
    expect(finding(report, 'fleet.worker-command', hand).evidence.join('\n')).toContain('celery -A proj worker -l info --concurrency=8 --time-limit 1800');
    expect(finding(report, 'fleet.mingle', hand).severity).toBe('critical');
    expect(finding(report, 'fleet.restart-schedule', hand)).toMatchObject({ severity: 'critical', title: 'synchronised restarts: 0 0 * * * on every instance' });
    expect(finding(report, 'fleet.gossip', hand).severity).toBe('medium');
    expect(finding(report, 'fleet.heartbeat', hand).severity).toBe('low');
    expect(finding(report, 'fleet.prefetch', hand)).toMatchObject({ severity: 'low', title: 'prefetch multiplier 4' });
    expect(finding(report, 'fleet.acks-late', hand).severity).toBe('info');
    expect(finding(report, 'fleet.revoked-set-cap', hand)).toMatchObject({ severity: 'medium', title: 'revoked set up to 50,000 ids' });
    expect(finding(report, 'fleet.exit-status', hand)).toMatchObject({ severity: 'high', title: 'celery 5.2.7 exits 0 after a crash' });

    // The generated fleet passes the same checks.
    const lib = 'asg orders-generated';
    expect(finding(report, 'fleet.worker-command', lib).title).toBe('1 worker command line found (user data rendered by cdk-celery)');
    for (const check of ['fleet.mingle', 'fleet.gossip', 'fleet.heartbeat', 'fleet.prefetch', 'fleet.acks-late', 'fleet.revoked-set-cap', 'fleet.restart-schedule']) {
      expect({ check, severity: finding(report, check, lib).severity }).toEqual({ check, severity: 'ok' });
    }
    expect(report.findings.filter((f) => f.subject === lib && f.severity !== 'ok')).toEqual([]);

    // Summary: the worst finding, and the join cost from what was found.
    expect(report.summary.worst).toMatchObject({ severity: 'critical' });
    expect(report.summary.joinCost).toMatchObject({
      fleet: 'orders-workers', mingle: true, answeringWorkers: 6, revokedIdsPerWorker: 50_000, bytes: 6 * 50_000 * 98,
    });
    expect(report.summary.exitCode).toBe(1);
    expect(run.code).toBe(1);
  });

  test('human output: fits 80 columns and names the worst finding and the join cost', async () => {
    const run = await runCli(moto.env, args());
    expect(run.code).toBe(0); // --fail-on defaults to never
    expect(run.stdout.split('\n').filter((l) => l.length > 80)).toEqual([]);
    expect(run.stdout).toContain('  CRITICAL fleet.mingle (asg orders-workers)');
    expect(run.stdout).toMatch(/worst: CRITICAL fleet\.(mingle|restart-schedule) \(asg orders-workers\)/);
    expect(run.stdout).toContain('join: a worker joining orders-workers costs the broker up to 29.4 MB');
    expect(run.stdout).toContain('exit: 0 (--fail-on never)');
  });

  test('exit codes: --fail-on gates on severity, an unreadable section is 3, bad arguments are 2', async () => {
    expect((await runCli(moto.env, [...args(), '--fail-on', 'critical'])).code).toBe(1);
    // The generated fleet alone: nothing above ok.
    expect((await runCli(moto.env, ['doctor', '--asg', 'orders-generated', '--end', end.toISOString(), '--fail-on', 'info'])).code).toBe(0);
    // The broker alone: its worst finding is high (end of support), so critical passes and high fails.
    expect((await runCli(moto.env, ['doctor', '--broker', 'orders', '--end', end.toISOString(), '--fail-on', 'critical'])).code).toBe(0);
    expect((await runCli(moto.env, ['doctor', '--broker', 'orders', '--end', end.toISOString(), '--fail-on', 'high'])).code).toBe(1);
    const unknown = await runCli(moto.env, ['doctor', '--broker', 'no-such-broker', '--json']);
    expect(unknown.code).toBe(3);
    expect((JSON.parse(unknown.stdout) as DoctorReport).sections.broker).toEqual({
      status: 'failed', reason: 'no Amazon MQ broker named or with the id "no-such-broker" in this account and region',
    });
    const noGroup = await runCli(moto.env, ['doctor', '--asg', 'nope', '--json']);
    expect(noGroup.code).toBe(3);
    expect((JSON.parse(noGroup.stdout) as DoctorReport).sections.fleet).toEqual({ status: 'failed', reason: 'no Auto Scaling group named "nope"' });
    const usage = await runCli(moto.env, ['doctor', '--broker', 'orders', '--fail-on', 'sometimes']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('Allowed choices are critical, high, medium, low, info, never');
    expect((await runCli(moto.env, ['doctor'])).code).toBe(2);
    expect((await runCli(moto.env, ['doctor', '--broker', 'orders', '--window', '3y'])).code).toBe(2);
    const help = await runCli({}, ['doctor', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: cdk-celery doctor [options]');
  });

  test('--broker-secret reads the broker user from Secrets Manager over real HTTP', async () => {
    const sm = new SecretsManagerClient({ endpoint: moto.endpoint, region: MOTO_REGION, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    await expect(readBrokerCredentials(sm, 'orders-doctor')).resolves.toEqual({ username: 'doctor', password: 'p@ss:w/rd' });
    // moto's brokers have no reachable AMQP endpoint: the live section fails and says so; exit 3.
    const run = await runCli(moto.env, ['doctor', '--broker', 'orders', '--broker-secret', 'orders-doctor', '--timeout', '2', '--json']);
    const report = JSON.parse(run.stdout) as DoctorReport;
    expect(report.sections.live.status).toBe('failed');
    expect(report.sections.broker.status).toBe('read');
    expect(run.code).toBe(3);
  });
});
