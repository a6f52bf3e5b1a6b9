import { Resource } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { IRabbitMqBroker } from '../../src/broker/rabbitmq-broker-ref';

/**
 * A stand-in for the broker construct in template tests: a security group and an admin secret,
 * with the endpoint attributes Amazon MQ gives (management API on HTTPS 443). The access
 * construct uses only these members; the metric methods are not part of what it is tested on.
 */
export function testBroker(scope: Construct, id: string, vpc: ec2.IVpc, options: { withCredentials?: boolean } = {}): IRabbitMqBroker {
  const broker = new class extends Resource {
    public readonly brokerId = 'b-1234a5b6-78cd-901e-2fgh-3i45j6k178l9';
    public readonly brokerArn = 'arn:aws:mq:eu-west-1:123456789012:broker:celery:b-1234a5b6-78cd-901e-2fgh-3i45j6k178l9';
    public readonly brokerName = 'celery';
    public readonly endpointHost = 'b-1234a5b6-78cd-901e-2fgh-3i45j6k178l9.mq.eu-west-1.amazonaws.com';
    public readonly amqpsPort = 5671;
    public readonly amqpsUrl = `amqps://${this.endpointHost}:5671`;
    public readonly managementPort = 443;
    public readonly managementUrl = `https://${this.endpointHost}:443`;
    public readonly connections: ec2.Connections;
    public readonly credentials?: secretsmanager.ISecret;
    constructor() {
      super(scope, id);
      const sg = new ec2.SecurityGroup(this, 'SecurityGroup', { vpc, allowAllOutbound: false, description: 'broker' });
      this.connections = new ec2.Connections({ securityGroups: [sg] });
      if (options.withCredentials ?? true) {
        this.credentials = new secretsmanager.Secret(this, 'Admin', {
          generateSecretString: { secretStringTemplate: '{"username":"admin"}', generateStringKey: 'password', excludeCharacters: ',:=' },
        });
      }
    }
  }();
  return broker as unknown as IRabbitMqBroker;
}
