// The worker service, one feature in one file: its unit, its stop timeout and its prestart script
// (crash-restart counter and jitter).
import { Duration } from 'aws-cdk-lib';
import { CeleryWorkerCommand } from './celery-worker-command';
import {
  BROKER_ENV_FILE, DEFAULT_INSTANCE_LAYOUT, FIRST_START_MARKER, INSTANCE_ENV_FILE, PLANNED_RESTART_MARKER, PRESTART_SCRIPT,
  UNHEALTHY_UNIT, WorkerInstanceLayout, layoutPath,
} from './instance-layout';
import { systemdCommandLine, systemdEnvironmentAssignment, systemdPathSetting } from './shell-quote';
import { WorkerMetricNames } from '../worker-metrics';

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

/** Options of the prestart (restart counter and jitter) script. */
export interface PrestartScriptOptions {
  /**
   * Longest random sleep before a crash restart.
   * @default DEFAULT_RESTART_JITTER (60 seconds)
   */
  readonly restartJitter?: Duration;
  /**
   * Paths on the instance.
   * @default DEFAULT_INSTANCE_LAYOUT
   */
  readonly layout?: WorkerInstanceLayout;
}

/**
 * The worker's `ExecStartPre=+` script. The first start after boot and planned restarts pass
 * straight through; every other start is a crash restart (Celery 5.0-5.2 exit 0 after a crash, so
 * every exit counts): it publishes `CdkCelery/WorkerRestarts`=1 by `AutoScalingGroupName` and
 * sleeps a random 0..jitter seconds so that a fleet hit by the same poison task never restarts
 * (and reconnects to the broker) in step.
 */
export function renderPrestartScript(options: PrestartScriptOptions = {}): string {
  const layout = options.layout ?? DEFAULT_INSTANCE_LAYOUT;
  const jitter = (options.restartJitter ?? DEFAULT_RESTART_JITTER).toSeconds();
  const first = layoutPath(layout.stateDir, FIRST_START_MARKER);
  const planned = layoutPath(layout.stateDir, PLANNED_RESTART_MARKER);
  return `#!/bin/bash
# cdk-celery: runs as root before every start of the Celery worker.
set -u
mkdir -p ${layout.stateDir}
if [ ! -e ${first} ]; then
  touch ${first}
  exit 0
fi
if [ -e ${planned} ]; then
  rm -f ${planned}
  exit 0
fi
# shellcheck source=/dev/null
. ${layoutPath(layout.configDir, INSTANCE_ENV_FILE)}
timeout 30 aws cloudwatch put-metric-data --namespace ${WorkerMetricNames.NAMESPACE} \\
  --metric-name ${WorkerMetricNames.WORKER_RESTARTS} --unit Count --value 1 \\
  --dimensions "${WorkerMetricNames.AUTO_SCALING_GROUP_DIMENSION}=\${ASG_NAME}" \\
  || echo "cdk-celery: could not publish ${WorkerMetricNames.WORKER_RESTARTS}" >&2
delay=$((RANDOM % ${jitter + 1}))
echo "cdk-celery: the worker exited; restarting it in \${delay}s"
sleep "\${delay}"
`;
}
