import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { WorkerVpcEndpoints } from '../../src/access';

function isolatedVpc(stack: Stack): ec2.Vpc {
  return new ec2.Vpc(stack, 'Vpc', {
    maxAzs: 2,
    natGateways: 0,
    subnetConfiguration: [{ name: 'Workers', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
  });
}

describe('WorkerVpcEndpoints', () => {
  test('interface endpoints for Secrets Manager, CloudWatch, CloudFormation, Auto Scaling, SSM, SSM Messages, EC2 Messages and an S3 gateway', () => {
    const stack = new Stack(new App(), 'Stack', { env: { account: '123456789012', region: 'eu-west-1' } });
    const vpc = isolatedVpc(stack);
    const endpoints = new WorkerVpcEndpoints(stack, 'Endpoints', { vpc });
    const template = Template.fromStack(stack);

    const names = Object.values(template.findResources('AWS::EC2::VPCEndpoint', { Properties: { VpcEndpointType: 'Interface' } }))
      .map((r) => r.Properties.ServiceName).sort();
    expect(names).toEqual([
      'com.amazonaws.eu-west-1.autoscaling',
      'com.amazonaws.eu-west-1.cloudformation',
      'com.amazonaws.eu-west-1.ec2messages',
      'com.amazonaws.eu-west-1.monitoring',
      'com.amazonaws.eu-west-1.secretsmanager',
      'com.amazonaws.eu-west-1.ssm',
      'com.amazonaws.eu-west-1.ssmmessages',
    ]);
    template.allResourcesProperties('AWS::EC2::VPCEndpoint', Match.objectLike({ VpcId: { Ref: Match.anyValue() } }));
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Interface',
      PrivateDnsEnabled: true,
      SubnetIds: [{ Ref: Match.stringLikeRegexp('WorkersSubnet1') }, { Ref: Match.stringLikeRegexp('WorkersSubnet2') }],
    });
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.s3']] },
      VpcEndpointType: 'Gateway',
      RouteTableIds: [{ Ref: Match.stringLikeRegexp('WorkersSubnet1RouteTable') }, { Ref: Match.stringLikeRegexp('WorkersSubnet2RouteTable') }],
    });
    // One security group: 443 in from the VPC only, nothing out.
    const sgId = stack.getLogicalId(endpoints.node.findChild('SecurityGroup').node.defaultChild as never);
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupIngress: [{ CidrIp: { 'Fn::GetAtt': [Match.anyValue(), 'CidrBlock'] }, FromPort: 443, ToPort: 443, IpProtocol: 'tcp', Description: Match.anyValue() }],
      SecurityGroupEgress: [Match.objectLike({ CidrIp: '255.255.255.255/32' })],
    });
    expect(Object.keys(endpoints.interfaceEndpoints).sort()).toEqual(['autoscaling', 'cloudformation', 'ec2messages', 'monitoring', 'secretsmanager', 'ssm', 'ssmmessages']);
    expect(sgId).toBeDefined();
  });

  test('allowFromVpcCidr: false plus allowFrom opens 443 to one client only', () => {
    const stack = new Stack(new App(), 'Stack');
    const vpc = isolatedVpc(stack);
    const endpoints = new WorkerVpcEndpoints(stack, 'Endpoints', {
      vpc,
      allowFromVpcCidr: false,
      additionalServices: [ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS],
    });
    const workers = new ec2.SecurityGroup(stack, 'Workers', { vpc });
    endpoints.allowFrom(workers);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 9);
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      SourceSecurityGroupId: { 'Fn::GetAtt': [stack.getLogicalId(workers.node.defaultChild as never), 'GroupId'] },
      FromPort: 443,
      ToPort: 443,
    });
    const sg = template.findResources('AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp('Interface VPC endpoints') } });
    expect(Object.values(sg)[0].Properties.SecurityGroupIngress).toBeUndefined();
  });

  test('a service already in the default set is refused', () => {
    const stack = new Stack(new App(), 'Stack');
    expect(() => new WorkerVpcEndpoints(stack, 'Endpoints', {
      vpc: isolatedVpc(stack),
      additionalServices: [ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER],
    })).toThrow('additionalServices: secretsmanager is already in the default set');
  });
});
