import { spawnSync } from 'child_process';
import { Duration } from 'aws-cdk-lib';
import {
  BootScriptOptions, renderBootScript, renderBrokerEnvScript, renderDrainScript, renderPeriodicRestartScript, renderPrestartScript,
  renderUnhealthyScript,
} from '../../../src/workers/render';

function shellcheck(script: string): { status: number | null; output: string } {
  const result = spawnSync('shellcheck', ['--shell=bash', '--severity=style', '-'], { input: script, encoding: 'utf8' });
  return { status: result.status, output: result.stdout + result.stderr };
}

const base: BootScriptOptions = {
  worker: { app: 'proj.celery:app', celeryExecutable: '/opt/celery-app/.venv/bin/celery', queues: ['default', 'emails'] },
  user: 'celery',
  workingDirectory: '/opt/celery-app',
  code: { bucketName: 'cdk-assets-bucket', objectKey: 'abc123.zip' },
  virtualEnvDirectory: '/opt/celery-app/.venv',
  brokerHost: 'b-1234.mq.eu-west-1.on.aws',
  brokerPort: '5671',
  credentialsSecretId: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:celery-AbCdEf',
  lifecycleHookName: 'cdk-celery-drain',
  signal: { stackName: 'WorkerStack', logicalId: 'FleetGroupASG12345678' },
};

const bootVariants: Array<[string, BootScriptOptions]> = [
  ['default (asset code, venv, cfn-signal)', base],
  ['preinstalled code, no signal', { ...base, code: undefined, virtualEnvDirectory: undefined, signal: undefined, worker: { app: 'proj', celeryExecutable: '/usr/local/bin/celery' } }],
  ['periodic restarts, remote control off, odd hostname', {
    ...base,
    periodicRestart: { onCalendar: 'Sun 02:00', window: Duration.hours(3) },
    worker: { ...base.worker, enableRemoteControl: false, hostname: "w o'rk-er@%n.%d", settings: { task_acks_late: 'True' } },
  }],
  ['paths with spaces and quotes', { ...base, user: 'app-user', workingDirectory: "/srv/my app's code", virtualEnvDirectory: '/srv/venv dir' }],
];

describe('every generated bash script passes shellcheck with no findings', () => {
  test.each(bootVariants)('boot script: %s', (_name, options) => {
    const result = shellcheck(renderBootScript(options));
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  test.each([
    ['prestart', renderPrestartScript()],
    ['prestart without jitter', renderPrestartScript({ restartJitter: Duration.seconds(0) })],
    ['drain', renderDrainScript()],
    ['mark-unhealthy', renderUnhealthyScript()],
    ['write-broker-env', renderBrokerEnvScript()],
    ['periodic-restart', renderPeriodicRestartScript()],
    ['periodic-restart, 1-minute window', renderPeriodicRestartScript({ window: Duration.minutes(1) })],
  ])('%s script', (_name, script) => {
    const result = shellcheck(script);
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  test('the check can fail: a script with an unquoted expansion is reported', () => {
    const result = shellcheck('#!/bin/bash\nrm -rf $1/tmp\n');
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/SC2086/);
  });
});
