import { Token } from 'aws-cdk-lib';

/**
 * Options of the RabbitMQ permissions a Celery application user gets on its vhost.
 */
export interface CeleryPermissionsOptions {
  /**
   * Task queues the application declares, publishes to and consumes (`task_queues`, `-Q`).
   * Celery gives each queue a direct exchange of the same name, so the exchanges are allowed too.
   * @default ['celery'] (Celery's `task_default_queue`)
   */
  readonly taskQueues?: string[];

  /**
   * Allow remote control and monitoring: the `celery.pidbox` and `reply.celery.pidbox` exchanges,
   * each worker's `NODENAME.celery.pidbox` queue and the `UUID.reply.celery.pidbox` reply queues
   * (`celery inspect ping`, `revoke`, Flower), and the `celeryev` event exchange with its
   * `celeryev.UUID` receiver queues. Turn it off only with `worker_enable_remote_control=False`
   * and no events.
   * @default true
   */
  readonly enableRemoteControl?: boolean;

  /**
   * Allow the `rpc://` result backend: each client's reply queue, named by a UUID, to which
   * workers publish results through the default exchange.
   * @default false
   */
  readonly enableRpcResultBackend?: boolean;

  /**
   * A queue the application may only read: consume from (a replay script) and purge, but not
   * declare, delete, bind or publish to. `CeleryBrokerAccess` passes its dead-letter queue.
   * @default - none
   */
  readonly deadLetterQueue?: string;
}

/** Names of the resources Celery 5.x uses besides the task queues (defaults of `control_exchange` and `event_exchange`). */
const PIDBOX_EXCHANGES = ['celery.pidbox', 'reply.celery.pidbox'];
const EVENT_EXCHANGE = 'celeryev';
/** Node queues `celery@host.celery.pidbox` and reply queues `UUID.reply.celery.pidbox`. */
const PIDBOX_QUEUE_PATTERN = '.+\\.celery\\.pidbox';
/** Event receiver queues `celeryev.UUID` (Flower, `celery events`, gossip). */
const EVENT_QUEUE_PATTERN = 'celeryev\\..+';
/**
 * Native delayed delivery for quorum queues (Celery >= 5.5, kombu's `celery_delayed_0..27`
 * exchanges and queues and the `celery_delayed_delivery` exchange). Amazon MQ for RabbitMQ 4.2
 * defaults to quorum queues, where ETA/countdown tasks go through these.
 */
const DELAYED_DELIVERY_PATTERNS = ['celery_delayed_[0-9]+', 'celery_delayed_delivery'];
/** Reply queues of the `rpc://` result backend: the client's oid, a UUID. */
const RPC_REPLY_QUEUE_PATTERN = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
/** Publishing straight to a queue goes through the default exchange; RabbitMQ checks it as `amq.default`. */
const DEFAULT_EXCHANGE = 'amq\\.default';

/** Task queue names this library accepts (the worker command renderer accepts the same). */
const TASK_QUEUE_NAME = /^[A-Za-z0-9_.:-]{1,200}$/;

/**
 * The `configure`, `write` and `read` regular expressions that let a Celery application, and
 * nothing else, work in its vhost. Each is anchored (`^(...)$`): RabbitMQ matches permission
 * regexes anywhere in a name otherwise.
 */
export class CeleryPermissions {
  /**
   * Build the permissions for a Celery application.
   *
   * @param options The task queues (invalid names throw), and whether remote control and the
   * `rpc://` result backend are allowed
   */
  public static forApplication(options: CeleryPermissionsOptions = {}): CeleryPermissions {
    const taskQueues = options.taskQueues ?? ['celery'];
    if (taskQueues.length === 0) {
      throw new Error('taskQueues: [] is not allowed; give at least one queue (Celery\'s default is "celery").');
    }
    for (const queue of taskQueues) {
      if (Token.isUnresolved(queue)) {
        throw new Error('taskQueues: queue names must be known at synth time (they become permission regexes); got a token.');
      }
      if (!TASK_QUEUE_NAME.test(queue) || queue.startsWith('amq.')) {
        throw new Error(`taskQueues: ${JSON.stringify(queue)} is not a queue name this library accepts; use 1 to 200 letters, digits and _ . : - (not starting with "amq.", which RabbitMQ reserves).`);
      }
    }
    const deadLetterQueue = options.deadLetterQueue;
    if (deadLetterQueue !== undefined) {
      if (Token.isUnresolved(deadLetterQueue) || !TASK_QUEUE_NAME.test(deadLetterQueue) || deadLetterQueue.startsWith('amq.')) {
        throw new Error(`deadLetterQueue: ${JSON.stringify(deadLetterQueue)} is not a queue name this library accepts; use 1 to 200 letters, digits and _ . : - (not starting with "amq.").`);
      }
    }
    const remoteControl = options.enableRemoteControl ?? true;

    const names = taskQueues.map(escapeRegex);
    const resources = [...names, ...DELAYED_DELIVERY_PATTERNS];
    if (remoteControl) {
      resources.push(...PIDBOX_EXCHANGES.map(escapeRegex), escapeRegex(EVENT_EXCHANGE), PIDBOX_QUEUE_PATTERN, EVENT_QUEUE_PATTERN);
    }
    if (options.enableRpcResultBackend) {
      resources.push(RPC_REPLY_QUEUE_PATTERN);
    }
    const unique = Array.from(new Set(resources));
    if (deadLetterQueue !== undefined && new RegExp(anchored(unique)).test(deadLetterQueue)) {
      throw new Error(`deadLetterQueue: ${JSON.stringify(deadLetterQueue)} is one of Celery's own names, which the application may declare and delete; choose another name.`);
    }
    return new CeleryPermissions(
      anchored(unique),
      anchored([...unique, DEFAULT_EXCHANGE]),
      anchored(deadLetterQueue === undefined ? unique : [...unique, escapeRegex(deadLetterQueue)]),
    );
  }

  /** Regex of the queues and exchanges the user may declare and delete. */
  public readonly configure: string;
  /** Regex of the exchanges the user may publish to, and the queues it may bind. */
  public readonly write: string;
  /** Regex of the queues the user may consume from, and the exchanges it may bind from. */
  public readonly read: string;

  private constructor(configure: string, write: string, read: string) {
    this.configure = configure;
    this.write = write;
    this.read = read;
  }
}

function escapeRegex(name: string): string {
  return name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function anchored(alternatives: string[]): string {
  return `^(${alternatives.join('|')})$`;
}
