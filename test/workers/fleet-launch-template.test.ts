import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { createFleetLaunchTemplate, DEFAULT_ROOT_VOLUME_SIZE_GIB } from '../../src/workers/fleet-launch-template';

function build(rootVolumeSizeGib?: number) {
  const stack = new Stack();
  const vpc = new ec2.Vpc(stack, 'Vpc');
  createFleetLaunchTemplate(stack, 'LaunchTemplate', {
    instanceType: new ec2.InstanceType('c7i.large'),
    machineImage: ec2.MachineImage.genericLinux({ 'us-east-1': 'ami-12345678' }),
    userData: ec2.UserData.custom('#!/bin/bash\necho hi'),
    role: new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') }),
    securityGroup: new ec2.SecurityGroup(stack, 'Group', { vpc }),
    rootVolumeSizeGib,
  });
  return (Object.values(Template.fromStack(stack).findResources('AWS::EC2::LaunchTemplate'))[0] as any).Properties.LaunchTemplateData;
}

test('IMDSv2 with one hop, tags in metadata, detailed monitoring, an instance profile of the role', () => {
  const data = build();
  expect(data.MetadataOptions).toEqual({ HttpTokens: 'required', HttpPutResponseHopLimit: 1, InstanceMetadataTags: 'enabled' });
  expect(data.Monitoring).toEqual({ Enabled: true });
  expect(data.IamInstanceProfile.Arn['Fn::GetAtt'][0]).toMatch(/^LaunchTemplateProfile/);
  expect(data.InstanceType).toBe('c7i.large');
});

test(`an encrypted gp3 root volume, ${DEFAULT_ROOT_VOLUME_SIZE_GIB} GiB unless given`, () => {
  expect(build().BlockDeviceMappings).toEqual([{ DeviceName: '/dev/xvda', Ebs: { DeleteOnTermination: true, Encrypted: true, VolumeSize: 20, VolumeType: 'gp3' } }]);
  expect(build(100).BlockDeviceMappings[0].Ebs.VolumeSize).toBe(100);
});
