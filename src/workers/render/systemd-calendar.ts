/*
 * A check of systemd `OnCalendar=` expressions at synth, so that a timer systemd rejects (or one that
 * never elapses) fails the synth instead of the instance. It accepts a plain subset of systemd's
 * calendar syntax (systemd.time(7)) and refuses the rest with the forms it accepts; the test suite
 * checks every expression it accepts with `systemd-analyze calendar` (systemd 252, as on Amazon
 * Linux 2023):
 *
 *   minutely | hourly | daily | weekly | monthly | quarterly | semiannually | yearly | annually
 *   [WEEKDAYS] [DATE] [TIME] [UTC]        (at least one of the first three, single spaces)
 *
 *   WEEKDAYS  Mon, Tue, ... Sun (or Monday ...), lists with "," and ranges with ".." or "-" (in week order)
 *   DATE      *-MONTH-DAY or MONTH-DAY, "~" before DAY for days from the end of the month
 *   TIME      HOUR:MINUTE[:SECOND]
 *   MONTH, DAY, HOUR, MINUTE, SECOND: "*" or a list ("," ) of numbers, ranges (A..B) and
 *   repetitions (A/STEP, A..B/STEP), within their bounds.
 */

const SPECIAL = new Set(['minutely', 'hourly', 'daily', 'weekly', 'monthly', 'quarterly', 'semiannually', 'yearly', 'annually']);
const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const ACCEPTED = 'use a systemd calendar expression such as "*-*-* 03:00:00", "Sun 02:00", "Mon..Fri 22:30" or "daily" '
  + '(weekdays, *-MONTH-DAY, HOUR:MINUTE[:SECOND], optionally UTC; numbers, "*", lists with ",", ranges with "..", steps with "/")';

/** Why systemd would reject (or never fire) `OnCalendar=EXPRESSION`, or undefined when it is fine. */
export function onCalendarError(expression: string): string | undefined {
  if (SPECIAL.has(expression.toLowerCase())) return undefined;
  const tokens = expression.split(' ');
  if (tokens.some((t) => t === '')) return `it has leading, trailing or repeated spaces; ${ACCEPTED}`;
  if (tokens.length > 1 && tokens[tokens.length - 1].toUpperCase() === 'UTC') tokens.pop();

  const parts: { weekdays?: string; date?: string; time?: string } = {};
  let stage = 0;
  for (const token of tokens) {
    const kind = /^[A-Za-z]/.test(token) ? 0 : token.includes(':') ? 2 : 1;
    if (kind < stage || (kind === 0 && parts.weekdays) || (kind === 1 && parts.date) || (kind === 2 && parts.time)) {
      return `${JSON.stringify(token)} is out of place; ${ACCEPTED}`;
    }
    stage = kind + 1;
    if (kind === 0) parts.weekdays = token;
    else if (kind === 1) parts.date = token;
    else parts.time = token;
  }
  const problem = (parts.weekdays !== undefined ? weekdaysError(parts.weekdays) : undefined)
    ?? (parts.date !== undefined ? dateError(parts.date) : undefined)
    ?? (parts.time !== undefined ? timeError(parts.time) : undefined);
  return problem === undefined ? undefined : `${problem}; ${ACCEPTED}`;
}

function weekdayIndex(name: string): number {
  const lower = name.toLowerCase();
  return WEEKDAYS.findIndex((d) => d === lower || d.slice(0, 3) === lower);
}

function weekdaysError(token: string): string | undefined {
  for (const item of token.split(',')) {
    const range = /^([A-Za-z]+)(?:(\.\.|-)([A-Za-z]+))?$/.exec(item);
    if (!range) return `${JSON.stringify(item)} is not a weekday or a range of weekdays`;
    const from = weekdayIndex(range[1]);
    const to = range[3] === undefined ? from : weekdayIndex(range[3]);
    if (from < 0 || to < 0) return `${JSON.stringify(item)} is not a weekday (Mon to Sun)`;
    if (to < from) return `${JSON.stringify(item)} runs backwards; weekday ranges go from Mon to Sun`;
  }
  return undefined;
}

/** Why `text` is not `*` or a list of numbers, ranges and steps within [min, max], or undefined. */
function componentError(text: string, what: string, min: number, max: number): string | undefined {
  if (text === '*') return undefined;
  for (const item of text.split(',')) {
    const m = /^([0-9]{1,2})(?:\.\.([0-9]{1,2}))?(?:\/([0-9]{1,2}))?$/.exec(item);
    if (!m) return `${JSON.stringify(item)} is not a ${what} (a number, A..B or A/STEP)`;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (from < min || to > max || to < from) return `${JSON.stringify(item)} is not a ${what} from ${min} to ${max}`;
    // systemd misreads A..A in seconds (which take decimals); a one-value range is just A.
    if (m[2] !== undefined && from === to) return `${JSON.stringify(item)} is a range of one value; write ${from}`;
    if (m[3] !== undefined && Number(m[3]) < 1) return `${JSON.stringify(item)} has a step of 0`;
    // systemd refuses A/STEP (without a range) whose first repetition is already past the maximum.
    if (m[3] !== undefined && m[2] === undefined && from + Number(m[3]) > max) {
      return `${JSON.stringify(item)} repeats past ${max}: systemd wants START + STEP at most ${max} (or a range START..END/STEP)`;
    }
  }
  return undefined;
}

function singleNumber(text: string): number | undefined {
  return /^[0-9]{1,2}$/.test(text) ? Number(text) : undefined;
}

function dateError(token: string): string | undefined {
  const m = /^(?:(\*)-)?([^-~]+)([-~])([^-~]+)$/.exec(token);
  if (!m) return `${JSON.stringify(token)} is not a date; use *-MONTH-DAY or MONTH-DAY (a specific year never repeats)`;
  const [, , month, separator, day] = m;
  // Days counted from the end of the month: systemd allows 1 to 28 (every month has that many).
  const error = componentError(month, 'month', 1, 12) ?? componentError(day, separator === '~' ? 'day from the end' : 'day', 1, separator === '~' ? 28 : 31);
  if (error) return error;
  if (separator === '~' && day.includes('/')) return `${JSON.stringify(token)}: days counted from the end of the month take no step here`;
  const monthNumber = singleNumber(month);
  const dayNumber = singleNumber(day);
  if (separator === '-' && monthNumber !== undefined && dayNumber !== undefined && dayNumber > DAYS_IN_MONTH[monthNumber - 1]) {
    return `${JSON.stringify(token)} never comes: month ${monthNumber} has at most ${DAYS_IN_MONTH[monthNumber - 1]} days`;
  }
  return undefined;
}

function timeError(token: string): string | undefined {
  const parts = token.split(':');
  if (parts.length < 2 || parts.length > 3) return `${JSON.stringify(token)} is not a time; use HOUR:MINUTE or HOUR:MINUTE:SECOND`;
  return componentError(parts[0], 'hour', 0, 23) ?? componentError(parts[1], 'minute', 0, 59)
    ?? (parts[2] !== undefined ? componentError(parts[2], 'second', 0, 59) : undefined);
}
