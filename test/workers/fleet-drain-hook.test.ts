import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import { buildFleet } from './fleet-fixture';
import { DRAIN_LIFECYCLE_HOOK_NAME, drainHookHeartbeat, LIFECYCLE_HEARTBEAT_MARGIN } from '../../src/workers/fleet-drain-hook';

jest.setTimeout(60_000);

test('drainHookHeartbeat: the stop timeout plus the margin, at most 7200 s', () => {
  expect(drainHookHeartbeat(Duration.minutes(10), 'stopTimeout').toSeconds()).toBe(600 + LIFECYCLE_HEARTBEAT_MARGIN.toSeconds());
  expect(drainHookHeartbeat(Duration.seconds(6900), 'stopTimeout').toSeconds()).toBe(7200);
  expect(() => drainHookHeartbeat(Duration.seconds(6901), 'timeLimit'))
    .toThrow('stopTimeout: 6901 s (from timeLimit) is too long; the termination lifecycle hook waits at most 7200 s, 300 s of which the drain needs. Use at most 6900 s.');
});

test('the fleet\'s hook continues after the heartbeat, and its policy is scoped to the group', () => {
  const { stack, fleet } = buildFleet({ stopTimeout: Duration.minutes(20) });
  const t = Template.fromStack(stack);
  t.hasResourceProperties('AWS::AutoScaling::LifecycleHook', {
    LifecycleHookName: DRAIN_LIFECYCLE_HOOK_NAME,
    LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
    HeartbeatTimeout: 1500,
    DefaultResult: 'CONTINUE',
  });
  const groupRef = stack.resolve((fleet.autoScalingGroup as autoscaling.AutoScalingGroup).autoScalingGroupName);
  t.hasResourceProperties('AWS::IAM::Policy', {
    PolicyName: Match.stringLikeRegexp('^FleetLifecyclePolicy'),
    PolicyDocument: {
      Statement: [Match.objectLike({
        Action: ['autoscaling:CompleteLifecycleAction', 'autoscaling:SetInstanceHealth'],
        Resource: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(':autoScalingGroup:\\*:autoScalingGroupName/'), groupRef])] },
      })],
    },
  });
});
