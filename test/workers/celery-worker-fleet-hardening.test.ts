import { App, CfnParameter, Duration, Errors, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as fc from 'fast-check';
import { APP_DIR, buildFleet } from './fleet-fixture';
import { RabbitMqBroker } from '../../src/broker';
import { CeleryMonitoring } from '../../src/monitoring';
import { CeleryPool, CeleryWorkerFleet, WorkerCode } from '../../src/workers';
import { celeryNodeName, WORKER_UNIT } from '../../src/workers/render';
import { ENV, stackWithBroker } from '../broker/broker-fixture';
import { nastyString } from '../generative/arbitraries';
import { BootSandbox, fleetUserData, SANDBOX_HOST, SANDBOX_REGION } from '../generative/boot-sandbox';
import { GENERATIVE_SEED, runsOf } from '../generative/runs';

/*
 * Issue 11, the fleet: each defect the review found, as a synthesized fleet would meet it, with the
 * whole user data run under bash (boot-sandbox.ts: IMDS, AWS CLI, cfn-signal and systemd stubbed,
 * the instance paths moved into a temporary directory).
 */

jest.setTimeout(180_000);

const sandbox = new BootSandbox();
afterAll(() => sandbox.dispose());

/** The broker endpoint the created broker's AmqpEndpoints attribute resolves to. */
const ENDPOINT = 'b-1234a5b6-78cd.mq.eu-west-1.on.aws';

function logicalIdOf(stack: Stack, type: string): string {
  const ids = Object.keys(Template.fromStack(stack).findResources(type));
  if (ids.length !== 1) throw new Error(`expected one ${type}`);
  return ids[0];
}

describe('shell injection as root at boot: WorkerCode.fromBucket with a bucket of the same stack', () => {
  test.each([
    ['a key with a quote', "reports/o'brien.zip"],
    ['a key that closes the quote and runs a command', "x'$(touch CANARY)'.zip"],
    ['a key with backticks, $ and a newline', 'a`touch CANARY`$HOME\nb.zip'],
  ])('%s: the script runs, nothing in the key runs, and the CLI gets the exact key', (_name, rawKey) => {
    const key = rawKey.split('CANARY').join(`${sandbox.canary}/hit`);
    const { stack } = buildFleet((s) => ({ code: WorkerCode.fromBucket(new s3.Bucket(s, 'CodeBucket'), key) }));
    const bucketId = logicalIdOf(stack, 'AWS::S3::Bucket');
    const script = fleetUserData(Template.fromStack(stack).toJSON(), sandbox, { [bucketId]: 'code-bucket-1a2b' }, {
      [`${logicalIdOf(stack, 'AWS::AmazonMQ::Broker')}.AmqpEndpoints`]: [`amqps://${ENDPOINT}:5671`],
    });
    const run = sandbox.run(script);
    expect(sandbox.canaryHits()).toEqual([]);
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    const copy = run.calls.find((c) => c.command === 'aws' && c.args[0] === 's3')!;
    expect(copy.args[3]).toBe(`s3://code-bucket-1a2b/${key}`);
    // The region is exported before the first AWS CLI call.
    expect(copy.region).toBe(SANDBOX_REGION);
  });
});

describe('an imported broker\'s endpointHost', () => {
  function fleetOnImported(endpointHost: string) {
    const app = new App();
    const stack = new Stack(app, 'S', { env: ENV });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    const broker = RabbitMqBroker.fromRabbitMqBrokerAttributes(stack, 'Broker', {
      brokerId: 'b-1234a5b6-78cd-901e-2fgh-3i45j6k178l9',
      brokerName: 'celery',
      endpointHost,
      credentials: (new RabbitMqBroker(stack, 'Other', { vpc })).credentials,
    });
    new CeleryWorkerFleet(stack, 'Fleet', { vpc, broker, code: WorkerCode.fromAsset(APP_DIR), app: 'proj', queues: ['default'] });
    return stack;
  }

  test.each([
    ['$(touch /tmp/x).mq.eu-west-1.on.aws', /^endpointHost: "\$\(touch \/tmp\/x\)\.mq\.eu-west-1\.on\.aws" is not a host name .*use the host name alone/],
    [`amqps://${ENDPOINT}:5671`, new RegExp(`^endpointHost: "amqps://${ENDPOINT.replace(/\./g, '\\.')}:5671" is not a host name .*use the host alone: "${ENDPOINT.replace(/\./g, '\\.')}"`)],
  ])('%j is refused at synth, naming the broker', (host, message) => {
    let error: any;
    try {
      fleetOnImported(host);
    } catch (e) {
      error = e;
    }
    expect(error?.message).toMatch(message);
    expect(Errors.isValidationError(error)).toBe(true);
    expect(error.constructPath).toBe('S/Broker');
  });

  test('a CloudFormation value that resolves to a command or a URL stops the boot with a message and a failure signal; nothing runs', () => {
    const hosts = fc.sample(fc.oneof(nastyString(), fc.constantFrom(`amqps://${ENDPOINT}:5671`, '$(touch CANARY)')), { numRuns: runsOf('fleetUserData'), seed: GENERATIVE_SEED });
    for (const raw of hosts) {
      const host = raw.split('CANARY').join(`${sandbox.canary}/hit`).replace(/[\uD800-\uDFFF]/g, '\uFFFD');
      const app = new App();
      const stack = new Stack(app, 'S', { env: ENV });
      const parameter = new CfnParameter(stack, 'BrokerHost', { type: 'String' });
      const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
      const credentials = new RabbitMqBroker(stack, 'Other', { vpc }).credentials;
      const broker = RabbitMqBroker.fromRabbitMqBrokerAttributes(stack, 'Broker', {
        brokerId: 'b-1234a5b6-78cd-901e-2fgh-3i45j6k178l9', brokerName: 'celery', endpointHost: parameter.valueAsString, credentials,
      });
      new CeleryWorkerFleet(stack, 'Fleet', { vpc, broker, code: WorkerCode.fromAsset(APP_DIR), app: 'proj', queues: ['default'] });
      const script = fleetUserData(Template.fromStack(stack).toJSON(), sandbox, { BrokerHost: host }, {
        [`${logicalIdOf(stack, 'AWS::AmazonMQ::Broker')}.AmqpEndpoints`]: [`amqps://${ENDPOINT}:5671`],
      });
      const run = sandbox.run(script);
      expect(sandbox.canaryHits()).toEqual([]);
      expect(run.instanceEnv?.BROKER_HOST).toBe(host);
      // write-broker-env's check: letters, digits, . and -, not at the ends.
      const dnsName = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host);
      if (dnsName) {
        expect(run.status).toBe(0);
        expect(run.config['broker.env']).toContain(`@${host}:5671/`);
      } else {
        expect(run.status).toBe(1);
        expect(run.stderr).toMatch(/cdk-celery: broker endpoint .* is not HOST:PORT/);
        expect(run.config['broker.env']).toBeUndefined();
        expect(run.calls.filter((c) => c.command === 'cfn-signal').map((c) => c.args.slice(0, 2))).toEqual([['-e', '1']]);
      }
    }
  });
});

describe('the readiness check waits for the node name Celery uses', () => {
  test.each(['worker%h', 'w1@%n', '@%h', 'fleet-%n@%d'])('hostname %j', (hostname) => {
    const { stack } = buildFleet({ hostname });
    const script = fleetUserData(Template.fromStack(stack).toJSON(), sandbox, {}, {
      [`${logicalIdOf(stack, 'AWS::AmazonMQ::Broker')}.AmqpEndpoints`]: [`amqps://${ENDPOINT}:5671`],
    });
    const run = sandbox.run(script);
    expect(run.status).toBe(0);
    const ping = run.calls.find((c) => c.command === 'runuser')!;
    expect(ping.args[ping.args.indexOf('-d') + 1]).toBe(celeryNodeName(hostname, SANDBOX_HOST));
    expect(run.units[WORKER_UNIT]).toContain('--hostname ');
  });

  test('-n in extraArguments, in any spelling, is refused (the check could not know the name)', () => {
    for (const extraArguments of [['-n', 'x@%h'], ['-nx@%h'], ['-n=x'], ['--hostname=x@%h'], ['-EnX']]) {
      expect(() => buildFleet({ extraArguments })).toThrow(/^extraArguments: "(-n|--hostname)" .* is set by the typed option "hostname"/);
    }
  });
});

describe('extraArguments refusals look at every spelling Celery reads', () => {
  test.each([
    [['-S/path'], /is not allowed in a worker fleet: a state database/],
    [['-Pgevent'], /is set by the typed option "pool"/],
    [['-Qother'], /is set by the typed option "queues"/],
    [['--time-limit=7200'], /is set by the typed option "timeLimit"/],
    [['--max-tasks-per-child=0'], /is set by the typed option "maxTasksPerChild"/],
  ])('%j', (extraArguments, message) => {
    expect(() => buildFleet({ extraArguments })).toThrow(message);
  });
});

describe('token-valued numbers are refused with the prop named, instead of nonsense thresholds and lost margins', () => {
  test.each([
    ['maxCapacity', (s: Stack) => ({ maxCapacity: new CfnParameter(s, 'Max', { type: 'Number' }).valueAsNumber }), /^maxCapacity: a CloudFormation value \(token\) is not accepted/],
    ['minCapacity', (s: Stack) => ({ minCapacity: new CfnParameter(s, 'Min', { type: 'Number' }).valueAsNumber }), /^minCapacity: a CloudFormation value \(token\)/],
    ['timeLimit', (s: Stack) => ({ timeLimit: Duration.seconds(new CfnParameter(s, 'T', { type: 'Number' }).valueAsNumber) }), /^timeLimit: a CloudFormation value \(token\) is not accepted; the worker command and the stop and drain timeouts/],
    ['stopTimeout', (s: Stack) => ({ stopTimeout: Duration.seconds(new CfnParameter(s, 'T', { type: 'Number' }).valueAsNumber) }), /^stopTimeout: a CloudFormation value \(token\)/],
    ['concurrency', (s: Stack) => ({ concurrency: new CfnParameter(s, 'C', { type: 'Number' }).valueAsNumber }), /^concurrency: a CloudFormation value \(token\)/],
  ])('%s', (_prop, props, message) => {
    expect(() => buildFleet(props)).toThrow(message);
  });

  test('a token root volume size is fine: it only goes into the template', () => {
    expect(() => buildFleet((s) => ({ rootVolumeSizeGib: new CfnParameter(s, 'Size', { type: 'Number' }).valueAsNumber }))).not.toThrow();
  });

  test('monitoring refuses a fleet whose maxCapacity is a token (no alarm threshold near -1e290)', () => {
    const { stack, broker } = stackWithBroker('Mon');
    const fleet = {
      node: new Stack(new App(), 'Other').node,
      maxCapacity: new CfnParameter(stack, 'Max', { type: 'Number' }).valueAsNumber,
      autoScalingGroupName: 'g',
      metricNetworkOut: () => { throw new Error('not reached'); },
      metricWorkerRestarts: () => { throw new Error('not reached'); },
    } as any;
    expect(() => new CeleryMonitoring(stack, 'Monitoring', { broker, fleets: [fleet] }))
      .toThrow(/^fleets: the maxCapacity of Other is a CloudFormation value \(token\); the fleet's and the broker's alarm thresholds are derived from it/);
  });
});

describe('accepted at synth before, failing at start or deploy: now refused at synth', () => {
  test.each([
    ['a misspelt setting', { settings: { task_acks_lat: 'True' } }, /^settings\.task_acks_lat: .* did you mean "task_acks_late"\?/],
    ['a setting that is not one', { settings: { timezone: 'UTC' } }, /^settings\.timezone: .*top-level ones such as timezone/],
    ['a log level Celery rejects', { logLevel: 'WARN' }, /^logLevel: "WARN" is not a level Celery accepts/],
    ['a pool Celery rejects', { pool: CeleryPool.of('thread') }, /^pool: "thread" is not a pool Celery accepts \(did you mean "threads"\?\)/],
    ['a duplicate queue', { queues: ['a', 'b', 'a'] }, /^queues: "a" is listed twice/],
    ['an OnCalendar systemd rejects', { periodicRestart: { onCalendar: '*-*-* 24:00' } }, /^periodicRestart\.onCalendar: "\*-\*-\* 24:00" is not a systemd OnCalendar= expression/],
    ['a readiness timeout longer than the default boot timeout', { readinessTimeout: Duration.minutes(20) }, /^readinessTimeout: 20 minutes must be shorter than bootTimeout \(15 minutes, the default\)/],
  ])('%s', (_name, props, message) => {
    expect(() => buildFleet(props as any)).toThrow(message);
  });

  test('backlog scaling evaluation periods past CloudWatch\'s one day of 1-minute periods', () => {
    const { fleet } = buildFleet();
    expect(() => fleet.scaleOnQueueBacklog('Scaling', { evaluationPeriods: 1441 })).toThrow(/^scaleOnQueueBacklog\.evaluationPeriods: 1441 is not allowed; use a whole number from 1 to 1440/);
    expect(() => fleet.scaleOnQueueBacklog('Scaling2', { queues: ['a', 'a'] })).toThrow(/^scaleOnQueueBacklog\.queues: "a" is listed twice/);
  });

  test('a setting only newer Celery knows gets a warning on the fleet', () => {
    const { stack } = buildFleet({ settings: { broker_connection_retry_on_startup: 'True' } });
    Annotations.fromStack(stack).hasWarning('/WorkerStack/Fleet', Match.stringLikeRegexp('settings\\.broker_connection_retry_on_startup is not known to Celery 5\\.2\\.6'));
  });
});
