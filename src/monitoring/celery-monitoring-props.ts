import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as sns from 'aws-cdk-lib/aws-sns';
import { CeleryAlarmOverrides } from './alarm-overrides';
import { CeleryAlarmThresholds } from './alarm-thresholds';
import { BrokerMetricsPublisherOptions } from './broker-metrics-publisher';
import { QueueMetricsSource } from './queue-metrics';
import { IRabbitMqBroker } from '../broker/rabbitmq-broker-ref';
import { RabbitMqDeploymentMode } from '../broker/rabbitmq-deployment-mode';
import { ICeleryWorkerFleet } from '../workers/celery-worker-fleet-ref';

/**
 * Everything a user chooses for a `CeleryMonitoring` except the broker, the fleets and the VPC:
 * thresholds, per-alarm overrides, where pages and tickets go, names, the metrics publisher and
 * the dashboard. `CeleryPlatform` takes these and supplies its broker, fleets and VPC itself.
 */
export interface CeleryMonitoringOptions {
  /**
   * Alarm thresholds.
   * @default - the defaults documented in `AlarmThresholdDefaults`
   */
  readonly thresholds?: CeleryAlarmThresholds;

  /**
   * Per-alarm overrides: switch an alarm off, change its threshold or periods, or route it
   * elsewhere.
   * @default - every alarm as documented, pages to paging, the rest to ticketing
   */
  readonly alarms?: CeleryAlarmOverrides;

  /**
   * Topic that the pages notify (`AlarmRoute.PAGE`).
   * @default - a topic is created, unless `pagingActions` is given
   */
  readonly pagingTopic?: sns.ITopic;

  /**
   * Actions of the pages, instead of a topic (for example an incident-management integration).
   * @default - notify `pagingTopic`
   */
  readonly pagingActions?: cloudwatch.IAlarmAction[];

  /**
   * Topic that every other alarm notifies (`AlarmRoute.TICKET`).
   * @default - a topic is created, unless `ticketingActions` is given
   */
  readonly ticketingTopic?: sns.ITopic;

  /**
   * Actions of the ticketing alarms, instead of a topic.
   * @default - notify `ticketingTopic`
   */
  readonly ticketingActions?: cloudwatch.IAlarmAction[];

  /**
   * Also run the actions when an alarm returns to OK (so that a page or ticket resolves itself).
   * @default true
   */
  readonly notifyOnOk?: boolean;

  /**
   * Prefix of every alarm name. Derived from the broker name so that two environments in one
   * account never collide.
   * @default - `<brokerName>-celery`
   */
  readonly alarmNamePrefix?: string;

  /**
   * Add an anomaly-detection band alarm on broker ingress, next to the static threshold. The band
   * needs about two weeks of data to learn daily patterns; until then it is noisy.
   * @default false
   */
  readonly ingressAnomalyDetection?: boolean;

  /**
   * Run the broker metrics publisher (`BrokerMetricsPublisher`): the broker's state, which keeps
   * the pages quiet while the broker is created or rebooted, and (with the broker's VPC) the
   * queue metrics that Amazon MQ does not publish for RabbitMQ 4.
   * @default true
   */
  readonly enableMetricsPublisher?: boolean;

  /**
   * Options of the metrics publisher.
   * @default - the `BrokerMetricsPublisher` defaults
   */
  readonly metricsPublisherOptions?: BrokerMetricsPublisherOptions;

  /**
   * Where the per-queue metrics come from (per-fleet backlog and no-consumer alarms, and
   * `metricReadyMessages`).
   * @default - QueueMetricsSource.AMAZON_MQ for a RabbitMQ 3.x broker (created, or imported with
   * its `engineVersion`);
   * QueueMetricsSource.PUBLISHER when the publisher runs in the broker's VPC (`vpc`) with admin
   * credentials; QueueMetricsSource.NONE otherwise
   */
  readonly queueMetrics?: QueueMetricsSource;

  /**
   * How the broker is deployed: on a three-node cluster the CPU alarm watches the busiest node
   * (Metrics Insights over the `Node` metrics) rather than the broker-level aggregate.
   * @default - a created broker's mode; SINGLE_INSTANCE for an imported broker
   */
  readonly deploymentMode?: RabbitMqDeploymentMode;

  /**
   * Create a CloudWatch dashboard.
   * @default true
   */
  readonly createDashboard?: boolean;

  /**
   * Name of the dashboard.
   * @default - `<alarmNamePrefix>`
   */
  readonly dashboardName?: string;
}

/**
 * Properties of `CeleryMonitoring`: its options, plus the broker, the fleets and the VPC.
 */
export interface CeleryMonitoringProps extends CeleryMonitoringOptions {
  /** The broker to watch, created by this library or imported. */
  readonly broker: IRabbitMqBroker;

  /**
   * Worker fleets that use the broker. They explain connections and ingress, and each gets its
   * own ingress-source, restart and (with queue metrics) backlog and no-consumer alarms. More can
   * be added with `addFleet`.
   * @default - no fleet: broker alarms only, derived thresholds use their floors
   */
  readonly fleets?: ICeleryWorkerFleet[];

  /**
   * The broker's VPC. The metrics publisher reads the fleets' queues from the management API in
   * it (`QueueMetricsSource.PUBLISHER`).
   * @default - none: the publisher publishes the broker state only
   */
  readonly vpc?: ec2.IVpc;

  /**
   * Virtual host of the fleets' queues, for the per-queue metrics.
   * @default '/'
   */
  readonly queueVirtualHost?: string;
}

/** The alarms of one worker fleet; an alarm switched off by its override is undefined. */
export interface CeleryFleetAlarms {
  /** The fleet. */
  readonly fleet: ICeleryWorkerFleet;
  /** The fleet's instances send more bytes than its size explains (`AWS/EC2` `NetworkOut`). */
  readonly networkOutAlarm?: cloudwatch.Alarm;
  /** Worker processes restart too often (`CdkCelery` `WorkerRestarts`). */
  readonly workerRestartsAlarm?: cloudwatch.Alarm;
  /** An instance's Celery is older than the broker needs: it started no worker (`CdkCelery` `IncompatibleCelery`). */
  readonly incompatibleCeleryAlarm?: cloudwatch.Alarm;
  /** Ready messages in the fleet's queues above the backlog threshold (with queue metrics). */
  readonly queueBacklogAlarm?: cloudwatch.Alarm;
  /** A queue of the fleet with messages and no consumer (with queue metrics). */
  readonly queueNoConsumersAlarm?: cloudwatch.Alarm;
}

