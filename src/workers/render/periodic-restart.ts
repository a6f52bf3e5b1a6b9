import { createHash } from 'crypto';
import { Duration, Token } from 'aws-cdk-lib';
import {
  DEFAULT_INSTANCE_LAYOUT, INSTANCE_ENV_FILE, PERIODIC_RESTART_SCRIPT, PERIODIC_RESTART_UNIT, PLANNED_RESTART_MARKER, WORKER_UNIT,
  WorkerInstanceLayout, layoutPath,
} from './instance-layout';
import { onCalendarError } from './systemd-calendar';

/**
 * Planned warm restarts of every worker, spread over a window (for leaky applications).
 *
 * At the window start a timer starts a oneshot service on every instance of the fleet. It lists
 * the InService instances of its own Auto Scaling group (`autoscaling:DescribeAutoScalingGroups`,
 * granted to the instance role only when `periodicRestart` is set), sorts their ids, and restarts
 * its worker `floor((rank + phase) x window / n)` seconds after the window start: `rank` is the
 * instance's position among the `n` sorted ids and `phase`, in [0, 1), is a hash of the group name,
 * so that fleets sharing a broker do not all restart their first instance at the window start
 * (`periodicRestartSlotSeconds` is the rule). The restart is warm (running tasks finish) and is not
 * counted as a crash.
 *
 * Guarantee: the restarts of one fleet are `window / n` apart, so at most `ceil(60 s x n / window)`
 * of them fall in any 60 s: one while `n <= window / 60 s` (120 instances in the default 2 hours;
 * 30 instances restart 4 minutes apart).
 *
 * Limits:
 * - an instance that cannot list its group (API error or throttling after the AWS CLI's retries)
 *   or is not InService (Pending, Standby, Terminating) restarts at a stable pseudo-random offset
 *   in the window instead (hash of its instance id), never at the window start for everyone; it
 *   may land in the same minute as a slot;
 * - membership is read once, at the window start: instances that join or leave around that moment
 *   can make two instances count differently and share a minute; instances that leave during the
 *   window leave gaps, and instances launched during it restart first in the next window;
 * - with more than `window / 60 s` instances, slots are less than a minute apart;
 * - several fleets on one broker each keep their own spacing with different phases, but slots of
 *   different fleets can fall in the same minute: up to one per fleet;
 * - the window should be shorter than the calendar's period: a timer event that comes while the
 *   previous window's service still waits is skipped.
 */
export interface PeriodicRestartOptions {
  /**
   * Start of the restart window, as a systemd `OnCalendar=` expression (instance time, UTC on
   * Amazon Linux).
   * @default '*-*-* 03:00:00' (daily at 03:00)
   */
  readonly onCalendar?: string;

  /**
   * Length of the window. The fleet's instances restart `window / n` apart inside it, in the order
   * of their instance ids (see `PeriodicRestartOptions`).
   * @default Duration.hours(2)
   */
  readonly window?: Duration;
}

export const DEFAULT_PERIODIC_RESTART_CALENDAR = '*-*-* 03:00:00';
export const DEFAULT_PERIODIC_RESTART_WINDOW = Duration.hours(2);
/** Longest time the periodic-restart script waits for the group listing (the AWS CLI retries inside it). */
export const PERIODIC_RESTART_LIST_TIMEOUT = Duration.seconds(120);

/** The phase of a group is the first `PHASE_HEX_DIGITS` hex digits of SHA-256(group name) / 16^digits. */
const PHASE_HEX_DIGITS = 6;
/** The fallback offset is the first `FALLBACK_HEX_DIGITS` hex digits of SHA-256(instance id) modulo the window. */
const FALLBACK_HEX_DIGITS = 12;

/** Validate periodic-restart options; errors name the prop. */
export function validatePeriodicRestart(options: PeriodicRestartOptions, prop = 'periodicRestart'): void {
  const calendar = options.onCalendar ?? DEFAULT_PERIODIC_RESTART_CALENDAR;
  if (Token.isUnresolved(calendar)) {
    throw new Error(`${prop}.onCalendar: a CloudFormation value (token) is not accepted; the timer unit is written at synth.`);
  }
  const calendarError = onCalendarError(calendar);
  if (calendarError) {
    throw new Error(`${prop}.onCalendar: ${JSON.stringify(calendar)} is not a systemd OnCalendar= expression this library accepts: ${calendarError}.`);
  }
  const window = options.window ?? DEFAULT_PERIODIC_RESTART_WINDOW;
  if (window.isUnresolved()) {
    throw new Error(`${prop}.window: must be known at synth (the instances compute their slots in it); a CloudFormation value is not accepted.`);
  }
  if (window.toSeconds({ integral: false }) < 60 || window.toSeconds({ integral: false }) > 86400) {
    throw new Error(`${prop}.window: ${window.toHumanString()} is not allowed; use 1 minute to 24 hours (restarts are spread over it).`);
  }
}

/** The periodic-restart timer unit: starts the service at the window start, on every instance at once. */
export function renderPeriodicRestartTimerUnit(options: PeriodicRestartOptions = {}): string {
  validatePeriodicRestart(options);
  return [
    '[Unit]',
    'Description=Start of the planned-restart window of the Celery worker (cdk-celery)',
    '',
    '[Timer]',
    `OnCalendar=${options.onCalendar ?? DEFAULT_PERIODIC_RESTART_CALENDAR}`,
    // No random delay: the service computes this instance's slot in the window itself.
    'AccuracySec=1s',
    'Persistent=false',
    `Unit=${PERIODIC_RESTART_UNIT}`,
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ].join('\n');
}

/** Input of `periodicRestartSlotSeconds`. */
export interface PeriodicRestartSlotInput {
  /**
   * Ids of the group's InService instances as listed at the window start, in any order.
   * @default - the listing failed
   */
  readonly instanceIds?: string[];

  /** Id of the instance whose slot to compute. */
  readonly instanceId: string;

  /** Name of the Auto Scaling group. */
  readonly groupName: string;

  /**
   * Length of the window (whole seconds).
   * @default Duration.hours(2)
   */
  readonly window?: Duration;
}

function hashPrefix(text: string, hexDigits: number): bigint {
  return BigInt(`0x${createHash('sha256').update(text, 'utf8').digest('hex').slice(0, hexDigits)}`);
}

/**
 * Seconds after the window start at which an instance restarts its worker; the periodic-restart
 * script (`renderPeriodicRestartScript`) computes exactly this.
 *
 * When `instanceId` is among `instanceIds` (deduplicated, sorted in byte order: rank `i` of `n`):
 * `floor((i + phase) x window / n)`, where `phase = h / 16^6` and `h` is the number in the first
 * 6 hex digits of SHA-256(`groupName`). Otherwise (listing failed, or the instance is not
 * InService): the number in the first 12 hex digits of SHA-256(`instanceId`), modulo `window`.
 * Always in [0, window).
 */
export function periodicRestartSlotSeconds(input: PeriodicRestartSlotInput): number {
  const window = BigInt((input.window ?? DEFAULT_PERIODIC_RESTART_WINDOW).toSeconds());
  const ids = [...new Set(input.instanceIds ?? [])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const rank = ids.indexOf(input.instanceId);
  if (rank < 0) return Number(hashPrefix(input.instanceId, FALLBACK_HEX_DIGITS) % window);
  const scale = BigInt(16) ** BigInt(PHASE_HEX_DIGITS);
  return Number(((BigInt(rank) * scale + hashPrefix(input.groupName, PHASE_HEX_DIGITS)) * window) / (BigInt(ids.length) * scale));
}

/** Options of the periodic-restart script. */
export interface PeriodicRestartScriptOptions {
  /**
   * Length of the window.
   * @default Duration.hours(2)
   */
  readonly window?: Duration;

  /**
   * Paths on the instance.
   * @default DEFAULT_INSTANCE_LAYOUT
   */
  readonly layout?: WorkerInstanceLayout;
}

/**
 * The periodic-restart service's script, run at the window start: lists the InService instances of
 * its group, computes this instance's offset (`periodicRestartSlotSeconds`, falling back to the
 * per-instance offset when the listing fails or does not include it, and saying why), sleeps until
 * then (counted from the script's start), marks the restart as planned (not counted as a crash) and
 * queues a warm restart of the worker. `try-restart` does nothing when the worker is stopped (a
 * drain stopped it meanwhile). `ASG_NAME` and `INSTANCE_ID` come from the instance env file.
 */
export function renderPeriodicRestartScript(options: PeriodicRestartScriptOptions = {}): string {
  validatePeriodicRestart({ window: options.window });
  const layout = options.layout ?? DEFAULT_INSTANCE_LAYOUT;
  const window = (options.window ?? DEFAULT_PERIODIC_RESTART_WINDOW).toSeconds();
  const scale = 16 ** PHASE_HEX_DIGITS;
  return `#!/bin/bash
# cdk-celery: planned warm restart of the Celery worker at this instance's slot in the window:
# rank i of the n InService instances (sorted ids), offset floor((i + phase) * window / n).
set -uo pipefail
# shellcheck source=/dev/null
. ${layoutPath(layout.configDir, INSTANCE_ENV_FILE)}
window=${window}
# The number in the first $2 hex digits of SHA-256($1).
hash_prefix() {
  local h
  h=$(printf '%s' "$1" | sha256sum) || return 1
  echo $((16#\${h:0:$2}))
}
rank=-1
n=0
if listed=$(AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=8 timeout ${PERIODIC_RESTART_LIST_TIMEOUT.toSeconds()} aws autoscaling describe-auto-scaling-groups \\
  --auto-scaling-group-names "\${ASG_NAME}" --output text \\
  --query "AutoScalingGroups[0].Instances[?LifecycleState=='InService'].InstanceId"); then
  while read -r id; do
    if [ "\${id}" = "\${INSTANCE_ID}" ]; then rank=\${n}; fi
    n=$((n + 1))
  done < <(printf '%s\\n' "\${listed}" | tr -s '[:space:]' '\\n' | grep -E '^i-[0-9a-f]+$' | LC_ALL=C sort -u)
  why="\${INSTANCE_ID} is not among the \${n} InService instances of \${ASG_NAME}"
else
  why="could not list the InService instances of \${ASG_NAME} (exit $?)"
fi
if [ "\${rank}" -ge 0 ]; then
  offset=$(((rank * ${scale} + $(hash_prefix "\${ASG_NAME}" ${PHASE_HEX_DIGITS})) * window / (n * ${scale})))
  echo "cdk-celery: planned restart in slot $((rank + 1)) of \${n}: offset=\${offset}s after the window start"
else
  offset=$(($(hash_prefix "\${INSTANCE_ID}" ${FALLBACK_HEX_DIGITS}) % window))
  echo "cdk-celery: \${why}; planned restart at this instance's fallback offset=\${offset}s after the window start" >&2
fi
delay=$((offset - SECONDS))
if [ "\${delay}" -lt 0 ]; then delay=0; fi
${layout.sleep} "\${delay}"
mkdir -p ${layout.stateDir}
touch ${layoutPath(layout.stateDir, PLANNED_RESTART_MARKER)}
# --no-block: the warm stop may take up to TimeoutStopSec. try-restart: nothing if the worker is stopped (drained).
exec ${layout.systemctl} --no-block try-restart ${WORKER_UNIT}
`;
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
