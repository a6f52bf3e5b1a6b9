import { Aspects } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Construct } from 'constructs';
import { nagFindings } from '../nag';
import { buildFleet } from './fleet-fixture';

jest.setTimeout(60_000);

const ec2Role = (scope: Construct) => new iam.Role(scope, 'UserRole', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });

function statementsOfPoliciesOn(t: Template, roleLogicalId: string): any[] {
  return Object.values(t.findResources('AWS::IAM::Policy'))
    .filter((p: any) => JSON.stringify(p.Properties.Roles).includes(`"${roleLogicalId}"`))
    .flatMap((p: any) => p.Properties.PolicyDocument.Statement);
}

describe('role', () => {
  test('default: the fleet\'s own role, which is its grant principal', () => {
    const { stack, fleet } = buildFleet();
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::IAM::Role', { Description: 'Celery worker instances (cdk-celery)' });
    expect(fleet.role.node.path).toBe('WorkerStack/Fleet/InstanceRole');
    expect(fleet.grantPrincipal).toBe(fleet.role);
  });

  test('given: used by the instances, no role created, and every permission the instances need attached to it', () => {
    const { stack, fleet } = buildFleet((s) => ({ role: ec2Role(s), periodicRestart: {} }));
    const t = Template.fromStack(stack);
    expect(fleet.role.node.path).toBe('WorkerStack/UserRole');
    expect(fleet.grantPrincipal).toBe(fleet.role);
    t.resourcePropertiesCountIs('AWS::IAM::Role', { Description: 'Celery worker instances (cdk-celery)' }, 0);
    t.hasResourceProperties('AWS::IAM::InstanceProfile', { Roles: [{ Ref: Match.stringLikeRegexp('^UserRole') }] });
    const roleId = Object.keys(t.findResources('AWS::IAM::Role', { Properties: { AssumeRolePolicyDocument: Match.anyValue() } }))
      .find((id) => id.startsWith('UserRole'))!;
    const actions = statementsOfPoliciesOn(t, roleId).flatMap((s) => [s.Action].flat());
    expect(actions).toEqual(expect.arrayContaining([
      'secretsmanager:GetSecretValue', 'cloudwatch:PutMetricData', 'autoscaling:DescribeAutoScalingGroups',
      's3:GetObject*', 'autoscaling:CompleteLifecycleAction', 'autoscaling:SetInstanceHealth',
    ]));
    // The grants exist before the first instance launches.
    const group = Object.values(t.findResources('AWS::AutoScaling::AutoScalingGroup'))[0] as any;
    expect(group.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^UserRoleDefaultPolicy/)]));
  });

  test('given, imported by ARN: the permissions go into policies attached to it by name', () => {
    const { stack } = buildFleet((s) => ({ role: iam.Role.fromRoleArn(s, 'Imported', 'arn:aws:iam::123456789012:role/workers') }));
    const t = Template.fromStack(stack);
    t.resourcePropertiesCountIs('AWS::IAM::Role', { Description: 'Celery worker instances (cdk-celery)' }, 0);
    const onImported = Object.values(t.findResources('AWS::IAM::Policy')).filter((p: any) => JSON.stringify(p.Properties.Roles) === '["workers"]');
    const actions = onImported.flatMap((p: any) => p.Properties.PolicyDocument.Statement).flatMap((s: any) => [s.Action].flat());
    expect(actions).toEqual(expect.arrayContaining(['secretsmanager:GetSecretValue', 'cloudwatch:PutMetricData', 'autoscaling:CompleteLifecycleAction']));
  });

  test('given: the fleet adds no nag finding of its own', () => {
    const { app, stack } = buildFleet((s) => ({ role: ec2Role(s) }));
    Aspects.of(app).add(new AwsSolutionsChecks());
    app.synth();
    expect(nagFindings(stack, '/WorkerStack/Fleet/')).toEqual([]);
  });
});

test('IGrantable: grants to the fleet go to its role', () => {
  const { stack, fleet } = buildFleet();
  s3.Bucket.fromBucketName(stack, 'Data', 'data-bucket').grantRead(fleet);
  const t = Template.fromStack(stack);
  const roleId = stack.getLogicalId(fleet.role.node.defaultChild as iam.CfnRole);
  expect(statementsOfPoliciesOn(t, roleId)).toContainEqual(expect.objectContaining({
    Action: expect.arrayContaining(['s3:GetObject*']),
    Resource: expect.arrayContaining([expect.objectContaining({ 'Fn::Join': ['', expect.arrayContaining([':s3:::data-bucket/*'])] })]),
  }));
});

describe('securityGroup', () => {
  test('default: the fleet\'s own group', () => {
    const { fleet } = buildFleet();
    expect(fleet.securityGroup.node.path).toBe('WorkerStack/Fleet/SecurityGroup');
    expect(fleet.connections.securityGroups).toEqual([fleet.securityGroup]);
  });

  test('given: on the instances, the broker opened to it, HTTPS egress added, no group created', () => {
    const { stack, fleet } = buildFleet((s) => ({
      securityGroup: new ec2.SecurityGroup(s, 'UserGroup', { vpc: s.node.findChild('Vpc') as ec2.Vpc, allowAllOutbound: false }),
    }));
    const t = Template.fromStack(stack);
    expect(fleet.securityGroup.node.path).toBe('WorkerStack/UserGroup');
    expect(fleet.connections.securityGroups).toEqual([fleet.securityGroup]);
    t.resourcePropertiesCountIs('AWS::EC2::SecurityGroup', { GroupDescription: Match.stringLikeRegexp('^Celery workers: AMQPS') }, 0);
    const lt = Object.values(t.findResources('AWS::EC2::LaunchTemplate'))[0] as any;
    expect(lt.Properties.LaunchTemplateData.SecurityGroupIds).toEqual([{ 'Fn::GetAtt': [expect.stringMatching(/^UserGroup/), 'GroupId'] }]);
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 5671, SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^UserGroup'), 'GroupId'] },
    });
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: 'WorkerStack/UserGroup',
      SecurityGroupEgress: Match.arrayWith([Match.objectLike({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443 })]),
    });
  });
});

describe('resolved capacities', () => {
  test.each<[string, Parameters<typeof buildFleet>[0], [number, number, number, number]]>([
    ['defaults', {}, [1, 4, 1, 1]],
    ['given min and max', { minCapacity: 3, maxCapacity: 20 }, [3, 20, 4, 3]],
    ['everything given', { minCapacity: 2, maxCapacity: 6, maxBatchSize: 3, minInstancesInService: 0 }, [2, 6, 3, 0]],
  ])('%s: the public values are what the group gets', (_name, props, [min, max, batch, inService]) => {
    const { stack, fleet } = buildFleet(props);
    expect([fleet.minCapacity, fleet.maxCapacity, fleet.maxBatchSize, fleet.minInstancesInService]).toEqual([min, max, batch, inService]);
    const group = Object.values(Template.fromStack(stack).findResources('AWS::AutoScaling::AutoScalingGroup'))[0] as any;
    expect([group.Properties.MinSize, group.Properties.MaxSize]).toEqual([String(min), String(max)]);
    expect(group.UpdatePolicy.AutoScalingRollingUpdate).toMatchObject({ MaxBatchSize: batch, MinInstancesInService: inService });
  });
});
