import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { emptyStack, importedBroker } from './broker-fixture';
import { RabbitMqBroker } from '../../src/broker/rabbitmq-broker';
import { IRabbitMqBroker } from '../../src/broker/rabbitmq-broker-ref';

// The port helpers of IRabbitMqBroker: every broker (created, imported with or without security
// groups, public) opens its AMQPS and management ports the same way, so callers never pick ports.

interface Built {
  readonly stack: Stack;
  readonly broker: IRabbitMqBroker;
  /** The broker's security group, when it has one in this stack. */
  readonly brokerGroup?: ec2.ISecurityGroup;
  readonly client: ec2.SecurityGroup;
}

function created(): Built {
  const { stack, vpc } = emptyStack();
  const broker = new RabbitMqBroker(stack, 'Broker', { vpc });
  return { stack, broker, brokerGroup: broker.connections.securityGroups[0], client: new ec2.SecurityGroup(stack, 'Client', { vpc, allowAllOutbound: false }) };
}

function importedWithGroup(): Built {
  const { stack, vpc } = emptyStack();
  const brokerGroup = new ec2.SecurityGroup(stack, 'BrokerGroup', { vpc, allowAllOutbound: false });
  const broker = importedBroker(stack, { securityGroups: [brokerGroup] });
  return { stack, broker, brokerGroup, client: new ec2.SecurityGroup(stack, 'Client', { vpc, allowAllOutbound: false }) };
}

const groupId = (stack: Stack, sg: ec2.ISecurityGroup) => ({ 'Fn::GetAtt': [stack.getLogicalId(sg.node.defaultChild as ec2.CfnSecurityGroup), 'GroupId'] });

describe.each([['a created broker', created], ['an imported broker with a security group', importedWithGroup]])('port helpers of %s', (_kind, build) => {
  test('the ports are Amazon MQ\'s: AMQPS 5671, management 443', () => {
    const { broker } = build();
    expect(broker.amqpsPort).toBe(5671);
    expect(broker.managementPort).toBe(443);
    expect(broker.connections.defaultPort?.toRuleJson()).toEqual(ec2.Port.tcp(5671).toRuleJson());
  });

  test.each([
    ['allowAmqpsAccessFrom', (b: IRabbitMqBroker, peer: ec2.IConnectable, d?: string) => b.allowAmqpsAccessFrom(peer, d), 5671, 'Celery clients (AMQPS)'],
    ['allowManagementAccessFrom', (b: IRabbitMqBroker, peer: ec2.IConnectable, d?: string) => b.allowManagementAccessFrom(peer, d), 443, 'RabbitMQ management console and API'],
  ] as const)('%s: ingress into the broker\'s group and egress from the client\'s, on its port only', (_name, allow, port, defaultDescription) => {
    const { stack, broker, brokerGroup, client } = build();
    allow(broker, client);
    const template = Template.fromStack(stack);
    const ingress = template.findResources('AWS::EC2::SecurityGroupIngress');
    expect(Object.values(ingress).map((r: any) => r.Properties)).toEqual([{
      IpProtocol: 'tcp',
      FromPort: port,
      ToPort: port,
      Description: defaultDescription,
      GroupId: groupId(stack, brokerGroup!),
      SourceSecurityGroupId: groupId(stack, client),
    }]);
    template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      IpProtocol: 'tcp', FromPort: port, ToPort: port, GroupId: groupId(stack, client), DestinationSecurityGroupId: groupId(stack, brokerGroup!),
    });
  });

  test('a description replaces the default one', () => {
    const { stack, broker, client } = build();
    broker.allowAmqpsAccessFrom(client, 'Flower');
    broker.allowManagementAccessFrom(client, 'Bastion');
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { FromPort: 5671, Description: 'Flower' });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { FromPort: 443, Description: 'Bastion' });
  });
});

test('an imported broker without security groups adds no rule', () => {
  const { stack, vpc } = emptyStack();
  const broker = importedBroker(stack);
  const client = new ec2.SecurityGroup(stack, 'Client', { vpc, allowAllOutbound: false });
  broker.allowAmqpsAccessFrom(client);
  broker.allowManagementAccessFrom(client);
  const template = Template.fromStack(stack);
  template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
  template.resourceCountIs('AWS::EC2::SecurityGroupEgress', 0);
});

test('a publicly accessible broker: the client gets egress to any IPv4 address on each port', () => {
  const { stack, vpc } = emptyStack();
  const broker = new RabbitMqBroker(stack, 'Broker', { publiclyAccessible: true });
  const client = new ec2.SecurityGroup(stack, 'Client', { vpc, allowAllOutbound: false });
  broker.allowAmqpsAccessFrom(client);
  broker.allowManagementAccessFrom(client);
  const template = Template.fromStack(stack);
  template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
  template.hasResourceProperties('AWS::EC2::SecurityGroup', {
    SecurityGroupEgress: Match.arrayWith([
      Match.objectLike({ CidrIp: '0.0.0.0/0', FromPort: 5671, ToPort: 5671 }),
      Match.objectLike({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443 }),
    ]),
  });
});
