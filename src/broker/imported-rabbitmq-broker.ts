import { ArnFormat, Duration, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { RabbitMqBrokerAttributes } from './rabbitmq-broker-attributes';
import { RabbitMqBrokerBase } from './rabbitmq-broker-base';
import { validateBrokerName, validateEndpointHost, validateEngineVersion } from './rabbitmq-broker-rules';
import { RabbitMqEngineVersion } from './rabbitmq-engine-version';
import { validateIn, ValidationError } from '../private/validation-error';

const BROKER_ID_FORMAT = /^b-[A-Za-z0-9-]+$/;

/**
 * A broker defined elsewhere. Not exported from the package: `RabbitMqBroker.fromRabbitMqBrokerAttributes`
 * returns it as an `IRabbitMqBroker`.
 */
export class ImportedRabbitMqBroker extends RabbitMqBrokerBase {
  public readonly brokerId: string;
  public readonly brokerArn: string;
  public readonly brokerName: string;
  public readonly endpointHost: string;
  public readonly connections: ec2.Connections;
  public readonly credentials?: secretsmanager.ISecret;
  public readonly consumerTimeout?: Duration;
  public readonly engineVersion?: RabbitMqEngineVersion;

  constructor(scope: Construct, id: string, attrs: RabbitMqBrokerAttributes) {
    super(scope, id);
    if (!Token.isUnresolved(attrs.brokerId) && !BROKER_ID_FORMAT.test(attrs.brokerId)) {
      throw new ValidationError(this, `brokerId: ${JSON.stringify(attrs.brokerId)} is not allowed; use the broker id, for example b-1234a5b6-78cd-901e-2fgh-3i45j6k178l9`);
    }
    validateIn(this, () => {
      validateBrokerName(attrs.brokerName);
      if (attrs.endpointHost !== undefined) validateEndpointHost(attrs.endpointHost);
      if (attrs.engineVersion) validateEngineVersion(attrs.engineVersion, { existingBroker: true });
    });
    const stack = Stack.of(this);
    this.brokerId = attrs.brokerId;
    this.brokerName = attrs.brokerName;
    this.brokerArn = attrs.brokerArn ?? stack.formatArn({
      service: 'mq',
      resource: 'broker',
      resourceName: `${attrs.brokerName}:${attrs.brokerId}`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.endpointHost = attrs.endpointHost ?? `${attrs.brokerId}.mq.${stack.region}.${stack.urlSuffix}`;
    this.connections = new ec2.Connections({
      securityGroups: attrs.securityGroups ?? [],
      defaultPort: ec2.Port.tcp(this.amqpsPort),
    });
    this.credentials = attrs.credentials;
    this.consumerTimeout = attrs.consumerTimeout;
    this.engineVersion = attrs.engineVersion;
  }
}
