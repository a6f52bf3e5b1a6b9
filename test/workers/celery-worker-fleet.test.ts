import { Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { buildFleet } from './fleet-fixture';
import { parseEnvironmentLines, parseSystemdCommandLine, userDataText, withValuesInlined, writtenFile } from './user-data';
import { CeleryPool, CeleryWorkerCommandOptions, WorkerCode } from '../../src/workers';
import { USER_DATA_LIMIT_BYTES } from '../../src/workers/celery-worker-fleet';
import { renderCeleryWorkerCommand } from '../../src/workers/render';
import { TEST_IMAGE_IDS } from '../setup/cdk-context';

jest.setTimeout(60_000);

function template(props: Parameters<typeof buildFleet>[0] = {}) {
  const fixture = buildFleet(props);
  return { ...fixture, template: Template.fromStack(fixture.stack) };
}

function workerUnit(stack: Stack): string {
  return writtenFile(userDataText(stack), '/etc/systemd/system/celery-worker.service');
}

describe('launch template defaults', () => {
  const { template: t } = template();

  test('Graviton m7g.large with the arm64 Amazon Linux 2023 image', () => {
    t.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        InstanceType: 'm7g.large',
        // Looked up at synth and cached in context (test/setup/cdk-context.ts holds the tests' lookups).
        ImageId: TEST_IMAGE_IDS['/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64'],
      }),
    });
  });

  test('IMDSv2 required, hop limit 1, instance tags in metadata, detailed monitoring, no key pair', () => {
    const lt = Object.values(t.findResources('AWS::EC2::LaunchTemplate'))[0];
    expect(lt.Properties.LaunchTemplateData.MetadataOptions).toEqual({ HttpTokens: 'required', HttpPutResponseHopLimit: 1, InstanceMetadataTags: 'enabled' });
    expect(lt.Properties.LaunchTemplateData.Monitoring).toEqual({ Enabled: true });
    expect(lt.Properties.LaunchTemplateData.KeyName).toBeUndefined();
  });

  test('encrypted gp3 root volume of 20 GiB', () => {
    t.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { DeleteOnTermination: true, Encrypted: true, VolumeSize: 20, VolumeType: 'gp3' } }],
      }),
    });
  });
});

describe('auto scaling group', () => {
  test('defaults: 1..4, waits for min capacity signals, rolling update batch 1 keeping 1 in service', () => {
    const { template: t } = template();
    t.hasResource('AWS::AutoScaling::AutoScalingGroup', {
      Properties: Match.objectLike({ MinSize: '1', MaxSize: '4', HealthCheckType: 'EC2', HealthCheckGracePeriod: 900, MetricsCollection: [{ Granularity: '1Minute' }] }),
      CreationPolicy: { ResourceSignal: { Count: 1, Timeout: 'PT15M' } },
      UpdatePolicy: Match.objectLike({
        AutoScalingRollingUpdate: Match.objectLike({ MaxBatchSize: 1, MinInstancesInService: 1, WaitOnResourceSignals: true, PauseTime: 'PT15M' }),
      }),
    });
  });

  test('batch size is 20 % of maxCapacity; min in service leaves room for a batch', () => {
    const { template: t } = template({ minCapacity: 10, maxCapacity: 10 });
    t.hasResource('AWS::AutoScaling::AutoScalingGroup', {
      UpdatePolicy: Match.objectLike({ AutoScalingRollingUpdate: Match.objectLike({ MaxBatchSize: 2, MinInstancesInService: 8 }) }),
      CreationPolicy: { ResourceSignal: { Count: 10, Timeout: 'PT15M' } },
    });
  });

  test('explicit batch, min in service and boot timeout', () => {
    const { template: t } = template({ maxCapacity: 20, maxBatchSize: 3, minInstancesInService: 5, bootTimeout: Duration.minutes(25) });
    t.hasResource('AWS::AutoScaling::AutoScalingGroup', {
      UpdatePolicy: Match.objectLike({ AutoScalingRollingUpdate: Match.objectLike({ MaxBatchSize: 3, MinInstancesInService: 5, PauseTime: 'PT25M' }) }),
      CreationPolicy: { ResourceSignal: { Count: 1, Timeout: 'PT25M' } },
    });
  });

  test('termination lifecycle hook waits TimeoutStopSec + 5 min (30 min default stop)', () => {
    const { template: t } = template();
    t.hasResourceProperties('AWS::AutoScaling::LifecycleHook', {
      LifecycleHookName: 'cdk-celery-drain', LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING', HeartbeatTimeout: 2100, DefaultResult: 'CONTINUE',
    });
  });

  test('time limit drives TimeoutStopSec and the hook heartbeat', () => {
    const { stack, template: t } = template({ timeLimit: Duration.minutes(20) });
    t.hasResourceProperties('AWS::AutoScaling::LifecycleHook', { HeartbeatTimeout: 1200 + 60 + 300 });
    expect(workerUnit(stack)).toContain('\nTimeoutStopSec=1260\n');
  });

  test('the group is created after the grants the instances need at boot', () => {
    const { template: t } = template();
    const [asg] = Object.values(t.findResources('AWS::AutoScaling::AutoScalingGroup'));
    expect(asg.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^FleetInstanceRoleDefaultPolicy/), expect.stringMatching(/^FleetInstanceRole[0-9A-F]{8}$/)]));
  });
});

describe('instance role: least privilege', () => {
  const { template: t, stack, broker } = template();
  const brokerSecretId = stack.getLogicalId(broker.credentials!.node.defaultChild as any);

  test('SSM managed policy only', () => {
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({ Statement: [Match.objectLike({ Principal: { Service: 'ec2.amazonaws.com' } })] }),
      ManagedPolicyArns: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/AmazonSSMManagedInstanceCore']] }],
    });
  });

  test('exactly: read the secret, PutMetricData in CdkCelery, read the code object, signal the stack', () => {
    const policies = t.findResources('AWS::IAM::Policy', { Properties: { PolicyName: Match.stringLikeRegexp('^FleetInstanceRoleDefaultPolicy') } });
    const statements = Object.values(policies)[0].Properties.PolicyDocument.Statement;
    expect(statements).toEqual([
      { Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Effect: 'Allow', Resource: { Ref: brokerSecretId } },
      { Action: 'cloudwatch:PutMetricData', Condition: { StringEquals: { 'cloudwatch:namespace': 'CdkCelery' } }, Effect: 'Allow', Resource: '*' },
      {
        Action: ['s3:GetObject*', 's3:GetBucket*', 's3:List*'],
        Effect: 'Allow',
        Resource: [
          { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::cdk-hnb659fds-assets-123456789012-eu-west-1']] },
          { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, expect.stringMatching(/^:s3:::cdk-hnb659fds-assets-123456789012-eu-west-1\/[0-9a-f]{64}\.zip$/)]] },
        ],
      },
      { Action: 'cloudformation:SignalResource', Effect: 'Allow', Resource: { Ref: 'AWS::StackId' } },
    ]);
  });

  test('lifecycle completion and health only on this group', () => {
    const asgId = stack.getLogicalId(stack.node.findChild('Fleet').node.findChild('Group').node.defaultChild as any);
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyName: Match.stringLikeRegexp('^FleetLifecyclePolicy'),
      PolicyDocument: {
        Statement: [{
          Action: ['autoscaling:CompleteLifecycleAction', 'autoscaling:SetInstanceHealth'],
          Effect: 'Allow',
          Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':autoscaling:eu-west-1:123456789012:autoScalingGroup:*:autoScalingGroupName/', { Ref: asgId }]] },
        }],
        Version: '2012-10-17',
      },
    });
  });

  test('credentials prop overrides the broker secret: only that one is readable and named in user data', () => {
    let secretId = '';
    const { stack: ownStack } = buildFleet((st) => {
      const secret = new secretsmanager.Secret(st, 'AppUser');
      secretId = st.getLogicalId(secret.node.defaultChild as secretsmanager.CfnSecret);
      return { credentials: secret };
    });
    const policies = Template.fromStack(ownStack).findResources('AWS::IAM::Policy', { Properties: { PolicyName: Match.stringLikeRegexp('^FleetInstanceRoleDefaultPolicy') } });
    const statements = Object.values(policies)[0].Properties.PolicyDocument.Statement;
    expect(statements[0]).toEqual({ Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Effect: 'Allow', Resource: { Ref: secretId } });
    expect(JSON.stringify(statements)).not.toContain(brokerSecretId);
    expect(withValuesInlined(userDataText(ownStack))).toContain(`BROKER_SECRET_ID '<<Ref:${secretId}>>'`);
  });
});

describe('security group', () => {
  const { template: t } = template();

  test('no outbound by default except HTTPS 443 anywhere and AMQPS to the broker', () => {
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('^Celery workers'),
      SecurityGroupEgress: [{ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443, IpProtocol: 'tcp', Description: Match.anyValue() }],
    });
    t.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      FromPort: 5671,
      ToPort: 5671,
      IpProtocol: 'tcp',
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^FleetSecurityGroup'), 'GroupId'] },
      DestinationSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BrokerSecurityGroup'), 'GroupId'] },
    });
    t.resourceCountIs('AWS::EC2::SecurityGroupEgress', 1);
  });

  test('broker allows the fleet on AMQPS and nothing else', () => {
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 5671,
      ToPort: 5671,
      IpProtocol: 'tcp',
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BrokerSecurityGroup'), 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^FleetSecurityGroup'), 'GroupId'] },
    });
    t.resourceCountIs('AWS::EC2::SecurityGroupIngress', 1);
  });
});

describe('user data runs exactly the rendered command', () => {
  const variants: Array<[string, Partial<CeleryWorkerCommandOptions>]> = [
    ['defaults', {}],
    ['every option', {
      queues: ['a', 'b.c'],
      concurrency: 8,
      pool: CeleryPool.THREADS,
      hostname: 'w-%n@%h',
      prefetchMultiplier: 2,
      maxTasksPerChild: 100,
      maxMemoryPerChildKib: 200000,
      timeLimit: Duration.minutes(5),
      softTimeLimit: Duration.minutes(4),
      revokesMax: 500,
      revokeExpires: Duration.minutes(30),
      logLevel: 'DEBUG',
      settings: { task_acks_late: 'True', broker_transport_options: '(json){"confirm_publish": true}' },
      extraArguments: ['--autoscale=8,2'],
    }],
  ];

  test.each(variants)('%s', (_name, options) => {
    const { stack, broker } = buildFleet({ ...options });
    const unit = workerUnit(stack);
    const execStart = unit.split('\n').find((l) => l.startsWith('ExecStart='))!;
    const expected = renderCeleryWorkerCommand({ app: 'proj', queues: ['default'], ...options, celeryExecutable: '/opt/celery-app/.venv/bin/celery' },
      { engineVersion: broker.engineVersion });
    expect(parseSystemdCommandLine(execStart.slice('ExecStart='.length))).toEqual(expected.argv);
    expect(parseEnvironmentLines(unit)).toEqual(expected.environment);
  });

  test('safe defaults are in the argv', () => {
    const unit = workerUnit(buildFleet().stack);
    expect(unit).toMatch(/--without-mingle --without-gossip --without-heartbeat/);
    expect(unit).toContain('--prefetch-multiplier 1');
  });

  test('at-least-once delivery by default: acks late and reject on worker lost, as settings after --', () => {
    const execStart = workerUnit(buildFleet().stack).split('\n').find((l) => l.startsWith('ExecStart='))!;
    const argv = parseSystemdCommandLine(execStart.slice('ExecStart='.length));
    const settings = argv.slice(argv.indexOf('--') + 1);
    expect(settings).toEqual(expect.arrayContaining(['task_acks_late=True', 'task_reject_on_worker_lost=True']));
  });

  test('acksLate: false renders neither setting (the application decides)', () => {
    const { argv } = renderCeleryWorkerCommand({ app: 'proj', acksLate: false });
    expect(argv.join(' ')).not.toMatch(/task_acks_late|task_reject_on_worker_lost| -- /);
    const unit = workerUnit(buildFleet({ acksLate: false }).stack);
    expect(unit).not.toMatch(/task_acks_late|task_reject_on_worker_lost/);
  });

  test('the solo pool runs with concurrency 1 (Celery sizes the prefetch by concurrency even there)', () => {
    const argv = renderCeleryWorkerCommand({ app: 'proj', pool: CeleryPool.SOLO }).argv.join(' ');
    expect(argv).toContain('--pool solo --concurrency 1 ');
    expect(renderCeleryWorkerCommand({ app: 'proj', pool: CeleryPool.SOLO, concurrency: 1 }).argv.join(' ')).toContain('--concurrency 1 ');
    expect(() => renderCeleryWorkerCommand({ app: 'proj', pool: CeleryPool.SOLO, concurrency: 4 }))
      .toThrow(/^concurrency: 4 is not allowed with pool solo, which runs one task at a time/);
    expect(renderCeleryWorkerCommand({ app: 'proj', pool: CeleryPool.PREFORK }).argv).not.toContain('--concurrency');
  });

  test('settings override the rendered delivery settings', () => {
    const { argv } = renderCeleryWorkerCommand({ app: 'proj', settings: { task_acks_late: 'False' }, enableRemoteControl: false });
    expect(argv.slice(argv.indexOf('--') + 1)).toEqual(['task_acks_late=False', 'task_reject_on_worker_lost=True', 'worker_enable_remote_control=False']);
  });
});

describe('user data', () => {
  const { stack, fleet, broker } = buildFleet();
  const script = userDataText(stack);

  test('starts with the shebang', () => {
    expect(script.startsWith('#!/bin/bash\n')).toBe(true);
  });

  test('contains no secret: the URL is built on the instance from the secret ARN', () => {
    // The only amqps:// URL is the python template that fills it in on the instance.
    expect(script.match(/amqps:\/\/[^\s"]*/g)).toEqual(['amqps://%s:%s@%s:%s/%s']);
    expect(withValuesInlined(script)).toContain(`BROKER_SECRET_ID '<<Ref:${stack.getLogicalId(broker.credentials!.node.defaultChild as any)}>>'`);
    expect(script).toContain('secretsmanager get-secret-value');
    expect(script).toContain('urllib.parse.quote(v, safe="")');
  });

  test('downloads the asset, creates the venv, installs requirements', () => {
    expect(script).toMatch(/aws s3 cp --only-show-errors s3:\/\/cdk-hnb659fds-assets-123456789012-eu-west-1\/[0-9a-f]{64}\.zip /);
    expect(script).toContain('python3 -m venv /opt/celery-app/.venv');
    expect(script).toContain('/opt/celery-app/.venv/bin/pip install -q --no-cache-dir -r /opt/celery-app/requirements.txt');
  });

  test('signals the group resource only after celery inspect ping answers', () => {
    expect(script).toMatch(/--stack WorkerStack --resource FleetGroupASG[0-9A-F]{8} /);
    expect(script).toContain('inspect ping -d "${node}"');
    expect(script.indexOf('inspect ping')).toBeLessThan(script.indexOf('signal 0'));
    expect(script).toContain("trap '[ \"$?\" -eq 0 ] || signal 1' EXIT");
  });

  test('no periodic restart timer by default', () => {
    expect(script).not.toContain('/etc/systemd/system/celery-periodic-restart');
    expect(script).toContain('enable --now celery-drain.service celery-worker.service\n');
  });

  test(`default fleet user data is well under ${USER_DATA_LIMIT_BYTES} bytes`, () => {
    expect(fleet.userDataSizeBytes).toBeGreaterThan(4000);
    // At least 6 KB left for queues, settings and extra arguments (the default is about 8.2 KB).
    expect(fleet.userDataSizeBytes).toBeLessThan(USER_DATA_LIMIT_BYTES - 6 * 1024);
  });
});

describe('props', () => {
  test('x86_64 instance type selects the x86_64 image', () => {
    const { template: t } = template({ instanceType: new ec2.InstanceType('c7i.large') });
    t.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ InstanceType: 'c7i.large', ImageId: TEST_IMAGE_IDS['/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64'] }),
    });
  });

  test('a matching custom image is accepted', () => {
    const { template: t } = template({
      instanceType: new ec2.InstanceType('c7i.large'),
      machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.X86_64 }),
    });
    t.resourceCountIs('AWS::EC2::LaunchTemplate', 1);
  });

  test('root volume size and min/max', () => {
    const { template: t } = template({ rootVolumeSizeGib: 50, minCapacity: 2, maxCapacity: 6 });
    t.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ BlockDeviceMappings: [Match.objectLike({ Ebs: Match.objectLike({ VolumeSize: 50 }) })] }),
    });
    t.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MinSize: '2', MaxSize: '6' });
  });

  test('a key pair is set when given', () => {
    const { stack } = buildFleet((st) => ({ keyPair: ec2.KeyPair.fromKeyPairName(st, 'Key', 'ops') }));
    Template.fromStack(stack).hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: Match.objectLike({ KeyName: 'ops' }) });
  });

  test('WorkerCode.fromBucket grants the one object and downloads it', () => {
    const { stack } = buildFleet((st) => ({ code: WorkerCode.fromBucket(s3.Bucket.fromBucketName(st, 'CodeBucket', 'my-code-bucket'), 'releases/app-1.2.zip') }));
    const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy', { Properties: { PolicyName: Match.stringLikeRegexp('^FleetInstanceRoleDefaultPolicy') } });
    const s3Statement = Object.values(policies)[0].Properties.PolicyDocument.Statement.find((st: any) => JSON.stringify(st.Action).includes('s3:'));
    expect(s3Statement.Resource).toEqual([
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::my-code-bucket']] },
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::my-code-bucket/releases/app-1.2.zip']] },
    ]);
    expect(userDataText(stack)).toContain('aws s3 cp --only-show-errors s3://my-code-bucket/releases/app-1.2.zip "${app_zip}"');
  });

  test('WorkerCode.preinstalled: no download, no venv, no S3 grant; ExecStart uses the given celery', () => {
    const { stack } = buildFleet({ code: WorkerCode.preinstalled({ celeryExecutable: '/srv/app/venv/bin/celery', workingDirectory: '/srv/app' }) });
    const script = userDataText(stack);
    expect(script).not.toContain('aws s3 cp');
    expect(script).not.toContain('python3 -m venv');
    expect(workerUnit(stack)).toContain('ExecStart=/srv/app/venv/bin/celery -A proj worker');
    expect(workerUnit(stack)).toContain('WorkingDirectory=/srv/app');
    expect(JSON.stringify(Template.fromStack(stack).findResources('AWS::IAM::Policy'))).not.toContain('s3:GetObject');
  });

  test('user, jitter, start limit, crash-loop replacement off', () => {
    const { stack } = buildFleet({ user: 'worker', restartJitter: Duration.seconds(30), startLimitBurst: 3, startLimitInterval: Duration.minutes(5), replaceOnCrashLoop: false });
    const unit = workerUnit(stack);
    expect(unit).toContain('\nUser=worker\n');
    expect(unit).toContain('\nStartLimitBurst=3\n');
    expect(unit).toContain('\nStartLimitIntervalSec=300\n');
    expect(unit).not.toContain('OnFailure=');
    expect(writtenFile(userDataText(stack), '/usr/local/libexec/cdk-celery/prestart')).toContain('delay=$((RANDOM % 31))');
  });

  test('default unit: crash loop marks the instance unhealthy; 60 s jitter', () => {
    const { stack } = buildFleet();
    expect(workerUnit(stack)).toContain('\nOnFailure=celery-unhealthy.service\n');
    expect(writtenFile(userDataText(stack), '/usr/local/libexec/cdk-celery/prestart')).toContain('delay=$((RANDOM % 61))');
  });

  test('periodic restart installs the slot script, its service and the timer, and enables the timer', () => {
    const { stack } = buildFleet({ periodicRestart: { onCalendar: 'Sun 02:00', window: Duration.hours(4) } });
    const script = userDataText(stack);
    const timer = writtenFile(script, '/etc/systemd/system/celery-periodic-restart.timer');
    expect(timer).toContain('\nOnCalendar=Sun 02:00\n');
    expect(timer).not.toContain('RandomizedDelaySec');
    expect(writtenFile(script, '/etc/systemd/system/celery-periodic-restart.service')).toContain('\nExecStart=/usr/local/libexec/cdk-celery/periodic-restart\nTimeoutStartSec=14580');
    expect(writtenFile(script, '/usr/local/libexec/cdk-celery/periodic-restart')).toContain('\nwindow=14400\n');
    expect(script).toContain("put 0755 /usr/local/libexec/cdk-celery/periodic-restart <<'CDK_CELERY_EOF'\n");
    expect(script).toContain('enable --now celery-drain.service celery-worker.service celery-periodic-restart.timer');
  });

  test('periodic restart: the role may list Auto Scaling groups (no resource ARN exists), acknowledged for cdk-nag', () => {
    const statements = (s: Stack) => Object.values(Template.fromStack(s).findResources('AWS::IAM::Policy', { Properties: { PolicyName: Match.stringLikeRegexp('^FleetInstanceRoleDefaultPolicy') } }))[0]
      .Properties.PolicyDocument.Statement;
    const { stack } = buildFleet({ periodicRestart: {} });
    expect(statements(stack)).toContainEqual({ Action: 'autoscaling:DescribeAutoScalingGroups', Effect: 'Allow', Resource: '*' });
    const acknowledgement = JSON.stringify(Template.fromStack(stack).findResources('AWS::IAM::Policy'));
    expect(acknowledgement).toMatch(/AwsSolutions-IAM5[^}]*autoscaling:DescribeAutoScalingGroups \(periodicRestart/);
    const { stack: plain } = buildFleet();
    expect(JSON.stringify(statements(plain))).not.toContain('autoscaling:Describe');
    expect(JSON.stringify(Template.fromStack(plain).findResources('AWS::IAM::Policy'))).not.toContain('DescribeAutoScalingGroups');
  });

  test('periodic restart with the longest window keeps the user data under the limit', () => {
    const { fleet } = buildFleet({ periodicRestart: { window: Duration.hours(24) } });
    // 3.5 KB left (about 12.6 KB used): the boot script's hardening (deploy-time values decoded
    // from base64, the endpoint check, the trap first) took about 300 bytes of the former 4 KB.
    expect(fleet.userDataSizeBytes).toBeLessThan(USER_DATA_LIMIT_BYTES - 3.5 * 1024);
  });

  test('remote control off: readiness from the journal, with a warning', () => {
    const { stack, fleet } = buildFleet({ enableRemoteControl: false });
    const script = userDataText(stack);
    expect(script).not.toContain('inspect ping');
    expect(script).toContain("journalctl -b -u celery-worker.service -o cat | grep -q ' ready\\.$'");
    Annotations.fromStack(stack).hasWarning(`/${fleet.node.path}`, Match.stringLikeRegexp('enableRemoteControl is false'));
  });
});
