import { spawnSync } from 'child_process';
import { join } from 'path';
import * as fc from 'fast-check';
import { renderCeleryWorkerCommand } from '../../../src/workers/render';
import { celerySettingError, celerySettingWarnings, closestName, editDistance, logLevelError, poolNameError } from '../../../src/workers/render/celery-settings';
import { CELERY_SETTINGS, CELERY_TABLE_NEWEST_VERSION } from '../../../src/workers/render/celery-settings-table';
import { nastyString } from '../../generative/arbitraries';
import { askCelery, oracleInstalls } from '../../generative/celery-oracle';
import { GENERATIVE_SEED, runsOf } from '../../generative/runs';

jest.setTimeout(120_000);

describe('the settings table is Celery\'s own', () => {
  test('regenerating it from the installed Celery versions gives the committed file', () => {
    const result = spawnSync('python3', [join(__dirname, '..', '..', '..', 'scripts', 'generate-celery-settings.py'), '--check'], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  test('it holds the settings the fleet renders and the ones the README suggests', () => {
    for (const key of ['task_acks_late', 'task_reject_on_worker_lost', 'worker_enable_remote_control', 'broker_heartbeat', 'broker_transport_options']) {
      expect(CELERY_SETTINGS[key]).toBeDefined();
    }
  });
});

describe('a setting Celery would refuse at start is refused at synth, with the closest name', () => {
  test.each([
    ['task_acks_lat', 'True', /settings\.task_acks_lat: "task_acks_lat" is not a setting Celery's worker command line accepts; did you mean "task_acks_late"\?/],
    ['worker_prefech_multiplier', '4', /did you mean "worker_prefetch_multiplier"\?/],
    ['timezone', 'UTC', /top-level ones such as timezone must be set in the application/],
    ['task_acks_late', 'maybe', /settings\.task_acks_late: "maybe" is not allowed; use True or False/],
    ['broker_heartbeat', 'ten', /settings\.broker_heartbeat: "ten" is not allowed; use a whole number/],
    ['broker_transport_options', '{"confirm_publish": true}', /is a dict, which Celery reads from the command line only as \(json\)\{\.\.\.\}/],
    ['broker_transport_options', '(json)[1]', /declares this setting as dict, so give a JSON object/],
    ['result_compression', 'gzip', /prefix it with a cast, for example \(string\)gzip/],
    ['broker_heartbeat', '(integer)10', /the cast \(integer\) .* is not one Celery knows/],
    ['task_time_limit', '7200', /task_time_limit is set by the typed option timeLimit/],
    ['worker_enable_remote_control', 'False', /is set by the typed option enableRemoteControl/],
    ['broker_url', 'amqp://x', /the fleet builds the broker URL on the instance from the credentials secret/],
    ['result_backend', 'redis://:secret@cache:6379/0', /a URL with credentials is not allowed/],
    ['worker_state_db', '/var/lib/celery/state', /a state database persists the revoked set/],
  ])('%s=%s', (key, value, message) => {
    expect(celerySettingError(key, value)?.message).toMatch(message);
    expect(() => renderCeleryWorkerCommand({ app: 'proj', settings: { [key]: value } })).toThrow(message);
  });

  test.each([
    ['task_acks_late', 'False'], ['broker_heartbeat', '10'], ['broker_transport_options', '(json){"confirm_publish": true}'],
    ['worker_log_format', '%(message)s $(not run) "quoted"'], ['result_compression', '(string)gzip'], ['broker_pool_limit', '(int)5'],
    ['task_default_queue_type', 'quorum'], ['broker_connection_retry_on_startup', 'True'],
  ])('%s=%s is accepted', (key, value) => {
    expect(celerySettingError(key, value)).toBeUndefined();
  });

  test('settings only newer Celery knows are accepted with a warning naming the oldest version', () => {
    expect(celerySettingWarnings({ broker_connection_retry_on_startup: 'True', task_acks_late: 'True' })).toEqual([
      expect.stringMatching(/^settings\.broker_connection_retry_on_startup is not known to Celery 5\.2\.6 \(a later 5\.x added it\): a worker on an older Celery fails to start with it/),
    ]);
  });

  test('log levels and pools are Celery\'s', () => {
    expect(logLevelError('info')).toBeUndefined();
    expect(logLevelError('WARN')).toMatch(/^logLevel: "WARN" is not a level Celery accepts; use one of DEBUG, INFO, WARNING, ERROR, CRITICAL, FATAL/);
    expect(poolNameError('threads')).toBeUndefined();
    expect(poolNameError('thread')).toMatch(/^pool: "thread" is not a pool Celery accepts \(did you mean "threads"\?\)/);
    expect(poolNameError('custom')).toMatch(/is not a pool Celery accepts/);
  });

  test('edit distance and the closest name', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(closestName('task_acks_lat', ['task_acks_late', 'task_track_started'])).toBe('task_acks_late');
    expect(closestName('something_else_entirely', ['task_acks_late'])).toBeUndefined();
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
