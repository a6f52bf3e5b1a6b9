import { Duration } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { buildFleet } from './fleet-fixture';

// Backlog scaling: several queues summed with metric math (RabbitMQ 3.x queue metrics), and an
// instance warm-up rather than a cooldown (Auto Scaling ignores cooldowns on step policies).

describe('scaleOnQueueBacklog', () => {
  test('queues: the ready messages of every queue, summed, each missing point counted as 0', () => {
    const { stack, fleet } = buildFleet({ queues: ['orders', 'emails'] });
    fleet.scaleOnQueueBacklog('Backlog', { queues: ['orders', 'emails'], virtualHost: 'celery' });
    const t = Template.fromStack(stack);
    const queueMetric = (id: string, queue: string) => ({
      Id: id,
      ReturnData: false,
      MetricStat: {
        Metric: {
          Namespace: 'AWS/AmazonMQ',
          MetricName: 'MessageReadyCount',
          Dimensions: Match.arrayWith([{ Name: 'Queue', Value: queue }, { Name: 'VirtualHost', Value: 'celery' }]),
        },
        Period: 60,
        Stat: 'Maximum',
      },
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'FILL(q0, 0) + FILL(q1, 0)', ReturnData: true }),
        Match.objectLike(queueMetric('q0', 'orders')),
        Match.objectLike(queueMetric('q1', 'emails')),
      ]),
    });
  });

  test('one queue in queues is the plain queue metric', () => {
    const { stack, fleet } = buildFleet();
    fleet.scaleOnQueueBacklog('Backlog', { queues: ['default'] });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'MessageReadyCount',
      Dimensions: Match.arrayWith([{ Name: 'Queue', Value: 'default' }, { Name: 'VirtualHost', Value: '/' }]),
    });
  });

  test('instanceWarmup becomes the policies\' EstimatedInstanceWarmup (5 minutes by default), with no cooldown warning', () => {
    const { stack, fleet } = buildFleet({ timeLimit: Duration.minutes(1) });
    fleet.scaleOnQueueBacklog('Backlog');
    fleet.scaleOnQueueBacklog('Fast', { instanceWarmup: Duration.minutes(2) });
    const t = Template.fromStack(stack);
    expect(Object.keys(t.findResources('AWS::AutoScaling::ScalingPolicy', { Properties: { EstimatedInstanceWarmup: 300 } }))).toHaveLength(2);
    expect(Object.keys(t.findResources('AWS::AutoScaling::ScalingPolicy', { Properties: { EstimatedInstanceWarmup: 120 } }))).toHaveLength(2);
    expect(JSON.stringify(t.findResources('AWS::AutoScaling::ScalingPolicy'))).not.toContain('Cooldown');
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('Cooldown'))).toEqual([]);
  });

  test.each([
    [{ queue: 'a', queues: ['b'] }, 'scaleOnQueueBacklog.queues: ["b"] is not allowed with queue ("a")'],
    [{ queues: [] }, 'scaleOnQueueBacklog.queues: [] is not allowed'],
    [{ virtualHost: 'celery' }, 'scaleOnQueueBacklog.virtualHost: "celery" needs queue'],
  ])('refuses %j', (props, message) => {
    const { fleet } = buildFleet();
    expect(() => fleet.scaleOnQueueBacklog('Backlog', props)).toThrow(message);
  });
});
