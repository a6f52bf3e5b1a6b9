import { spawnSync } from 'child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { fleetWorkerCommand } from './fleet-command';
import { renderCeleryVersionCheck, shellQuote } from '../../../src/workers/render';
import {
  CeleryInstall, celeryInstalls, celeryRequirementFor, celeryRunsOn, installCommand, startWorker, stopAllWorkers,
} from '../../harness/celery';
import { describeEachRabbitMqProfile, rabbitMqForThisFile, RABBITMQ_PROFILE_NAMES } from '../../harness/rabbitmq';

/**
 * A Celery older than the broker needs, on the RabbitMQ 4 profiles, with each installation:
 * - without the boot check, the generated worker cannot consume there: it fails with the broker's
 *   error (what a fleet of them would do in a loop, against the broker);
 * - the boot script's version check, run with the real installation's `celery`, refuses it with one
 *   log line and the IncompatibleCelery metric, and lets every installation that can run there through.
 */

jest.setTimeout(170_000);

const QUORUM_PROFILES = RABBITMQ_PROFILE_NAMES.filter((name) => name !== '3.x');

/** Run the boot script's check with the installation's real `celery` and a stub `aws`. */
function runVersionCheck(install: CeleryInstall, requirement: { version: string; reason: string }) {
  const dir = mkdtempSync(join(tmpdir(), 'cdk-celery-gate-'));
  try {
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'bin', 'aws'), `#!/bin/sh\necho "$*" >> ${dir}/aws.log\n`);
    // `celery` as the instance has it: one executable (the installation's, through chroot for the Debian 13 root).
    const celery = installCommand(install, install.celery, '/');
    writeFileSync(join(dir, 'bin', 'celery'), `#!/bin/sh\nexec ${celery.map(shellQuote).join(' ')} "$@"\n`);
    chmodSync(join(dir, 'bin', 'aws'), 0o755);
    chmodSync(join(dir, 'bin', 'celery'), 0o755);
    writeFileSync(join(dir, 'check.sh'), `set -euo pipefail\nregion=eu-west-1\nasg_name=fleet-asg\n${renderCeleryVersionCheck({
      celeryExecutable: join(dir, 'bin', 'celery'), requirement,
    })}echo started\n`);
    const result = spawnSync('bash', [join(dir, 'check.sh')], { encoding: 'utf8', env: { PATH: `${join(dir, 'bin')}:/usr/sbin:/usr/bin:/sbin:/bin` }, timeout: 60_000 });
    let aws = '';
    try {
      aws = readFileSync(join(dir, 'aws.log'), 'utf8');
    } catch {
      // not called
    }
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, aws };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describeEachRabbitMqProfile((profile) => {
  const broker = rabbitMqForThisFile({ profile: profile.name, beforeStop: stopAllWorkers });
  const requirement = celeryRequirementFor(profile);

  for (const install of celeryInstalls().filter((i) => !i.absent)) {
    if (celeryRunsOn(install, profile)) {
      test(`${install.label}: the boot check lets it through (Celery >= ${requirement.version})`, () => {
        expect(runVersionCheck(install, requirement)).toEqual({ status: 0, stdout: 'started\n', stderr: '', aws: '' });
      });
      continue;
    }

    test(`${install.label}: without the boot check the generated worker cannot consume here`, async () => {
      const vhost = `gate-${install.version}`;
      await broker().addVhost(vhost);
      const worker = startWorker({
        install, brokerUrl: broker().amqpUrl('guest', 'guest', vhost), command: fleetWorkerCommand({ hostname: `gate-${install.version}@%h`, concurrency: 1 }, profile),
      });
      const [error] = await worker.waitForLog(
        /\(540\) NOT_IMPLEMENTED - queue '[^']+' in vhost '[^']+' does not support global qos|\(541\) INTERNAL_ERROR - Feature `transient_nonexcl_queues` is deprecated/, 60_000);
      // eslint-disable-next-line no-console
      console.log(`${install.label} on ${profile.name}: ${error}`);
      // It never became ready: the fleet's readiness check would have failed the deployment.
      expect(worker.log()).not.toMatch(new RegExp(`${worker.nodeName.replace(/[.]/g, '\\.')} ready\\.`));
      await worker.stop();
    });

    test(`${install.label}: the boot check refuses it with one line and the IncompatibleCelery metric`, () => {
      const result = runVersionCheck(install, requirement);
      expect(result.status).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(`cdk-celery: Celery ${install.version} is too old: ${requirement.reason} (Celery ${requirement.version} or later). Not starting the worker.\n`);
      expect(result.aws).toMatch(/^cloudwatch put-metric-data --region eu-west-1 --namespace CdkCelery --metric-name IncompatibleCelery --unit Count --value 1 --dimensions AutoScalingGroupName=fleet-asg\n$/);
    });
  }
}, QUORUM_PROFILES);
