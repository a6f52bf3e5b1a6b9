import { join } from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { RabbitMqBroker, RabbitMqBrokerOptions } from '../../src/broker';
import { CeleryWorkerFleet, CeleryWorkerFleetProps, WorkerCode } from '../../src/workers';
import { stackWithBroker } from '../broker/broker-fixture';

export const APP_DIR = join(__dirname, 'fixtures', 'app');

export interface Fixture {
  readonly app: App;
  readonly stack: Stack;
  readonly vpc: ec2.Vpc;
  readonly broker: RabbitMqBroker;
  readonly fleet: CeleryWorkerFleet;
}

/** A stack with a VPC, a broker and one fleet; `props` override the fleet's, `options.broker` the broker's. */
export function buildFleet(
  props: Partial<CeleryWorkerFleetProps> | ((stack: Stack) => Partial<CeleryWorkerFleetProps>) = {},
  options: { readonly broker?: RabbitMqBrokerOptions } = {},
): Fixture {
  const { app, stack, vpc, broker } = stackWithBroker('WorkerStack', { broker: options.broker });
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
