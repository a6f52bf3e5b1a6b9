import { join } from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { TestBroker } from './test-broker';
import { CeleryWorkerFleet, CeleryWorkerFleetProps, WorkerCode } from '../../src/workers';

export const APP_DIR = join(__dirname, 'fixtures', 'app');

export interface Fixture {
  readonly app: App;
  readonly stack: Stack;
  readonly vpc: ec2.Vpc;
  readonly broker: TestBroker;
  readonly fleet: CeleryWorkerFleet;
}

/** A stack with a VPC, a broker stand-in and one fleet; `props` override the fleet's. */
export function buildFleet(
  props: Partial<CeleryWorkerFleetProps> | ((stack: Stack) => Partial<CeleryWorkerFleetProps>) = {},
): Fixture {
  const app = new App();
  const stack = new Stack(app, 'WorkerStack', { env: { account: '123456789012', region: 'eu-west-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const broker = new TestBroker(stack, 'Broker', vpc);
  const fleet = new CeleryWorkerFleet(stack, 'Fleet', {
    vpc,
    broker,
    code: WorkerCode.fromAsset(APP_DIR),
    app: 'proj',
    queues: ['default'],
    ...(typeof props === 'function' ? props(stack) : props),
  });
  return { app, stack, vpc, broker, fleet };
}
