import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { WorkerMetricNames } from './worker-metrics';

/** The role a fleet creates when it is given none: EC2 may assume it, Session Manager may reach the instance. */
export function createInstanceRole(scope: Construct, id: string): iam.Role {
  return new iam.Role(scope, id, {
    assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
    description: 'Celery worker instances (cdk-celery)',
    managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
  });
}

/** What the instances do at boot and while they run, besides the code and the lifecycle hook. */
export interface InstancePermissions {
  /** The broker credentials the boot script reads. */
  readonly credentials: secretsmanager.ISecret;
  /** Whether the periodic-restart script lists the group's instances. */
  readonly periodicRestart: boolean;
}

/**
 * Grants a fleet's instance role (its own or the user's) what the instances need: read the
 * credentials, put the `CdkCelery` metrics, and with periodic restarts list the group.
 */
export function grantInstancePermissions(role: iam.IRole, permissions: InstancePermissions): void {
  permissions.credentials.grantRead(role);
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['cloudwatch:PutMetricData'],
    resources: ['*'],
    conditions: { StringEquals: { 'cloudwatch:namespace': WorkerMetricNames.NAMESPACE } },
  }));
  if (permissions.periodicRestart) {
    // The periodic-restart script lists the group's InService instances to find its slot. Describe
    // actions support no resource-level permissions.
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['autoscaling:DescribeAutoScalingGroups'],
      resources: ['*'],
    }));
  }
}
