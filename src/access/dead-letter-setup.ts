import {
  DEAD_LETTER_EXCHANGE, DEAD_LETTER_POLICY, DEAD_LETTER_QUEUE, deadLetterPolicy, deadLetterQueueArguments,
} from './celery-dead-letter';
import { ManagementApiError, RabbitMqManagementClient } from './rabbitmq-management-client';

/**
 * Sets up where poison tasks end (see celery-dead-letter.ts) in `vhost`, with the admin's client:
 * the fanout dead-letter exchange, the durable quorum dead-letter queue bound to it, and the policy
 * that gives the task queues (`taskQueuePattern`) their delivery limit and that exchange.
 * Idempotent. An existing dead-letter queue is kept as it is (it may hold tasks), if it is a
 * durable quorum queue.
 */
export async function setUpDeadLettering(
  client: RabbitMqManagementClient, vhost: string, taskQueuePattern: string, deliveryLimit: number, log: (message: string) => void,
): Promise<void> {
  const version = await client.rabbitmqVersion();
  await withContext(`dead-letter exchange ${DEAD_LETTER_EXCHANGE}`, () => client.putExchange(vhost, DEAD_LETTER_EXCHANGE, 'fanout'));

  const existing = await client.getQueue(vhost, DEAD_LETTER_QUEUE);
  if (!existing) {
    const args = deadLetterQueueArguments(version);
    await withContext(`dead-letter queue ${DEAD_LETTER_QUEUE}`, () => client.putQueue(vhost, DEAD_LETTER_QUEUE, args));
    log(`Declared dead-letter queue ${DEAD_LETTER_QUEUE} in vhost ${vhost} (${JSON.stringify(args)}, RabbitMQ ${version ?? 'version unknown'})`);
  } else if (existing.type !== 'quorum' || !existing.durable) {
    throw new Error(`Queue ${DEAD_LETTER_QUEUE} already exists in vhost ${vhost} as a ${existing.durable ? 'durable' : 'transient'} ${existing.type ?? 'unknown-type'} queue; `
      + 'the dead-letter queue must be a durable quorum queue. Move its messages and delete it, then deploy again.');
  } else {
    log(`Kept dead-letter queue ${DEAD_LETTER_QUEUE} in vhost ${vhost} as it is (arguments ${JSON.stringify(existing.arguments)})`);
  }
  await client.bindQueue(vhost, DEAD_LETTER_EXCHANGE, DEAD_LETTER_QUEUE, '');

  try {
    await client.putPolicy(vhost, DEAD_LETTER_POLICY, deadLetterPolicy(taskQueuePattern, deliveryLimit));
  } catch (e) {
    // RabbitMQ < 3.12 knows only queues, exchanges and all; delivery-limit means nothing to classic queues anyway.
    if (!(e instanceof ManagementApiError && e.status === 400 && /quorum_queues/.test(e.message))) throw e;
    log(`This broker refuses apply-to quorum_queues (RabbitMQ < 3.12): policy ${DEAD_LETTER_POLICY} applies to queues instead`);
    await client.putPolicy(vhost, DEAD_LETTER_POLICY, deadLetterPolicy(taskQueuePattern, deliveryLimit, 'queues'));
  }
  log(`Policy ${DEAD_LETTER_POLICY} in vhost ${vhost}: queues ${taskQueuePattern} dead-letter to ${DEAD_LETTER_EXCHANGE} after ${deliveryLimit} redeliveries`);
}

/**
 * Removes the policy when dead-lettering was turned off (the task queues became classic). The
 * dead-letter queue and exchange stay: the queue may hold tasks someone still has to look at.
 */
export async function removeDeadLetterPolicy(client: RabbitMqManagementClient, vhost: string, log: (message: string) => void): Promise<void> {
  const deleted = await client.deletePolicy(vhost, DEAD_LETTER_POLICY);
  log(deleted ? `Deleted policy ${DEAD_LETTER_POLICY} in vhost ${vhost}; kept ${DEAD_LETTER_QUEUE} and its messages` : `Policy ${DEAD_LETTER_POLICY} was already gone`);
}

async function withContext(what: string, f: () => Promise<void>): Promise<void> {
  try {
    await f();
  } catch (e) {
    if (e instanceof ManagementApiError) throw new ManagementApiError(`Declaring the ${what}: ${e.message}`, e.status);
    throw e;
  }
}
