import * as fc from 'fast-check';
import { extraArgumentsError } from '../../../src/workers/render/extra-arguments';
import { nastyString } from '../../generative/arbitraries';
import { askCelery, oracleInstalls } from '../../generative/celery-oracle';
import { GENERATIVE_SEED, runsOf } from '../../generative/runs';

// Celery's own parser of every installed version is the oracle (extra-arguments.test.ts has the unit cases).
jest.setTimeout(120_000);

/** Worker parameters a fleet owns (typed options) or refuses: Celery must never get them from extraArguments. */
const FORBIDDEN_PARAMS = new Set([
  'hostname', 'loglevel', 'prefetch_multiplier', 'concurrency', 'pool', 'time_limit', 'soft_time_limit', 'max_tasks_per_child',
  'max_memory_per_child', 'queues', 'without_gossip', 'without_mingle', 'without_heartbeat',
  'detach', 'statedb', 'disable_prefetch', 'purge', 'beat', 'schedule_filename', 'scheduler', 'logfile', 'pidfile', 'uid', 'gid', 'umask',
  'executable',
]);

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
