import { WorkerMetricNames } from '../workers/worker-metrics';

/**
 * Names of the custom CloudWatch metrics that the broker metrics publisher publishes, in the
 * library's namespace (`WorkerMetricNames.NAMESPACE`). The queue metrics carry the names and
 * dimensions of Amazon MQ's own RabbitMQ 3.x queue metrics, so that an alarm or a scaling policy
 * differs between the two only by namespace. Shared by the publisher's handler (which publishes
 * them) and the constructs (which alarm and scale on them); free of aws-cdk-lib for the handler.
 */
export class BrokerMetricNames {
  /** CloudWatch namespace: the library's, `CdkCelery`. */
  public static readonly NAMESPACE = WorkerMetricNames.NAMESPACE;
  /** Dimension key of the broker name. */
  public static readonly BROKER_DIMENSION = 'Broker';
  /** Dimension key of the queue's virtual host. */
  public static readonly VIRTUAL_HOST_DIMENSION = 'VirtualHost';
  /** Dimension key of the queue name. */
  public static readonly QUEUE_DIMENSION = 'Queue';
  /** Messages ready for delivery in one queue (`messages_ready`). */
  public static readonly QUEUE_MESSAGE_READY_COUNT = 'MessageReadyCount';
  /** Messages delivered and not yet acknowledged in one queue (`messages_unacknowledged`). */
  public static readonly QUEUE_MESSAGE_UNACKNOWLEDGED_COUNT = 'MessageUnacknowledgedCount';
  /** Consumers of one queue (`consumers`). */
  public static readonly QUEUE_CONSUMER_COUNT = 'ConsumerCount';
  /**
   * 1 while Amazon MQ reports the broker being created, rebooted or deleted (or it was created
   * less than the creation grace ago), 0 otherwise; by `Broker`. The signal that keeps the pages
   * quiet while the broker cannot report.
   */
  public static readonly BROKER_RESTARTING = 'BrokerRestarting';

  private constructor() {}
}
