import { Stack } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { addFleetNagAcknowledgements } from '../../src/workers/fleet-nag';

function rulesOn(construct: Construct): Array<{ id: string; reason: string }> {
  const resource = construct.node.defaultChild as unknown as { getMetadata(key: string): any };
  return resource.getMetadata('cdk_nag')?.rules_to_suppress ?? [];
}

test('each acknowledgement only on the resource type its rule checks', () => {
  const stack = new Stack();
  const fleet = new Construct(stack, 'Fleet');
  const role = new iam.Role(fleet, 'Role', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
  const policy = new iam.Policy(fleet, 'Policy', { statements: [new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] })], roles: [role] });
  const group = new autoscaling.CfnAutoScalingGroup(fleet, 'Group', { maxSize: '1', minSize: '0' });
  const outside = new iam.Role(stack, 'UserRole', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
  addFleetNagAcknowledgements(fleet, { periodicRestart: false });

  expect(rulesOn(role).map((r) => r.id)).toEqual(['AwsSolutions-IAM4']);
  expect(rulesOn(policy).map((r) => r.id)).toEqual(['AwsSolutions-IAM5']);
  expect(group.getMetadata('cdk_nag').rules_to_suppress.map((r: { id: string }) => r.id)).toEqual(['AwsSolutions-AS3']);
  expect(rulesOn(outside)).toEqual([]);
});

test('the IAM5 reason names the group listing only with periodic restarts', () => {
  const reason = (periodicRestart: boolean) => {
    const fleet = new Construct(new Stack(), 'Fleet');
    const policy = new iam.Policy(fleet, 'Policy', { statements: [new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] })] });
    addFleetNagAcknowledgements(fleet, { periodicRestart });
    return rulesOn(policy)[0].reason;
  };
  expect(reason(false)).not.toContain('DescribeAutoScalingGroups');
  expect(reason(true)).toContain('autoscaling:DescribeAutoScalingGroups (periodicRestart');
});
