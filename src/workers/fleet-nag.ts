import { IConstruct } from 'constructs';
import { addNagSuppressions } from '../private/nag-suppressions';

/**
 * Acknowledges the cdk-nag findings a fleet's design accepts, each only on the resource type its
 * rule checks, so none is left unused (the security group needs none: EC23 is about open ingress,
 * and the fleet has no ingress). Resources the user passed in (a role) live outside the fleet and
 * are not touched.
 */
export function addFleetNagAcknowledgements(fleet: IConstruct, options: { readonly periodicRestart: boolean }): void {
  addNagSuppressions(fleet, [
    { id: 'AwsSolutions-IAM4', reason: 'AmazonSSMManagedInstanceCore is the AWS-maintained policy for Session Manager access (no SSH key, no open port).' },
  ], ['AWS::IAM::Role']);
  addNagSuppressions(fleet, [
    {
      id: 'AwsSolutions-IAM5',
      reason: 'Wildcards: cloudwatch:PutMetricData has no resource ARN (it is conditioned on the CdkCelery namespace); '
        + (options.periodicRestart ? 'autoscaling:DescribeAutoScalingGroups (periodicRestart: each instance lists its group to find its restart slot) has no resource ARN (read-only); ' : '')
        + 'the Auto Scaling group ARN has a generated id segment (scoped by group name); S3 asset read grants cover the object key only; Secrets Manager grants end in the generated suffix.',
    },
  ], ['AWS::IAM::Policy']);
  addNagSuppressions(fleet, [
    { id: 'AwsSolutions-AS3', reason: 'Scaling events are visible in the group metrics (collected) and the activity history; fleets that want notifications add them to autoScalingGroup.' },
  ], ['AWS::AutoScaling::AutoScalingGroup']);
}
