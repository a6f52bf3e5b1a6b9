import { join } from 'path';
import { App, CfnParameter, Stack } from 'aws-cdk-lib';
import * as fc from 'fast-check';
import { BootScriptOptions, celeryNodeName, nodeNameTemplateError, renderBootScript, WORKER_UNIT } from '../../../src/workers/render';
import { nastyString, withCanary } from '../../generative/arbitraries';
import { BootRun, BootSandbox, SANDBOX_HOST, SANDBOX_REGION, StubCall } from '../../generative/boot-sandbox';
import { evaluateIntrinsics } from '../../generative/cfn-evaluate';
import { GENERATIVE_SEED, runsOf } from '../../generative/runs';
import { parseSystemdCommandLine } from '../user-data';

/*
 * Every string that reaches the boot script, generated (quotes, $(...), backticks, %, CR, LF,
 * unicode, empty), each either as a literal or as a CloudFormation value (a parameter) that
 * resolves to it at deploy time. The script is rendered, the template's intrinsic functions are
 * evaluated as CloudFormation would with the generated values, and the result runs under bash
 * with IMDS, the AWS CLI, cfn-signal, useradd and systemctl stubbed (boot-sandbox.ts). Asserted:
 * nothing the text holds runs (no canary file, only the expected commands are called), and the
 * exact bytes arrive where they belong (the S3 URL the CLI gets, the instance env file, cfn-signal's
 * stack and resource, the node name the readiness check waits for); a broker host that is not a
 * DNS name stops the boot with a message and a failure signal instead of reaching broker.env.
 */

jest.setTimeout(240_000);

const sandbox = new BootSandbox();
afterAll(() => sandbox.dispose());

/** A field's text, and whether it is given as a literal or as a CloudFormation value. */
interface Field {
  readonly text: string;
  readonly token: boolean;
}

interface Case {
  readonly bucket: Field;
  readonly key: Field;
  readonly host: Field;
  readonly port: Field;
  readonly secret: Field;
  readonly hook: Field;
  readonly stackName: Field;
  readonly logicalId: Field;
  /** `--hostname` (literal: a token is refused, see the last test). */
  readonly hostname?: string;
  /** Name of the working directory inside the sandbox. */
  readonly directory: string;
}

/** CloudFormation parameter values are UTF-8 text: no lone surrogate can reach them. */
const wellFormed = (text: string) => text.replace(/[\uD800-\uDFFF]/g, '\uFFFD');

const field = (text: fc.Arbitrary<string>) => fc.record({ text, token: fc.boolean() })
  .map((f) => (f.token ? { ...f, text: wellFormed(f.text) } : f));

// Weighted towards usable endpoints, so that most cases boot all the way to the readiness check.
const hostText = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('b-1234a5b6-78cd.mq.eu-west-1.on.aws', 'localhost', '10.0.1.5', 'b-1.mq.cn-north-1.amazonaws.com.cn') },
  { weight: 1, arbitrary: fc.constantFrom('amqps://b-1.mq.eu-west-1.on.aws:5671', 'b-1.mq.eu-west-1.on.aws:5671') },
  { weight: 2, arbitrary: nastyString() },
);
const caseArbitrary: fc.Arbitrary<Case> = fc.record({
  bucket: field(nastyString()),
  key: field(nastyString()),
  host: field(hostText),
  port: field(fc.oneof({ weight: 4, arbitrary: fc.constant('5671') }, { weight: 1, arbitrary: fc.constantFrom('0', '65536', '1') }, { weight: 1, arbitrary: nastyString({ maxParts: 2 }) })),
  secret: field(nastyString()),
  hook: field(nastyString()),
  stackName: field(nastyString()),
  logicalId: field(nastyString()),
  hostname: fc.option(fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom('celery@%h', 'w1@%n', 'worker%h', '@%d', 'name@', '%I@%d', "it's $(x) @%h") },
    { weight: 1, arbitrary: nastyString() },
  ), { nil: undefined }),
  directory: fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom('app', "my app's code", 'caf\u00e9 $(x) `y`') },
    { weight: 1, arbitrary: nastyString({ maxParts: 3 }).map((d) => d.replace(/\//g, '_') || 'app') },
  ),
});

/** What the instance takes for a host name (write-broker-env's check): letters, digits, . and -, not at the ends. */
const DNS_NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The options for `c`, with every token field a CloudFormation parameter; and the parameters' deploy-time values. */
function render(c: Case, canary: string): { script: string; refs: { [id: string]: string } } {
  const stack = new Stack(new App(), 'Boot');
  const refs: { [id: string]: string } = { 'AWS::Region': SANDBOX_REGION };
  const value = (name: string, f: Field) => {
    const text = withCanary(f.text, canary);
    if (!f.token) return text;
    refs[name] = text;
    return new CfnParameter(stack, name, { type: 'String' }).valueAsString;
  };
  const workingDirectory = sandbox.workingDirectory(withCanary(c.directory, canary));
  const options: BootScriptOptions = {
    worker: { app: 'proj', celeryExecutable: sandbox.celery, hostname: c.hostname === undefined ? undefined : withCanary(c.hostname, canary) },
    user: 'celery',
    workingDirectory,
    code: { bucketName: value('Bucket', c.bucket), objectKey: value('Key', c.key) },
    virtualEnvDirectory: join(workingDirectory, '.venv'),
    brokerHost: value('Host', c.host),
    brokerPort: value('Port', c.port),
    credentialsSecretId: value('Secret', c.secret),
    lifecycleHookName: value('Hook', c.hook),
    signal: { stackName: value('StackName', c.stackName), logicalId: value('LogicalId', c.logicalId) },
    layout: sandbox.layout,
  };
  const script = renderBootScript(options);
  return { script: String(evaluateIntrinsics(stack.resolve(script), { refs })), refs };
}

/** What the case's text becomes for a field (the canary placeholder filled in). */
const text = (f: Field) => withCanary(f.text, sandbox.canary);
const callsOf = (run: BootRun, command: string): StubCall[] => run.calls.filter((c) => c.command === command);

let refused = 0;
let booted = 0;
let stoppedOnHost = 0;

test('no generated value runs, and each arrives exactly where it belongs', () => {
  fc.assert(fc.property(caseArbitrary, (c) => {
    let rendered: ReturnType<typeof render>;
    try {
      rendered = render(c, sandbox.canary);
    } catch (e) {
      // Refusals are for literal text the instance could not use as given; each names its prop.
      const message = (e as Error).message;
      const hostname = c.hostname === undefined ? undefined : withCanary(c.hostname, sandbox.canary);
      const literalFields = [c.bucket, c.key, c.host, c.port, c.secret, c.hook, c.stackName, c.logicalId].filter((f) => !f.token);
      const justified = (hostname !== undefined && nodeNameTemplateError(hostname) !== undefined && message.startsWith('hostname:'))
        || (message.startsWith('workingDirectory:') || message.startsWith('virtualEnvDirectory:'))
        || (literalFields.some((f) => LONE_SURROGATE.test(f.text)) && /is not well-formed Unicode/.test(message));
      expect({ message, justified }).toEqual({ message, justified: true });
      refused++;
      return;
    }

    const run = sandbox.run(rendered.script);
    expect(sandbox.canaryHits()).toEqual([]);
    // Only the expected commands ran (python3, install, rm... are real and unrecorded).
    for (const call of run.calls) expect(['curl', 'aws', 'id', 'systemctl', 'runuser', 'cfn-signal']).toContain(call.command);

    // The code download: the exact URL, with the Region set.
    const [copy] = callsOf(run, 'aws').filter((call) => call.args[0] === 's3');
    expect(copy.args.slice(0, 3)).toEqual(['s3', 'cp', '--only-show-errors']);
    expect(copy.args[3]).toBe(`s3://${text(c.bucket)}/${text(c.key)}`);
    expect(copy.region).toBe(SANDBOX_REGION);

    // The instance env file: every value exactly, whatever it holds.
    expect(run.instanceEnv).toEqual({
      AWS_DEFAULT_REGION: SANDBOX_REGION,
      INSTANCE_ID: 'i-0123456789abcdef0',
      ASG_NAME: 'fleet-asg',
      BROKER_SECRET_ID: text(c.secret),
      BROKER_HOST: text(c.host),
      BROKER_PORT: text(c.port),
      LIFECYCLE_HOOK_NAME: text(c.hook),
    });

    // The worker unit carries the node name template exactly.
    const execStart = run.units[WORKER_UNIT].split('\n').find((l) => l.startsWith('ExecStart='))!.slice('ExecStart='.length);
    const argv = parseSystemdCommandLine(execStart);
    const hostname = c.hostname === undefined ? 'celery@%h' : withCanary(c.hostname, sandbox.canary);
    expect(argv[argv.indexOf('--hostname') + 1]).toBe(hostname);

    const signals = callsOf(run, 'cfn-signal');
    const port = text(c.port);
    const usableEndpoint = DNS_NAME.test(text(c.host)) && /^[0-9]{1,5}$/.test(port) && Number(port) > 0 && Number(port) < 65536;
    if (usableEndpoint) {
      expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
      expect(run.config['broker.env']).toBe(`CELERY_BROKER_URL=amqps://celery:p%40ss%2Fword%25@${text(c.host)}:${port}/celery\n`);
      // The readiness check asks for the node Celery will call itself.
      const [ping] = callsOf(run, 'runuser');
      expect(ping.args[ping.args.indexOf('-d') + 1]).toBe(celeryNodeName(hostname, SANDBOX_HOST));
      expect(signals.map((s) => s.args)).toEqual([['-e', '0', '--stack', text(c.stackName), '--resource', text(c.logicalId), '--region', SANDBOX_REGION]]);
      booted++;
    } else {
      // A host or port that is not one stops the boot before broker.env, with a message and a failure signal.
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/cdk-celery: broker endpoint .* is not HOST:PORT/);
      expect(run.config['broker.env']).toBeUndefined();
      expect(signals.map((s) => s.args)).toEqual([['-e', '1', '--stack', text(c.stackName), '--resource', text(c.logicalId), '--region', SANDBOX_REGION]]);
      stoppedOnHost++;
    }
  }), { numRuns: runsOf('bootScript'), seed: GENERATIVE_SEED });
  // The generator reaches every outcome.
  expect({ booted: booted > 0, stoppedOnHost: stoppedOnHost > 0, refused: refused > 0 })
    .toEqual({ booted: true, stoppedOnHost: true, refused: true });
  // eslint-disable-next-line no-console
  console.log(`boot script: ${runsOf('bootScript')} generated cases (${booted} booted, ${stoppedOnHost} stopped on the broker endpoint, ${refused} refused at synth)`);
});

test('the failure trap is in place before the first step that can fail: no metadata, still a failure signal', () => {
  const { script } = render({
    bucket: { text: 'b', token: false },
    key: { text: 'k.zip', token: false },
    host: { text: 'h.example', token: false },
    port: { text: '5671', token: false },
    secret: { text: 's', token: false },
    hook: { text: 'hook', token: false },
    stackName: { text: 'Stack', token: false },
    logicalId: { text: 'Group', token: false },
    directory: 'app',
  }, sandbox.canary);
  const run = sandbox.run(script, { IMDS_FAIL: '1' });
  expect(run.status).not.toBe(0);
  expect(callsOf(run, 'cfn-signal').map((s) => s.args.slice(0, 6))).toEqual([['-e', '1', '--stack', 'Stack', '--resource', 'Group']]);
});

test('CloudFormation values are refused where they would be written into a unit (hostname, app, settings, extra arguments)', () => {
  const stack = new Stack(new App(), 'Units');
  const token = new CfnParameter(stack, 'P', { type: 'String' }).valueAsString;
  const base: BootScriptOptions = {
    worker: { app: 'proj', celeryExecutable: '/opt/celery-app/.venv/bin/celery' },
    user: 'celery',
    workingDirectory: '/opt/celery-app',
    brokerHost: 'h',
    brokerPort: '5671',
    credentialsSecretId: 's',
    lifecycleHookName: 'hook',
    layout: sandbox.layout,
  };
  expect(() => renderBootScript({ ...base, worker: { ...base.worker, hostname: token } })).toThrow(/^hostname: .*a CloudFormation value \(token\) is not accepted/);
  expect(() => renderBootScript({ ...base, worker: { ...base.worker, app: token } })).toThrow(/^app: /);
  expect(() => renderBootScript({ ...base, worker: { ...base.worker, settings: { worker_log_format: token } } })).toThrow(/^settings\.worker_log_format: .*token/);
  expect(() => renderBootScript({ ...base, worker: { ...base.worker, extraArguments: ['-X', token] } })).toThrow(/^extraArguments: .*token/);
  expect(() => renderBootScript({ ...base, workingDirectory: token })).toThrow(/^workingDirectory: .*token/);
  expect(nodeNameTemplateError('celery@%h')).toBeUndefined();
});
