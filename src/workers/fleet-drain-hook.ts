import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/** Name of the termination lifecycle hook (fixed: the user data names it, and a Ref would make a cycle). */
export const DRAIN_LIFECYCLE_HOOK_NAME = 'cdk-celery-drain';
/** Time the lifecycle hook waits beyond the worker's `TimeoutStopSec` (drain poll, API calls). */
export const LIFECYCLE_HEARTBEAT_MARGIN = Duration.minutes(5);
/** Longest heartbeat timeout of a lifecycle hook. */
const MAX_LIFECYCLE_HEARTBEAT_SECONDS = 7200;

/**
 * How long the termination hook waits for a warm drain of `stopTimeout`; throws a plain error
 * naming `stopTimeout` (and `source`, the prop it came from) when the hook cannot wait that long.
 */
export function drainHookHeartbeat(stopTimeout: Duration, source: string): Duration {
  const heartbeat = Duration.seconds(stopTimeout.toSeconds() + LIFECYCLE_HEARTBEAT_MARGIN.toSeconds());
  if (heartbeat.toSeconds() > MAX_LIFECYCLE_HEARTBEAT_SECONDS) {
    throw new Error(`stopTimeout: ${stopTimeout.toSeconds()} s (from ${source}) is too long; the termination lifecycle hook waits at most ${MAX_LIFECYCLE_HEARTBEAT_SECONDS} s, ${LIFECYCLE_HEARTBEAT_MARGIN.toSeconds()} s of which the drain needs. Use at most ${MAX_LIFECYCLE_HEARTBEAT_SECONDS - LIFECYCLE_HEARTBEAT_MARGIN.toSeconds()} s.`);
  }
  return heartbeat;
}

/**
 * The termination hook that lets an instance drain its worker warm, and the permissions the drain
 * script uses to end it (and to mark a crash-looping instance Unhealthy), scoped to `group`: a
 * separate policy (`<scope>/LifecyclePolicy`) because it names the group, which depends on the role.
 */
export function addDrainHook(scope: Construct, group: autoscaling.AutoScalingGroup, role: iam.IRole, heartbeat: Duration): void {
  group.addLifecycleHook('Drain', {
    lifecycleHookName: DRAIN_LIFECYCLE_HOOK_NAME,
    lifecycleTransition: autoscaling.LifecycleTransition.INSTANCE_TERMINATING,
    heartbeatTimeout: heartbeat,
    defaultResult: autoscaling.DefaultResult.CONTINUE,
  });
  new iam.Policy(scope, 'LifecyclePolicy', {
    roles: [role],
    statements: [new iam.PolicyStatement({
      actions: ['autoscaling:CompleteLifecycleAction', 'autoscaling:SetInstanceHealth'],
      resources: [Stack.of(scope).formatArn({
        service: 'autoscaling',
        resource: 'autoScalingGroup',
        resourceName: `*:autoScalingGroupName/${group.autoScalingGroupName}`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      })],
    })],
  });
}
