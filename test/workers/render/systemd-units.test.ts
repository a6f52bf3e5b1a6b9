import { spawnSync } from 'child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Duration } from 'aws-cdk-lib';
import {
  DEFAULT_INSTANCE_LAYOUT, DRAIN_SCRIPT, DRAIN_UNIT, PERIODIC_RESTART_SCRIPT, PERIODIC_RESTART_TIMER, PERIODIC_RESTART_UNIT, PRESTART_SCRIPT,
  UNHEALTHY_SCRIPT, UNHEALTHY_UNIT, WORKER_UNIT, WorkerInstanceLayout, renderCeleryWorkerCommand, renderDrainServiceUnit,
  renderPeriodicRestartServiceUnit, renderPeriodicRestartTimerUnit, renderUnhealthyServiceUnit, renderWorkerServiceUnit, systemdCommandLine,
  workerStopTimeout,
} from '../../../src/workers/render';

/**
 * `systemd-analyze verify` (systemd 252, the version Amazon Linux 2023 ships) on the rendered units,
 * with the executables they name replaced by stubs in a temporary directory. Unknown directives
 * only print a warning, so the test asserts empty output as well as the exit status.
 */
let dir: string;
let layout: WorkerInstanceLayout;
let celery: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cdk-celery-units-'));
  const libexec = join(dir, 'libexec');
  mkdirSync(libexec);
  mkdirSync(join(dir, 'units'));
  for (const name of [PRESTART_SCRIPT, DRAIN_SCRIPT, UNHEALTHY_SCRIPT, PERIODIC_RESTART_SCRIPT, 'celery']) {
    writeFileSync(join(libexec, name), '#!/bin/sh\nexit 0\n');
    chmodSync(join(libexec, name), 0o755);
  }
  celery = join(libexec, 'celery');
  layout = { ...DEFAULT_INSTANCE_LAYOUT, libexecDir: libexec, configDir: join(dir, 'etc'), stateDir: join(dir, 'run'), unitDir: join(dir, 'units') };
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function verify(units: { [name: string]: string }): { status: number | null; output: string } {
  const unitDir = mkdtempSync(join(dir, 'units-'));
  for (const [name, content] of Object.entries(units)) writeFileSync(join(unitDir, name), content);
  const result = spawnSync('systemd-analyze', ['verify', '--man=no', ...Object.keys(units).map((n) => join(unitDir, n))], {
    encoding: 'utf8',
    env: { ...process.env, SYSTEMD_LOG_LEVEL: 'warning' },
  });
  // Lines about the host's own units (no systemd running in CI containers) are not about ours.
  const output = (result.stdout + result.stderr).split('\n')
    .filter((line) => line.trim() !== '' && !/sysinit\.target|Failed to create .*\/start: Unit .* not found|Failed to prepare/.test(line))
    .join('\n');
  return { status: result.status, output };
}

function allUnits(workerArgs: Partial<Parameters<typeof renderCeleryWorkerCommand>[0]> = {}) {
  const command = renderCeleryWorkerCommand({ app: 'proj', celeryExecutable: celery, ...workerArgs });
  return {
    [WORKER_UNIT]: renderWorkerServiceUnit({ command, user: 'celery', workingDirectory: dir, stopTimeout: workerStopTimeout(workerArgs.timeLimit), layout }),
    [DRAIN_UNIT]: renderDrainServiceUnit({ layout }),
    [UNHEALTHY_UNIT]: renderUnhealthyServiceUnit({ layout }),
    [PERIODIC_RESTART_UNIT]: renderPeriodicRestartServiceUnit({ layout, window: Duration.hours(3) }),
    [PERIODIC_RESTART_TIMER]: renderPeriodicRestartTimerUnit({ onCalendar: 'Sun 02:00', window: Duration.hours(3) }),
  };
}

describe('systemd-analyze verify', () => {
  test('default units verify cleanly', () => {
    const result = verify(allUnits());
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  test('a worker with every option, odd hostname and settings verifies cleanly', () => {
    const result = verify(allUnits({
      queues: ['a', 'b.c'],
      concurrency: 4,
      hostname: 'w1@%h',
      timeLimit: Duration.minutes(10),
      softTimeLimit: Duration.minutes(9),
      settings: { task_acks_late: 'True', broker_transport_options: '(json){"confirm_publish": true}' },
      extraArguments: ['--autoscale=4,1'],
      enableRemoteControl: false,
    }));
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  test('the check can fail: a bad directive value and an unknown key are reported', () => {
    const units = allUnits();
    units[WORKER_UNIT] = units[WORKER_UNIT].replace('KillMode=mixed', 'KillMode=gentle\nFrobnicate=yes');
    const result = verify(units);
    expect(result.output).toMatch(/kill mode/i);
    expect(result.output).toMatch(/Unknown key 'Frobnicate'/);
  });

  test('the check can fail: a missing executable fails the verification', () => {
    const units = allUnits();
    units[DRAIN_UNIT] = units[DRAIN_UNIT].replace(join(layout.libexecDir, DRAIN_SCRIPT), '/nonexistent/drain');
    const result = verify(units);
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/nonexistent\/drain/);
  });
});

describe('worker service unit', () => {
  // Rendered inside each test (not when the file is collected), so that coverage per test, as a
  // mutation run uses it, credits these assertions.
  const command = () => renderCeleryWorkerCommand({ app: 'proj', celeryExecutable: '/opt/app/.venv/bin/celery', timeLimit: Duration.minutes(10) });
  const unit = (options: Partial<Parameters<typeof renderWorkerServiceUnit>[0]> = {}) => renderWorkerServiceUnit({
    command: command(), user: 'celery', workingDirectory: '/opt/app', stopTimeout: workerStopTimeout(Duration.minutes(10)), ...options,
  });

  test('every directive, in order: crash-loop limits, the sandbox, a mixed kill with the stop timeout, and restart always', () => {
    expect(unit().split('\n')).toEqual([
      '[Unit]',
      'Description=Celery worker (cdk-celery)',
      'Wants=network-online.target',
      'After=network-online.target',
      'StartLimitIntervalSec=900',
      'StartLimitBurst=5',
      `OnFailure=${UNHEALTHY_UNIT}`,
      '',
      '[Service]',
      'Type=simple',
      'User=celery',
      'Group=celery',
      'WorkingDirectory=/opt/app',
      'EnvironmentFile=/etc/cdk-celery/broker.env',
      'Environment="CELERY_WORKER_REVOKES_MAX=10000"',
      'Environment="CELERY_WORKER_REVOKE_EXPIRES=3600"',
      `ExecStartPre=+/usr/local/libexec/cdk-celery/${PRESTART_SCRIPT}`,
      `ExecStart=${systemdCommandLine(command().argv)}`,
      'KillMode=mixed',
      'KillSignal=SIGTERM',
      'TimeoutStopSec=660',
      'TimeoutStartSec=180',
      'Restart=always',
      'RestartSec=10',
      'NoNewPrivileges=yes',
      'PrivateTmp=yes',
      'ProtectSystem=full',
      'ProtectHome=yes',
      '',
      '[Install]',
      'WantedBy=multi-user.target',
      '',
    ]);
  });

  test('ExecStart is the rendered argv with % escaped for systemd', () => {
    expect(unit()).toContain(`ExecStart=${systemdCommandLine(command().argv)}`);
    expect(unit()).toContain('--hostname celery@%%h');
  });

  test('the environment is the command\'s, sorted by name', () => {
    const withEnvironment = unit({ command: { ...command(), environment: { ZED: '1', ALPHA: 'two words' } } }).split('\n');
    expect(withEnvironment.filter((l) => l.startsWith('Environment='))).toEqual(['Environment="ALPHA=two words"', 'Environment="ZED=1"']);
  });

  test('restart delay, jitter, start limits and stop timeout follow their options', () => {
    const lines = unit({
      restartDelay: Duration.seconds(30),
      restartJitter: Duration.seconds(5),
      startLimitBurst: 9,
      startLimitInterval: Duration.minutes(2),
      stopTimeout: Duration.seconds(45),
    }).split('\n');
    expect(lines).toEqual(expect.arrayContaining(['RestartSec=30', 'TimeoutStartSec=125', 'StartLimitBurst=9', 'StartLimitIntervalSec=120', 'TimeoutStopSec=45']));
  });

  test('stop timeout: the hard time limit plus 60 s, or 30 minutes without a time limit', () => {
    expect(workerStopTimeout().toSeconds()).toBe(1800);
    expect(workerStopTimeout(Duration.minutes(10)).toSeconds()).toBe(660);
  });

  test('no OnFailure when replacement on crash loop is off', () => {
    const u = unit({ workingDirectory: '/opt/app', stopTimeout: Duration.minutes(1), markUnhealthyOnCrashLoop: false });
    expect(u).not.toContain('OnFailure=');
    expect(unit({ markUnhealthyOnCrashLoop: true }).split('\n')).toContain(`OnFailure=${UNHEALTHY_UNIT}`);
  });

  test.each(['Celery', '1x', '', 'a'.repeat(32), 'ce lery', 'root;x'])('user %j is refused', (user) => {
    expect(() => unit({ user })).toThrow(/^user: .* is not a Linux user name; use lowercase letters, digits, _ and - \(at most 31\), starting with a letter or _\.$/);
  });

  test.each(['celery', '_svc', 'a'.repeat(31), 'app-worker_2'])('user %j is accepted', (user) => {
    expect(unit({ user }).split('\n')).toEqual(expect.arrayContaining([`User=${user}`, `Group=${user}`]));
  });
});

describe('drain and unhealthy units', () => {
  test('the drain service starts after the worker (so it stops first at shutdown) and restarts on failure', () => {
    expect(renderDrainServiceUnit({ layout }).split('\n')).toEqual([
      '[Unit]',
      'Description=Drain the Celery worker when Auto Scaling terminates this instance (cdk-celery)',
      'Wants=network-online.target',
      `After=network-online.target ${WORKER_UNIT}`,
      '',
      '[Service]',
      'Type=simple',
      `ExecStart=${join(layout.libexecDir, DRAIN_SCRIPT)}`,
      'Restart=on-failure',
      'RestartSec=5',
      '',
      '[Install]',
      'WantedBy=multi-user.target',
      '',
    ]);
  });

  test('the unhealthy service runs its script once, and is not enabled on its own (OnFailure= starts it)', () => {
    expect(renderUnhealthyServiceUnit({ layout }).split('\n')).toEqual([
      '[Unit]',
      'Description=Mark this instance Unhealthy after the Celery worker crash-looped (cdk-celery)',
      '',
      '[Service]',
      'Type=oneshot',
      `ExecStart=${join(layout.libexecDir, UNHEALTHY_SCRIPT)}`,
      '',
    ]);
  });

  test('both default to the instance layout\'s libexec directory', () => {
    expect(renderDrainServiceUnit()).toContain(`ExecStart=/usr/local/libexec/cdk-celery/${DRAIN_SCRIPT}\n`);
    expect(renderUnhealthyServiceUnit()).toContain(`ExecStart=/usr/local/libexec/cdk-celery/${UNHEALTHY_SCRIPT}\n`);
  });
});

describe('periodic-restart units', () => {
  test('the timer starts the service at the window start, with no random delay (the script computes the slot)', () => {
    const timer = renderPeriodicRestartTimerUnit({ onCalendar: 'Sun 02:00', window: Duration.hours(3) }).split('\n');
    expect(timer).toEqual(expect.arrayContaining(['OnCalendar=Sun 02:00', 'AccuracySec=1s', 'Persistent=false', `Unit=${PERIODIC_RESTART_UNIT}`]));
    expect(timer.filter((l) => /RandomizedDelaySec|FixedRandomDelay/.test(l))).toEqual([]);
  });

  test('the service runs the script; its start timeout covers the window and the listing', () => {
    const unit = renderPeriodicRestartServiceUnit({ window: Duration.hours(3) }).split('\n');
    expect(unit).toEqual(expect.arrayContaining(['Type=oneshot', `ExecStart=/usr/local/libexec/cdk-celery/${PERIODIC_RESTART_SCRIPT}`, `TimeoutStartSec=${3 * 3600 + 120 + 60}`]));
    expect(renderPeriodicRestartServiceUnit().split('\n')).toContain(`TimeoutStartSec=${7200 + 180}`);
  });
});
