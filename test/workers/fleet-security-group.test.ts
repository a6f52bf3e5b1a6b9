import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { allowFleetEgress, createWorkerSecurityGroup } from '../../src/workers/fleet-security-group';

test('the created group has no ingress, and HTTPS as its only egress once allowed', () => {
  const stack = new Stack();
  const vpc = new ec2.Vpc(stack, 'Vpc');
  allowFleetEgress(createWorkerSecurityGroup(stack, 'Group', vpc));
  const group = Object.values(Template.fromStack(stack).findResources('AWS::EC2::SecurityGroup'))[0] as any;
  expect(group.Properties.SecurityGroupIngress).toBeUndefined();
  expect(group.Properties.SecurityGroupEgress).toEqual([
    { CidrIp: '0.0.0.0/0', Description: 'HTTPS to AWS APIs and package repositories', FromPort: 443, IpProtocol: 'tcp', ToPort: 443 },
  ]);
});

test('a group that allows all outbound traffic keeps it (the rule adds nothing)', () => {
  const stack = new Stack();
  const vpc = new ec2.Vpc(stack, 'Vpc');
  allowFleetEgress(new ec2.SecurityGroup(stack, 'Open', { vpc, allowAllOutbound: true }));
  const group = Object.values(Template.fromStack(stack).findResources('AWS::EC2::SecurityGroup'))[0] as any;
  expect(group.Properties.SecurityGroupEgress).toEqual([{ CidrIp: '0.0.0.0/0', Description: 'Allow all outbound traffic by default', IpProtocol: '-1' }]);
});
