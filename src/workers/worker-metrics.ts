/**
 * Names of the custom CloudWatch metrics that worker instances publish.
 * Shared by the fleet (which publishes them) and the monitoring construct (which alarms on them).
 */
export class WorkerMetricNames {
  /** CloudWatch namespace of the worker metrics. */
  public static readonly NAMESPACE = 'CdkCelery';
  /** Count of worker process starts after the first on an instance (crashes, exit 0 included). */
  public static readonly WORKER_RESTARTS = 'WorkerRestarts';
  /**
   * 1 when an instance's Celery is older than its broker needs (for example Celery 5.2 on RabbitMQ 4
   * quorum queues): the boot script then starts no worker instead of letting it crash-loop.
   */
  public static readonly INCOMPATIBLE_CELERY = 'IncompatibleCelery';
  /** Dimension key of every worker metric; the value is the Auto Scaling group name. */
  public static readonly AUTO_SCALING_GROUP_DIMENSION = 'AutoScalingGroupName';

  private constructor() {}
}
