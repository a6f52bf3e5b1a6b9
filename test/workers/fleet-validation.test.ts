import { App, Duration, Stack, Tags, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { buildFleet } from './fleet-fixture';
import { CeleryWorkerFleetProps, WorkerCode } from '../../src/workers';
import { resolveFleetCapacity } from '../../src/workers/fleet-capacity';
import {
  fleetCredentials, instanceTagKeyErrors, invalidInstanceTagKeyErrors, knownImageArchitecture, validateCeleryVersion, validateFleetProps,
  validateImageArchitecture, wholeNumber,
} from '../../src/workers/fleet-validation';
import { importedBroker, stackWithBroker } from '../broker/broker-fixture';

jest.setTimeout(60_000);

describe('validateFleetProps, alone: plain errors naming the prop (the fleet adds its path)', () => {
  const { vpc, broker } = stackWithBroker('S');
  const code = WorkerCode.preinstalled({ celeryExecutable: '/opt/app/bin/celery', workingDirectory: '/opt/app' });
  const base: CeleryWorkerFleetProps = { vpc, broker, app: 'proj', code };
  const check = (props: Partial<CeleryWorkerFleetProps>) => {
    const all = { ...base, ...props };
    return () => validateFleetProps(all, resolveFleetCapacity(all));
  };

  test('valid props pass', () => {
    expect(check({})).not.toThrow();
  });

  test.each<[string, Partial<CeleryWorkerFleetProps>, RegExp]>([
    ['a worker option (through the renderer)', { concurrency: 0 }, /^concurrency: 0 is not allowed/],
    ['a capacity token', { maxCapacity: Token.asNumber({ Ref: 'Max' }) }, /^maxCapacity: a CloudFormation value \(token\) is not accepted/],
    ['min over max', { minCapacity: 3, maxCapacity: 2 }, /^minCapacity: 3 is more than maxCapacity \(2\)\.$/],
    ['min in service against the resolved max', { minInstancesInService: 4 }, /^minInstancesInService: 4 is not allowed; use a whole number from 0 to 3\.$/],
    ['a user name token', { user: Token.asString({ Ref: 'User' }) }, /^user: .* is not a Linux user name/],
    ['a fractional timeout', { startLimitInterval: Duration.millis(90_500) }, /^startLimitInterval: .* use whole seconds of at least 60\.$/],
    ['a boot timeout token', { bootTimeout: Duration.seconds(Token.asNumber({ Ref: 'T' })) }, /^bootTimeout: a CloudFormation value \(token\) is not accepted/],
    ['readiness not shorter than the default boot timeout', { readinessTimeout: Duration.minutes(15) }, /^readinessTimeout: 15 minutes must be shorter than bootTimeout \(15 minutes, the default\)/],
    ['a bad periodic restart', { periodicRestart: { window: Duration.seconds(30) } }, /^periodicRestart\.window: 30 seconds is not allowed/],
  ])('%s', (_name, props, message) => {
    expect(check(props)).toThrow(message);
  });

  test('celeryExecutable from an untyped caller is refused', () => {
    expect(check({ celeryExecutable: '/x' } as Partial<CeleryWorkerFleetProps>)).toThrow(/^celeryExecutable: "\/x" cannot be set on the fleet/);
  });

  test('a root volume size token is accepted (it only goes into the template)', () => {
    expect(check({ rootVolumeSizeGib: Token.asNumber({ Ref: 'Size' }) })).not.toThrow();
  });
});

test('wholeNumber: range, fraction, token', () => {
  expect(() => wholeNumber('p', undefined, 1)).not.toThrow();
  expect(() => wholeNumber('p', 5, 1, 5)).not.toThrow();
  expect(() => wholeNumber('p', 6, 1, 5)).toThrow('p: 6 is not allowed; use a whole number from 1 to 5.');
  expect(() => wholeNumber('p', 1.5, 1)).toThrow('p: 1.5 is not allowed; use a whole number of at least 1.');
  expect(() => wholeNumber('p', Token.asNumber({ Ref: 'X' }), 1)).toThrow(/^p: a CloudFormation value \(token\) is not accepted/);
  expect(() => wholeNumber('p', Token.asNumber({ Ref: 'X' }), 1, undefined, true)).not.toThrow();
});

describe('image architecture', () => {
  test.each([
    ['/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64', ec2.InstanceArchitecture.ARM_64],
    ['/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64', ec2.InstanceArchitecture.X86_64],
    ['/my/golden-image', undefined],
  ])('%s', (parameter, architecture) => {
    expect(knownImageArchitecture(ec2.MachineImage.fromSsmParameter(parameter))).toBe(architecture);
    expect(knownImageArchitecture(ec2.MachineImage.resolveSsmParameterAtLaunch(parameter))).toBe(architecture);
  });

  test('a parameter name token or an image without one is not checked', () => {
    expect(knownImageArchitecture(ec2.MachineImage.fromSsmParameter(Token.asString({ Ref: 'P' })))).toBeUndefined();
    expect(knownImageArchitecture(ec2.MachineImage.genericLinux({ 'eu-west-1': 'ami-12345678' }))).toBeUndefined();
  });

  test('validateImageArchitecture refuses a mismatch and names both', () => {
    const x86 = ec2.MachineImage.fromSsmParameter('/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64');
    expect(() => validateImageArchitecture(x86, new ec2.InstanceType('c7i.large'))).not.toThrow();
    expect(() => validateImageArchitecture(x86, new ec2.InstanceType('m7g.large')))
      .toThrow('machineImage: the image is built for x86_64 but instanceType m7g.large is arm64; pick an image and an instance type of the same architecture.');
  });
});

describe('fleetCredentials', () => {
  test('the fleet\'s secret first, else the broker\'s', () => {
    const { stack, broker } = stackWithBroker('S');
    const own = new secretsmanager.Secret(stack, 'Own');
    expect(fleetCredentials({ broker, credentials: own })).toBe(own);
    expect(fleetCredentials({ broker })).toBe(broker.credentials);
  });

  test('neither: refused, naming the broker', () => {
    const stack = new Stack(new App(), 'S', { env: { account: '123456789012', region: 'eu-west-1' } });
    const broker = importedBroker(stack);
    expect(() => fleetCredentials({ broker })).toThrow(/^credentials: the broker S\/Broker has no credentials secret; pass credentials/);
  });
});

test('validateCeleryVersion: an older Celery than the broker needs is refused; unknown or new enough passes', () => {
  const { broker } = stackWithBroker('S');
  const requirement = { version: '5.5', reason: 'quorum queues need worker_detect_quorum_queues' };
  const code = { celeryExecutable: '/c', workingDirectory: '/w' };
  expect(() => validateCeleryVersion('S/Fleet', code, requirement, { broker })).not.toThrow();
  expect(() => validateCeleryVersion('S/Fleet', { ...code, celeryVersion: '5.5.0' }, requirement, { broker })).not.toThrow();
  expect(() => validateCeleryVersion('S/Fleet', { ...code, celeryVersion: '5.4.0', celeryVersionSource: 'requirements.txt' }, requirement, { broker }))
    .toThrow(/^S\/Fleet: code: the application's Celery is 5\.4\.0 \(requirements\.txt\), but on this broker \(engine version .*\) quorum queues need worker_detect_quorum_queues: use Celery 5\.5 or later\.$/);
});

describe('instance tag keys', () => {
  test('invalidInstanceTagKeyErrors: spaces, slashes and the reserved names, each once', () => {
    const errors = invalidInstanceTagKeyErrors(['team', 'cost center', 'aws/x', 'cost center', '.', '..', '_index', 'a:b=c+d@e']);
    expect(errors.map((e) => e.slice(0, e.indexOf(' cannot')))).toEqual([
      'tags: instance tag key "cost center"', 'tags: instance tag key "aws/x"', 'tags: instance tag key "."',
      'tags: instance tag key ".."', 'tags: instance tag key "_index"',
    ]);
  });

  test('instanceTagKeyErrors reads the group\'s propagated tags and the launch template\'s', () => {
    const { app, fleet } = buildFleet();
    Tags.of(fleet).add('Cost Center', '1');
    Tags.of(fleet.autoScalingGroup).add('Not/Propagated', '1', { applyToLaunchedInstances: false });
    // Tags are applied by aspects at synth, which the fleet's own validation then refuses.
    expect(() => app.synth()).toThrow(/instance tag key "Cost Center"/);
    const group = fleet.autoScalingGroup as Parameters<typeof instanceTagKeyErrors>[0];
    expect(instanceTagKeyErrors(group, fleet.launchTemplate).map((e) => e.slice(0, e.indexOf(' cannot')))).toEqual(['tags: instance tag key "Cost Center"']);
  });
});
