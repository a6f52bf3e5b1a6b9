import { spawnSync } from 'child_process';
import * as fc from 'fast-check';
import { onCalendarError, validatePeriodicRestart } from '../../../src/workers/render';
import { nastyString } from '../../generative/arbitraries';
import { GENERATIVE_SEED, runsOf } from '../../generative/runs';

jest.setTimeout(120_000);

/** systemd's own verdict (systemd-analyze, systemd 252 as on Amazon Linux 2023): fires some day, or why not. */
function systemdVerdict(expression: string): string {
  const result = spawnSync('systemd-analyze', ['calendar', '--iterations=1', expression], { encoding: 'utf8', env: { ...process.env, SYSTEMD_LOG_LEVEL: 'err' } });
  if (result.status !== 0) return `rejected: ${result.stderr.trim()}`;
  return /Next elapse: never/.test(result.stdout) ? 'never elapses' : 'fires';
}

describe('OnCalendar expressions systemd would reject, or that never fire, fail at synth', () => {
  test.each([
    ['*-*-* 24:00', /"24" is not a hour from 0 to 23/],
    ['*:0/0', /has a step of 0/],
    ['5..1-*-* 00:00', /is not a date/],
    ['*-04-31 03:00', /never comes: month 4 has at most 30 days/],
    ['Fri..Mon 02:00', /runs backwards/],
    ['daily\nExecStart=/bin/sh', /is out of place|is not/],
    [' *-*-* 03:00', /leading, trailing or repeated spaces/],
    ['2023-01-01 03:00', /a specific year never repeats/],
    ['%h 03:00', /is not a date/],
  ])('%j', (expression, message) => {
    expect(onCalendarError(expression)).toMatch(message);
    expect(systemdVerdict(expression)).not.toBe('fires');
    expect(() => validatePeriodicRestart({ onCalendar: expression })).toThrow(/^periodicRestart\.onCalendar: .* is not a systemd OnCalendar= expression this library accepts/);
  });

  test.each(['daily', 'Daily', 'Sun 02:00', 'Mon..Fri 22:30', 'Mon-Fri 22:30', 'Sat,Sun', '*-*-* 03:00:00', '*-*~1 04:00', '*:0/15', '*-*-1..5/2 3:0', '03:00 UTC', '*-02-29 01:00'])(
    '%j is accepted, and systemd fires it', (expression) => {
      expect(onCalendarError(expression)).toBeUndefined();
      expect(systemdVerdict(expression)).toBe('fires');
    });
});

// Each refusal's message and boundary on its own, including those where this library is stricter
// than systemd (a one-value range, a step that starts past the maximum, a weekday range given
// backwards); the tests above and below compare what it accepts with systemd itself.
describe('each refusal, and the edge each one sits on', () => {
  test.each([
    ['02:00 Mon', /^"Mon" is out of place; use a systemd calendar expression/],
    ['Mon Tue 02:00', /^"Tue" is out of place/],
    ['*-*-* *-*-1 02:00', /^"\*-\*-1" is out of place/],
    ['02:00 03:00', /^"03:00" is out of place/],
    ['*-*-1 Mon', /^"Mon" is out of place/],
    ['UTC', /^"UTC" is not a weekday \(Mon to Sun\)/],
    ['Mon..Xyz 02:00', /^"Mon\.\.Xyz" is not a weekday \(Mon to Sun\)/],
    ['Xyz..Mon 02:00', /^"Xyz\.\.Mon" is not a weekday \(Mon to Sun\)/],
    ['Mon- 02:00', /^"Mon-" is not a weekday or a range of weekdays/],
    ['Sun..Mon', /^"Sun\.\.Mon" runs backwards; weekday ranges go from Mon to Sun/],
    ['*-*-1..1 00:00', /^"1\.\.1" is a range of one value; write 1/],
    ['*-*-5..4 00:00', /^"5\.\.4" is not a day from 1 to 31/],
    ['*-*-1..5/0 00:00', /^"1\.\.5\/0" has a step of 0/],
    ['*:50/10', /^"50\/10" repeats past 59: systemd wants START \+ STEP at most 59/],
    ['*-*-* 23/1:00', /^"23\/1" repeats past 23/],
    ['*-*~1/2 00:00', /^"\*-\*~1\/2": days counted from the end of the month take no step here/],
    ['*-*~29 00:00', /^"29" is not a day from the end from 1 to 28/],
    ['*-*-0 00:00', /^"0" is not a day from 1 to 31/],
    ['*-13-01 00:00', /^"13" is not a month from 1 to 12/],
    ['*-02-30 00:00', /^"\*-02-30" never comes: month 2 has at most 29 days/],
    ['*-12-32 00:00', /^"32" is not a day from 1 to 31/],
    ['*-11-31 00:00', /^"\*-11-31" never comes: month 11 has at most 30 days/],
    ['12 00:00', /^"12" is not a date; use \*-MONTH-DAY or MONTH-DAY/],
    ['*-*-1-2 00:00', /^"\*-\*-1-2" is not a date/],
    ['1:2:3:4', /^"1:2:3:4" is not a time; use HOUR:MINUTE or HOUR:MINUTE:SECOND/],
    ['001:00', /^"001" is not a hour \(a number, A\.\.B or A\/STEP\)/],
    ['00:60', /^"60" is not a minute from 0 to 59/],
    ['00:00:60', /^"60" is not a second from 0 to 59/],
    ['*:x', /^"x" is not a minute/],
    ['*-*-* 03:00  UTC', /leading, trailing or repeated spaces/],
  ])('%j', (expression, message) => {
    expect(onCalendarError(expression)).toMatch(message);
  });

  test.each([
    '*:0/59', '*-*-* 22/1:00', '*-*~28 00:00', '*-*-31 00:00', '*-12-31 23:59:59', '*-01-31 00:00', '*-*-1..5/1 00:00', 'MON..sun 02:00',
    'Monday,Wednesday 02:00', 'Mon-Tue 02:00', '*-*-* 03:00 UTC', '03:00 utc', 'ANNUALLY', '*:0,30', '1-1 00:00', '*-1..12/3-1 00:00',
  ])('%j is accepted, and systemd fires it', (expression) => {
    expect(onCalendarError(expression)).toBeUndefined();
    expect(systemdVerdict(expression)).toBe('fires');
  });
});

const component = (max: number) => fc.oneof(
  fc.constant('*'),
  fc.integer({ min: 0, max: max + 2 }).map(String),
  fc.tuple(fc.integer({ min: 0, max: max + 1 }), fc.integer({ min: 0, max: max + 1 })).map(([a, b]) => `${a}..${b}`),
  fc.tuple(fc.integer({ min: 0, max: max }), fc.integer({ min: 0, max: 9 })).map(([a, s]) => `${a}/${s}`),
  fc.constantFrom('*/2', '1,3', '01'),
);
const weekdays = fc.array(fc.constantFrom('Mon', 'tue', 'Wednesday', 'Sun', 'Fri..Sun', 'Sun..Mon', 'Mon-Fri', 'Xyz'), { minLength: 1, maxLength: 3 }).map((d) => d.join(','));
const date = fc.tuple(fc.constantFrom('', '*-', '2030-'), component(12), fc.constantFrom('-', '~'), component(31)).map(([y, m, s, d]) => `${y}${m}${s}${d}`);
const time = fc.tuple(component(23), component(59), fc.option(component(59), { nil: undefined })).map(([h, m, s]) => [h, m, ...(s === undefined ? [] : [s])].join(':'));
const expression = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.tuple(fc.option(weekdays), fc.option(date), fc.option(time), fc.constantFrom('', ' UTC', ' utc', ' Europe/Paris'))
      .map(([w, d, t, z]) => [w, d, t].filter((p) => p !== null).join(' ') + z),
  },
  { weight: 1, arbitrary: fc.constantFrom('minutely', 'hourly', 'daily', 'weekly', 'monthly', 'yearly', 'annually', 'quarterly', 'semiannually', 'Weekly', 'fortnightly') },
  { weight: 1, arbitrary: nastyString({ maxParts: 3 }) },
);

test('every generated expression accepted here is one systemd parses and fires', () => {
  const cases = fc.sample(expression, { numRuns: runsOf('onCalendar'), seed: GENERATIVE_SEED });
  let accepted = 0;
  for (const e of cases) {
    if (onCalendarError(e) !== undefined) continue;
    expect({ expression: e, systemd: systemdVerdict(e) }).toEqual({ expression: e, systemd: 'fires' });
    accepted++;
  }
  expect(accepted).toBeGreaterThan(0);
  // eslint-disable-next-line no-console
  console.log(`OnCalendar: ${cases.length} generated expressions (${accepted} accepted and fired by systemd-analyze, ${cases.length - accepted} refused)`);
});
