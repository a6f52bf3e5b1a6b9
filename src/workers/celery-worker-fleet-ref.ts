import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { IConstruct } from 'constructs';

/**
 * A fleet of Celery workers, as the monitoring and composing constructs see it.
 */
export interface ICeleryWorkerFleet extends IConstruct {
  /** The Auto Scaling group that runs the workers. */
  readonly autoScalingGroup: autoscaling.IAutoScalingGroup;

  /** Name of the Auto Scaling group (the dimension of the fleet's metrics). */
  readonly autoScalingGroupName: string;

  /** Most instances the group can run; bounds the connections the fleet can explain. */
  readonly maxCapacity: number;

  /** Queues the workers consume. */
  readonly queues: string[];

  /**
   * Worker process starts after the first, per instance (Sum).
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  metricWorkerRestarts(props?: cloudwatch.MetricOptions): cloudwatch.Metric;

  /**
   * Instances whose boot found a Celery older than the broker needs and started no worker (Maximum).
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  metricIncompatibleCelery(props?: cloudwatch.MetricOptions): cloudwatch.Metric;

  /**
   * Bytes the fleet's instances send (`AWS/EC2` `NetworkOut` by `AutoScalingGroupName`, Sum).
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  metricNetworkOut(props?: cloudwatch.MetricOptions): cloudwatch.Metric;

  /**
   * Bytes the fleet's instances receive (`AWS/EC2` `NetworkIn` by `AutoScalingGroupName`, Sum).
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  metricNetworkIn(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
}
