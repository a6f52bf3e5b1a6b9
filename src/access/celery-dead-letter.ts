/**
 * Where poison tasks end on quorum queues, shared by the construct (at synth) and the broker-user
 * Lambda handler (at deploy), so it must not import aws-cdk-lib.
 *
 * With late acks and reject-on-worker-lost (the fleet's defaults), a task that kills its worker
 * process is rejected with requeue and delivered again, forever on classic queues. A quorum
 * queue counts the returns of each message (`x-delivery-count`; on RabbitMQ 4.0 a reject with
 * requeue and the close of the channel or connection that held it both count) and, past its
 * delivery limit, dead-letters it. The handler sets that up with a vhost policy rather than queue
 * arguments: a queue argument would have to be repeated by every client that declares the queue
 * (RabbitMQ refuses a redeclaration with another `x-dead-letter-exchange`), a policy applies to the
 * queues as the workers and producers already declare them.
 */

/** The queue poison tasks end in: durable, quorum, read-only for the application user. */
export const DEAD_LETTER_QUEUE = 'celery.dead-letter';

/**
 * The fanout exchange the task queues dead-letter to, bound to `DEAD_LETTER_QUEUE`. Named apart
 * from the queue: read permission on an exchange lets a user bind its own queues to it, and the
 * application user may read the queue.
 */
export const DEAD_LETTER_EXCHANGE = 'celery.dead-letter.exchange';

/** Name of the vhost policy that gives the task queues their delivery limit and dead-letter exchange. */
export const DEAD_LETTER_POLICY = 'cdk-celery-dead-letter';

/**
 * Priority of the policy. RabbitMQ applies one policy per queue, the highest priority: a policy
 * of the user's for the same queues needs a higher one and must repeat these keys.
 */
export const DEAD_LETTER_POLICY_PRIORITY = 10;

/** Deliveries after the first before a task is dead-lettered, unless `deliveryLimit` says otherwise. */
export const DEFAULT_DELIVERY_LIMIT = 5;

/** Beyond this a delivery limit protects nothing: the poison task keeps killing workers for hours. */
export const MAX_DELIVERY_LIMIT = 1000;

/** Queue types the vhost's `default_queue_type` may state. */
export const VHOST_QUEUE_TYPES: readonly string[] = ['quorum', 'classic'];

/** Returns an error message naming the prop and the bad value, or undefined if the limit is fine. */
export function deliveryLimitError(prop: string, value: number): string | undefined {
  if (!Number.isInteger(value) || value < 1 || value > MAX_DELIVERY_LIMIT) {
    return `${prop}: ${JSON.stringify(value)} is not allowed; use a whole number of redeliveries from 1 to ${MAX_DELIVERY_LIMIT} `
      + `(a task is dead-lettered when it is returned once more than this; default ${DEFAULT_DELIVERY_LIMIT}).`;
  }
  return undefined;
}

/** Task queue names that would give the application user the dead-letter queue or exchange. */
export function reservedQueueNameError(prop: string, queue: string): string | undefined {
  if (queue === DEAD_LETTER_QUEUE || queue === DEAD_LETTER_EXCHANGE) {
    return `${prop}: ${JSON.stringify(queue)} is reserved for the dead-letter ${queue === DEAD_LETTER_QUEUE ? 'queue' : 'exchange'} `
      + 'this library sets up (the application user may only read the dead-letter queue); choose another queue name.';
  }
  return undefined;
}

/** A regular expression matching exactly these names (RabbitMQ matches policy patterns anywhere otherwise). */
export function exactNamesPattern(names: string[]): string {
  return `^(${names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`;
}

/** A policy as the management API takes it (`PUT /api/policies/VHOST/NAME`). */
export interface ManagementPolicy {
  readonly 'pattern': string;
  readonly 'apply-to': string;
  readonly 'priority': number;
  readonly 'definition': { readonly [key: string]: string | number };
}

/**
 * The policy of the task queues. `apply-to: quorum_queues` (RabbitMQ >= 3.12): classic queues of
 * the same names (RabbitMQ 3, or left over from before a migration) keep Celery's behaviour
 * unchanged. Dead-lettering is at-least-once, so a dead-lettered task stays in its queue until
 * the dead-letter queue has it; RabbitMQ needs `overflow: reject-publish` for that, which only
 * matters for queues with a length limit (none is set).
 */
export function deadLetterPolicy(taskQueuePattern: string, deliveryLimit: number, applyTo = 'quorum_queues'): ManagementPolicy {
  return {
    'pattern': taskQueuePattern,
    'apply-to': applyTo,
    'priority': DEAD_LETTER_POLICY_PRIORITY,
    'definition': {
      'dead-letter-exchange': DEAD_LETTER_EXCHANGE,
      'delivery-limit': deliveryLimit,
      'dead-letter-strategy': 'at-least-once',
      'overflow': 'reject-publish',
    },
  };
}

/**
 * Arguments of the dead-letter queue on a broker of `rabbitmqVersion`. RabbitMQ 4 gives every
 * quorum queue a delivery limit of 20 and then drops the message (the dead-letter queue has no
 * dead-letter exchange of its own), so there the limit is turned off with -1. RabbitMQ 3 has no
 * default limit and reads -1 as "drop on the first return" (measured on 3.10.8), so it gets none.
 */
export function deadLetterQueueArguments(rabbitmqVersion: string | undefined): { [key: string]: string | number } {
  const major = Number((rabbitmqVersion ?? '').split('.')[0]);
  return {
    'x-queue-type': 'quorum',
    ...(Number.isInteger(major) && major >= 4 ? { 'x-delivery-limit': -1 } : {}),
  };
}
