import { spawnSync } from 'child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { fleetWorkerCommand, renderedWorkerCommand } from './fleet-command';
import {
  BROKER_ENV_FILE, CELERY_CLIENT_MODULE, CELERY_CLIENT_PYTHON_DIR, DEFAULT_INSTANCE_LAYOUT, renderCeleryClientModule, renderCeleryCtlScript,
  shellQuote,
} from '../../../src/workers/render';
import {
  CeleryInstall, HARNESS_APP, HARNESS_APP_DIR, installCommand, startWorker, stopAllWorkers, testEachCelery,
} from '../../harness/celery';
import { describeEachRabbitMqProfile, rabbitMqForThisFile } from '../../harness/rabbitmq';

/**
 * `celery-ctl`, the instance's celery command line for operators and the boot script's readiness
 * check (`celery-ctl inspect ping -d NODE`), rendered as the fleet renders it and run for real on
 * every broker profile: it reads the broker URL from the root-only env file, imports the app
 * through the rendered `cdk_celery_client` module (exclusive reply queues where the broker refuses
 * transient ones), and reaches the worker; `control shutdown` stops it.
 */

jest.setTimeout(170_000);

describeEachRabbitMqProfile((profile) => {
  const broker = rabbitMqForThisFile({ profile: profile.name, beforeStop: stopAllWorkers });

  /** The rendered script and module in a layout under a temporary directory; `celery` is the installation's. */
  function installCeleryCtl(install: CeleryInstall, brokerUrl: string): { dir: string; ctl: string } {
    const dir = mkdtempSync(join(tmpdir(), 'cdk-celery-ctl-'));
    const layout = { ...DEFAULT_INSTANCE_LAYOUT, libexecDir: join(dir, 'libexec'), configDir: join(dir, 'etc') };
    mkdirSync(join(layout.libexecDir, CELERY_CLIENT_PYTHON_DIR), { recursive: true });
    mkdirSync(layout.configDir);
    writeFileSync(join(layout.configDir, BROKER_ENV_FILE), `CELERY_BROKER_URL=${brokerUrl}\n`, { mode: 0o600 });
    writeFileSync(join(layout.libexecDir, CELERY_CLIENT_PYTHON_DIR, `${CELERY_CLIENT_MODULE}.py`), renderCeleryClientModule());
    // `celery` as an instance has it: one executable (through chroot for the Debian 13 root's).
    const celery = join(dir, 'celery');
    writeFileSync(celery, `#!/bin/sh\nexec ${installCommand(install, install.celery, HARNESS_APP_DIR).map(shellQuote).join(' ')} "$@"\n`);
    chmodSync(celery, 0o755);
    const ctl = join(layout.libexecDir, 'celery-ctl');
    writeFileSync(ctl, renderCeleryCtlScript({
      app: HARNESS_APP,
      celeryExecutable: celery,
      user: 'root',
      workingDirectory: HARNESS_APP_DIR,
      exclusiveControlQueues: renderedWorkerCommand({}, profile).exclusiveControlQueues,
      layout,
    }));
    chmodSync(ctl, 0o755);
    return { dir, ctl };
  }

  testEachCelery('celery-ctl inspect ping answers (the readiness check), control commands reach it (shutdown stops it)', async (install) => {
    const vhost = `ctl-${install.version}`;
    await broker().addVhost(vhost);
    const brokerUrl = broker().amqpUrl('guest', 'guest', vhost);
    const worker = startWorker({ install, brokerUrl, command: fleetWorkerCommand({ hostname: `ctl-${install.version}@%h`, concurrency: 1 }, profile) });
    await worker.waitReady();
    const { dir, ctl } = installCeleryCtl(install, brokerUrl);
    try {
      const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
      const ping = spawnSync(ctl, ['inspect', 'ping', '-d', worker.nodeName, '--timeout', '5'], { encoding: 'utf8', env, timeout: 60_000 });
      expect({ status: ping.status, stderr: ping.stderr }).toEqual({ status: 0, stderr: '' });
      expect(ping.stdout).toMatch(new RegExp(`->\\s+${worker.nodeName.replace(/\./g, '\\.')}: OK\\s+pong`));
      // Nobody else answers for another node: the exit status is what the readiness loop reads.
      expect(spawnSync(ctl, ['inspect', 'ping', '-d', 'nobody@nowhere', '--timeout', '2'], { encoding: 'utf8', env, timeout: 60_000 }).status).not.toBe(0);
      // A control command with a reply, then shutdown (the worker does not reply to it: Celery's CLI
      // then exits 69, "No nodes replied").
      const limit = spawnSync(ctl, ['control', 'rate_limit', 'harness_tasks.record', '10/s', '-d', worker.nodeName, '--timeout', '5'], { encoding: 'utf8', env, timeout: 60_000 });
      expect({ status: limit.status, stdout: limit.stdout }).toEqual({ status: 0, stdout: expect.stringContaining('new rate limit set successfully') });
      spawnSync(ctl, ['control', 'shutdown', '-d', worker.nodeName, '--timeout', '2'], { encoding: 'utf8', env, timeout: 60_000 });
      expect(await worker.exited).toEqual({ code: 0, signal: null });
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await worker.stop();
    }
  }, undefined, { profile });
});
