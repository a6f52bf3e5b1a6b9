import { Duration } from 'aws-cdk-lib';
import { CeleryWorkerCommand } from './celery-worker-command';
import {
  DEFAULT_INSTANCE_LAYOUT, DRAIN_SCRIPT, PERIODIC_RESTART_SCRIPT,
  PRESTART_SCRIPT, UNHEALTHY_SCRIPT, UNHEALTHY_UNIT, WORKER_UNIT, WorkerInstanceLayout, BROKER_ENV_FILE, layoutPath,
} from './instance-layout';
import { DEFAULT_PERIODIC_RESTART_WINDOW, PERIODIC_RESTART_LIST_TIMEOUT } from './periodic-restart';
import { systemdCommandLine, systemdEnvironmentAssignment, systemdPathSetting } from './shell-quote';

/** `TimeoutStopSec` when tasks have no hard time limit: Amazon MQ's default `consumer_timeout` (30 min). */
export const DEFAULT_STOP_TIMEOUT = Duration.minutes(30);
/** Added to the task time limit: the pool needs a moment to kill the task and report it. */
export const STOP_TIMEOUT_MARGIN = Duration.seconds(60);
/** Longest random sleep before a crash restart. */
export const DEFAULT_RESTART_JITTER = Duration.seconds(60);
/** Pause before systemd restarts the worker (the jitter comes on top). */
export const DEFAULT_RESTART_DELAY = Duration.seconds(10);
/** Crash loop: this many starts ... */
export const DEFAULT_START_LIMIT_BURST = 5;
/** ... within this interval stop the restarts and fail the unit. */
export const DEFAULT_START_LIMIT_INTERVAL = Duration.minutes(15);

/**
 * How long systemd waits for a warm shutdown before it kills the pool: the hard task time limit
 * plus a margin, or `DEFAULT_STOP_TIMEOUT` when tasks have no limit.
 */
export function workerStopTimeout(timeLimit?: Duration): Duration {
  if (!timeLimit) return DEFAULT_STOP_TIMEOUT;
  return Duration.seconds(timeLimit.toSeconds() + STOP_TIMEOUT_MARGIN.toSeconds());
}

/** Options of the worker service unit. */
export interface WorkerServiceUnitOptions {
  /** The rendered worker command (argv and environment). */
  readonly command: CeleryWorkerCommand;
  /** Unprivileged user the worker runs as. */
  readonly user: string;
  /** Working directory of the worker (where the application module is importable). */
  readonly workingDirectory: string;
  /** `TimeoutStopSec`: how long a warm shutdown may take. */
  readonly stopTimeout: Duration;
  /**
   * Longest random sleep of the prestart script (bounds `TimeoutStartSec`).
   * @default DEFAULT_RESTART_JITTER (60 seconds)
   */
  readonly restartJitter?: Duration;
  /**
   * `RestartSec`.
   * @default DEFAULT_RESTART_DELAY (10 seconds)
   */
  readonly restartDelay?: Duration;
  /**
   * `StartLimitBurst`.
   * @default DEFAULT_START_LIMIT_BURST (5)
   */
  readonly startLimitBurst?: number;
  /**
   * `StartLimitIntervalSec`.
   * @default DEFAULT_START_LIMIT_INTERVAL (15 minutes)
   */
  readonly startLimitInterval?: Duration;
  /**
   * Start the mark-unhealthy unit when the start limit is hit (`OnFailure=`).
   * @default true
   */
  readonly markUnhealthyOnCrashLoop?: boolean;
  /**
   * Paths on the instance.
   * @default DEFAULT_INSTANCE_LAYOUT
   */
  readonly layout?: WorkerInstanceLayout;
}

/**
 * The worker service: a foreground `celery worker` (`Type=simple`) restarted after every exit,
 * status 0 included (Celery 5.0-5.2 exit 0 after a crash), stopped warm (TERM to the main process
 * only, `KillMode=mixed`), with a crash-loop limit that fails the unit so the instance is replaced.
 */
export function renderWorkerServiceUnit(options: WorkerServiceUnitOptions): string {
  const layout = options.layout ?? DEFAULT_INSTANCE_LAYOUT;
  if (!/^[a-z_][a-z0-9_-]{0,30}$/.test(options.user)) {
    throw new Error(`user: ${JSON.stringify(options.user)} is not a Linux user name; use lowercase letters, digits, _ and - (at most 31), starting with a letter or _.`);
  }
  const jitter = (options.restartJitter ?? DEFAULT_RESTART_JITTER).toSeconds();
  const environment = Object.keys(options.command.environment).sort()
    .map((name) => `Environment=${systemdEnvironmentAssignment(name, options.command.environment[name])}`);
  const lines = [
    '[Unit]',
    'Description=Celery worker (cdk-celery)',
    'Wants=network-online.target',
    'After=network-online.target',
    `StartLimitIntervalSec=${(options.startLimitInterval ?? DEFAULT_START_LIMIT_INTERVAL).toSeconds()}`,
    `StartLimitBurst=${options.startLimitBurst ?? DEFAULT_START_LIMIT_BURST}`,
    ...(options.markUnhealthyOnCrashLoop ?? true ? [`OnFailure=${UNHEALTHY_UNIT}`] : []),
    '',
    '[Service]',
    'Type=simple',
    `User=${options.user}`,
    `Group=${options.user}`,
    // Specifiers escaped: systemd would expand a "%h" in the path.
    `WorkingDirectory=${systemdPathSetting('workingDirectory', options.workingDirectory)}`,
    `EnvironmentFile=${layoutPath(layout.configDir, BROKER_ENV_FILE)}`,
    ...environment,
    // '+': the prestart script runs as root, outside the sandbox, to publish the restart metric.
    `ExecStartPre=+${layoutPath(layout.libexecDir, PRESTART_SCRIPT)}`,
    `ExecStart=${systemdCommandLine(options.command.argv)}`,
    'KillMode=mixed',
    'KillSignal=SIGTERM',
    `TimeoutStopSec=${options.stopTimeout.toSeconds()}`,
    `TimeoutStartSec=${jitter + 120}`,
    'Restart=always',
    `RestartSec=${(options.restartDelay ?? DEFAULT_RESTART_DELAY).toSeconds()}`,
    'NoNewPrivileges=yes',
    'PrivateTmp=yes',
    'ProtectSystem=full',
    'ProtectHome=yes',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ];
  return lines.join('\n');
}

/** Options of the drain service. */
export interface DrainServiceUnitOptions {
  /**
   * Paths on the instance.
   * @default DEFAULT_INSTANCE_LAYOUT
   */
  readonly layout?: WorkerInstanceLayout;
}

/** The drain service: watches for this instance's scale-in and drains the worker. */
export function renderDrainServiceUnit(options: DrainServiceUnitOptions = {}): string {
  const layout = options.layout ?? DEFAULT_INSTANCE_LAYOUT;
  return [
    '[Unit]',
    'Description=Drain the Celery worker when Auto Scaling terminates this instance (cdk-celery)',
    'Wants=network-online.target',
    // Ordered after the worker so that at shutdown it stops first and never races the worker's stop.
    `After=network-online.target ${WORKER_UNIT}`,
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${layoutPath(layout.libexecDir, DRAIN_SCRIPT)}`,
    'Restart=on-failure',
    'RestartSec=5',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** Options of the mark-unhealthy unit. */
export interface UnhealthyServiceUnitOptions {
  /**
   * Paths on the instance.
   * @default DEFAULT_INSTANCE_LAYOUT
   */
  readonly layout?: WorkerInstanceLayout;
}

/** Started by `OnFailure=` when the worker hits its start limit: asks Auto Scaling to replace the instance. */
export function renderUnhealthyServiceUnit(options: UnhealthyServiceUnitOptions = {}): string {
  const layout = options.layout ?? DEFAULT_INSTANCE_LAYOUT;
  return [
    '[Unit]',
    'Description=Mark this instance Unhealthy after the Celery worker crash-looped (cdk-celery)',
    '',
    '[Service]',
    'Type=oneshot',
    `ExecStart=${layoutPath(layout.libexecDir, UNHEALTHY_SCRIPT)}`,
    '',
  ].join('\n');
}

/** Options of the periodic-restart service. */
export interface PeriodicRestartServiceUnitOptions {
  /** Length of the restart window (bounds `TimeoutStartSec`). */
  readonly window?: Duration;
  /** Paths on the instance. */
  readonly layout?: WorkerInstanceLayout;
}

/**
 * Started by the periodic-restart timer at the window start: runs the periodic-restart script,
 * which waits for this instance's slot, marks the restart as planned (so it is not counted as a
 * crash) and queues a restart, which stops the worker warm first. `TimeoutStartSec` covers the
 * whole window plus the group listing.
 */
export function renderPeriodicRestartServiceUnit(options: PeriodicRestartServiceUnitOptions = {}): string {
  const layout = options.layout ?? DEFAULT_INSTANCE_LAYOUT;
  const window = (options.window ?? DEFAULT_PERIODIC_RESTART_WINDOW).toSeconds();
  return [
    '[Unit]',
    'Description=Planned warm restart of the Celery worker at its slot in the window (cdk-celery)',
    '',
    '[Service]',
    'Type=oneshot',
    `ExecStart=${layoutPath(layout.libexecDir, PERIODIC_RESTART_SCRIPT)}`,
    `TimeoutStartSec=${window + PERIODIC_RESTART_LIST_TIMEOUT.toSeconds() + 60}`,
    '',
  ].join('\n');
}
