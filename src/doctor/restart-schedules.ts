import { LIBRARY_LAYOUT } from './knowledge';
import { UserDataDocument } from './user-data-documents';
import { logicalLines } from './worker-command-line';

/**
 * Planned restarts found in user data: cron lines and systemd timers that restart the worker
 * (or the instance). Every instance of a group runs the same user data on the same clock, so a
 * schedule without a per-instance spread fires on all of them at once.
 */
export interface RestartSchedule {
  readonly origin: string;
  readonly kind: 'cron' | 'systemd-timer' | 'library-periodic-restart';
  /** The schedule as written: `0 0 * * *`, `OnCalendar=*-*-* 03:00:00`. */
  readonly schedule: string;
  /** What it runs. */
  readonly command: string;
  /** True when every instance restarts at the same moment. */
  readonly synchronised: boolean;
  /** How the restarts are spread, when they are. */
  readonly spread?: string;
  /** UTC hour and minute it fires at, when fixed (`undefined` hour: every hour). */
  readonly firesAt?: { readonly hour?: number; readonly minute: number };
}

/** A command that restarts the worker or the instance. */
const RESTARTS = /\b(systemctl|service)\b[^;|&]*\b(restart|try-restart|reload-or-restart|stop|kill)\b|\bsupervisorctl\b[^;|&]*\brestart\b|\bcelery\b[^;|&]*\bmulti\b[^;|&]*\b(restart|stop|stopwait|kill)\b|\b(pkill|killall)\b|\bkill\s+-(HUP|TERM|QUIT|9|KILL)\b|\breboot\b|\bshutdown\s+-r\b|\bdocker\b[^;|&]*\brestart\b/;
/** Something that concerns the worker (or restarts the whole instance). */
const CONCERNS_WORKER = /celery|worker|\breboot\b|shutdown\s+-r/i;
/** A per-instance random delay in front of the restart. */
const RANDOM_DELAY = /\bRANDOM\b|\bshuf\b|\/dev\/urandom|\bjitter\b|RandomizedDelaySec/;

const CRON_FIELD = '[0-9*][0-9*,/-]*|[A-Za-z]{3}(?:[,-][A-Za-z]{3})*';
const CRON_LINE = new RegExp(
  `(?:^|[\\s"'(])(@(?:reboot|yearly|annually|monthly|weekly|daily|midnight|hourly)|(?:(?:${CRON_FIELD})\\s+){4}(?:${CRON_FIELD}))\\s+(.+)$`);

const NICKNAMES: { [nick: string]: string } = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** Restart schedules in the documents of one launch template. */
export function findRestartSchedules(docs: UserDataDocument[]): RestartSchedule[] {
  return [...cronSchedules(docs), ...timerSchedules(docs)];
}

function cronSchedules(docs: UserDataDocument[]): RestartSchedule[] {
  const out: RestartSchedule[] = [];
  for (const doc of docs) {
    if (doc.kind === 'systemd') continue;
    for (const raw of logicalLines(doc.text)) {
      if (/^\s*#/.test(raw)) continue;
      const m = CRON_LINE.exec(raw);
      if (!m || m[1] === '@reboot') continue;
      // A cron field list must contain a digit or a star somewhere, or it is just words.
      const schedule = NICKNAMES[m[1]] ?? m[1].trim().split(/\s+/).join(' ');
      // A cron line inside a quoted string (echo "0 0 * * * ..." > /etc/cron.d/x) ends at the quote.
      const before = raw[m.index];
      const quote = before === '"' || before === '\'' ? before : undefined;
      const command = (quote && m[2].includes(quote) ? m[2].slice(0, m[2].indexOf(quote)) : m[2]).trim();
      if (!RESTARTS.test(command) || !CONCERNS_WORKER.test(command)) continue;
      const fields = schedule.split(' ');
      const minute = /^\d+$/.test(fields[0]) ? Number(fields[0]) : undefined;
      const hour = /^\d+$/.test(fields[1]) ? Number(fields[1]) : undefined;
      const random = RANDOM_DELAY.test(command);
      out.push({
        origin: doc.origin,
        kind: 'cron',
        schedule: m[1],
        command,
        synchronised: !random,
        spread: random ? 'a random delay in the command' : undefined,
        firesAt: minute !== undefined ? { minute, hour: fields[1] === '*' ? undefined : hour } : undefined,
      });
    }
  }
  return out;
}

function unitSetting(text: string, key: string): string | undefined {
  const m = new RegExp(`^\\s*${key}\\s*=\\s*(.*)$`, 'm').exec(text);
  return m?.[1].trim();
}

function timerSchedules(docs: UserDataDocument[]): RestartSchedule[] {
  const out: RestartSchedule[] = [];
  const units = new Map<string, UserDataDocument>();
  for (const d of docs) if (d.path) units.set(d.path.slice(d.path.lastIndexOf('/') + 1), d);
  const allText = docs.map((d) => d.text).join('\n');
  for (const doc of docs) {
    if (!/^\s*\[Timer\]/m.test(doc.text)) continue;
    const calendar = unitSetting(doc.text, 'OnCalendar');
    if (!calendar) continue; // OnBootSec / OnUnitActiveSec: relative to each instance's boot
    const name = doc.path ? doc.path.slice(doc.path.lastIndexOf('/') + 1) : '';
    const unitName = unitSetting(doc.text, 'Unit') ?? name.replace(/\.timer$/, '.service');
    const service = units.get(unitName);
    const command = service ? (unitSetting(service.text, 'ExecStart') ?? '') : unitName;
    const serviceText = service?.text ?? '';
    const isLibrary = name === LIBRARY_LAYOUT.periodicRestartTimer
      && (serviceText.includes(LIBRARY_LAYOUT.periodicRestartScript) || allText.includes(LIBRARY_LAYOUT.periodicRestartScript));
    const restarts = isLibrary || RESTARTS.test(serviceText || unitName) || /restart/i.test(unitName);
    if (!restarts || !(isLibrary || CONCERNS_WORKER.test(`${unitName} ${serviceText}`))) continue;
    const randomized = unitSetting(doc.text, 'RandomizedDelaySec');
    const random = Boolean(randomized && !/^0+(s|sec|min)?$/.test(randomized)) || RANDOM_DELAY.test(serviceText);
    out.push({
      origin: doc.origin,
      kind: isLibrary ? 'library-periodic-restart' : 'systemd-timer',
      schedule: `OnCalendar=${calendar}`,
      command,
      synchronised: !isLibrary && !random,
      spread: isLibrary
        ? 'the library\'s periodic-restart script: instances restart in rank order, window / n apart'
        : random ? (randomized ? `RandomizedDelaySec=${randomized} (random, not guaranteed apart)` : 'a random delay in the service') : undefined,
      firesAt: calendarTime(calendar),
    });
  }
  return out;
}

/** The UTC time of day of a simple `OnCalendar=` expression. */
function calendarTime(calendar: string): { hour?: number; minute: number } | undefined {
  if (/^(daily|weekly|monthly|yearly|annually|midnight)$/.test(calendar)) return { hour: 0, minute: 0 };
  if (calendar === 'hourly') return { minute: 0 };
  const m = /(?:^|\s)(\d{1,2}|\*):(\d{1,2})(?::\d{1,2})?(?:\s|$)/.exec(calendar);
  if (!m) return undefined;
  return { hour: m[1] === '*' ? undefined : Number(m[1]), minute: Number(m[2]) };
}
