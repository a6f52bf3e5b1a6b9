import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { RabbitMqBroker, RabbitMqBrokerProps } from '../../src/broker/rabbitmq-broker';

export const ENV = { account: '123456789012', region: 'eu-west-1' };

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
