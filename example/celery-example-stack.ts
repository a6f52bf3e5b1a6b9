import * as path from 'path';
import { CfnOutput, Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { RabbitMqEngineVersion } from '../src/broker';
import { CeleryCredentials, CeleryPlatform } from '../src/patterns';
import { WorkerCode } from '../src/workers';

/**
 * The example deployment: the `shop` Celery app of `example/worker` on Amazon MQ for RabbitMQ,
 * with two worker fleets on two queues (`orders`, `reports`) and alarms to an SNS topic.
 *
 * What it creates (and what costs money while it runs): a VPC over two Availability Zones with one
 * NAT gateway and flow logs; a single-instance RabbitMQ 4.2 broker on mq.m7g.large; two Auto
 * Scaling groups of m7g.large (Graviton) instances, one instance each at rest, at most 4 for
 * `orders` and 2 for `reports`; a Lambda function (the application user, run on deploys only);
 * CloudWatch alarms, a dashboard and general broker logs kept one month.
 *
 * Options: `cdk deploy -c alarmEmail=you@example.com` subscribes an address to the alarm topic
 * (confirm the subscription e-mail). `cdk destroy` removes everything; the broker and its queued
 * messages go with it.
 */
/** Properties of the example stack. */
export interface CeleryExampleStackProps extends StackProps {
  /**
   * RabbitMQ version of the broker (the tests synthesize the example for each broker they run).
   * @default - the library's default, RabbitMQ 4.2
   */
  readonly engineVersion?: RabbitMqEngineVersion;
}

export class CeleryExampleStack extends Stack {
  public readonly vpc: ec2.Vpc;
  public readonly alarmTopic: sns.Topic;
  public readonly platform: CeleryPlatform;

  constructor(scope: Construct, id: string, props: CeleryExampleStackProps = {}) {
    super(scope, id, props);
    // A VPC of its own, so the example needs no context lookups (no AWS credentials to synth).
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

    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', { displayName: 'Celery example alarms', enforceSSL: true });
    const alarmEmail = this.node.tryGetContext('alarmEmail');
    if (typeof alarmEmail === 'string' && alarmEmail.length > 0) {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(alarmEmail));
    }

    const code = WorkerCode.fromAsset(path.join(__dirname, 'worker'));
    // Everything else keeps the library defaults: a private single-instance RabbitMQ 4.2 broker on
    // mq.m7g.large, an application user limited to the fleets' queues, m7g.large workers with
    // mingle, gossip and heartbeat events off, backlog scaling, and alarms and a dashboard.
    this.platform = new CeleryPlatform(this, 'Celery', {
      vpc: this.vpc,
      brokerOptions: props.engineVersion ? { engineVersion: props.engineVersion } : undefined,
      // shop.py returns results over the broker (result_backend rpc://): its reply queues must be allowed.
      credentials: CeleryCredentials.applicationUser({ enableRpcResultBackend: true }),
      // One topic for the example: pages (ingress storm, broker down) and tickets (every other alarm).
      monitoringOptions: { pagingTopic: this.alarmTopic, ticketingTopic: this.alarmTopic },
      fleets: {
        // Short tasks: a minute is plenty, and bounds how long a drain waits.
        orders: { app: 'shop', code, queues: ['orders'], timeLimit: Duration.minutes(1) },
        // render_report sleeps and may take minutes (time_limit=300 in shop.py): two processes per
        // instance, at most two instances.
        reports: {
          app: 'shop',
          code,
          queues: ['reports'],
          concurrency: 2,
          maxCapacity: 2,
          softTimeLimit: Duration.minutes(4),
          timeLimit: Duration.minutes(5),
        },
      },
    });

    // What the walkthrough needs after `cdk deploy`.
    const broker = this.platform.broker;
    new CfnOutput(this, 'BrokerName', { value: broker.brokerName, description: 'Amazon MQ broker (the Broker dimension of its metrics)' });
    new CfnOutput(this, 'BrokerAmqpsUrl', { value: broker.amqpsUrl, description: 'AMQPS endpoint, reachable from the VPC only' });
    new CfnOutput(this, 'BrokerManagementUrl', { value: broker.managementUrl, description: 'RabbitMQ management console, reachable from the VPC only' });
    new CfnOutput(this, 'AdminSecretArn', { value: this.platform.createdBroker!.credentials!.secretArn, description: 'Broker administrator credentials' });
    new CfnOutput(this, 'AppUserSecretArn', {
      value: this.platform.credentials.secretArn,
      description: 'Credentials the workers connect with (username, password, vhost); give producers read access to it',
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn, description: 'SNS topic every alarm notifies' });
    new CfnOutput(this, 'IncidentAlarmName', { value: this.platform.monitoring.incidentAlarm!.alarmName, description: 'The composite alarm of the mingle incident\'s signature' });
    new CfnOutput(this, 'BrokerDownAlarmName', { value: this.platform.monitoring.brokerDownAlarm!.alarmName, description: 'The composite alarm of a broker that stopped reporting' });
    new CfnOutput(this, 'DashboardUrl', {
      value: `https://console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards:name=${this.platform.monitoring.dashboard!.dashboardName}`,
      description: 'CloudWatch dashboard of the broker and both fleets',
    });
    for (const name of this.platform.fleetNames) {
      new CfnOutput(this, `${name[0].toUpperCase()}${name.slice(1)}AutoScalingGroup`, {
        value: this.platform.fleet(name).autoScalingGroupName,
        description: `Auto Scaling group of the ${name} fleet (instances are reachable with Session Manager)`,
      });
    }
  }
}
