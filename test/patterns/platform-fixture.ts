import { join } from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { CeleryPlatform, CeleryPlatformFleetOptions, CeleryPlatformProps } from '../../src/patterns';
import { WorkerCode } from '../../src/workers';
import { ENV } from '../broker/broker-fixture';

export { ENV };

/** A stand-in Celery application directory (uploaded as an asset, never run here). */
export const APP_DIR = join(__dirname, 'fixtures', 'app');

/** Options of a fleet consuming `queue`, with a time limit (so no noTimeLimit warning). */
export function fleetOptions(queue: string, overrides: Partial<CeleryPlatformFleetOptions> = {}): CeleryPlatformFleetOptions {
  return { app: 'tasks', code: WorkerCode.fromAsset(APP_DIR), queues: [queue], timeLimit: Duration.minutes(5), ...overrides };
}

export interface PlatformFixture {
  readonly app: App;
  readonly stack: Stack;
  readonly vpc: ec2.Vpc;
  readonly platform: CeleryPlatform;
  template(): Template;
  /** Logical id of a construct's default resource (or of the construct itself when it is one). */
  logicalId(construct: { node: { defaultChild?: unknown } }): string;
}

/** A stack with a VPC and a platform; by default two fleets, `orders` and `reports`. */
export function buildPlatform(
  props: Partial<CeleryPlatformProps> | ((stack: Stack, vpc: ec2.Vpc) => Partial<CeleryPlatformProps>) = {},
): PlatformFixture {
  const app = new App();
  const stack = new Stack(app, 'Stack', { env: ENV });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const platform = new CeleryPlatform(stack, 'Celery', {
    vpc,
    fleets: { orders: fleetOptions('orders'), reports: fleetOptions('reports', { maxCapacity: 2, concurrency: 2 }) },
    ...(typeof props === 'function' ? props(stack, vpc) : props),
  });
  return {
    app,
    stack,
    vpc,
    platform,
    template: () => Template.fromStack(stack),
    logicalId: (construct) => stack.getLogicalId((construct.node.defaultChild ?? construct) as never),
  };
}
