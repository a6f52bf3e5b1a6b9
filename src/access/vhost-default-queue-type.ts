import { RabbitMqManagementClient } from './rabbitmq-management-client';

/**
 * Creates or updates the vhost, stating its default queue type (the type a queue declared without
 * `x-queue-type` gets), then reads it back: the type must be the one asked for, so that neither the
 * broker's node-wide default nor an older vhost decides what the workers' queues become.
 *
 * RabbitMQ 4 changes the type of an existing vhost; RabbitMQ 3 sets it only when it creates the
 * vhost (measured on 3.10.8 and 4.0.5). A vhost RabbitMQ 3 made without one keeps the node's default
 * (classic there), which is logged; one it made with another type fails the deployment with what
 * to do, since queues declared without a type would silently get that type.
 */
export async function putVhostWithDefaultQueueType(
  client: RabbitMqManagementClient, vhost: string, defaultQueueType: string | undefined, log: (message: string) => void,
): Promise<void> {
  await client.putVhost(vhost, defaultQueueType);
  if (defaultQueueType === undefined) return;
  const actual = (await client.getVhost(vhost))?.defaultQueueType;
  if (actual === defaultQueueType) {
    log(`Vhost ${vhost}: default queue type ${actual}`);
  } else if (actual === undefined) {
    log(`Vhost ${vhost} existed without a default queue type, and this broker does not give an existing vhost one (RabbitMQ 3): `
      + 'queues declared there without a type get the broker\'s default (classic on RabbitMQ 3)');
  } else {
    throw new Error(`DefaultQueueType: vhost "${vhost}" already exists with default queue type ${actual}, and this broker does not change the default `
      + `queue type of an existing vhost (RabbitMQ 3 sets it only when it creates the vhost), so it cannot become ${defaultQueueType}. `
      + `Set the CeleryBrokerAccess defaultQueueType to ${actual.toUpperCase()}, or use a new vhost.`);
  }
}
