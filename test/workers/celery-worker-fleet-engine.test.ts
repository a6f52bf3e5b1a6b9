import { spawnSync } from 'child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { buildFleet } from './fleet-fixture';
import { parseSystemdCommandLine, userDataText, writtenFile } from './user-data';
import { RabbitMqEngineVersion, RabbitMqInstanceType } from '../../src/broker';
import { CeleryQueueType, CeleryWorkerFleet, WorkerCode } from '../../src/workers';
import { renderCeleryVersionCheck } from '../../src/workers/render';
import { importedBroker, stackWithBroker } from '../broker/broker-fixture';

/** What the fleet renders for its broker's engine version (see also test/workers/render/broker-settings.test.ts). */

const V3_13 = { engineVersion: RabbitMqEngineVersion.V3_13, instanceType: RabbitMqInstanceType.M5_LARGE };

function workerSettings(stack: Parameters<typeof userDataText>[0]): { [key: string]: string } {
  const unit = writtenFile(userDataText(stack), '/etc/systemd/system/celery-worker.service');
  const argv = parseSystemdCommandLine(unit.split('\n').find((l) => l.startsWith('ExecStart='))!.slice('ExecStart='.length));
  return Object.fromEntries(argv.slice(argv.indexOf('--') + 1).map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));
}

describe('the fleet renders for its broker', () => {
  test('default broker (RabbitMQ 4.2): quorum task queues, version check 5.5, readiness through celery-ctl', () => {
    const { stack } = buildFleet({ queues: ['orders'] });
    expect(workerSettings(stack)).toMatchObject({ task_queues: expect.stringContaining('"x-queue-type":"quorum"'), worker_detect_quorum_queues: '(bool)True' });
    const script = userDataText(stack);
    expect(script).toContain("printf '%s\\n' 5.5 \"${celery_version}\"");
    expect(writtenFile(script, '/usr/local/libexec/cdk-celery/celery-ctl')).toContain('export CDK_CELERY_EXCLUSIVE_CONTROL_QUEUES=0\n');
    expect(script).toContain('/usr/local/libexec/cdk-celery/celery-ctl inspect ping -d "${node}" --timeout 5');
    expect(script).not.toMatch(/ -A proj inspect ping/);
  });

  test('RabbitMQ 3.13: no queue settings, version check 5.0', () => {
    const { stack } = buildFleet({ queues: ['orders'] }, { broker: V3_13 });
    expect(workerSettings(stack)).toEqual({ task_acks_late: 'True', task_reject_on_worker_lost: 'True' });
    expect(userDataText(stack)).toContain("printf '%s\\n' 5.0 \"${celery_version}\"");
  });

  test('an imported 4.3 broker: exclusive control queues for the worker and for celery-ctl, version check 5.6', () => {
    const { stack, vpc } = stackWithBroker('Imported');
    const broker = importedBroker(stack, { engineVersion: RabbitMqEngineVersion.of('4.3'), credentials: undefined }, 'Existing');
    const { secret } = { secret: (stack.node.findChild('Broker') as any).credentials };
    new CeleryWorkerFleet(stack, 'Fleet', { vpc, broker, credentials: secret, code: WorkerCode.fromAsset(join(__dirname, 'fixtures', 'app')), app: 'proj', queues: ['orders'] });
    expect(workerSettings(stack)).toMatchObject({ control_queue_exclusive: '(bool)True', event_queue_exclusive: '(bool)True' });
    const script = userDataText(stack);
    expect(writtenFile(script, '/usr/local/libexec/cdk-celery/celery-ctl')).toContain('export CDK_CELERY_EXCLUSIVE_CONTROL_QUEUES=1\n');
    expect(script).toContain("printf '%s\\n' 5.6 \"${celery_version}\"");
  });

  test('an imported broker of unknown version: no queue type, and a warning naming the fix', () => {
    const { stack, vpc } = stackWithBroker('Unknown');
    const broker = importedBroker(stack, {}, 'Existing');
    const fleet = new CeleryWorkerFleet(stack, 'Fleet', {
      vpc, broker, credentials: (stack.node.findChild('Broker') as any).credentials, code: WorkerCode.fromAsset(join(__dirname, 'fixtures', 'app')), app: 'proj',
    });
    expect(workerSettings(stack)).toEqual({ task_acks_late: 'True', task_reject_on_worker_lost: 'True' });
    Annotations.fromStack(stack).hasWarning(`/${fleet.node.path}`, Match.stringLikeRegexp("The broker's engine version is unknown.*Pass engineVersion to RabbitMqBroker.fromRabbitMqBrokerAttributes"));
  });

  test('queueType CLASSIC on 4.2 is rendered as classic declarations', () => {
    expect(workerSettings(buildFleet({ queues: ['orders'], queueType: CeleryQueueType.CLASSIC }).stack).task_queues).toContain('"x-queue-type":"classic"');
  });

  test('nativeDelayedDelivery: false warns that ETA tasks hold worker slots', () => {
    const { stack, fleet } = buildFleet({ nativeDelayedDelivery: false });
    Annotations.fromStack(stack).hasWarning(`/${fleet.node.path}`, Match.stringLikeRegexp('nativeDelayedDelivery is false: ETA and countdown tasks'));
  });
});

describe('a Celery known at synth to be too old for the broker is refused', () => {
  const OLD_APP = join(__dirname, 'fixtures', 'app-celery-5.2');

  test('requirements.txt pinning celery==5.2.6 on RabbitMQ 4.2: the fleet, the pin and the minimum are named', () => {
    expect(() => buildFleet({ code: WorkerCode.fromAsset(OLD_APP) })).toThrow(
      /^WorkerStack\/Fleet: code: the application's Celery is 5\.2\.6 \(pinned in .*app-celery-5\.2\/requirements\.txt\), but on this broker \(engine version 4\.2\) quorum queues need worker_detect_quorum_queues: use Celery 5\.5 or later\.$/);
  });

  test('the same pin is fine on RabbitMQ 3.13', () => {
    expect(() => buildFleet({ code: WorkerCode.fromAsset(OLD_APP) }, { broker: V3_13 })).not.toThrow();
  });

  test('WorkerCode.preinstalled celeryVersion 5.5.2 on RabbitMQ 4.3 is refused; 5.6.3 is fine; a malformed version is refused', () => {
    const preinstalled = (celeryVersion: string) => WorkerCode.preinstalled({ celeryExecutable: '/opt/app/bin/celery', workingDirectory: '/opt/app', celeryVersion });
    const v43 = { broker: { engineVersion: RabbitMqEngineVersion.of('4.3') } };
    expect(() => buildFleet({ code: preinstalled('5.5.2') }, v43)).toThrow(/Celery is 5\.5\.2 \(WorkerCode\.preinstalled celeryVersion\).*RabbitMQ 4\.3 needs control_queue_exclusive: use Celery 5\.6 or later/);
    expect(() => buildFleet({ code: preinstalled('5.6.3') }, v43)).not.toThrow();
    expect(() => preinstalled('latest')).toThrow(/^code: WorkerCode\.preinstalled celeryVersion "latest" is not a Celery version/);
  });

  test('ranges say nothing for certain: celery>=5.2 is checked at boot only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cdk-celery-range-'));
    try {
      writeFileSync(join(dir, 'proj.py'), '');
      writeFileSync(join(dir, 'requirements.txt'), 'celery>=5.2\n');
      expect(() => buildFleet({ code: WorkerCode.fromAsset(dir) })).not.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the boot-time Celery version check, run under bash', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cdk-celery-version-check-'));
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'bin', 'aws'), `#!/bin/bash\necho "$*" >> ${dir}/aws.log\n`);
    chmodSync(join(dir, 'bin', 'aws'), 0o755);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function check(celeryOutput: string | undefined, minimum: string) {
    const celery = join(dir, 'bin', 'celery');
    writeFileSync(celery, celeryOutput === undefined ? '#!/bin/sh\nexit 127\n' : `#!/bin/sh\necho '${celeryOutput}'\n`);
    chmodSync(celery, 0o755);
    const script = `set -euo pipefail\nregion=eu-west-1\nasg_name=fleet-asg\n${renderCeleryVersionCheck({
      celeryExecutable: celery, requirement: { version: minimum, reason: 'quorum queues need worker_detect_quorum_queues' },
    })}echo continued\n`;
    writeFileSync(join(dir, 'check.sh'), script);
    const result = spawnSync('bash', [join(dir, 'check.sh')], { encoding: 'utf8', env: { PATH: `${join(dir, 'bin')}:/usr/bin:/bin` } });
    let aws = '';
    try {
      aws = readFileSync(join(dir, 'aws.log'), 'utf8');
    } catch {
      // no call
    }
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, aws };
  }

  test.each([['5.5.0 (immunity)', '5.5'], ['5.6.3 (recovery)', '5.5'], ['5.6.3 (recovery)', '5.6'], ['5.10.1 (x)', '5.6']])('%s against %s: the boot goes on, nothing published', (out, min) => {
    expect(check(out, min)).toEqual({ status: 0, stdout: 'continued\n', stderr: '', aws: '' });
  });

  test.each([['5.2.6 (dawn-chorus)', '5.5'], ['5.5.2 (immunity)', '5.6'], ['5.5.0rc1 (x)', '5.6']])('%s against %s: one line, the metric, the boot fails', (out, min) => {
    const version = out.split(' ')[0];
    const result = check(out, min);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`cdk-celery: Celery ${version} is too old: quorum queues need worker_detect_quorum_queues (Celery ${min} or later). Not starting the worker.\n`);
    expect(result.aws).toBe('cloudwatch put-metric-data --region eu-west-1 --namespace CdkCelery --metric-name IncompatibleCelery --unit Count --value 1 '
      + '--dimensions AutoScalingGroupName=fleet-asg\n');
  });

  test('a celery that does not run counts as too old (unknown version)', () => {
    const result = check(undefined, '5.5');
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^cdk-celery: Celery unknown is too old/);
  });
});
