import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/** Default instance type: Graviton (arm64), 2 vCPUs, 8 GiB, no CPU credits. */
export const DEFAULT_INSTANCE_TYPE = 'm7g.large';
/** Default root volume size, GiB. */
export const DEFAULT_ROOT_VOLUME_SIZE_GIB = 20;

/** What a fleet's launch template is made of. */
export interface FleetLaunchTemplateOptions {
  readonly instanceType: ec2.InstanceType;
  readonly machineImage: ec2.IMachineImage;
  readonly userData: ec2.UserData;
  readonly role: iam.IRole;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly keyPair?: ec2.IKeyPair;
  readonly rootVolumeSizeGib?: number;
}

/**
 * The launch template of a fleet: IMDSv2 only with one hop (containers on the instance cannot
 * reach the role's credentials), tags in instance metadata (how instances learn their group name),
 * detailed monitoring (1-minute `NetworkOut` for the alarms), an encrypted gp3 root volume.
 */
export function createFleetLaunchTemplate(scope: Construct, id: string, options: FleetLaunchTemplateOptions): ec2.LaunchTemplate {
  return new ec2.LaunchTemplate(scope, id, {
    instanceType: options.instanceType,
    machineImage: options.machineImage,
    userData: options.userData,
    role: options.role,
    securityGroup: options.securityGroup,
    keyPair: options.keyPair,
    requireImdsv2: true,
    httpPutResponseHopLimit: 1,
    instanceMetadataTags: true,
    detailedMonitoring: true,
    blockDevices: [{
      deviceName: '/dev/xvda',
      volume: ec2.BlockDeviceVolume.ebs(options.rootVolumeSizeGib ?? DEFAULT_ROOT_VOLUME_SIZE_GIB, {
        encrypted: true,
        volumeType: ec2.EbsDeviceVolumeType.GP3,
        deleteOnTermination: true,
      }),
    }],
  });
}
