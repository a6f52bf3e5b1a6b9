import { Duration, Token } from 'aws-cdk-lib';
import { WorkerBrokerOptions } from './broker-settings';
import { renderBrokerEnvScript } from './broker-url';
import { renderCeleryClientModule, renderCeleryCtlScript } from './celery-client';
import { renderCeleryVersionCheck } from './celery-version-check';
import { CeleryWorkerCommandOptions, renderCeleryWorkerCommand } from './celery-worker-command';
import { DeployTimeValues } from './deploy-time-values';
import { renderDrainScript, renderDrainServiceUnit } from './drain';
import { renderImdsFunction } from './imds';
import {
  BROKER_ENV_SCRIPT, CELERY_CLIENT_MODULE, CELERY_CLIENT_PYTHON_DIR, CELERY_CTL_SCRIPT, DEFAULT_CFN_SIGNAL, DEFAULT_INSTANCE_LAYOUT, DRAIN_SCRIPT,
  DRAIN_UNIT, INSTANCE_ENV_FILE, PERIODIC_RESTART_SCRIPT, PERIODIC_RESTART_TIMER, PERIODIC_RESTART_UNIT, PRESTART_SCRIPT, UNHEALTHY_SCRIPT,
  UNHEALTHY_UNIT, WORKER_UNIT, WorkerInstanceLayout, layoutPath, validateInstanceLayout,
} from './instance-layout';
import { DEFAULT_NODE_NAME, NODE_NAME_PARTS, renderNodeNameAssignment } from './node-name';
import {
  PeriodicRestartOptions, renderPeriodicRestartScript, renderPeriodicRestartServiceUnit, renderPeriodicRestartTimerUnit,
} from './periodic-restart';
import { shellQuote, systemdPathSetting, systemdWordError } from './shell-quote';
import { renderUnhealthyScript, renderUnhealthyServiceUnit } from './unhealthy';
import { renderPrestartScript, renderWorkerServiceUnit, workerStopTimeout } from './worker-service';

/** How long the boot script waits for the worker to answer before it signals failure. */
export const DEFAULT_READINESS_TIMEOUT = Duration.minutes(5);

/** Where the boot script gets the application from. */
export interface BootCodeSource {
  /** S3 bucket of the zip archive. */
  readonly bucketName: string;
  /** Key of the zip archive. */
  readonly objectKey: string;
}

/** The CloudFormation resource the boot script signals once the worker is ready. */
export interface BootSignalTarget {
  /** Stack name. */
  readonly stackName: string;
  /** Logical id of the Auto Scaling group. */
  readonly logicalId: string;
}

/** Options of the boot script (the launch template's user data). */
export interface BootScriptOptions {
  /** The worker command options; `celeryExecutable` must be an absolute path. */
  readonly worker: CeleryWorkerCommandOptions;
  /**
   * The broker the worker consumes from (its engine version selects the queue settings).
   * @default - unknown engine version: no engine-specific settings
   */
  readonly broker?: WorkerBrokerOptions;
  /** Unprivileged user the worker runs as (created if missing). */
  readonly user: string;
  /** Working directory of the worker; the application is unpacked here when `code` is set. */
  readonly workingDirectory: string;
  /**
   * Zip archive to unpack into `workingDirectory`; none when the image has the code.
   * @default - nothing is downloaded (the code is in the image)
   */
  readonly code?: BootCodeSource;
  /**
   * Create this virtual environment and install `requirements.txt` into it.
   * @default - no virtual environment is created
   */
  readonly virtualEnvDirectory?: string;
  /** Broker host (no scheme). */
  readonly brokerHost: string;
  /** Broker AMQPS port. */
  readonly brokerPort: string;
  /** ARN or name of the credentials secret. */
  readonly credentialsSecretId: string;
  /** Name of the termination lifecycle hook the drain service completes. */
  readonly lifecycleHookName: string;
  /**
   * Send cfn-signal to this resource; no signal when unset.
   * @default - no cfn-signal: the boot result is only logged
   */
  readonly signal?: BootSignalTarget;
  /**
   * How long to wait for the worker to be ready.
   * @default DEFAULT_READINESS_TIMEOUT (5 minutes)
   */
  readonly readinessTimeout?: Duration;
  /**
   * `TimeoutStopSec` of the worker.
   * @default - `workerStopTimeout(worker.timeLimit)`: the time limit + 60 s, or 30 minutes without one
   */
  readonly stopTimeout?: Duration;
  /**
   * Longest random sleep before a crash restart.
   * @default DEFAULT_RESTART_JITTER (60 seconds)
   */
  readonly restartJitter?: Duration;
  /**
   * `RestartSec` of the worker.
   * @default DEFAULT_RESTART_DELAY (10 seconds)
   */
  readonly restartDelay?: Duration;
  /**
   * `StartLimitBurst` of the worker.
   * @default DEFAULT_START_LIMIT_BURST (5)
   */
  readonly startLimitBurst?: number;
  /**
   * `StartLimitIntervalSec` of the worker.
   * @default DEFAULT_START_LIMIT_INTERVAL (15 minutes)
   */
  readonly startLimitInterval?: Duration;
  /**
   * Mark the instance Unhealthy when the worker crash-loops.
   * @default true
   */
  readonly markUnhealthyOnCrashLoop?: boolean;
  /**
   * Planned restarts; none when unset.
   * @default - no planned restarts
   */
  readonly periodicRestart?: PeriodicRestartOptions;
  /**
   * Paths on the instance.
   * @default DEFAULT_INSTANCE_LAYOUT
   */
  readonly layout?: WorkerInstanceLayout;
}

const EOF_MARK = 'CDK_CELERY_EOF';

/**
 * Bash function the boot script writes files with (`put MODE PATH` with the content on stdin): the
 * mode is set before any content lands, and each file costs one short line of user data (16 KB).
 */
const PUT_FUNCTION = 'put() { install -m "$1" /dev/null "$2" && cat > "$2"; }\n';

function writeFile(path: string, mode: string, content: string): string {
  // A deploy-time value inside a quoted heredoc would be written as is: it could end the heredoc.
  if (Token.isUnresolved(content)) {
    throw new Error(`internal: ${path} would hold a CloudFormation value; every value in files the boot script writes must be known at synth`);
  }
  if (content.split('\n').includes(EOF_MARK)) {
    throw new Error(`internal: ${path} contains the heredoc delimiter ${EOF_MARK}`);
  }
  return `put ${mode} ${path} <<'${EOF_MARK}'\n${content.replace(/\n$/, '')}\n${EOF_MARK}\n`;
}

/**
 * The user data of a worker instance: installs the application, the broker env file, the helper
 * scripts and the units; starts the drain service and the worker; waits until the worker answers
 * (`celery inspect ping -d NODE`, or its "ready." log line when remote control is off) and only
 * then sends cfn-signal 0. Any failure, or no answer within the readiness timeout, signals 1.
 */
export function renderBootScript(options: BootScriptOptions): string {
  const layout = options.layout ?? DEFAULT_INSTANCE_LAYOUT;
  validateInstanceLayout(layout);
  validateBootScriptOptions(options);
  const command = renderCeleryWorkerCommand(options.worker, options.broker);
  const celery = command.argv[0];
  if (!celery.startsWith('/')) {
    throw new Error(`celeryExecutable: ${JSON.stringify(celery)} must be an absolute path (systemd runs it without a shell).`);
  }
  const stopTimeout = options.stopTimeout ?? workerStopTimeout(options.worker.timeLimit);
  const readinessTries = Math.max(1, Math.ceil((options.readinessTimeout ?? DEFAULT_READINESS_TIMEOUT).toSeconds() / 5));
  const wd = options.workingDirectory;
  const lib = (name: string) => layoutPath(layout.libexecDir, name);
  const unit = (name: string) => layoutPath(layout.unitDir, name);
  const instanceEnv = layoutPath(layout.configDir, INSTANCE_ENV_FILE);
  const user = shellQuote(options.user);
  const cfnSignal = layout.cfnSignal ?? DEFAULT_CFN_SIGNAL;
  // Values only known at deploy time (bucket, endpoint, ARNs) are decoded at boot, never spliced in.
  const values = new DeployTimeValues();
  const out: string[] = [];

  // The failure trap comes first: anything that fails after it (metadata, packages, downloads)
  // signals failure at once instead of leaving CloudFormation to wait for the whole boot timeout.
  out.push(`#!/bin/bash
# cdk-celery worker instance boot script (rendered by CeleryWorkerFleet)
set -euo pipefail
${renderImdsFunction(layout)}region=''
`);
  if (options.signal) {
    out.push(`signal() {
  [ -n "\${region}" ] || region=$(imds placement/region) || :
  command -v ${cfnSignal} >/dev/null || dnf install -y -q aws-cfn-bootstrap || :
  ${cfnSignal} -e "$1" --stack ${values.word(options.signal.stackName)} --resource ${values.word(options.signal.logicalId)} \${region:+--region "$region"} || :
}
trap '[ "$?" -eq 0 ] || signal 1' EXIT
`);
  } else {
    out.push(`signal() { echo "cdk-celery: boot result $1"; }
trap '[ "$?" -eq 0 ] || signal 1' EXIT
`);
  }
  const valuesAt = out.length;
  // The Region is exported before the first AWS CLI call (the code download is one). signal()
  // installs cfn-signal when it is missing, so nothing before the trap can fail.
  out.push(`region=$(imds placement/region)
export AWS_DEFAULT_REGION="\${region}"
instance_id=$(imds instance-id)
asg_name=$(imds tags/instance/aws:autoscaling:groupName)
`);
  out.push(`${PUT_FUNCTION}install -d -m 0755 ${layout.libexecDir} ${layout.stateDir}
install -d -m 0700 ${layout.configDir}
{
  printf 'export %s=%q\\n' AWS_DEFAULT_REGION "\${region}" INSTANCE_ID "\${instance_id}" ASG_NAME "\${asg_name}"
  printf 'export %s=%q\\n' BROKER_SECRET_ID ${values.word(options.credentialsSecretId)} BROKER_HOST ${values.word(options.brokerHost)}
  printf 'export %s=%q\\n' BROKER_PORT ${values.word(options.brokerPort)} LIFECYCLE_HOOK_NAME ${values.word(options.lifecycleHookName)}
} > ${instanceEnv}
id -u ${user} >/dev/null 2>&1 || useradd --system --no-create-home --shell /sbin/nologin ${user}
`);
  if (options.code) {
    out.push(`app_zip=$(mktemp --suffix=.zip)
aws s3 cp --only-show-errors ${values.word(`s3://${options.code.bucketName}/${options.code.objectKey}`)} "\${app_zip}"
rm -rf ${shellQuote(wd)}
install -d -m 0755 ${shellQuote(wd)}
python3 -m zipfile -e "\${app_zip}" ${shellQuote(wd)}
rm -f "\${app_zip}"
`);
  }
  if (options.virtualEnvDirectory) {
    const venv = shellQuote(options.virtualEnvDirectory);
    out.push(`python3 -m venv ${venv}
if [ -f ${shellQuote(`${wd}/requirements.txt`)} ]; then
  ${shellQuote(`${options.virtualEnvDirectory}/bin/pip`)} install -q --no-cache-dir -r ${shellQuote(`${wd}/requirements.txt`)}
fi
`);
  }
  if (options.code || options.virtualEnvDirectory) {
    out.push(`chmod -R a+rX ${shellQuote(wd)}\n`);
  }

  // Celery older than the broker needs would crash-loop against it: one clear line, a metric, no worker.
  out.push(renderCeleryVersionCheck({ celeryExecutable: celery, requirement: command.celeryRequirement }));
  out.push(writeFile(lib(BROKER_ENV_SCRIPT), '0755', renderBrokerEnvScript({ layout })));
  out.push(`install -d -m 0755 ${lib(CELERY_CLIENT_PYTHON_DIR)}\n`);
  out.push(writeFile(layoutPath(lib(CELERY_CLIENT_PYTHON_DIR), `${CELERY_CLIENT_MODULE}.py`), '0644', renderCeleryClientModule()));
  out.push(writeFile(lib(CELERY_CTL_SCRIPT), '0755', renderCeleryCtlScript({
    app: options.worker.app,
    celeryExecutable: celery,
    user: options.user,
    workingDirectory: wd,
    exclusiveControlQueues: command.exclusiveControlQueues,
    layout,
  })));
  out.push(writeFile(lib(PRESTART_SCRIPT), '0755', renderPrestartScript({ layout, restartJitter: options.restartJitter })));
  out.push(writeFile(lib(DRAIN_SCRIPT), '0755', renderDrainScript({ layout })));
  out.push(writeFile(lib(UNHEALTHY_SCRIPT), '0755', renderUnhealthyScript({ layout })));
  out.push(writeFile(unit(WORKER_UNIT), '0644', renderWorkerServiceUnit({
    command,
    user: options.user,
    workingDirectory: wd,
    stopTimeout,
    restartJitter: options.restartJitter,
    restartDelay: options.restartDelay,
    startLimitBurst: options.startLimitBurst,
    startLimitInterval: options.startLimitInterval,
    markUnhealthyOnCrashLoop: options.markUnhealthyOnCrashLoop,
    layout,
  })));
  out.push(writeFile(unit(DRAIN_UNIT), '0644', renderDrainServiceUnit({ layout })));
  out.push(writeFile(unit(UNHEALTHY_UNIT), '0644', renderUnhealthyServiceUnit({ layout })));
  const units = [DRAIN_UNIT, WORKER_UNIT];
  if (options.periodicRestart) {
    const window = options.periodicRestart.window;
    out.push(writeFile(lib(PERIODIC_RESTART_SCRIPT), '0755', renderPeriodicRestartScript({ layout, window })));
    out.push(writeFile(unit(PERIODIC_RESTART_UNIT), '0644', renderPeriodicRestartServiceUnit({ layout, window })));
    out.push(writeFile(unit(PERIODIC_RESTART_TIMER), '0644', renderPeriodicRestartTimerUnit(options.periodicRestart)));
    units.push(PERIODIC_RESTART_TIMER);
  }

  const remoteControl = options.worker.enableRemoteControl ?? true;
  const ready = remoteControl
    ? `${lib(CELERY_CTL_SCRIPT)} inspect ping -d "\${node}" --timeout 5 >/dev/null 2>&1`
    : `journalctl -b -u ${WORKER_UNIT} -o cat | grep -q ' ready\\.$'`;
  out.push(`${lib(BROKER_ENV_SCRIPT)}
${layout.systemctl} daemon-reload
${layout.systemctl} enable --now ${units.join(' ')}
${NODE_NAME_PARTS}
${renderNodeNameAssignment(options.worker.hostname ?? DEFAULT_NODE_NAME)}
worker_ready() {
  ${layout.systemctl} is-active --quiet ${WORKER_UNIT} || return 1
  ${ready}
}
echo "cdk-celery: waiting for \${node}"
for _ in $(seq ${readinessTries}); do
  if worker_ready; then
    echo "cdk-celery: \${node} is ready"
    signal 0
    trap - EXIT
    exit 0
  fi
  sleep 5
done
echo "cdk-celery: \${node} did not become ready" >&2
exit 1
`);
  out.splice(valuesAt, 0, values.render());
  return out.join('');
}

/** Linux user names `useradd` and systemd's `User=` both accept. */
const LINUX_USER_NAME = /^[a-z_][a-z0-9_-]{0,30}$/;

/** Checks the options that are not `celery worker` options; errors name the option. */
function validateBootScriptOptions(options: BootScriptOptions): void {
  // Text known at synth goes into the script quoted, deploy-time values through base64: any text
  // is fine except what no bash word or UTF-8 file can carry.
  const texts: Array<[string, string | undefined]> = [
    ['code.bucketName', options.code?.bucketName], ['code.objectKey', options.code?.objectKey], ['brokerHost', options.brokerHost],
    ['brokerPort', options.brokerPort], ['credentialsSecretId', options.credentialsSecretId], ['lifecycleHookName', options.lifecycleHookName],
    ['signal.stackName', options.signal?.stackName], ['signal.logicalId', options.signal?.logicalId],
  ];
  for (const [prop, value] of texts) {
    if (value === undefined || Token.isUnresolved(value)) continue;
    const error = systemdWordError(value);
    if (error) throw new Error(`${prop}: ${JSON.stringify(value)} is not allowed; ${error}.`);
  }
  if (Token.isUnresolved(options.user) || !LINUX_USER_NAME.test(options.user)) {
    throw new Error(`user: ${JSON.stringify(options.user)} is not a Linux user name; use lowercase letters, digits, _ and - (at most 31), starting with a letter or _.`);
  }
  systemdPathSetting('workingDirectory', options.workingDirectory);
  if (options.virtualEnvDirectory !== undefined) systemdPathSetting('virtualEnvDirectory', options.virtualEnvDirectory);
  if (options.readinessTimeout?.isUnresolved() || options.stopTimeout?.isUnresolved()) {
    throw new Error('readinessTimeout, stopTimeout: a CloudFormation value (token) is not accepted; the boot script and the units are written at synth.');
  }
}
