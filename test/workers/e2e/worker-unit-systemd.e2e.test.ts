import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { hostname } from 'os';
import { join } from 'path';
import { Duration } from 'aws-cdk-lib';
import { FLEET_CELERY, fleetBrokerOptions, fleetWorkerCommand } from './fleet-command';
import {
  BROKER_ENV_FILE, DEFAULT_INSTANCE_LAYOUT, INSTANCE_ENV_FILE, PERIODIC_RESTART_SCRIPT, PERIODIC_RESTART_TIMER, PERIODIC_RESTART_UNIT,
  PLANNED_RESTART_MARKER, PRESTART_SCRIPT, UNHEALTHY_SCRIPT, UNHEALTHY_UNIT, WORKER_UNIT, layoutPath, periodicRestartSlotSeconds,
  renderPeriodicRestartScript, renderPeriodicRestartServiceUnit, renderPeriodicRestartTimerUnit, renderPrestartScript, renderUnhealthyScript,
  renderUnhealthyServiceUnit, renderWorkerServiceUnit, CeleryWorkerCommand, workerStopTimeout,
} from '../../../src/workers/render';
import {
  CeleryInstall, DEFAULT_VENV_DIR, HARNESS_APP, HARNESS_APP_DIR, celeryInstalls, celeryRunsOn, control, readEvents, sendTasks, testEachCelery,
} from '../../harness/celery';
import { producerConfigure } from '../../harness/client-settings';
import { describeEachRabbitMqProfile, rabbitMqForThisFile } from '../../harness/rabbitmq';
import { pollUntil } from '../../harness/reaper';
import { Systemd, startSystemd, systemdUnavailable } from '../../harness/systemd';
import { buildFleet } from '../fleet-fixture';
import { userDataText, writtenFile } from '../user-data';

/**
 * The rendered worker unit under a real systemd 252 (PID 1 of a private namespace, see
 * harness/systemd.ts) running a real Celery worker of each installation, with the real prestart and
 * mark-unhealthy scripts and a stub `aws` that records its calls. It shows what the unit promises:
 * every exit, status 0 included, is restarted and counted; a crash loop hits the start limit and
 * marks the instance Unhealthy; `systemctl stop` is a warm shutdown (KillMode=mixed).
 *
 * Test values: the paths (layout), and the timings (2 s restart delay, 1 s jitter, a start limit of
 * 4 starts in 2 minutes instead of 5 in 15) so that a crash loop takes seconds.
 */

jest.setTimeout(170_000);

const START_LIMIT_BURST = 4;
const RESTART_METRIC = 'cloudwatch put-metric-data --namespace CdkCelery --metric-name WorkerRestarts --unit Count --value 1 '
  + '--dimensions AutoScalingGroupName=e2e-asg';
describeEachRabbitMqProfile((profile) => {
  const broker = rabbitMqForThisFile({ profile: profile.name });

  /** Directories the worker unit's PrivateTmp= and ProtectHome= hide from the worker. */
  const SANDBOX_HIDDEN_DIRS = ['/tmp/', '/var/tmp/', '/home/', '/root/', '/run/user/'];

  interface Instance {
    readonly systemd: Systemd;
    readonly nodeName: string;
    readonly brokerUrl: string;
    readonly events: string;
    readonly command: CeleryWorkerCommand;
    awsCalls(): string[];
    /** How many times the worker has logged "NODE ready." (one per start). */
    readyCount(): Promise<number>;
    mainPid(): Promise<number>;
  }

  /**
   * The worker unit under test: the fleet's command (parsed from its user data) with `celery` at
   * `celeryExecutable`, rendered with paths under `root` and short restart timings.
   */
  function testUnit(root: string, celeryExecutable: string, nodeTemplate: string) {
    const layout = {
      ...DEFAULT_INSTANCE_LAYOUT,
      libexecDir: join(root, 'libexec'),
      configDir: join(root, 'etc-cdk'),
      stateDir: join(root, 'state'),
      unitDir: join(root, 'units'),
    };
    const fleet = fleetWorkerCommand({ hostname: nodeTemplate, concurrency: 1 }, profile);
    const command: CeleryWorkerCommand = { ...fleet, argv: [celeryExecutable, ...fleet.argv.slice(1)] };
    const unit = renderWorkerServiceUnit({
      command,
      user: 'celery',
      workingDirectory: join(root, 'app'),
      stopTimeout: workerStopTimeout(),
      layout,
      // 2 s: the auto-restart state the test reads between an exit and the next start lasts at least this.
      restartDelay: Duration.seconds(2),
      restartJitter: Duration.seconds(1),
      startLimitBurst: START_LIMIT_BURST,
      startLimitInterval: Duration.minutes(2),
    });
    return { layout, command, unit };
  }

  /** `Key=value` lines of a unit, by key (a key may repeat). */
  function directives(unit: string): { [key: string]: string[] } {
    const out: { [key: string]: string[] } = {};
    for (const line of unit.split('\n')) {
      const eq = line.indexOf('=');
      if (eq > 0 && !line.startsWith('#')) (out[line.slice(0, eq)] ??= []).push(line.slice(eq + 1));
    }
    return out;
  }

  test('the unit under test is the fleet\'s synthesized unit with only paths and restart timings changed', () => {
    const { stack } = buildFleet({ app: HARNESS_APP, queues: undefined, hostname: 'unit-x@%h', concurrency: 1 }, { broker: fleetBrokerOptions(profile) });
    const fleetUnit = directives(writtenFile(userDataText(stack), layoutPath(DEFAULT_INSTANCE_LAYOUT.unitDir, WORKER_UNIT)));
    const tested = directives(testUnit('/ROOT', FLEET_CELERY, 'unit-x@%h').unit);
    expect(Object.keys(tested).sort()).toEqual(Object.keys(fleetUnit).sort());
    const changed = Object.keys(tested).filter((k) => JSON.stringify(tested[k]) !== JSON.stringify(fleetUnit[k])).sort();
    expect(changed).toEqual(['EnvironmentFile', 'ExecStartPre', 'RestartSec', 'StartLimitBurst', 'StartLimitIntervalSec', 'TimeoutStartSec', 'WorkingDirectory']);
    // Among what is the same: ExecStart, Environment=, KillMode, Restart, TimeoutStopSec, OnFailure, User, sandboxing.
    expect(fleetUnit.KillMode).toEqual(['mixed']);
    expect(fleetUnit.Restart).toEqual(['always']);
  });

  /** Planned restarts in a test instance: the window, and the group's InService instances the stub `aws` lists. */
  interface TestPeriodicRestart {
    readonly window: Duration;
    readonly listing: string[];
  }

  /**
   * A namespaced systemd with the rendered units and scripts, as the boot script installs them (the
   * periodic-restart service and script when `periodic` is given; the test installs the timer).
   */
  async function bootInstance(install: CeleryInstall, periodic?: TestPeriodicRestart): Promise<Instance> {
    const label = install.version!.replace(/\./g, '-');
    const vhost = `systemd-${label}${periodic ? '-periodic' : ''}`;
    await broker().addVhost(vhost);
    const brokerUrl = broker().amqpUrl('guest', 'guest', vhost);
    let command: CeleryWorkerCommand | undefined;
    const systemd = await startSystemd({
      users: ['celery'],
      bindMounts: [{ source: 'stub-bin', target: '/usr/local/bin' }],
      setup: (root) => {
        // systemd runs ExecStart without a shell and Debian's Celery has no `celery` script: a
        // one-line exec wrapper stands in for it (the main PID stays Python's).
        const celeryExecutable = install.celery.length === 1 ? install.celery[0] : join(root, 'bin', 'celery');
        const hidden = SANDBOX_HIDDEN_DIRS.find((dir) => celeryExecutable.startsWith(dir));
        if (hidden) {
          throw new Error(`${celeryExecutable} is under ${hidden}, which the unit's sandbox (PrivateTmp, ProtectHome) hides from the worker: `
            + `install Celery elsewhere (scripts/install-test-deps.sh uses ${DEFAULT_VENV_DIR}).`);
        }
        const rendered = testUnit(root, celeryExecutable, `unit-${label}@%h`);
        const { layout, unit } = rendered;
        command = rendered.command;
        const window = periodic?.window;
        return {
          units: {
            [WORKER_UNIT]: unit,
            [UNHEALTHY_UNIT]: renderUnhealthyServiceUnit({ layout }),
            ...(periodic ? { [PERIODIC_RESTART_UNIT]: renderPeriodicRestartServiceUnit({ layout, window }) } : {}),
          },
          files: {
            ...(periodic ? {
              [`libexec/${PERIODIC_RESTART_SCRIPT}`]: { content: renderPeriodicRestartScript({ layout, window }), mode: 0o755 },
              // What `aws autoscaling describe-auto-scaling-groups ... --output text` prints for the group.
              listing: { content: `${periodic.listing.join('\t')}\n` },
            } : {}),
            [`libexec/${PRESTART_SCRIPT}`]: { content: renderPrestartScript({ layout, restartJitter: Duration.seconds(1) }), mode: 0o755 },
            [`libexec/${UNHEALTHY_SCRIPT}`]: { content: renderUnhealthyScript({ layout }), mode: 0o755 },
            [`etc-cdk/${INSTANCE_ENV_FILE}`]: { content: 'export ASG_NAME=e2e-asg INSTANCE_ID=i-0e2e AWS_DEFAULT_REGION=eu-west-1\n', mode: 0o600 },
            [`etc-cdk/${BROKER_ENV_FILE}`]: { content: `CELERY_BROKER_URL=${brokerUrl}\n`, mode: 0o600 },
            'stub-bin/aws': {
              content: `#!/bin/sh\necho "$*" >> ${root}/aws.log\nif [ "$2" = describe-auto-scaling-groups ] && [ -e ${root}/listing ]; then cat ${root}/listing; fi\n`,
              mode: 0o755,
            },
            'bin/celery': { content: `#!/bin/sh\nexec ${install.celery.join(' ')} "$@"\n`, mode: 0o755 },
          },
        };
      },
    });
    const root = systemd.root;
    mkdirSync(join(root, 'app'));
    copyFileSync(join(HARNESS_APP_DIR, `${HARNESS_APP}.py`), join(root, 'app', `${HARNESS_APP}.py`));
    mkdirSync(join(root, 'events'));
    chmodSync(join(root, 'events'), 0o777); // the worker runs as `celery`
    const nodeName = `unit-${label}@${hostname()}`;
    return {
      systemd,
      nodeName,
      brokerUrl,
      command: command!,
      events: join(root, 'events', 'events.jsonl'),
      awsCalls: () => (existsSync(join(root, 'aws.log')) ? readFileSync(join(root, 'aws.log'), 'utf8').trim().split('\n').filter(Boolean) : []),
      readyCount: async () => (await systemd.journalctl(['-u', WORKER_UNIT, '-o', 'cat'])).split('\n').filter((l) => l.endsWith(`${nodeName} ready.`)).length,
      mainPid: async () => Number((await systemd.show(WORKER_UNIT, ['MainPID'])).MainPID),
    };
  }

  /** Wait until the worker unit waits to be restarted; its properties then describe the run that ended. */
  async function waitForAutoRestart(systemd: Systemd, timeoutMs = 30_000) {
    return systemd.waitFor(WORKER_UNIT, ['SubState', 'ExecMainCode', 'ExecMainStatus'], (p) => p.SubState === 'auto-restart',
      { timeoutMs, what: 'worker unit in auto-restart' });
  }

  /** Wait for the n-th "ready." of the worker (the n-th start). */
  async function waitReadyCount(instance: Instance, n: number, timeoutMs = 60_000): Promise<void> {
    await pollUntil(async () => (await instance.readyCount()) >= n, {
      timeoutMs,
      intervalMs: 300,
      what: `start #${n} of ${instance.nodeName} ready`,
      describe: async () => (instance.systemd.journalctl(['-u', WORKER_UNIT, '-o', 'cat', '-n', '40'])),
    });
  }

  const unavailable = systemdUnavailable();
  if (unavailable) {
    test.skip(`rendered unit under a namespaced systemd (skipped: ${unavailable})`, () => undefined);
  } else {
    testEachCelery('the rendered unit under systemd: exit 0 restarted and counted, crash loop marks Unhealthy, stop is warm', async (install) => {
      const instance = await bootInstance(install);
      const { systemd } = instance;
      try {
        // systemd read the rendered unit as rendered.
        const props = await systemd.show(WORKER_UNIT, ['KillMode', 'KillSignal', 'Restart', 'RestartUSec', 'StartLimitBurst', 'StartLimitIntervalUSec',
          'TimeoutStopUSec', 'Type', 'User', 'OnFailure', 'ExecStart']);
        expect(props).toMatchObject({
          KillMode: 'mixed',
          KillSignal: '15',
          Restart: 'always',
          RestartUSec: '2s',
          StartLimitBurst: String(START_LIMIT_BURST),
          StartLimitIntervalUSec: '2min',
          TimeoutStopUSec: '30min',
          Type: 'simple',
          User: 'celery',
          OnFailure: UNHEALTHY_UNIT,
        });
        // systemd parsed ExecStart back into the rendered argv (%% unescaped to %).
        expect(props.ExecStart).toContain(`argv[]=${instance.command.argv.join(' ')} ;`);

        // First start after boot: not a restart, nothing published.
        await systemd.systemctl(['start', WORKER_UNIT]);
        await waitReadyCount(instance, 1);
        expect(instance.awsCalls()).toEqual([]);
        const firstPid = await instance.mainPid();

        // 1. The worker exits 0 (a remote `shutdown`, a clean exit that Restart=on-failure would
        //    leave stopped): restarted, and counted once.
        await control(install, 'shutdown', { brokerUrl: instance.brokerUrl, configure: producerConfigure(profile, ['celery']), nodes: [instance.nodeName] });
        // Between the exit and the restart (RestartSec plus the prestart's jitter) the unit waits in
        // auto-restart with the exit status of the run that ended: 0, exited (CLD_EXITED = 1).
        expect(await waitForAutoRestart(systemd)).toMatchObject({ ExecMainCode: '1', ExecMainStatus: '0' });
        await waitReadyCount(instance, 2);
        expect(await systemd.show(WORKER_UNIT, ['NRestarts', 'ActiveState'])).toEqual({ NRestarts: '1', ActiveState: 'active' });
        expect(await instance.mainPid()).not.toBe(firstPid);
        expect(instance.awsCalls()).toEqual([RESTART_METRIC]);

        // 2. The incident's crash: Celery 5.2 logs "Unrecoverable error" and exits 0; the task that was
        //    running is redelivered (acks late) to the restarted worker. Celery >= 5.3 does not crash.
        const marker = join(systemd.root, 'events', 'crashed-once');
        const [crashId] = await sendTasks(install, 'harness_tasks.crash_once', { brokerUrl: instance.brokerUrl, configure: producerConfigure(profile, ['celery']), args: [instance.events, marker] });
        const crashes = /^5\.[0-2]\./.test(install.version!);
        if (crashes) {
          // The worker takes about 30 s to give up its pool after the error, then exits 0.
          expect(await waitForAutoRestart(systemd, 90_000)).toMatchObject({ ExecMainCode: '1', ExecMainStatus: '0' });
          expect(await systemd.journalctl(['-u', WORKER_UNIT, '-o', 'cat'])).toContain('Unrecoverable error: TypeError');
          await waitReadyCount(instance, 3);
          expect((await systemd.show(WORKER_UNIT, ['NRestarts'])).NRestarts).toBe('2');
          expect(instance.awsCalls()).toEqual([RESTART_METRIC, RESTART_METRIC]);
          await pollUntil(() => readEvents(instance.events).some((e) => e.id === crashId && e.event === 'done' && e.redelivered),
            { timeoutMs: 30_000, what: 'crashed task redelivered and done' });
        } else {
          await pollUntil(() => readEvents(instance.events).some((e) => e.id === crashId && e.event === 'start'), { timeoutMs: 30_000, what: 'task ran' });
          await pollUntil(async () => /Retry in 3600s/.test(await systemd.journalctl(['-u', WORKER_UNIT, '-o', 'cat'])), { timeoutMs: 10_000, what: 'retry logged' });
          expect((await systemd.show(WORKER_UNIT, ['NRestarts'])).NRestarts).toBe('1');
        }

        // 3. A crash loop: exits until the start limit; the unit fails and OnFailure marks the
        //    instance Unhealthy.
        for (let starts = await instance.readyCount(); starts < START_LIMIT_BURST; starts++) {
          await control(install, 'shutdown', { brokerUrl: instance.brokerUrl, configure: producerConfigure(profile, ['celery']), nodes: [instance.nodeName] });
          await waitReadyCount(instance, starts + 1);
        }
        // One start more than the burst within the interval: refused.
        await control(install, 'shutdown', { brokerUrl: instance.brokerUrl, configure: producerConfigure(profile, ['celery']), nodes: [instance.nodeName] });
        await systemd.waitFor(WORKER_UNIT, ['ActiveState', 'Result'], (p) => p.Result === 'start-limit-hit' && p.ActiveState === 'failed',
          { timeoutMs: 60_000, what: 'start limit hit' });
        await pollUntil(() => instance.awsCalls().some((c) => c.startsWith('autoscaling set-instance-health')), { timeoutMs: 30_000, what: 'instance marked Unhealthy' });
        expect(instance.awsCalls().filter((c) => c.startsWith('autoscaling'))).toEqual([
          'autoscaling set-instance-health --instance-id i-0e2e --health-status Unhealthy --no-should-respect-grace-period',
        ]);
        expect(instance.awsCalls().filter((c) => c === RESTART_METRIC)).toHaveLength(START_LIMIT_BURST - 1);

        // 4. `systemctl stop` while a task runs: TERM to the main process only, the task finishes.
        await systemd.systemctl(['reset-failed', WORKER_UNIT]);
        const starts = await instance.readyCount();
        await systemd.systemctl(['start', WORKER_UNIT]);
        await waitReadyCount(instance, starts + 1);
        const [taskId] = await sendTasks(install, 'harness_tasks.record', { brokerUrl: instance.brokerUrl, configure: producerConfigure(profile, ['celery']), args: [instance.events, 4] });
        await pollUntil(() => readEvents(instance.events).some((e) => e.id === taskId && e.event === 'start'), { timeoutMs: 30_000, what: 'long task started' });
        await systemd.systemctl(['stop', WORKER_UNIT], { timeoutMs: 60_000 });
        expect(readEvents(instance.events).filter((e) => e.id === taskId).map((e) => e.event)).toEqual(['start', 'done']);
        expect(await systemd.show(WORKER_UNIT, ['ActiveState', 'Result', 'ExecMainStatus'])).toMatchObject({ ActiveState: 'inactive', Result: 'success', ExecMainStatus: '0' });
      } finally {
        await systemd.stop();
      }
    }, undefined, { profile, hostOnly: true });
  }

  /**
   * The periodic restart under the same systemd: the rendered timer (its calendar a few seconds
   * ahead) starts the rendered service, whose script lists the group through the stub `aws`, waits
   * for this instance's slot (a 1-minute window and rank 2 of 20: a few seconds) and restarts the
   * worker while it runs a task. One Celery installation: the unit's restart semantics were shown
   * for both above.
   */
  const firstInstall = celeryInstalls().find((i) => !i.absent && !i.inRoot && celeryRunsOn(i, profile));
  if (unavailable || !firstInstall) {
    test.skip(`periodic restart under a namespaced systemd (skipped: ${unavailable ?? 'no Celery installation'})`, () => undefined);
  } else {
    test(`${firstInstall.label}: the timer's service restarts the worker warm at the instance's slot, not counted as a crash`, async () => {
      const window = Duration.minutes(1);
      // i-0e2e (the instance env's INSTANCE_ID) sorts second of 20.
      const listing = ['i-0000000000000000a', 'i-0e2e', ...Array.from({ length: 18 }, (_, k) => `i-f${String(k).padStart(16, '0')}`)];
      const offset = periodicRestartSlotSeconds({ instanceIds: listing, instanceId: 'i-0e2e', groupName: 'e2e-asg', window });
      expect(offset).toBeGreaterThanOrEqual(3);
      expect(offset).toBeLessThan(6);
      const instance = await bootInstance(firstInstall, { window, listing });
      const { systemd } = instance;
      try {
        await systemd.systemctl(['start', WORKER_UNIT]);
        await waitReadyCount(instance, 1);
        const firstPid = await instance.mainPid();

        // A task that runs across the restart: started before the window, lasting past the slot.
        const [taskId] = await sendTasks(firstInstall, 'harness_tasks.record', { brokerUrl: instance.brokerUrl, configure: producerConfigure(profile, ['celery']), args: [instance.events, 4 + offset + 4] });
        await pollUntil(() => readEvents(instance.events).some((e) => e.id === taskId && e.event === 'start'), { timeoutMs: 30_000, what: 'long task started' });

        // The rendered timer, its window starting 3 s from now.
        const at = new Date(Math.ceil(Date.now() / 1000) * 1000 + 3000).toISOString().slice(11, 19);
        writeFileSync(join(systemd.root, 'units', PERIODIC_RESTART_TIMER), renderPeriodicRestartTimerUnit({ onCalendar: `*-*-* ${at} UTC`, window }));
        await systemd.systemctl(['daemon-reload']);
        await systemd.systemctl(['start', PERIODIC_RESTART_TIMER]);
        await systemd.waitFor(PERIODIC_RESTART_UNIT, ['ActiveState'], (p) => p.ActiveState === 'activating', { timeoutMs: 15_000, what: 'timer started the service' });

        await waitReadyCount(instance, 2);
        const service = await systemd.waitFor(PERIODIC_RESTART_UNIT, ['ActiveState', 'Result', 'ExecMainStartTimestampMonotonic', 'ExecMainExitTimestampMonotonic'],
          (p) => p.ActiveState === 'inactive', { timeoutMs: 10_000, what: 'periodic restart service done' });
        expect(service.Result).toBe('success');
        expect(await systemd.journalctl(['-u', PERIODIC_RESTART_UNIT, '-o', 'cat'])).toContain(`planned restart in slot 2 of 20: offset=${offset}s after the window start`);
        // It queued the restart at its offset (whole seconds counted from the script's start, so up to 1 s early).
        const waitedMs = (Number(service.ExecMainExitTimestampMonotonic) - Number(service.ExecMainStartTimestampMonotonic)) / 1000;
        expect(waitedMs).toBeGreaterThanOrEqual((offset - 1) * 1000);
        expect(waitedMs).toBeLessThan((offset + 3) * 1000);

        // Warm: the running task finished before the worker stopped, once (no redelivery).
        expect(readEvents(instance.events).filter((e) => e.id === taskId).map((e) => e.event)).toEqual(['start', 'done']);
        expect(await instance.mainPid()).not.toBe(firstPid);
        // Planned: not an automatic restart, not published as a crash, the marker consumed.
        expect((await systemd.show(WORKER_UNIT, ['NRestarts', 'ActiveState']))).toEqual({ NRestarts: '0', ActiveState: 'active' });
        expect(instance.awsCalls()).toEqual([
          "autoscaling describe-auto-scaling-groups --auto-scaling-group-names e2e-asg --output text --query AutoScalingGroups[0].Instances[?LifecycleState=='InService'].InstanceId",
        ]);
        expect(existsSync(join(systemd.root, 'state', PLANNED_RESTART_MARKER))).toBe(false);
      } finally {
        await systemd.stop();
      }
    });
  }
});
