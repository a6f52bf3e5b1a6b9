import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { RabbitMqEngineVersion } from './rabbitmq-engine-version';

/** What `RabbitMqBroker.fromRabbitMqBrokerAttributes` needs to know about an existing broker. */
export interface RabbitMqBrokerAttributes {
  /** The broker id, for example `b-1234a5b6-78cd-901e-2fgh-3i45j6k178l9`. */
  readonly brokerId: string;

  /** The broker name: the `Broker` dimension of its metrics. */
  readonly brokerName: string;

  /**
   * The broker ARN.
   * @default - `arn:PARTITION:mq:REGION:ACCOUNT:broker:NAME:ID` in the scope's stack
   */
  readonly brokerArn?: string;

  /**
   * Host name of the AMQPS and management endpoint, without scheme or port.
   * @default - `ID.mq.REGION.URL_SUFFIX`, the broker's IPv4 endpoint (for example
   * `b-1234....mq.eu-west-1.amazonaws.com`)
   */
  readonly endpointHost?: string;

  /**
   * Security groups of the broker, so that `connections` can open ports to clients. A publicly
   * accessible broker has none.
   * @default - none: `connections` changes nothing
   */
  readonly securityGroups?: ec2.ISecurityGroup[];

  /**
   * The administrator credentials secret (JSON `username`, `password`).
   * @default - none: `grantReadCredentials` throws, and other constructs need credentials passed in
   */
  readonly credentials?: secretsmanager.ISecret;

  /**
   * The broker's `consumer_timeout`, if known.
   * @default - unknown
   */
  readonly consumerTimeout?: Duration;

  /**
   * The broker's engine version. Worker fleets render what the version needs (quorum task queues
   * on RabbitMQ 4, exclusive remote-control queues from 4.3); give it for a RabbitMQ 4 broker.
   * @default - unknown: fleets declare no queue type (the broker's default applies) and warn
   */
  readonly engineVersion?: RabbitMqEngineVersion;
}
