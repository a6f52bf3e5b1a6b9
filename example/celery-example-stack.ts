import { Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { RabbitMqBroker } from '../src/broker';

/**
 * The example deployment: its own VPC (no context lookups), grown as constructs land.
 */
export class CeleryExampleStack extends Stack {
  public readonly vpc: ec2.Vpc;
  public readonly broker: RabbitMqBroker;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 1,
      // Flow logs show which instances send bytes to the broker: the first question of an ingress storm.
      flowLogs: {
        rejectedAndAccepted: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(new logs.LogGroup(this, 'FlowLogs', { retention: logs.RetentionDays.ONE_MONTH })),
        },
      },
    });
    // Library defaults: private single-instance RabbitMQ 4.2 on mq.m7g.large, generated admin
    // secret, general logs kept one month, consumer_timeout 24 hours.
    this.broker = new RabbitMqBroker(this, 'Broker', { vpc: this.vpc });
  }
}
