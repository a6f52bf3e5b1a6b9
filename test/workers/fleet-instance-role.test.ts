import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { createInstanceRole, grantInstancePermissions } from '../../src/workers/fleet-instance-role';

function policyStatements(stack: Stack): any[] {
  return Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy')).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
}

test('createInstanceRole: assumed by EC2, with Session Manager', () => {
  const stack = new Stack();
  createInstanceRole(stack, 'Role');
  Template.fromStack(stack).hasResourceProperties('AWS::IAM::Role', {
    AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'ec2.amazonaws.com' } })] },
    ManagedPolicyArns: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/AmazonSSMManagedInstanceCore']] }],
  });
});

describe('grantInstancePermissions on any role', () => {
  const build = (periodicRestart: boolean) => {
    const stack = new Stack();
    const role = new iam.Role(stack, 'UserRole', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    grantInstancePermissions(role, { credentials: new secretsmanager.Secret(stack, 'Secret'), periodicRestart });
    return policyStatements(stack);
  };

  test('reads the credentials and puts metrics in the CdkCelery namespace only', () => {
    const statements = build(false);
    expect(statements).toEqual([
      expect.objectContaining({ Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Resource: { Ref: expect.stringMatching(/^Secret/) } }),
      { Action: 'cloudwatch:PutMetricData', Effect: 'Allow', Resource: '*', Condition: { StringEquals: { 'cloudwatch:namespace': 'CdkCelery' } } },
    ]);
  });

  test('lists Auto Scaling groups only with periodic restarts', () => {
    expect(build(false).some((s) => s.Action === 'autoscaling:DescribeAutoScalingGroups')).toBe(false);
    expect(build(true)).toContainEqual({ Action: 'autoscaling:DescribeAutoScalingGroups', Effect: 'Allow', Resource: '*' });
  });
});
