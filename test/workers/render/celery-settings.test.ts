import { renderCeleryWorkerCommand } from '../../../src/workers/render';
import { celerySettingError, celerySettingWarnings, closestName, editDistance, logLevelError, poolNameError } from '../../../src/workers/render/celery-settings';
import { CELERY_SETTINGS } from '../../../src/workers/render/celery-settings-table';

describe('the settings table is Celery\'s own', () => {
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
