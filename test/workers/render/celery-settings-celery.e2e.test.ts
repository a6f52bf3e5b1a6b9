import { spawnSync } from 'child_process';
import { join } from 'path';
import * as fc from 'fast-check';
import { celerySettingError } from '../../../src/workers/render/celery-settings';
import { CELERY_SETTINGS, CELERY_TABLE_NEWEST_VERSION } from '../../../src/workers/render/celery-settings-table';
import { nastyString } from '../../generative/arbitraries';
import { askCelery, oracleInstalls } from '../../generative/celery-oracle';
import { GENERATIVE_SEED, runsOf } from '../../generative/runs';

// Celery's installed versions are the oracle (celery-settings.test.ts has the unit cases).
jest.setTimeout(120_000);

describe('the settings table is Celery\'s own', () => {
  test('regenerating it from the installed Celery versions gives the committed file', () => {
    const result = spawnSync('python3', [join(__dirname, '..', '..', '..', 'scripts', 'generate-celery-settings.py'), '--check'], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});

const TYPICAL_VALUES = [
  'True', 'False', 'true', 'yes', 'off', '0', '1', 'maybe', '5', '-3', '1.5', '1e3', '.5', 'abc', '', ' 5', 'inf', 'NaN',
  '(json){}', '(json)[]', '(json)"x"', '(json)5', '(json)1.5', '(json)true', '(json){"confirm_publish": true}', '(json)not json',
  '(int)5', '(int)x', '(float)1.5', '(string)x', '(bool)True', '(bool)maybe', '(any)x', '(foo)1', '(JSON){}', '{"a":1}',
  '(dict){"a":1}', '(list)[1]', '(tuple)[1]', '(', '(x', 'redis://:pw@h/0', 'rpc://',
];
const keys = Object.keys(CELERY_SETTINGS);
const typo = fc.tuple(fc.constantFrom(...keys), fc.nat(), fc.constantFrom('', 'x', '_')).map(([k, i, c]) => {
  const at = i % k.length;
  return k.slice(0, at) + c + k.slice(at + 1);
});
const settingKey = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...keys) },
  { weight: 2, arbitrary: typo },
  { weight: 1, arbitrary: fc.constantFrom('timezone', 'imports', 'enable_utc', 'accept_content', 'TASK_ACKS_LATE', 'celeryd_concurrency', 'nonsense') },
  { weight: 1, arbitrary: nastyString({ maxParts: 2 }) },
);
const settingValue = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...TYPICAL_VALUES) }, { weight: 1, arbitrary: nastyString({ maxParts: 3 }) });

test('Celery\'s own settings parser (every installed version) agrees with every decision on generated settings', () => {
  const installs = oracleInstalls();
  const cases = fc.sample(fc.tuple(settingKey, settingValue), { numRuns: runsOf('settings'), seed: GENERATIVE_SEED });
  const answers = installs.map((install) => askCelery(install, 'settings', cases));
  const newest = answers[installs.findIndex((i) => i.version === CELERY_TABLE_NEWEST_VERSION)];
  const counts = { accepted: 0, acceptedNewerOnly: 0, refusedAsCelery: 0, refusedStrict: 0 };
  cases.forEach(([key, value], i) => {
    const ours = celerySettingError(key, value);
    const verdict = { key, value, ours: ours ?? 'accepted', celery: answers.map((a, v) => `${installs[v].label}: ${JSON.stringify(a[i])}`) };
    if (ours === undefined) {
      const knownToOldest = CELERY_SETTINGS[key].inOldest;
      // Accepted: the newest Celery parses it, and every version does unless the setting is newer than the oldest (a warning says so).
      expect({ ...verdict, takes: [newest[i].ok, answers.every((a) => a[i].ok) || !knownToOldest] }).toEqual({ ...verdict, takes: [true, true] });
      if (knownToOldest) counts.accepted++;
      else counts.acceptedNewerOnly++;
    } else if (ours.kind === 'celery') {
      expect({ ...verdict, someVersionRefuses: answers.some((a) => !a[i].ok) }).toEqual({ ...verdict, someVersionRefuses: true });
      counts.refusedAsCelery++;
    } else {
      counts.refusedStrict++;
    }
  });
  expect(counts.accepted).toBeGreaterThan(0);
  expect(counts.refusedAsCelery).toBeGreaterThan(0);
  // eslint-disable-next-line no-console
  console.log(`settings: ${cases.length} generated key=value pairs x ${installs.length} Celery versions (${counts.accepted} accepted, `
    + `${counts.acceptedNewerOnly} accepted for newer Celery only, ${counts.refusedAsCelery} refused as Celery would, ${counts.refusedStrict} refused as stricter than Celery)`);
});
