import { Duration } from 'aws-cdk-lib';
import { buildFleet } from './fleet-fixture';
import { userDataText, workerCommandLine } from './user-data';
import { CeleryPool, CeleryQueueType, CeleryWorkerFleetProps, CeleryWorkerOptions } from '../../src/workers';
import { workerOptionsOf } from '../../src/workers/fleet-worker-options';
import { renderCeleryWorkerCommand } from '../../src/workers/render';

jest.setTimeout(120_000);

/** What an instance runs: the worker's argv and environment (from its unit) and the whole boot script. */
interface Instance {
  readonly argv: string[];
  readonly environment: { [name: string]: string };
  readonly script: string;
}

/** A worker option set to a value no default has, and how to see that value on the instance. */
interface OptionCase<K extends keyof CeleryWorkerOptions> {
  readonly value: NonNullable<CeleryWorkerOptions[K]>;
  /** Options the value needs alongside it (and that the comparison fleet also gets). */
  readonly with?: Partial<CeleryWorkerOptions>;
  /** Whether the instance shows the value. */
  readonly reached: (instance: Instance) => boolean;
}

const after = (argv: string[], flag: string) => argv[argv.indexOf(flag) + 1];
const settingsOf = (argv: string[]) => (argv.includes('--') ? argv.slice(argv.indexOf('--') + 1) : []);

/**
 * One case per worker option. Exhaustive by type: a key added to `CeleryWorkerOptions` without a
 * case here does not compile, so no option can be added that the fleet accepts and this test does
 * not follow to the instance.
 */
const CASES: { readonly [K in keyof CeleryWorkerOptions]-?: OptionCase<K> } = {
  app: { value: 'distinct_app.tasks:application', reached: (i) => after(i.argv, '-A') === 'distinct_app.tasks:application' },
  queues: { value: ['distinct-queue', 'second.queue'], reached: (i) => after(i.argv, '--queues') === 'distinct-queue,second.queue' },
  // The fixture's broker is RabbitMQ 4, where quorum is the default.
  queueType: { value: CeleryQueueType.CLASSIC, reached: (i) => i.argv.some((a) => /"x-queue-type": ?"classic"|queue_type=\(string\)classic/.test(a)) },
  nativeDelayedDelivery: {
    value: false,
    with: { queueType: CeleryQueueType.QUORUM },
    reached: (i) => i.argv.some((a) => a.startsWith('task_queues=') && a.includes('direct') && !a.includes('topic')),
  },
  concurrency: { value: 13, reached: (i) => after(i.argv, '--concurrency') === '13' },
  pool: { value: CeleryPool.THREADS, reached: (i) => after(i.argv, '--pool') === 'threads' },
  hostname: { value: 'distinctnode@%h', reached: (i) => after(i.argv, '--hostname') === 'distinctnode@%h' && i.script.includes('distinctnode') },
  prefetchMultiplier: { value: 7, reached: (i) => after(i.argv, '--prefetch-multiplier') === '7' },
  maxTasksPerChild: { value: 4243, reached: (i) => after(i.argv, '--max-tasks-per-child') === '4243' },
  maxMemoryPerChildKib: { value: 424242, reached: (i) => after(i.argv, '--max-memory-per-child') === '424242' },
  timeLimit: { value: Duration.seconds(1021), reached: (i) => after(i.argv, '--time-limit') === '1021' },
  softTimeLimit: { value: Duration.seconds(781), reached: (i) => after(i.argv, '--soft-time-limit') === '781' },
  enableRemoteControl: { value: false, reached: (i) => settingsOf(i.argv).includes('worker_enable_remote_control=False') },
  acksLate: { value: false, reached: (i) => !settingsOf(i.argv).some((s) => s.startsWith('task_acks_late=')) },
  revokesMax: { value: 4244, reached: (i) => i.environment.CELERY_WORKER_REVOKES_MAX === '4244' },
  revokeExpires: { value: Duration.seconds(1234), reached: (i) => i.environment.CELERY_WORKER_REVOKE_EXPIRES === '1234' },
  logLevel: { value: 'DEBUG', reached: (i) => after(i.argv, '--loglevel') === 'DEBUG' },
  enableMingle: { value: true, with: { acknowledgeMingleBrokerTraffic: true }, reached: (i) => !i.argv.includes('--without-mingle') },
  // Alone it changes nothing; without it enableMingle is refused, so the comparison fleet fails to build.
  acknowledgeMingleBrokerTraffic: { value: true, with: { enableMingle: true }, reached: (i) => !i.argv.includes('--without-mingle') },
  enableGossip: { value: true, reached: (i) => !i.argv.includes('--without-gossip') },
  enableHeartbeatEvents: { value: true, reached: (i) => !i.argv.includes('--without-heartbeat') },
  settings: { value: { worker_lost_wait: '42.5' }, reached: (i) => settingsOf(i.argv).includes('worker_lost_wait=42.5') },
  extraArguments: { value: ['--autoscale=9,3'], reached: (i) => i.argv.includes('--autoscale=9,3') },
};

function instanceOf(props: Partial<CeleryWorkerFleetProps>): Instance {
  const script = userDataText(buildFleet(props).stack);
  return { ...workerCommandLine(script), script };
}

/** The instance of a fleet built with `props`, or undefined when the fleet refuses them. */
function instanceOrRefusal(props: Partial<CeleryWorkerFleetProps>): Instance | undefined {
  try {
    return instanceOf(props);
  } catch {
    return undefined;
  }
}

describe('every worker option set on the fleet reaches the instance', () => {
  const cases = Object.entries(CASES) as Array<[keyof CeleryWorkerOptions, OptionCase<keyof CeleryWorkerOptions>]>;

  test.each(cases)('%s', (key, c) => {
    const instance = instanceOf({ ...c.with, [key]: c.value });
    expect(c.reached(instance)).toBe(true);
    // The check depends on the option: the same fleet without it does not show the value.
    const without = instanceOrRefusal({ ...c.with });
    expect(without !== undefined && c.reached(without)).toBe(false);
  });

  test('all at once: the instance runs exactly what the renderer makes of them', () => {
    const all: { [key: string]: unknown } = {};
    for (const [key, c] of cases) Object.assign(all, c.with, { [key]: c.value });
    const options = all as unknown as CeleryWorkerOptions;
    const { stack, broker } = buildFleet(options);
    const script = userDataText(stack);
    const expected = renderCeleryWorkerCommand({ ...options, celeryExecutable: '/opt/celery-app/.venv/bin/celery' }, { engineVersion: broker.engineVersion });
    expect(workerCommandLine(script)).toEqual({ argv: expected.argv, environment: expected.environment });
    // Each value shows, but queueType's: nativeDelayedDelivery needs quorum queues, so the set holds QUORUM.
    const shown = cases.filter(([key, c]) => all[key] === c.value).map(([key, c]) => [key, c.reached({ ...workerCommandLine(script), script })]);
    expect(shown).toEqual(cases.filter(([key]) => key !== 'queueType').map(([key]) => [key, true]));
  });
});

describe('workerOptionsOf', () => {
  const { vpc, broker } = buildFleet();
  const props: CeleryWorkerFleetProps = {
    vpc, broker, app: 'proj', queues: ['q'], code: undefined as never, minCapacity: 2, user: 'svc', concurrency: 3, settings: { worker_lost_wait: '5' },
  };

  test('keeps the worker options, as they are', () => {
    expect(workerOptionsOf(props)).toEqual({ app: 'proj', queues: ['q'], concurrency: 3, settings: { worker_lost_wait: '5' } });
  });

  test('passes an option it does not know through (a new worker option needs no copying)', () => {
    const withNew = { ...props, someFutureOption: 'x' } as CeleryWorkerFleetProps;
    expect(workerOptionsOf(withNew)).toMatchObject({ someFutureOption: 'x' });
  });

  test('leaves the props unchanged', () => {
    workerOptionsOf(props);
    expect(props.vpc).toBe(vpc);
    expect(props.minCapacity).toBe(2);
  });
});
