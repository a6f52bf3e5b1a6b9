import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { APP_DIR } from './fleet-fixture';
import { RabbitMqBroker } from '../../src/broker';
import { CeleryWorkerFleet, WorkerCode } from '../../src/workers';
import { ENV } from '../broker/broker-fixture';

const ARM64_PARAMETER = '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64';

/** A fleet in a stack (with `env` or environment-agnostic), under an app with `context`. */
function fleetTemplate(env: typeof ENV | undefined, context: { [key: string]: string } = {}, machineImage?: ec2.IMachineImage) {
  // postCliContext: what a cdk.context.json of this project would say wins over the test setup's lookups.
  const app = new App({ postCliContext: context });
  const stack = new Stack(app, 'ImageStack', { env });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const broker = new RabbitMqBroker(stack, 'Broker', { vpc });
  new CeleryWorkerFleet(stack, 'Fleet', { vpc, broker, code: WorkerCode.fromAsset(APP_DIR), app: 'proj', queues: ['default'], machineImage });
  const template = Template.fromStack(stack).toJSON();
  const [lt] = Object.values(template.Resources as { [id: string]: any }).filter((r) => r.Type === 'AWS::EC2::LaunchTemplate');
  return { imageId: lt.Properties.LaunchTemplateData.ImageId, parameters: template.Parameters ?? {}, missing: app.synth().manifest.missing ?? [] };
}

describe('the default image is resolved once: a new AL2023 release does not roll the fleet on the next deployment', () => {
  test('with an account and Region: the image id cached in context is written into the template (no SSM parameter resolved at deploy)', () => {
    const key = `ssm:account=${ENV.account}:parameterName=${ARM64_PARAMETER}:region=${ENV.region}`;
    const { imageId, parameters } = fleetTemplate(ENV, { [key]: 'ami-0123456789abcdef0' });
    expect(imageId).toBe('ami-0123456789abcdef0');
    // Before: a parameter of type AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>, re-read at every deployment.
    expect(Object.values(parameters).filter((p: any) => String(p.Type).includes('AWS::EC2::Image::Id'))).toEqual([]);
  });

  test('without the cached value, synth asks for the lookup (cdk synth with credentials fills cdk.context.json)', () => {
    const saved = process.env.CDK_CONTEXT_JSON;
    delete process.env.CDK_CONTEXT_JSON;
    let missing: ReturnType<typeof fleetTemplate>['missing'];
    try {
      ({ missing } = fleetTemplate(ENV));
    } finally {
      process.env.CDK_CONTEXT_JSON = saved;
    }
    expect(missing.map((m) => (m.props as { parameterName?: string }).parameterName)).toContain(ARM64_PARAMETER);
  });

  test('environment-agnostic stack: the launch template names the parameter for EC2 to resolve at launch', () => {
    const { imageId, parameters } = fleetTemplate(undefined);
    expect(imageId).toBe(`resolve:ssm:${ARM64_PARAMETER}`);
    expect(Object.values(parameters).filter((p: any) => String(p.Type).includes('AWS::EC2::Image::Id'))).toEqual([]);
  });

  test('machineImage overrides the default', () => {
    const { imageId } = fleetTemplate(ENV, {}, ec2.MachineImage.genericLinux({ [ENV.region]: 'ami-0fedcba9876543210' }));
    expect(imageId).toBe('ami-0fedcba9876543210');
  });
});
