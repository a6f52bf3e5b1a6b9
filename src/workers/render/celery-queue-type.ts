/**
 * The RabbitMQ queue type of a fleet's task queues (`x-queue-type`).
 */
export class CeleryQueueType {
  /**
   * Classic queues: one copy on one node. RabbitMQ 3's default. Not replicated in a RabbitMQ 4
   * cluster, and without a delivery limit (a task that kills its worker is redelivered forever).
   */
  public static readonly CLASSIC = new CeleryQueueType('classic');

  /**
   * Quorum queues: replicated (Raft), with a delivery limit that stops a poison task from being
   * redelivered forever. RabbitMQ 4's default on Amazon MQ. Celery consumes them with
   * per-consumer QoS and, with topic exchanges, delays ETA/countdown tasks in the broker (native
   * delayed delivery), from Celery 5.5.
   */
  public static readonly QUORUM = new CeleryQueueType('quorum');

  private constructor(
    /** The `x-queue-type` value. */
    public readonly name: string,
  ) {}
}
