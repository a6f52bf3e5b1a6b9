import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { buildFleet } from './fleet-fixture';
import { addBacklogScalingPolicy, backlogMetric, MAX_ONE_MINUTE_EVALUATION_PERIODS, resolveBacklogScaling } from '../../src/workers/fleet-backlog-scaling';
import { stackWithBroker } from '../broker/broker-fixture';

jest.setTimeout(60_000);

describe('resolveBacklogScaling', () => {
  test('defaults: 100 messages, a large step of 20 % of maxCapacity (at least 2), 3 minutes, 5 of warm-up', () => {
    expect(resolveBacklogScaling({}, 4))
      .toEqual({ scaleOutThreshold: 100, largeBacklogStep: 2, evaluationPeriods: 3, instanceWarmup: Duration.minutes(5) });
    expect(resolveBacklogScaling({}, 30).largeBacklogStep).toBe(6);
  });

  test.each<[string, Parameters<typeof resolveBacklogScaling>[0], RegExp]>([
    ['threshold 0', { scaleOutThreshold: 0 }, /^scaleOnQueueBacklog\.scaleOutThreshold: 0 is not allowed/],
    ['more than a day of periods', { evaluationPeriods: MAX_ONE_MINUTE_EVALUATION_PERIODS + 1 }, /^scaleOnQueueBacklog\.evaluationPeriods: 1441 is not allowed; use a whole number from 1 to 1440/],
    ['large step 0', { largeBacklogStep: 0 }, /^scaleOnQueueBacklog\.largeBacklogStep: 0 is not allowed/],
    ['queue and queues', { queue: 'a', queues: ['b'] }, /^scaleOnQueueBacklog\.queues: \["b"\] is not allowed with queue \("a"\)/],
    ['no queues', { queues: [] }, /^scaleOnQueueBacklog\.queues: \[\] is not allowed/],
    ['a queue twice', { queues: ['a', 'b', 'a'] }, /^scaleOnQueueBacklog\.queues: "a" is listed twice/],
    ['a virtual host without a queue', { virtualHost: 'shop' }, /^scaleOnQueueBacklog\.virtualHost: "shop" needs queue/],
    ['a metric with a queue', { metric: new cloudwatch.Metric({ namespace: 'N', metricName: 'M' }), queue: 'a' }, /^scaleOnQueueBacklog\.metric: a metric is not allowed with queue/],
  ])('%s is refused', (_name, props, message) => {
    expect(() => resolveBacklogScaling(props, 4)).toThrow(message);
  });
});

describe('backlogMetric', () => {
  const { broker } = stackWithBroker('S');
  const stack = Stack.of(broker);
  const dims = (m: cloudwatch.IMetric) => stack.resolve((m as cloudwatch.Metric).dimensions);

  test('the given metric as it is', () => {
    const metric = new cloudwatch.Metric({ namespace: 'N', metricName: 'M' });
    expect(backlogMetric(broker, { metric })).toBe(metric);
  });

  test('no queue: the broker-wide count, 1-minute Maximum', () => {
    const metric = backlogMetric(broker, {}) as cloudwatch.Metric;
    expect(metric.metricName).toBe('MessageReadyCount');
    expect(metric.statistic).toBe('Maximum');
    expect(metric.period.toSeconds()).toBe(60);
    expect(dims(metric)).not.toHaveProperty('Queue');
  });

  test('one queue, in its virtual host', () => {
    expect(dims(backlogMetric(broker, { queue: 'orders', virtualHost: 'shop' }))).toMatchObject({ Queue: 'orders', VirtualHost: 'shop' });
    expect(dims(backlogMetric(broker, { queues: ['orders'] }))).toMatchObject({ Queue: 'orders', VirtualHost: '/' });
  });

  test('several queues: their sum, a queue without data counting as empty', () => {
    const math = backlogMetric(broker, { queues: ['a', 'b'] }) as cloudwatch.MathExpression;
    expect(math.expression).toBe('FILL(q0, 0) + FILL(q1, 0)');
    expect(Object.values(math.usingMetrics).map((m) => dims(m).Queue)).toEqual(['a', 'b']);
  });
});

test('addBacklogScalingPolicy: -1 at 0, +1 at the threshold, +step at 10 x, with the warm-up', () => {
  const { stack, fleet } = buildFleet();
  addBacklogScalingPolicy(fleet.autoScalingGroup, 'Backlog', new cloudwatch.Metric({ namespace: 'N', metricName: 'M', period: Duration.minutes(1) }),
    { scaleOutThreshold: 50, largeBacklogStep: 3, evaluationPeriods: 2, instanceWarmup: Duration.minutes(4) });
  const t = Template.fromStack(stack);
  t.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
    PolicyType: 'StepScaling',
    EstimatedInstanceWarmup: 240,
    StepAdjustments: Match.arrayWith([
      Match.objectLike({ MetricIntervalLowerBound: 0, MetricIntervalUpperBound: 450, ScalingAdjustment: 1 }),
      Match.objectLike({ MetricIntervalLowerBound: 450, ScalingAdjustment: 3 }),
    ]),
  });
  t.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', { StepAdjustments: [Match.objectLike({ ScalingAdjustment: -1 })] });
  t.hasResourceProperties('AWS::CloudWatch::Alarm', { Threshold: 50, EvaluationPeriods: 2, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
});
