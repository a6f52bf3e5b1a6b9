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
