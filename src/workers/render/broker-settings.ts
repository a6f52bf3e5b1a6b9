import { Token } from 'aws-cdk-lib';
import { CeleryQueueType } from './celery-queue-type';
import { RabbitMqEngineVersion } from '../../broker/rabbitmq-engine-version';

/** What a worker needs to know about the broker it consumes from. */
export interface WorkerBrokerOptions {
  /**
   * The broker's engine version; selects the queue type and remote-control settings the broker
   * needs (see `RabbitMqEngineVersion`).
   * @default - unknown: no queue type and no remote-control settings are rendered, so the broker's
   * defaults apply
   */
  readonly engineVersion?: RabbitMqEngineVersion;
}

/** The queue-type options of a worker (part of `CeleryWorkerOptions`). */
export interface BrokerSettingsOptions {
  /** Task queues the worker consumes; empty for the application's default queue. */
  readonly queues: string[];
  /** The queue type asked for, if any. */
  readonly queueType?: CeleryQueueType;
  /** Native delayed delivery asked for, if set. */
  readonly nativeDelayedDelivery?: boolean;
}

/** The oldest Celery a rendered command runs on, and why. */
export interface CeleryRequirement {
  /** `MAJOR.MINOR`. */
  readonly version: string;
  /** What needs it, for error messages and the boot log. */
  readonly reason: string;
}

/** The settings a broker needs, and the Celery they need. */
export interface BrokerSettings {
  /** `key=value` settings for the worker command line (values with their `(type)` casts where needed). */
  readonly settings: { [key: string]: string };
  /** The queue type the task queues are declared with; undefined when none is declared. */
  readonly queueType?: CeleryQueueType;
  /** Whether the task queues' exchanges are topic exchanges (Celery's native delayed delivery). */
  readonly nativeDelayedDelivery: boolean;
  /** Whether remote-control and event queues are exclusive (brokers that refuse transient non-exclusive queues). */
  readonly exclusiveControlQueues: boolean;
  /** The oldest Celery these settings work with. */
  readonly requirement: CeleryRequirement;
}

/** Every Celery 5 release has the flags and settings the library renders without these features. */
export const BASELINE_CELERY: CeleryRequirement = Object.freeze({ version: '5.0', reason: 'the worker flags this library renders' });
/** Quorum queues need per-consumer QoS, chosen by `worker_detect_quorum_queues`. */
export const QUORUM_QUEUES_CELERY: CeleryRequirement = Object.freeze({
  version: '5.5',
  reason: 'quorum queues need worker_detect_quorum_queues',
});
/** Brokers that refuse transient non-exclusive queues need exclusive remote-control queues. */
export const EXCLUSIVE_CONTROL_QUEUES_CELERY: CeleryRequirement = Object.freeze({
  version: '5.6',
  reason: 'RabbitMQ 4.3 needs control_queue_exclusive',
});

/**
 * The settings that make Celery's queue declarations and QoS match the broker:
 *
 * - Quorum queues (the default on RabbitMQ 4, where Amazon MQ makes untyped queues quorum
 *   queues): the task queues are declared in Celery's own configuration as quorum queues
 *   (`task_queues`, or, without queues, the default queue's `task_default_queue_type`), because
 *   `worker_detect_quorum_queues` only looks there to switch from global QoS, which quorum queues
 *   refuse, to per-consumer QoS. Their exchanges are topic exchanges unless
 *   `nativeDelayedDelivery` is false, so ETA/countdown tasks wait in the broker instead of holding
 *   a worker's prefetch slots. Queues the worker sends tasks to that it does not consume are
 *   declared alike (`task_create_missing_queue_*`, Celery >= 5.6; earlier versions ignore them).
 * - Classic queues on RabbitMQ 4: declared as classic explicitly, since the broker's default is
 *   quorum.
 * - Brokers that refuse transient non-exclusive queues (4.3): exclusive remote-control and event
 *   queues (`control_queue_exclusive`, `event_queue_exclusive`, Celery >= 5.6).
 *
 * Settings newer than some Celery versions carry a `(type)` cast: Celery's command-line parser
 * looks an uncast value up in its own settings table and fails on a name it does not know, but
 * stores a cast one as is, so older versions ignore it.
 */
export function renderBrokerSettings(broker: WorkerBrokerOptions, options: BrokerSettingsOptions): BrokerSettings {
  const engine = broker.engineVersion;
  const quorumByDefault = engine?.quorumQueuesByDefault;
  const refusesTransient = engine?.refusesTransientNonExclusiveQueues === true;
  const queueType = options.queueType ?? (quorumByDefault ? CeleryQueueType.QUORUM : undefined);
  const quorum = queueType?.name === CeleryQueueType.QUORUM.name;

  if (options.nativeDelayedDelivery === true && !quorum) {
    throw new Error(`nativeDelayedDelivery: true needs quorum task queues (queueType ${queueType?.name ?? 'unset'}${engine ? `, engine version ${engine.version}` : ''}); Celery only delays tasks in the broker for quorum queues. Set queueType: CeleryQueueType.QUORUM, or leave nativeDelayedDelivery unset.`);
  }
  const nativeDelayedDelivery = quorum && options.nativeDelayedDelivery !== false;
  const exchangeType = nativeDelayedDelivery ? 'topic' : 'direct';

  const settings: { [key: string]: string } = {};
  if (queueType) {
    const queueArguments = { 'x-queue-type': queueType.name };
    if (options.queues.length > 0) {
      const declarations: { [name: string]: unknown } = {};
      for (const name of options.queues) {
        declarations[name] = { exchange: name, exchange_type: exchangeType, routing_key: name, queue_arguments: queueArguments };
      }
      settings.task_queues = `(json)${JSON.stringify(declarations)}`;
    } else {
      // No -Q: the worker consumes the application's default queue, declared from these.
      settings.task_default_queue_type = `(string)${queueType.name}`;
      settings.task_default_exchange_type = exchangeType;
    }
    settings.task_create_missing_queue_type = `(string)${queueType.name}`;
    settings.task_create_missing_queue_exchange_type = `(string)${exchangeType}`;
    if (quorum) settings.worker_detect_quorum_queues = '(bool)True';
  }
  if (refusesTransient) {
    settings.control_queue_exclusive = '(bool)True';
    settings.event_queue_exclusive = '(bool)True';
  }

  const requirement = refusesTransient ? EXCLUSIVE_CONTROL_QUEUES_CELERY : quorum ? QUORUM_QUEUES_CELERY : BASELINE_CELERY;
  return { settings, queueType, nativeDelayedDelivery, exclusiveControlQueues: refusesTransient, requirement };
}

/** Whether Celery `version` (for example `5.2.6` or `5.5.0rc1`) is at least `minimum` (`MAJOR.MINOR`). */
export function celeryVersionAtLeast(version: string, minimum: string): boolean {
  if (Token.isUnresolved(version)) return true;
  const parse = (v: string) => (v.match(/^(\d+)(?:\.(\d+))?/) ?? []).slice(1).map((n) => Number(n ?? 0));
  const [major, minor] = parse(version);
  const [minMajor, minMinor] = parse(minimum);
  if (major === undefined || Number.isNaN(major)) return true;
  return major > minMajor || (major === minMajor && (minor ?? 0) >= minMinor);
}
