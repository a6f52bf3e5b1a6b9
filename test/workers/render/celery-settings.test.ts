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

  // Every other branch once, with the kind of refusal: "celery" where Celery itself refuses at
  // start (celery-settings-celery.e2e.test.ts asks it), "strict" where this library is stricter.
  test.each([
    ['TASK_ACKS_LATE', 'True', /^settings\.TASK_ACKS_LATE: use the name as Celery documents it: "task_acks_late"\.$/, 'strict'],
    ['task.acks.late', 'True', /^settings\.task\.acks\.late: use the name as Celery documents it: "task_acks_late"\.$/, 'strict'],
    ['task_acks_lat', '(bool)True', /; with a cast Celery would not even complain, and nothing would read it\)\.$/, 'strict'],
    ['task_acks_lat', '(nocast)True', /did you mean "task_acks_late"\? \(settings are lowercase NAMESPACE_NAME names .* in the application\)\.$/, 'celery'],
    ['acks', '(bool)True', /is not a setting Celery's worker command line accepts \(settings are lowercase.*\)\.$/, 'celery'],
    ['task\0acks', 'True', /^settings\.task\u0000acks: the name is not allowed; it holds a NUL character/, 'strict'],
    ['broker_password', 'x', /broker_password is not allowed in a worker fleet: the fleet builds the broker URL/, 'strict'],
    ['redis_password', 'x', /^settings\.redis_password: redis_password is not allowed: the value would be readable in the template/, 'strict'],
    ['task_default_queue', 'a\0b', /^settings\.task_default_queue: "a\\u0000b" is not allowed; it holds a NUL character/, 'strict'],
    ['broker_heartbeat', '(10', /^settings\.broker_heartbeat: "\(10" is not allowed: Celery reads a value that starts with "\(" as a cast/, 'strict'],
    ['broker_heartbeat', '(bool)True', /^settings\.broker_heartbeat: "\(bool\)True" is not allowed; Celery declares this setting as int, and \(bool\) makes it a boolean\.$/, 'strict'],
    ['broker_connection_timeout', '(string)4', /declares this setting as float, and \(string\) makes it a string\.$/, 'strict'],
    ['broker_heartbeat', '1.5', /^settings\.broker_heartbeat: "1\.5" is not allowed; use a whole number/, 'strict'],
    ['broker_connection_timeout', 'four', /^settings\.broker_connection_timeout: "four" is not allowed; use a number such as 2, 0\.5 or 1e3\.$/, 'strict'],
    ['broker_connection_timeout', '1.', /use a number such as 2, 0\.5 or 1e3/, 'strict'],
    ['task_acks_late', 'True!', /use True or False/, 'strict'],
    ['task_acks_late', '(json){"a"', /the text after the cast must be JSON\.$/, 'strict'],
    ['broker_connection_timeout', '(json)"4"', /declares this setting as float, so give a JSON number\.$/, 'strict'],
    ['broker_transport_options', '(tuple)[1]', /declares this setting as dict, so give a JSON object\.$/, 'strict'],
    ['cassandra_servers', 'a,b', /declared as list\); prefix it with a cast, for example \(json\)\["a", "b"\]\.$/, 'celery'],
    ['beat_cron_starting_deadline', '30', /declared as class:int\); prefix it with a cast, for example \(int\)30\.$/, 'celery'],
    ['broker_transport_options', 'x', /is a dict, which Celery reads from the command line only as \(json\)/, 'celery'],
  ])('%j=%j', (key, value, message, kind) => {
    expect(celerySettingError(key, value)).toEqual({ message: expect.stringMatching(message), kind });
  });

  test.each([
    ['broker_connection_timeout', '(int)5'], ['broker_connection_timeout', '(json)5'], ['broker_connection_timeout', '-1.5e3'],
    ['broker_connection_timeout', '(float)2'], ['broker_heartbeat', '(json)10'], ['broker_heartbeat', '-3'], ['task_acks_late', 'on'],
    ['task_acks_late', '(bool)yes'], ['broker_transport_options', ''], ['broker_transport_options', '(dict){}'], ['cassandra_servers', '(list)["a"]'],
    ['result_compression', '(any)gzip'], ['task_default_queue', 'celery (default)'],
  ])('%s=%s is accepted', (key, value) => {
    expect(celerySettingError(key, value)).toBeUndefined();
  });

  test('a name is suggested only within max(2, length / 4) edits, the first closest on a tie', () => {
    // 12 characters: up to 3 edits.
    expect(closestName('abcdefghijkl', ['abcdefghiXYZ'])).toBe('abcdefghiXYZ');
    expect(closestName('abcdefghijkl', ['abcdefghWXYZ'])).toBeUndefined();
    // 4 characters: up to 2 edits.
    expect(closestName('abcd', ['abXY'])).toBe('abXY');
    expect(closestName('abcd', ['aXYZ'])).toBeUndefined();
    expect(closestName('abcd', ['abcX', 'abcY'])).toBe('abcX');
    expect(closestName('abcd', [])).toBeUndefined();
  });

  test('unknown settings get no version warning (they are refused)', () => {
    expect(celerySettingWarnings({ no_such_setting: 'x' })).toEqual([]);
  });

  test('a log level is letters only, so that a case mapping cannot make one', () => {
    // "\u0131nfo" (dotless i) upper-cases to INFO.
    expect(logLevelError('\u0131nfo')).toMatch(/^logLevel: "\u0131nfo" is not a level Celery accepts/);
    expect(logLevelError('INFO ')).toMatch(/is not a level Celery accepts/);
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
