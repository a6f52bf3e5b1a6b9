import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';

/** The security group a fleet creates when it is given none: no ingress, and no egress but what `allowFleetEgress` adds. */
export function createWorkerSecurityGroup(scope: Construct, id: string, vpc: ec2.IVpc): ec2.SecurityGroup {
  return new ec2.SecurityGroup(scope, id, {
    vpc,
    allowAllOutbound: false,
    description: 'Celery workers: AMQPS to the broker, HTTPS to AWS APIs and package repositories',
  });
}

/**
 * Lets the workers reach what they need besides the broker (which opens itself to them): AWS APIs
 * (Secrets Manager, S3, CloudWatch, Auto Scaling, SSM, CloudFormation) and dnf/pip repositories,
 * HTTPS endpoints with changing addresses. IMDS, DNS and NTP are link-local and not filtered by
 * security groups. A no-op on a group that allows all outbound traffic.
 */
export function allowFleetEgress(securityGroup: ec2.ISecurityGroup): void {
  securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs and package repositories');
}
