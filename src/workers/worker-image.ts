import { Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { IConstruct } from 'constructs';

/**
 * The default machine image of a fleet: Amazon Linux 2023 for the instance type's architecture,
 * resolved so that a new AL2023 release does not roll every fleet on the next deployment.
 *
 * `MachineImage.latestAmazonLinux2023()` reads the SSM parameter on every deployment: each AL2023
 * release changes the launch template, and CloudFormation replaces every instance of every fleet
 * (a rolling update per fleet, all in one deployment). Instead:
 * - in a stack with a concrete account and Region, the image id is looked up once at synth and
 *   cached in `cdk.context.json` (`cachedInContext`, as aws-cdk-lib recommends for instances that
 *   should not be replaced on every release): commit that file; `cdk context --reset KEY` (or
 *   `--clear`) picks up a newer image, which then rolls the fleets in a deployment you choose;
 * - in an environment-agnostic stack (no lookup possible), the launch template names the SSM
 *   parameter itself (`resolve:ssm:`), which EC2 resolves when it launches an instance: the template
 *   never changes, instances launched later (scale-out, replacements) get the newest image, and
 *   running ones keep theirs until they are replaced (an instance refresh, decoupled from
 *   CloudFormation updates).
 * Pass `machineImage` to choose otherwise (for example a pinned `MachineImage.genericLinux`).
 */
export function defaultWorkerImage(scope: IConstruct, architecture: ec2.InstanceArchitecture): ec2.IMachineImage {
  const cpuType = architecture === ec2.InstanceArchitecture.ARM_64 ? ec2.AmazonLinuxCpuType.ARM_64 : ec2.AmazonLinuxCpuType.X86_64;
  const stack = Stack.of(scope);
  if (!Token.isUnresolved(stack.account) && !Token.isUnresolved(stack.region)) {
    return new ec2.AmazonLinux2023ImageSsmParameter({ cpuType, kernel: ec2.AmazonLinux2023Kernel.DEFAULT, cachedInContext: true });
  }
  const parameterName = ec2.AmazonLinux2023ImageSsmParameter.ssmParameterName({ cpuType, kernel: ec2.AmazonLinux2023Kernel.DEFAULT });
  return ec2.MachineImage.resolveSsmParameterAtLaunch(parameterName, { os: ec2.OperatingSystemType.LINUX });
}
