import { App, Environment, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { RabbitMqBroker, RabbitMqBrokerOptions, RabbitMqBrokerProps } from '../../src/broker/rabbitmq-broker';
import { RabbitMqBrokerAttributes } from '../../src/broker/rabbitmq-broker-attributes';
import { IRabbitMqBroker } from '../../src/broker/rabbitmq-broker-ref';

export const ENV = { account: '123456789012', region: 'eu-west-1' };

/** A broker id in the format Amazon MQ gives, for imported brokers. */
export const BROKER_ID = 'b-1234a5b6-78cd-901e-2fgh-3i45j6k178l9';

export interface BrokerFixture {
  readonly app: App;
  readonly stack: Stack;
  readonly vpc: ec2.Vpc;
  readonly broker: RabbitMqBroker;
  readonly template: Template;
}

/** A stack with a 3-AZ VPC (private subnets with egress, public subnets) and a broker. */
export function buildBroker(props: Partial<RabbitMqBrokerProps> = {}, options: { withVpc?: boolean } = {}): BrokerFixture {
  const { app, stack, vpc } = emptyStack();
  const withVpc = options.withVpc ?? !props.publiclyAccessible;
  const broker = new RabbitMqBroker(stack, 'Broker', { ...(withVpc ? { vpc } : {}), ...props });
  return { app, stack, vpc, broker, template: Template.fromStack(stack) };
}

export function emptyStack(): { app: App; stack: Stack; vpc: ec2.Vpc } {
  const app = new App();
  const stack = new Stack(app, 'TestStack', { env: ENV });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 3, natGateways: 1 });
  return { app, stack, vpc };
}

export interface StackWithBroker {
  readonly app: App;
  readonly stack: Stack;
  readonly vpc: ec2.Vpc;
  readonly broker: RabbitMqBroker;
}

/**
 * For the tests of the constructs that use a broker (fleets, access, monitoring): a stack with a
 * 2-AZ VPC (one NAT gateway) and a real `RabbitMqBroker` (id `Broker`) in it, so that they see the
 * broker's own security group, secret, endpoint and metrics.
 */
export function stackWithBroker(stackId: string, options: {
  /** @default ENV; `null` for an environment-agnostic stack */
  readonly env?: Environment | null;
  readonly broker?: RabbitMqBrokerOptions;
  readonly app?: App;
} = {}): StackWithBroker {
  const app = options.app ?? new App();
  const stack = new Stack(app, stackId, { env: options.env === null ? undefined : options.env ?? ENV });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const broker = new RabbitMqBroker(stack, 'Broker', { vpc, ...options.broker });
  return { app, stack, vpc, broker };
}

/**
 * An existing broker, imported with fixed attributes (id `BROKER_ID`, name `celery` unless
 * `attrs` says otherwise) and nothing else: no security group, no credentials.
 */
export function importedBroker(scope: Construct, attrs: Partial<RabbitMqBrokerAttributes> = {}, id = 'Broker'): IRabbitMqBroker {
  return RabbitMqBroker.fromRabbitMqBrokerAttributes(scope, id, { brokerId: BROKER_ID, brokerName: 'celery', ...attrs });
}

/** The single resource of a type, with its logical id. */
export function onlyResource(template: Template, type: string): { logicalId: string; resource: any } {
  const found = template.findResources(type);
  const ids = Object.keys(found);
  if (ids.length !== 1) throw new Error(`expected one ${type}, found ${ids.length}`);
  return { logicalId: ids[0], resource: found[ids[0]] };
}

/** The rendered rabbitmq.conf of the broker's configuration resource. */
export function renderedConfigurationData(template: Template): string {
  const { resource } = onlyResource(template, 'AWS::AmazonMQ::Configuration');
  return Buffer.from(resource.Properties.Data, 'base64').toString('utf8');
}
