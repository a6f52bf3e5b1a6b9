import { Duration } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { QueueBacklogScalingProps } from './celery-worker-fleet';
import { wholeNumber } from './fleet-validation';
import { IRabbitMqBroker } from '../broker/rabbitmq-broker-ref';

/** Most 1-minute evaluation periods of a CloudWatch alarm (period x periods at most one day). */
export const MAX_ONE_MINUTE_EVALUATION_PERIODS = 1440;

/** `QueueBacklogScalingProps` with the defaults applied (the metric is chosen by `backlogMetric`). */
export interface ResolvedBacklogScaling {
  readonly scaleOutThreshold: number;
  readonly largeBacklogStep: number;
  readonly evaluationPeriods: number;
  readonly instanceWarmup: Duration;
}

/**
 * The backlog scaling numbers of a fleet of `maxCapacity` instances, validated; throws a plain
 * error naming the prop (`scaleOnQueueBacklog.<prop>`).
 */
export function resolveBacklogScaling(props: QueueBacklogScalingProps, maxCapacity: number): ResolvedBacklogScaling {
  const resolved = {
    scaleOutThreshold: props.scaleOutThreshold ?? 100,
    evaluationPeriods: props.evaluationPeriods ?? 3,
    largeBacklogStep: props.largeBacklogStep ?? Math.max(2, Math.floor(maxCapacity * 0.2)),
    instanceWarmup: props.instanceWarmup ?? Duration.minutes(5),
  };
  wholeNumber('scaleOnQueueBacklog.scaleOutThreshold', resolved.scaleOutThreshold, 1);
  // 1-minute periods: CloudWatch allows at most one day of them in an alarm.
  wholeNumber('scaleOnQueueBacklog.evaluationPeriods', resolved.evaluationPeriods, 1, MAX_ONE_MINUTE_EVALUATION_PERIODS);
  wholeNumber('scaleOnQueueBacklog.largeBacklogStep', resolved.largeBacklogStep, 1);
  if (props.instanceWarmup?.isUnresolved()) {
    throw new Error('scaleOnQueueBacklog.instanceWarmup: a CloudFormation value (token) is not accepted; use a Duration.');
  }
  if (props.queue !== undefined && props.queues !== undefined) {
    throw new Error(`scaleOnQueueBacklog.queues: ${JSON.stringify(props.queues)} is not allowed with queue ("${props.queue}"); set one of them.`);
  }
  if (props.queues !== undefined && props.queues.length === 0) {
    throw new Error('scaleOnQueueBacklog.queues: [] is not allowed; give at least one queue, or omit it to scale on the broker-wide count.');
  }
  const listed = props.queues ?? [];
  const repeated = listed.find((q, i) => listed.indexOf(q) !== i);
  if (repeated !== undefined) {
    throw new Error(`scaleOnQueueBacklog.queues: ${JSON.stringify(repeated)} is listed twice; list each queue once (its backlog would count twice).`);
  }
  if (props.queue === undefined && props.queues === undefined && props.virtualHost) {
    throw new Error(`scaleOnQueueBacklog.virtualHost: "${props.virtualHost}" needs queue; the broker-wide count has no virtual host dimension.`);
  }
  if (props.metric && (props.queue !== undefined || props.queues !== undefined || props.virtualHost)) {
    throw new Error('scaleOnQueueBacklog.metric: a metric is not allowed with queue, queues or virtualHost; the metric already says what it reads.');
  }
  return resolved;
}

/**
 * The ready-messages metric to scale on: the given one, one queue's, the sum of several queues'
 * (metric math), or the broker-wide count.
 */
export function backlogMetric(broker: IRabbitMqBroker, props: QueueBacklogScalingProps): cloudwatch.IMetric {
  if (props.metric) return props.metric;
  const queues = props.queues ?? (props.queue !== undefined ? [props.queue] : []);
  const metricOptions = { period: Duration.minutes(1), statistic: 'Maximum' };
  const queueMetric = (queue: string) => broker.metricQueueMessageReadyCount(queue, props.virtualHost ?? '/', metricOptions);
  if (queues.length === 0) return broker.metricMessageReadyCount(metricOptions);
  if (queues.length === 1) return queueMetric(queues[0]);
  // FILL: a queue without data points (not declared yet, or idle and dropped) counts as empty
  // instead of blanking the sum.
  const usingMetrics: { [id: string]: cloudwatch.IMetric } = {};
  queues.forEach((queue, i) => { usingMetrics[`q${i}`] = queueMetric(queue); });
  return new cloudwatch.MathExpression({
    expression: Object.keys(usingMetrics).map((metricId) => `FILL(${metricId}, 0)`).join(' + '),
    usingMetrics,
    label: `Ready messages in ${queues.join(', ')}`,
    period: Duration.minutes(1),
  });
}

/** The step scaling policy on `metric`: -1 when nothing waits, +1 at the threshold, +step at 10 x. */
export function addBacklogScalingPolicy(group: autoscaling.IAutoScalingGroup, id: string, metric: cloudwatch.IMetric,
  scaling: ResolvedBacklogScaling): autoscaling.StepScalingPolicy {
  return group.scaleOnMetric(id, {
    metric,
    adjustmentType: autoscaling.AdjustmentType.CHANGE_IN_CAPACITY,
    scalingSteps: [
      { upper: 0, change: -1 },
      { lower: scaling.scaleOutThreshold, change: +1 },
      { lower: scaling.scaleOutThreshold * 10, change: +scaling.largeBacklogStep },
    ],
    evaluationPeriods: scaling.evaluationPeriods,
    estimatedInstanceWarmup: scaling.instanceWarmup,
  });
}
