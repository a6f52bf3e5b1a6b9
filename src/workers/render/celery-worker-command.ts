import { Duration, Token } from 'aws-cdk-lib';
import { BrokerSettings, CeleryRequirement, renderBrokerSettings, WorkerBrokerOptions } from './broker-settings';
import { CeleryPool } from './celery-pool';
import { CeleryQueueType } from './celery-queue-type';
import { celerySettingError, logLevelError, poolNameError } from './celery-settings';
import { extraArgumentsError } from './extra-arguments';
import { nodeNameTemplateError } from './node-name';
import { systemdWordError } from './shell-quote';

/**
 * How a Celery worker behaves: the `celery worker` options a fleet and the command renderer share.
 * Every default is the safe one.
 */
export interface CeleryWorkerOptions {
  /**
   * The Celery application, as passed to `-A` (for example `proj` or `proj.celery:app`).
   */
  readonly app: string;

  /**
   * Queues to consume (`-Q`).
   * @default - the application's default queue
   */
  readonly queues?: string[];

  /**
   * Type of the task queues the worker declares and consumes. Quorum queues are replicated and
   * have a delivery limit; Celery consumes them with per-consumer QoS (Celery >= 5.5). The worker
   * declares its queues with this type in Celery's own configuration (`task_queues` on the command
   * line, which replaces any `task_queues` of the application in the worker process), because
   * Celery only looks there to choose its QoS; producers must declare them alike (see the README's
   * "RabbitMQ 4" section). Queues cannot change type in place: an existing queue of the other type
   * makes the worker fail to start.
   * @default - CeleryQueueType.QUORUM on RabbitMQ 4 (Amazon MQ's default there); on RabbitMQ 3 and
   * brokers of unknown version, no type is declared (classic)
   */
  readonly queueType?: CeleryQueueType;

  /**
   * With quorum queues, declare each task queue's exchange as a topic exchange, so that ETA and
   * countdown tasks (and retries with a countdown) wait in the broker, in Celery's delay queues,
   * instead of holding a worker's prefetch slots until they are due (Celery's native delayed
   * delivery, Celery >= 5.5). Producers must declare the same exchange type (Celery's documented
   * quorum-queue settings do); a producer that declares a direct exchange of the same name is
   * refused by the broker with `PRECONDITION_FAILED`. `false` keeps Celery's direct exchanges:
   * producers with default settings work, and ETA/countdown tasks block worker slots.
   * @default true with quorum queues
   */
  readonly nativeDelayedDelivery?: boolean;

  /**
   * Worker processes or threads (`-c`). Celery sizes the prefetch by it (`prefetchMultiplier` x
   * concurrency) even for the solo pool, which runs one task at a time: there it must be 1.
   * @default - Celery's default (the number of CPUs); 1 with `CeleryPool.SOLO`
   */
  readonly concurrency?: number;

  /**
   * Execution pool (`-P`).
   * @default CeleryPool.PREFORK
   */
  readonly pool?: CeleryPool;

  /**
   * Node name (`-n`). `%h` is the host name, unique per EC2 instance.
   * @default 'celery@%h'
   */
  readonly hostname?: string;

  /**
   * Messages each process reserves ahead (`--prefetch-multiplier`). 1 keeps a dying worker
   * from stranding more than one task per process.
   * @default 1
   */
  readonly prefetchMultiplier?: number;

  /**
   * Tasks a pool process runs before it is replaced (`--max-tasks-per-child`).
   * @default - never replaced
   */
  readonly maxTasksPerChild?: number;

  /**
   * Resident memory, in KiB, above which a pool process is replaced after its task
   * (`--max-memory-per-child`).
   * @default - no limit
   */
  readonly maxMemoryPerChildKib?: number;

  /**
   * Hard time limit of a task (`--time-limit`): the process running it is killed.
   * @default - no limit
   */
  readonly timeLimit?: Duration;

  /**
   * Soft time limit of a task (`--soft-time-limit`): `SoftTimeLimitExceeded` is raised in it.
   * Must be shorter than `timeLimit`.
   * @default - no limit
   */
  readonly softTimeLimit?: Duration;

  /**
   * Keep remote control (the `celery.pidbox` exchange) on, so `revoke`, `inspect`, `ping`
   * and Flower's inspect pages work. Turning it off also removes every mingle reply.
   * @default true
   */
  readonly enableRemoteControl?: boolean;

  /**
   * At-least-once delivery: a task is acknowledged after it has run (`task_acks_late=True`), and
   * returned to the queue when the process running it dies (`task_reject_on_worker_lost=True`), so
   * a worker killed mid-task (instance lost, OOM kill, a drain that times out) loses no task:
   * another worker runs it again. Tasks must therefore be idempotent. A task whose run always kills
   * its process is redelivered again and again; a hard `timeLimit` does not count (the task is
   * failed and acknowledged). Each task must finish within the broker's `consumer_timeout`
   * (Amazon MQ's default is 30 minutes; `RabbitMqBroker` sets 24 hours), or the broker closes the
   * worker's channel. With
   * `CeleryPool.THREADS`, Celery (5.2 to 5.6) sends late acknowledgements only when its event loop
   * wakes up, which holds the next task back for seconds (celery/celery#6941): use prefork, or a
   * larger `prefetchMultiplier`, or turn this off.
   *
   * Set `false` to leave both to the application's own configuration (Celery's default:
   * acknowledged on receipt, lost if the worker dies: at-most-once). `settings` entries and a
   * task's own `acks_late=` still override these.
   * @default true
   */
  readonly acksLate?: boolean;

  /**
   * Most revoked task ids a worker keeps (`CELERY_WORKER_REVOKES_MAX`, Celery >= 5.3;
   * ignored, harmlessly, by older versions).
   * @default 10000
   */
  readonly revokesMax?: number;

  /**
   * How long a revoked id is kept (`CELERY_WORKER_REVOKE_EXPIRES`, Celery >= 5.3). A task
   * revoked longer ago than this and delivered later (an ETA task) runs after all.
   * @default Duration.hours(1)
   */
  readonly revokeExpires?: Duration;

  /**
   * Log level (`-l`).
   * @default 'INFO'
   */
  readonly logLevel?: string;

  /**
   * Run the mingle handshake at start-up. Mingle makes every running worker send its whole
   * revoked set to each worker that starts: this is what took the broker down in the incident
   * this library exists to prevent. Requires `acknowledgeMingleBrokerTraffic`.
   * @default false
   */
  readonly enableMingle?: boolean;

  /**
   * Confirms that `enableMingle` is intended, and that each worker start then costs the broker
   * (workers - 1) x (revoked set size) bytes.
   * @default false
   */
  readonly acknowledgeMingleBrokerTraffic?: boolean;

  /**
   * Consume every other worker's events (gossip): N squared deliveries every 2 seconds.
   * @default false
   */
  readonly enableGossip?: boolean;

  /**
   * Send `worker-heartbeat` events every 2 seconds (Flower and `celery events` need them to
   * show workers online; `celery inspect` does not).
   * @default false
   */
  readonly enableHeartbeatEvents?: boolean;

  /**
   * Further Celery settings passed after the arguments as `key=value`
   * (for example `{ broker_heartbeat: '10' }`); they override the ones the typed options render.
   * Names and values are checked against Celery's own configuration table (a typo is refused with
   * the closest name); a value may carry a cast such as `(json){...}` or `(int)5`. Settings the
   * typed options own (`task_time_limit`, `worker_concurrency`...), broker connection settings and
   * passwords are refused.
   * @default - none
   */
  readonly settings?: { [key: string]: string };

  /**
   * Extra arguments appended to `celery worker`, parsed as Celery's own parser (click) would: an
   * option the typed options set (`-Qother`, `--time-limit=7200`, `-nname`...) or one that hurts a
   * fleet (`--purge`, `-S/path`, `--detach`, `-B`, daemon options) is refused in any spelling, and
   * so are unknown options and arguments that are not options (Celery would read them as settings:
   * use `settings`). Allowed: `-E`, `-X`, `-I`, `-O`, `--heartbeat-interval`, `--autoscale`.
   * @default - none
   */
  readonly extraArguments?: string[];
}

/**
 * Options of the `celery worker` command line: the worker's options and the executable that runs
 * them (a fleet takes the executable from its code instead).
 */
export interface CeleryWorkerCommandOptions extends CeleryWorkerOptions {
  /**
   * Path of the `celery` executable.
   * @default 'celery'
   */
  readonly celeryExecutable?: string;
}

/**
 * A rendered worker command: the argument vector and the environment it needs.
 */
export interface CeleryWorkerCommand {
  /** The argument vector, executable first. */
  readonly argv: string[];
  /** Environment variables the worker process needs (revoked-set bounds). */
  readonly environment: { [name: string]: string };
  /** The oldest Celery (`MAJOR.MINOR`) this command works with on its broker, and why. */
  readonly celeryRequirement: CeleryRequirement;
  /**
   * Whether clients of this broker (the readiness check, `celery inspect`) must use exclusive
   * remote-control reply queues (`control_queue_exclusive`).
   */
  readonly exclusiveControlQueues: boolean;
}

/** Defaults shared with the documentation and the benchmarks. */
export const DEFAULT_REVOKES_MAX = 10_000;
export const DEFAULT_REVOKE_EXPIRES = Duration.hours(1);

const QUEUE_NAME = /^[A-Za-z0-9_.:\-]+$/;

/**
 * Render the `celery worker` command line for a fleet worker from typed options.
 *
 * Pure: the same options always give the same command, so the fleet's user data, the tests
 * and the benchmarks all run exactly this.
 */
export function renderCeleryWorkerCommand(options: CeleryWorkerCommandOptions, broker: WorkerBrokerOptions = {}): CeleryWorkerCommand {
  validate(options);
  const brokerSettings: BrokerSettings = renderBrokerSettings(broker, {
    queues: options.queues ?? [],
    queueType: options.queueType,
    nativeDelayedDelivery: options.nativeDelayedDelivery,
  });

  const argv = [options.celeryExecutable ?? 'celery', '-A', options.app, 'worker'];
  argv.push('--loglevel', options.logLevel ?? 'INFO');
  argv.push('--hostname', options.hostname ?? 'celery@%h');
  argv.push('--pool', (options.pool ?? CeleryPool.PREFORK).name);
  const concurrency = options.concurrency ?? (isSolo(options.pool) ? 1 : undefined);
  if (concurrency !== undefined) argv.push('--concurrency', String(concurrency));
  if (options.queues && options.queues.length > 0) argv.push('--queues', options.queues.join(','));
  argv.push('--prefetch-multiplier', String(options.prefetchMultiplier ?? 1));
  if (options.maxTasksPerChild !== undefined) argv.push('--max-tasks-per-child', String(options.maxTasksPerChild));
  if (options.maxMemoryPerChildKib !== undefined) argv.push('--max-memory-per-child', String(options.maxMemoryPerChildKib));
  if (options.timeLimit) argv.push('--time-limit', String(options.timeLimit.toSeconds()));
  if (options.softTimeLimit) argv.push('--soft-time-limit', String(options.softTimeLimit.toSeconds()));
  if (!options.enableMingle) argv.push('--without-mingle');
  if (!options.enableGossip) argv.push('--without-gossip');
  if (!options.enableHeartbeatEvents) argv.push('--without-heartbeat');
  argv.push(...(options.extraArguments ?? []));

  const settings: { [key: string]: string } = { ...brokerSettings.settings };
  if (options.acksLate ?? true) {
    settings.task_acks_late = 'True';
    settings.task_reject_on_worker_lost = 'True';
  }
  if (options.enableRemoteControl === false) settings.worker_enable_remote_control = 'False';
  Object.assign(settings, options.settings ?? {});
  const settingArgs = Object.keys(settings).sort().map((key) => `${key}=${settings[key]}`);
  if (settingArgs.length > 0) argv.push('--', ...settingArgs);

  const environment = {
    CELERY_WORKER_REVOKES_MAX: String(options.revokesMax ?? DEFAULT_REVOKES_MAX),
    CELERY_WORKER_REVOKE_EXPIRES: String((options.revokeExpires ?? DEFAULT_REVOKE_EXPIRES).toSeconds()),
  };
  return { argv, environment, celeryRequirement: brokerSettings.requirement, exclusiveControlQueues: brokerSettings.exclusiveControlQueues };
}

function validate(options: CeleryWorkerCommandOptions): void {
  const APP = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(:[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*)?$/;
  if (typeof options.app !== 'string' || !APP.test(options.app)) {
    throw new Error(`app: ${JSON.stringify(options.app)} is not a Celery application; give a Python module path such as "proj" or "proj.celery:app" `
      + '(letters, digits and _, separated by dots, optionally :attribute).');
  }
  if (options.celeryExecutable !== undefined) {
    const error = systemdWordError(options.celeryExecutable);
    if (error) throw new Error(`celeryExecutable: ${JSON.stringify(options.celeryExecutable)} is not allowed; ${error}.`);
  }
  const seenQueues = new Set<string>();
  for (const queue of options.queues ?? []) {
    if (Token.isUnresolved(queue)) {
      throw new Error(`queues: a CloudFormation value (token) is not accepted as a queue name (${queue}); the worker command is written at synth.`);
    }
    if (!QUEUE_NAME.test(queue)) {
      throw new Error(`queues: ${JSON.stringify(queue)} is not a queue name this library accepts; use letters, digits and _ . : - only.`);
    }
    if (seenQueues.has(queue)) {
      throw new Error(`queues: ${JSON.stringify(queue)} is listed twice; list each queue once (the backlog metrics would count it twice).`);
    }
    seenQueues.add(queue);
  }
  if (options.hostname !== undefined) {
    const error = nodeNameTemplateError(options.hostname);
    if (error) throw new Error(`hostname: ${JSON.stringify(options.hostname)} is not allowed; ${error}.`);
  }
  if (options.logLevel !== undefined) {
    const error = systemdWordError(options.logLevel) ? `logLevel: ${JSON.stringify(options.logLevel)} is not allowed; ${systemdWordError(options.logLevel)}.` : logLevelError(options.logLevel);
    if (error) throw new Error(error);
  }
  if (options.pool !== undefined) {
    const error = systemdWordError(options.pool.name) ? `pool: ${JSON.stringify(options.pool.name)} is not allowed; ${systemdWordError(options.pool.name)}.` : poolNameError(options.pool.name);
    if (error) throw new Error(error);
  }
  positiveInteger('concurrency', options.concurrency);
  if (isSolo(options.pool) && options.concurrency !== undefined && options.concurrency !== 1) {
    throw new Error(`concurrency: ${options.concurrency} is not allowed with pool solo, which runs one task at a time (a larger concurrency only makes the worker reserve more messages); leave it unset or use 1.`);
  }
  positiveInteger('prefetchMultiplier', options.prefetchMultiplier);
  positiveInteger('maxTasksPerChild', options.maxTasksPerChild);
  positiveInteger('maxMemoryPerChildKib', options.maxMemoryPerChildKib);
  positiveInteger('revokesMax', options.revokesMax);
  positiveDuration('timeLimit', options.timeLimit);
  positiveDuration('softTimeLimit', options.softTimeLimit);
  positiveDuration('revokeExpires', options.revokeExpires);
  if (options.timeLimit && options.softTimeLimit && options.softTimeLimit.toSeconds() >= options.timeLimit.toSeconds()) {
    throw new Error(`softTimeLimit: ${options.softTimeLimit.toSeconds()} s must be shorter than timeLimit (${options.timeLimit.toSeconds()} s), or the task is killed before it can clean up.`);
  }
  if (options.enableMingle && !options.acknowledgeMingleBrokerTraffic) {
    throw new Error('enableMingle: true needs acknowledgeMingleBrokerTraffic: true. With mingle on, every worker start makes each running worker send its whole revoked set through the broker (megabytes per start); leave enableMingle unset unless you accept that.');
  }
  const extraError = extraArgumentsError(options.extraArguments ?? []);
  if (extraError) throw new Error(extraError.message);
  for (const [key, value] of Object.entries(options.settings ?? {})) {
    const error = celerySettingError(key, value);
    if (error) throw new Error(error.message);
  }
}

function positiveInteger(prop: string, value: number | undefined): void {
  if (value === undefined) return;
  if (Token.isUnresolved(value)) {
    throw new Error(`${prop}: a CloudFormation value (token) is not accepted; the worker command is written into the instances' user data at synth.`);
  }
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${prop}: ${value} is not allowed; use a whole number of at least 1.`);
  }
}

function positiveDuration(prop: string, value: Duration | undefined): void {
  if (value === undefined) return;
  if (value.isUnresolved()) {
    throw new Error(`${prop}: a CloudFormation value (token) is not accepted; the worker command and the stop and drain timeouts derived from it are written at synth.`);
  }
  if (value.toMilliseconds() < 1000 || value.toMilliseconds() % 1000 !== 0) {
    throw new Error(`${prop}: ${value.toHumanString()} is not allowed; use whole seconds, at least 1 second.`);
  }
}

function isSolo(pool: CeleryPool | undefined): boolean {
  return pool?.name === CeleryPool.SOLO.name;
}
