import { Duration, Token } from 'aws-cdk-lib';
import { RabbitMqEngineVersion } from '../../../src/broker/rabbitmq-engine-version';
import { CeleryPool } from '../../../src/workers/render/celery-pool';
import { CeleryWorkerCommandOptions, DEFAULT_REVOKE_EXPIRES, DEFAULT_REVOKES_MAX, renderCeleryWorkerCommand } from '../../../src/workers/render/celery-worker-command';
import { renderWorkerServiceUnit } from '../../../src/workers/render/worker-service';

/*
 * One focused assertion per generated flag, setting and environment variable of the worker
 * command, and per refusal of its validation: a change to any of them fails a test that names it,
 * not only the large snapshots.
 */

/** The value following `flag` in argv, or undefined when the flag is absent. */
function flagValue(argv: string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i < 0 ? undefined : argv[i + 1];
}

/** The `key=value` settings after `--`, as an object. */
function settingsOf(argv: string[]): { [key: string]: string } {
  const i = argv.indexOf('--');
  if (i < 0) return {};
  return Object.fromEntries(argv.slice(i + 1).map((s) => [s.slice(0, s.indexOf('=')), s.slice(s.indexOf('=') + 1)]));
}

/** The options of `celery worker` itself: between `worker` and `--`. */
function workerOptions(argv: string[]): string[] {
  const end = argv.indexOf('--');
  return argv.slice(argv.indexOf('worker') + 1, end < 0 ? undefined : end);
}

const render = (options: Partial<CeleryWorkerCommandOptions> = {}) => renderCeleryWorkerCommand({ app: 'proj', ...options });

// Rendered inside each test, not at describe time: a mutation tool activates its mutants per test.
describe('the default command', () => {
  test('is the whole argv, in order', () => {
    expect(render().argv).toEqual([
      'celery', '-A', 'proj', 'worker', '--loglevel', 'INFO', '--hostname', 'celery@%h', '--pool', 'prefork', '--prefetch-multiplier', '1',
      '--without-mingle', '--without-gossip', '--without-heartbeat', '--', 'task_acks_late=True', 'task_reject_on_worker_lost=True',
    ]);
  });

  test('bounds the revoked sets through the environment: 10,000 ids for one hour', () => {
    expect(DEFAULT_REVOKES_MAX).toBe(10_000);
    expect(DEFAULT_REVOKE_EXPIRES.toSeconds()).toBe(3600);
    expect(render().environment).toEqual({ CELERY_WORKER_REVOKES_MAX: '10000', CELERY_WORKER_REVOKE_EXPIRES: '3600' });
  });

  test('the bounds reach the unit as Environment= lines, with Celery\'s exact variable names', () => {
    const unit = renderWorkerServiceUnit({ command: render({ revokesMax: 250, revokeExpires: Duration.minutes(5) }), user: 'celery', workingDirectory: '/opt/app', stopTimeout: Duration.minutes(1) });
    expect(unit.split('\n')).toEqual(expect.arrayContaining(['Environment="CELERY_WORKER_REVOKES_MAX=250"', 'Environment="CELERY_WORKER_REVOKE_EXPIRES=300"']));
  });
});

describe('each typed option renders its flag, setting or variable', () => {
  test.each<[string, Partial<CeleryWorkerCommandOptions>, (c: ReturnType<typeof render>) => unknown, unknown]>([
    ['celeryExecutable', { celeryExecutable: '/opt/app/.venv/bin/celery' }, (c) => c.argv[0], '/opt/app/.venv/bin/celery'],
    ['app', { app: 'proj.celery:app' }, (c) => c.argv.slice(1, 4), ['-A', 'proj.celery:app', 'worker']],
    ['logLevel', { logLevel: 'WARNING' }, (c) => flagValue(c.argv, '--loglevel'), 'WARNING'],
    ['hostname', { hostname: 'w1@%h' }, (c) => flagValue(c.argv, '--hostname'), 'w1@%h'],
    ['pool', { pool: CeleryPool.THREADS }, (c) => flagValue(c.argv, '--pool'), 'threads'],
    ['concurrency', { concurrency: 4 }, (c) => flagValue(c.argv, '--concurrency'), '4'],
    ['concurrency unset', {}, (c) => flagValue(c.argv, '--concurrency'), undefined],
    ['concurrency with solo', { pool: CeleryPool.SOLO }, (c) => flagValue(c.argv, '--concurrency'), '1'],
    ['queues', { queues: ['orders', 'reports'] }, (c) => flagValue(c.argv, '--queues'), 'orders,reports'],
    ['queues empty', { queues: [] }, (c) => flagValue(c.argv, '--queues'), undefined],
    ['prefetchMultiplier', { prefetchMultiplier: 3 }, (c) => flagValue(c.argv, '--prefetch-multiplier'), '3'],
    ['maxTasksPerChild', { maxTasksPerChild: 100 }, (c) => flagValue(c.argv, '--max-tasks-per-child'), '100'],
    ['maxTasksPerChild unset', {}, (c) => flagValue(c.argv, '--max-tasks-per-child'), undefined],
    ['maxMemoryPerChildKib', { maxMemoryPerChildKib: 512_000 }, (c) => flagValue(c.argv, '--max-memory-per-child'), '512000'],
    ['maxMemoryPerChildKib unset', {}, (c) => flagValue(c.argv, '--max-memory-per-child'), undefined],
    ['timeLimit', { timeLimit: Duration.minutes(10) }, (c) => flagValue(c.argv, '--time-limit'), '600'],
    ['softTimeLimit', { softTimeLimit: Duration.minutes(9) }, (c) => flagValue(c.argv, '--soft-time-limit'), '540'],
    ['time limits unset', {}, (c) => [flagValue(c.argv, '--time-limit'), flagValue(c.argv, '--soft-time-limit')], [undefined, undefined]],
    ['enableMingle', { enableMingle: true, acknowledgeMingleBrokerTraffic: true }, (c) => c.argv.includes('--without-mingle'), false],
    ['enableGossip', { enableGossip: true }, (c) => c.argv.includes('--without-gossip'), false],
    ['enableHeartbeatEvents', { enableHeartbeatEvents: true }, (c) => c.argv.includes('--without-heartbeat'), false],
    ['acksLate false', { acksLate: false }, (c) => settingsOf(c.argv), {}],
    ['enableRemoteControl false', { enableRemoteControl: false }, (c) => settingsOf(c.argv).worker_enable_remote_control, 'False'],
    ['enableRemoteControl true', { enableRemoteControl: true }, (c) => settingsOf(c.argv).worker_enable_remote_control, undefined],
    ['settings override the rendered ones', { settings: { task_acks_late: 'False' } }, (c) => settingsOf(c.argv).task_acks_late, 'False'],
    ['settings are sorted after --', { settings: { worker_lost_wait: '(int)20', broker_heartbeat: '(int)30' } }, (c) => c.argv.slice(c.argv.indexOf('--') + 1),
      ['broker_heartbeat=(int)30', 'task_acks_late=True', 'task_reject_on_worker_lost=True', 'worker_lost_wait=(int)20']],
    ['extraArguments go last among the options', { extraArguments: ['-E', '-Xslow'] }, (c) => workerOptions(c.argv).slice(-2), ['-E', '-Xslow']],
    ['revokesMax', { revokesMax: 50 }, (c) => c.environment.CELERY_WORKER_REVOKES_MAX, '50'],
    ['revokeExpires', { revokeExpires: Duration.minutes(2) }, (c) => c.environment.CELERY_WORKER_REVOKE_EXPIRES, '120'],
  ])('%s', (_name, options, pick, expected) => {
    expect(pick(render(options))).toEqual(expected);
  });

  test('without queues, a quorum broker declares only the default queue\'s type (no task_queues)', () => {
    const settings = settingsOf(renderCeleryWorkerCommand({ app: 'proj' }, { engineVersion: RabbitMqEngineVersion.V4_2 }).argv);
    expect(settings.task_queues).toBeUndefined();
    expect(settings.task_default_queue_type).toBe('(string)quorum');
  });

  test('no settings at all: no "--"', () => {
    expect(render({ acksLate: false }).argv).not.toContain('--');
  });
});

describe('every refusal of the worker command', () => {
  test.each<[string, Partial<CeleryWorkerCommandOptions>, RegExp]>([
    ['app not a module path', { app: 'proj; rm -rf /' }, /^app: "proj; rm -rf \/" is not a Celery application; give a Python module path such as "proj" or "proj\.celery:app" \(letters, digits and _, separated by dots, optionally :attribute\)\.$/],
    ['app starting with a digit', { app: '1proj' }, /^app: "1proj" is not a Celery application/],
    ['app ending with a colon', { app: 'proj:' }, /^app: "proj:" is not a Celery application/],
    ['app attribute path with a digit first', { app: 'proj.celery:app.1x' }, /^app: "proj\.celery:app\.1x" is not a Celery application/],
    ['app not a string (a JavaScript or Python caller)', { app: undefined as unknown as string }, /^app: undefined is not a Celery application/],
    ['app empty', { app: '' }, /^app: "" is not a Celery application/],
    ['celeryExecutable with a NUL', { celeryExecutable: '/bin/celery\0' }, /^celeryExecutable: ".*" is not allowed; it holds a NUL character/],
    ['queue token', { queues: [Token.asString({ Ref: 'Q' })] }, /^queues: a CloudFormation value \(token\) is not accepted as a queue name/],
    ['queue name', { queues: ['a b'] }, /^queues: "a b" is not a queue name this library accepts; use letters, digits and _ \. : - only\./],
    ['queue twice', { queues: ['a', 'a'] }, /^queues: "a" is listed twice/],
    ['hostname', { hostname: 'w%x' }, /^hostname: "w%x" is not allowed; "%" must be followed by h .*Celery fails on %x/],
    ['logLevel unknown', { logLevel: 'WARN' }, /^logLevel: "WARN" is not a level Celery accepts/],
    ['logLevel not a word', { logLevel: 'INFO\0' }, /^logLevel: "INFO\\u0000" is not allowed; it holds a NUL character/],
    ['pool unknown', { pool: CeleryPool.of('thread') }, /^pool: "thread" is not a pool Celery accepts/],
    ['pool not a word', { pool: CeleryPool.of('prefork\0') }, /^pool: "prefork\\u0000" is not allowed; it holds a NUL character/],
    ['concurrency 0', { concurrency: 0 }, /^concurrency: 0 is not allowed; use a whole number of at least 1\./],
    ['concurrency fraction', { concurrency: 1.5 }, /^concurrency: 1\.5 is not allowed/],
    ['concurrency token', { concurrency: Token.asNumber({ Ref: 'C' }) }, /^concurrency: a CloudFormation value \(token\) is not accepted/],
    ['concurrency with solo', { pool: CeleryPool.SOLO, concurrency: 2 }, /^concurrency: 2 is not allowed with pool solo/],
    ['prefetchMultiplier', { prefetchMultiplier: 0 }, /^prefetchMultiplier: 0 is not allowed/],
    ['maxTasksPerChild', { maxTasksPerChild: -1 }, /^maxTasksPerChild: -1 is not allowed/],
    ['maxMemoryPerChildKib', { maxMemoryPerChildKib: 0 }, /^maxMemoryPerChildKib: 0 is not allowed/],
    ['revokesMax', { revokesMax: 0 }, /^revokesMax: 0 is not allowed; use a whole number of at least 1\./],
    ['timeLimit fraction', { timeLimit: Duration.millis(1500) }, /^timeLimit: .* is not allowed; use whole seconds, at least 1 second\./],
    ['timeLimit token', { timeLimit: Duration.seconds(Token.asNumber({ Ref: 'T' })) }, /^timeLimit: a CloudFormation value \(token\) is not accepted/],
    ['softTimeLimit below a second', { softTimeLimit: Duration.millis(500) }, /^softTimeLimit: .* is not allowed/],
    ['revokeExpires below a second', { revokeExpires: Duration.millis(999) }, /^revokeExpires: .* is not allowed; use whole seconds/],
    ['revokeExpires of zero', { revokeExpires: Duration.seconds(0) }, /^revokeExpires: .* is not allowed; use whole seconds, at least 1 second\./],
    ['softTimeLimit not shorter', { timeLimit: Duration.minutes(5), softTimeLimit: Duration.minutes(5) }, /^softTimeLimit: 300 s must be shorter than timeLimit \(300 s\)/],
    ['mingle without acknowledgement', { enableMingle: true }, /^enableMingle: true needs acknowledgeMingleBrokerTraffic: true/],
    ['extraArguments --statedb', { extraArguments: ['--statedb', '/var/lib/celery/state'] }, /^extraArguments: "--statedb" "\/var\/lib\/celery\/state" is not allowed in a worker fleet: a state database persists the revoked set/],
    ['extraArguments --statedb=', { extraArguments: ['--statedb=/s'] }, /^extraArguments: "--statedb" "\/s" is not allowed in a worker fleet: a state database/],
    ['extraArguments -S', { extraArguments: ['-S', '/s'] }, /^extraArguments: "-S" "\/s" is not allowed in a worker fleet: a state database/],
    ['a misspelt setting name', { settings: { task_acks_lat: 'True' } }, /^settings\.task_acks_lat: "task_acks_lat" is not a setting Celery's worker command line accepts; did you mean "task_acks_late"\?/],
    ['worker_state_db setting', { settings: { worker_state_db: '/s' } }, /^settings\.worker_state_db: .*a state database persists the revoked set/],
  ])('%s', (_name, options, message) => {
    expect(() => render(options)).toThrow(message);
  });

  test('the boundaries are accepted: 1, 1 second, a soft limit one second shorter, solo with concurrency 1', () => {
    expect(() => render({
      concurrency: 1,
      prefetchMultiplier: 1,
      maxTasksPerChild: 1,
      maxMemoryPerChildKib: 1,
      revokesMax: 1,
      timeLimit: Duration.seconds(2),
      softTimeLimit: Duration.seconds(1),
      revokeExpires: Duration.seconds(1),
    })).not.toThrow();
    expect(() => render({ pool: CeleryPool.SOLO, concurrency: 1 })).not.toThrow();
    expect(() => render({ app: 'proj.celery:app.attr' })).not.toThrow();
    expect(() => render({ enableMingle: true, acknowledgeMingleBrokerTraffic: true })).not.toThrow();
  });
});
