import * as fc from 'fast-check';
import { extraArgumentsError, parseExtraArguments } from '../../../src/workers/render/extra-arguments';
import { nastyString } from '../../generative/arbitraries';
import { askCelery, oracleInstalls } from '../../generative/celery-oracle';
import { GENERATIVE_SEED, runsOf } from '../../generative/runs';

jest.setTimeout(120_000);

/** Worker parameters a fleet owns (typed options) or refuses: Celery must never get them from extraArguments. */
const FORBIDDEN_PARAMS = new Set([
  'hostname', 'loglevel', 'prefetch_multiplier', 'concurrency', 'pool', 'time_limit', 'soft_time_limit', 'max_tasks_per_child',
  'max_memory_per_child', 'queues', 'without_gossip', 'without_mingle', 'without_heartbeat',
  'detach', 'statedb', 'disable_prefetch', 'purge', 'beat', 'schedule_filename', 'scheduler', 'logfile', 'pidfile', 'uid', 'gid', 'umask',
  'executable',
]);

describe('the spellings the issue found, and their relatives, are refused', () => {
  test.each([
    [['-S/path'], /"-S" "\/path" is not allowed in a worker fleet: a state database/],
    [['-Pgevent'], /"-P" "gevent" is set by the typed option "pool"/],
    [['-Qother'], /"-Q" "other" is set by the typed option "queues"/],
    [['-nname'], /"-n" "name" is set by the typed option "hostname"/],
    [['-n=name'], /"-n" "=name" is set by the typed option "hostname"/],
    [['--time-limit=7200'], /"--time-limit" "7200" is set by the typed option "timeLimit"/],
    [['--max-tasks-per-child=0'], /"--max-tasks-per-child" "0" is set by the typed option "maxTasksPerChild"/],
    [['-DE'], /"-D" is not allowed in a worker fleet: systemd supervises a foreground worker/],
    [['-Ec4'], /"-c" "4" is set by the typed option "concurrency"/],
    [['-B'], /"-B" is not allowed in a worker fleet: every instance of the fleet would run its own celery beat/],
    [['--logfile', '/var/log/x'], /"--logfile" "\/var\/log\/x" is not allowed in a worker fleet: systemd supervises/],
    [['--help'], /"--help" is not allowed in a worker fleet: the worker would print its help and exit 0/],
    [['task_acks_late=False'], /"task_acks_late=False" is not an option: Celery reads arguments that are not options as settings/],
    [['--', 'x=y'], /"--" is not allowed/],
    [['--concurrenc', '4'], /"--concurrenc" is not an option of celery worker .*\(no abbreviations\)/],
    [['--optimization', 'fair'], /"--optimization" is only known to Celery 5\.3\.1 and later.*use -O/],
    [['--disable-prefetch'], /"--disable-prefetch" is only known to Celery 5\.6\.0 and later/],
    [['-X'], /"-X" needs a value/],
    [['--purge=yes'], /"--purge" takes no value/],
    [['-O', 'fast'], /"-O" "fast" is not allowed; Celery accepts only "default" or "fair"/],
  ])('%j', (args, message) => {
    expect(extraArgumentsError(args)?.message).toMatch(message);
  });

  test('allowed options, in every spelling, parse to what Celery gets', () => {
    const args = ['-E', '-Xslow', '--include=proj.tasks', '-O', 'fair', '--heartbeat-interval=30', '--autoscale', '8,2', '-X', '--purge'];
    expect(extraArgumentsError(args)).toBeUndefined();
    expect(parseExtraArguments(args)).toEqual([
      { param: 'task_events', name: '-E' },
      { param: 'exclude_queues', name: '-X', value: 'slow' },
      { param: 'include', name: '--include', value: 'proj.tasks' },
      { param: 'optimization', name: '-O', value: 'fair' },
      { param: 'heartbeat_interval', name: '--heartbeat-interval', value: '30' },
      { param: 'autoscale', name: '--autoscale', value: '8,2' },
      // A value is the next argument whatever it looks like: this excludes a queue named --purge.
      { param: 'exclude_queues', name: '-X', value: '--purge' },
    ]);
  });
});

/** Option strings of every kind, attached and combined forms, unknown ones and values. */
const OPTION_NAMES = [
  '-n', '--hostname', '-D', '--detach', '-S', '--statedb', '-l', '--loglevel', '-O', '--optimization', '--prefetch-multiplier', '--disable-prefetch',
  '-c', '--concurrency', '-P', '--pool', '-E', '--task-events', '--events', '--time-limit', '--soft-time-limit', '--max-tasks-per-child',
  '--max-memory-per-child', '--purge', '--discard', '--queues', '-Q', '--exclude-queues', '-X', '--include', '-I', '--without-gossip',
  '--without-mingle', '--without-heartbeat', '--heartbeat-interval', '--autoscale', '-B', '--beat', '-s', '--schedule-filename', '--schedule',
  '--scheduler', '-f', '--logfile', '--pidfile', '--uid', '--gid', '--umask', '--executable', '--help', '-h', '-A', '--app', '-x', '--events-off',
  '--concurrenc', '--time', '-', '--', '',
];
const VALUES = ['4', '0', '-1', '10,2', '8', 'fair', 'default', 'Fair', 'abc', ' 5', '5 ', '1_0', 'x=y', 'INFO', 'gevent', 'celery@%h', '/tmp/db'];
const SHORT_LETTERS = 'nDSlOcPEQXIBsfhAx';

const argument = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...OPTION_NAMES) },
  { weight: 3, arbitrary: fc.constantFrom(...VALUES) },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.constantFrom(...OPTION_NAMES.filter((o) => o.startsWith('--'))), fc.oneof(fc.constantFrom(...VALUES), nastyString({ maxParts: 2 })))
      .map(([o, v]) => `${o}=${v}`),
  },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...SHORT_LETTERS), fc.oneof(fc.constantFrom(...VALUES), nastyString({ maxParts: 2 }))).map(([l, v]) => `-${l}${v}`) },
  { weight: 2, arbitrary: fc.array(fc.constantFrom(...SHORT_LETTERS), { minLength: 2, maxLength: 4 }).map((ls) => `-${ls.join('')}`) },
  { weight: 1, arbitrary: nastyString({ maxParts: 3 }) },
);

test('Celery\'s own parser (every installed version, 5.2 to 5.6) agrees with every decision on generated argument lists', () => {
  const installs = oracleInstalls();
  const cases = fc.sample(fc.array(argument, { maxLength: 5 }), { numRuns: runsOf('extraArguments'), seed: GENERATIVE_SEED });
  // As the renderer composes them: the extra arguments, then "--" and the settings.
  const SETTINGS = ['--', 'task_acks_late=True'];
  const answers = installs.map((install) => askCelery(install, 'worker-args', cases.map((args) => [...args, ...SETTINGS])));
  const counts = { accepted: 0, refusedAsCelery: 0, refusedStrict: 0 };
  cases.forEach((args, i) => {
    const celeryTakes = answers.map((a) => a[i].ok && JSON.stringify(a[i].extra) === JSON.stringify(SETTINGS.slice(1))
      && !(a[i].params ?? []).some((p) => FORBIDDEN_PARAMS.has(p)));
    const ours = extraArgumentsError(args);
    const verdict = { args, ours: ours ?? 'accepted', celery: answers.map((a, v) => `${installs[v].label}: ${JSON.stringify(a[i])}`) };
    if (ours === undefined) {
      // Accepted here: every version parses it and sets nothing the fleet owns or refuses.
      expect({ ...verdict, celeryTakes }).toEqual({ ...verdict, celeryTakes: celeryTakes.map(() => true) });
      counts.accepted++;
    } else if (ours.kind === 'celery') {
      // Refused as Celery would: at least one version fails or sets what the fleet owns or refuses.
      expect({ ...verdict, someVersionRefuses: celeryTakes.includes(false) }).toEqual({ ...verdict, someVersionRefuses: true });
      counts.refusedAsCelery++;
    } else {
      counts.refusedStrict++;
    }
  });
  expect(counts.accepted).toBeGreaterThan(0);
  expect(counts.refusedAsCelery).toBeGreaterThan(0);
  // eslint-disable-next-line no-console
  console.log(`extraArguments: ${cases.length} generated argument lists x ${installs.length} Celery versions `
    + `(${counts.accepted} accepted, ${counts.refusedAsCelery} refused as Celery would, ${counts.refusedStrict} refused as stricter than Celery)`);
});
