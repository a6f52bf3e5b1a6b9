import { createHash } from 'crypto';
import { Duration, Token } from 'aws-cdk-lib';
import { PERIODIC_RESTART_UNIT } from './instance-layout';

/**
 * Planned warm restarts of every worker, spread over a window (for leaky applications).
 */
export interface PeriodicRestartOptions {
  /**
   * Start of the restart window, as a systemd `OnCalendar=` expression (instance time, UTC on
   * Amazon Linux).
   * @default '*-*-* 03:00:00' (daily at 03:00)
   */
  readonly onCalendar?: string;

  /**
   * Length of the window. Each instance restarts at a fixed random offset inside it
   * (`RandomizedDelaySec=` with `FixedRandomDelay=yes`), so restarts never line up.
   * @default Duration.hours(2)
   */
  readonly window?: Duration;
}

export const DEFAULT_PERIODIC_RESTART_CALENDAR = '*-*-* 03:00:00';
export const DEFAULT_PERIODIC_RESTART_WINDOW = Duration.hours(2);

const CALENDAR = /^[A-Za-z0-9*:,.\/~ -]+$/;

/** Validate periodic-restart options; errors name the prop. */
export function validatePeriodicRestart(options: PeriodicRestartOptions, prop = 'periodicRestart'): void {
  const calendar = options.onCalendar ?? DEFAULT_PERIODIC_RESTART_CALENDAR;
  if (!Token.isUnresolved(calendar) && (!CALENDAR.test(calendar) || calendar.trim() !== calendar)) {
    throw new Error(`${prop}.onCalendar: ${JSON.stringify(calendar)} is not a systemd OnCalendar= expression this library accepts; use letters, digits, spaces and * : , . / ~ - (for example "*-*-* 03:00:00" or "Sun 02:00").`);
  }
  const window = options.window ?? DEFAULT_PERIODIC_RESTART_WINDOW;
  if (!window.isUnresolved() && (window.toSeconds({ integral: false }) < 60 || window.toSeconds({ integral: false }) > 86400)) {
    throw new Error(`${prop}.window: ${window.toHumanString()} is not allowed; use 1 minute to 24 hours (restarts are spread over it).`);
  }
}

/** The periodic-restart timer unit. */
export function renderPeriodicRestartTimerUnit(options: PeriodicRestartOptions = {}): string {
  validatePeriodicRestart(options);
  return [
    '[Unit]',
    'Description=Planned warm restart of the Celery worker, at a stable random offset in the window (cdk-celery)',
    '',
    '[Timer]',
    `OnCalendar=${options.onCalendar ?? DEFAULT_PERIODIC_RESTART_CALENDAR}`,
    `RandomizedDelaySec=${(options.window ?? DEFAULT_PERIODIC_RESTART_WINDOW).toSeconds()}`,
    // Same offset on every day for one instance, different across instances (hash of machine id).
    'FixedRandomDelay=yes',
    'AccuracySec=1s',
    'Persistent=false',
    `Unit=${PERIODIC_RESTART_UNIT}`,
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ].join('\n');
}

/**
 * The rule the timer follows, for simulations: each instance restarts `offset` seconds after the
 * window start, with `offset` fixed per instance and uniform in [0, window). systemd derives it
 * from a hash of the machine id and the unit name; this model hashes `instanceKey` (any stable
 * per-instance string) with SHA-256, which has the same distribution, not the same values.
 */
export function periodicRestartOffsetSeconds(instanceKey: string, window: Duration = DEFAULT_PERIODIC_RESTART_WINDOW): number {
  const windowSeconds = window.toSeconds();
  const digest = createHash('sha256').update(`${instanceKey}\0${PERIODIC_RESTART_UNIT}`).digest();
  return Number(digest.readBigUInt64BE(0) % BigInt(windowSeconds));
}
