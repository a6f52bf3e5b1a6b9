import { Annotations, Duration, Lazy, Names, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cw_actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct, IConstruct } from 'constructs';
import { CeleryAlarmOverride, CeleryAlarmOverrides, CeleryFleetAlarmOverrides, validateAlarmOverride } from './alarm-overrides';
import { AlarmRoute } from './alarm-route';
import {
  AlarmThresholdDefaults,
  brokerIngressThreshold,
  CeleryAlarmThresholds,
  channelChurnThreshold,
  channelStormThreshold,
  connectionChurnThreshold,
  connectionStormThreshold,
  fleetNetworkOutThreshold,
  resolveAlarmThresholds,
  ResolvedAlarmThresholds,
} from './alarm-thresholds';
import { BrokerMetricsPublisher, BrokerMetricsPublisherOptions } from './broker-metrics-publisher';
import { addBrokerWidgets, addFleetWidgets } from './monitoring-dashboard';
import { MAX_ALARM_METRICS, QueueMetricReader, QueueMetricsSource, queuesReadyMetric, queuesWithoutConsumersMetric } from './queue-metrics';
import { RabbitMqBroker } from '../broker/rabbitmq-broker';
import { AMAZON_MQ_METRICS_NAMESPACE, BROKER_DIMENSION } from '../broker/rabbitmq-broker-base';
import { IRabbitMqBroker } from '../broker/rabbitmq-broker-ref';
import { RabbitMqDeploymentMode } from '../broker/rabbitmq-deployment-mode';
import { validateIn, ValidationError } from '../private/validation-error';
import { ICeleryWorkerFleet } from '../workers/celery-worker-fleet-ref';

/** Longest alarm name CloudWatch accepts. */
const MAX_ALARM_NAME_LENGTH = 255;
/** Dashboard names CloudWatch accepts. */
const DASHBOARD_NAME_FORMAT = /^[A-Za-z0-9_-]{1,255}$/;

/** Period of every broker alarm: Amazon MQ publishes broker metrics once a minute. */
const MINUTE = Duration.minutes(1);
/** The fleets run with EC2 detailed monitoring: `NetworkOut` by Auto Scaling group per minute. */
const FLEET_NETWORK_PERIOD_MINUTES = 1;
/** How long the broker-down page waits for its suppressor after entering ALARM (the publisher runs once a minute). */
const SUPPRESSOR_WAIT = Duration.minutes(AlarmThresholdDefaults.RESTART_SUPPRESSION_WAIT_MINUTES);
/** How long the broker-down page stays quiet after the broker is back (its metrics resume within a few minutes). */
const SUPPRESSOR_EXTENSION = Duration.minutes(AlarmThresholdDefaults.RESTART_SUPPRESSION_EXTENSION_MINUTES);
/** Dimension of `NetworkIn` that older AWS pages name for RabbitMQ (its value is the broker id). */
const BROKER_ID_DIMENSION = 'BrokerId';

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

/** What `alarm()` needs to create one metric alarm. */
interface AlarmSpec {
  readonly id: string;
  readonly nameSuffix: string;
  readonly metric: cloudwatch.IMetric;
  /** Default threshold (may be lazy); an override's wins. */
  readonly threshold: number;
  readonly comparisonOperator: cloudwatch.ComparisonOperator;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly treatMissingData: cloudwatch.TreatMissingData;
  readonly route: AlarmRoute;
  /** Period of the metric, to check the evaluation range (at most a day). */
  readonly periodMinutes: number;
  /** The description, given the threshold in force (a number, or a string for a lazy one). */
  readonly description: (threshold: string) => string;
}

/**
 * CloudWatch alarms and a dashboard for Celery on Amazon MQ for RabbitMQ, with two pages:
 *
 * - `incidentAlarm` (`ingress-storm-page`): broker ingress (or a fleet's `NetworkOut`) storms while
 *   a fleet's workers restart or connections storm: the mingle incident's signature.
 * - `brokerDownAlarm` (`broker-down-page`): the broker publishes no metric at all.
 *
 * Every other alarm raises a ticket. Missing data never breaches a component alarm: a broker that
 * is being created or rebooted, or a metric AWS does not publish (the ingress dimension), must not
 * page. The one alarm on missing data is `broker-not-reporting`, and its page is held back by an
 * actions suppressor while Amazon MQ reports the broker being created or rebooted (the metrics
 * publisher's `BrokerRestarting`), and for a few minutes after. Every alarm is ordered after a
 * broker created in the same stack, and the broker-down page after the metrics publisher. See the
 * README for each alarm, when it is silent and why.
 */
export class CeleryMonitoring extends Construct {
  /** The broker. */
  public readonly broker: IRabbitMqBroker;
  /** The topic the pages notify, if they notify a topic. */
  public readonly pagingTopic?: sns.ITopic;
  /** The topic the ticketing alarms notify, if they notify a topic. */
  public readonly ticketingTopic?: sns.ITopic;
  /** The dashboard, unless `createDashboard` is false. */
  public readonly dashboard?: cloudwatch.Dashboard;
  /** The broker metrics publisher, unless `enableMetricsPublisher` is false. */
  public readonly metricsPublisher?: BrokerMetricsPublisher;
  /** Where the per-queue metrics come from. */
  public readonly queueMetrics: QueueMetricsSource;
  /** Virtual host of the fleets' queues. */
  public readonly queueVirtualHost: string;
  /** Prefix of every alarm name and the default dashboard name (`alarmNamePrefix`, default `<brokerName>-celery`). */
  public readonly alarmNamePrefix: string;
  /** Broker `NetworkIn` per minute above what the fleets explain (dimension `Broker` or `BrokerId`). */
  public readonly brokerIngressAlarm?: cloudwatch.Alarm;
  /** Broker `NetworkIn` above its learned band; only with `ingressAnomalyDetection`. */
  public readonly brokerIngressAnomalyAlarm?: cloudwatch.Alarm;
  /** The broker publishes no metric at all (`broker-not-reporting`). */
  public readonly brokerNotReportingAlarm?: cloudwatch.Alarm;
  /** Amazon MQ reports the broker being created, rebooted or deleted (the metrics publisher's signal). */
  public readonly brokerRestartingAlarm?: cloudwatch.Alarm;
  /** The broker has been reported restarting longer than `brokerRestartingMaxMinutes`. */
  public readonly brokerRestartingTooLongAlarm?: cloudwatch.Alarm;
  /** The actions suppressor of the pages: restarting, and not for too long. */
  public readonly restartSuppressor?: cloudwatch.CompositeAlarm;
  /** RabbitMQ memory used, percent of its limit. */
  public readonly memoryAlarm?: cloudwatch.Alarm;
  /** Broker system CPU (the busiest node of a cluster). */
  public readonly cpuAlarm?: cloudwatch.Alarm;
  /** Free disk near RabbitMQ's disk free limit. */
  public readonly diskFreeAlarm?: cloudwatch.Alarm;
  /** More connections than the fleets' maximum sizes explain. */
  public readonly connectionStormAlarm?: cloudwatch.Alarm;
  /** More channels than the fleets' maximum sizes explain. */
  public readonly channelStormAlarm?: cloudwatch.Alarm;
  /** Connections opened (net) faster than the fleets explain. */
  public readonly connectionChurnAlarm?: cloudwatch.Alarm;
  /** Channels opened (net) faster than the fleets explain. */
  public readonly channelChurnAlarm?: cloudwatch.Alarm;
  /** No consumer on the broker while messages are ready. */
  public readonly noConsumersAlarm?: cloudwatch.Alarm;
  /** Ready messages (all queues) above the backlog threshold for a sustained time. */
  public readonly backlogAlarm?: cloudwatch.Alarm;
  /** The metrics publisher fails. */
  public readonly metricsPublisherErrorsAlarm?: cloudwatch.Alarm;
  /**
   * PAGE: ingress storm (broker `NetworkIn` or a fleet's `NetworkOut`) AND (a fleet's restarts OR
   * a connection storm).
   */
  public readonly incidentAlarm?: cloudwatch.CompositeAlarm;
  /** PAGE: the broker stopped reporting (and is not being created or rebooted). */
  public readonly brokerDownAlarm?: cloudwatch.CompositeAlarm;

  private readonly thresholds: ResolvedAlarmThresholds;
  private readonly overrides: CeleryAlarmOverrides;
  private readonly pagingActions: cloudwatch.IAlarmAction[];
  private readonly ticketingActions: cloudwatch.IAlarmAction[];
  private readonly notifyOnOk: boolean;
  private readonly fleetAlarmList: CeleryFleetAlarms[] = [];
  private readonly fleetNameParts = new Set<string>();
  private readonly createdBroker?: RabbitMqBroker;
  private readonly queueReader?: QueueMetricReader;

  /**
   * @param scope Scope in which the alarms and the dashboard are defined
   * @param id Construct id (the alarm and dashboard names come from `alarmNamePrefix`, not from it)
   * @param props The broker, the fleets, the VPC, and the thresholds, overrides, routes and names of the alarms
   */
  constructor(scope: Construct, id: string, props: CeleryMonitoringProps) {
    super(scope, id);
    this.thresholds = validateIn(this, () => resolveAlarmThresholds(props.thresholds));
    this.overrides = props.alarms ?? {};
    validateIn(this, () => validateOverrides(this.overrides));
    this.broker = props.broker;
    this.createdBroker = props.broker instanceof RabbitMqBroker ? props.broker : undefined;
    this.alarmNamePrefix = props.alarmNamePrefix ?? `${props.broker.brokerName}-celery`;
    this.notifyOnOk = props.notifyOnOk ?? true;
    this.queueVirtualHost = props.queueVirtualHost ?? '/';

    // Where pages and tickets go.
    const paging = this.destination('paging', props.pagingTopic, props.pagingActions, 'PagingTopic', 'Celery broker pages');
    this.pagingTopic = paging.topic;
    this.pagingActions = paging.actions;
    const ticketing = this.destination('ticketing', props.ticketingTopic, props.ticketingActions, 'TicketingTopic', 'Celery broker tickets');
    this.ticketingTopic = ticketing.topic;
    this.ticketingActions = ticketing.actions;

    // The metrics publisher and the queue metrics.
    // Known for a created broker, and for an imported one given its engineVersion.
    const engine = props.broker.engineVersion;
    const major = engine?.majorVersion;
    const publisherEnabled = props.enableMetricsPublisher ?? true;
    const adminCredentials = props.metricsPublisherOptions?.adminCredentials ?? props.broker.credentials;
    const canPublishQueues = publisherEnabled && props.vpc !== undefined && adminCredentials !== undefined;
    this.queueMetrics = props.queueMetrics
      ?? (major === 3 ? QueueMetricsSource.AMAZON_MQ : canPublishQueues ? QueueMetricsSource.PUBLISHER : QueueMetricsSource.NONE);
    if (this.queueMetrics === QueueMetricsSource.PUBLISHER && !canPublishQueues) {
      throw new ValidationError(this, 'queueMetrics: QueueMetricsSource.PUBLISHER is not allowed '
        + (!publisherEnabled ? 'with enableMetricsPublisher: false' : !props.vpc ? 'without vpc (the publisher reads queues from inside the broker\'s VPC)'
          : 'without admin credentials (the broker has none; pass metricsPublisherOptions.adminCredentials)')
        + '; use QueueMetricsSource.AMAZON_MQ (RabbitMQ 3.x) or QueueMetricsSource.NONE.');
    }
    if (this.queueMetrics === QueueMetricsSource.AMAZON_MQ && major !== undefined && major >= 4) {
      throw new ValidationError(this, `queueMetrics: QueueMetricsSource.AMAZON_MQ is not allowed with engine version ${engine!.version}; `
        + 'Amazon MQ publishes no queue metrics for RabbitMQ 4 brokers. Use QueueMetricsSource.PUBLISHER (the default with vpc) or NONE.');
    }
    if (publisherEnabled) {
      this.metricsPublisher = new BrokerMetricsPublisher(this, 'MetricsPublisher', {
        ...props.metricsPublisherOptions,
        broker: props.broker,
        vpc: this.queueMetrics === QueueMetricsSource.PUBLISHER ? props.vpc : undefined,
        virtualHost: this.queueVirtualHost,
      });
    }
    this.queueReader = this.createQueueReader();

    const t = this.thresholds;
    const o = this.overrides;
    const broker = props.broker;
    const ticket = AlarmRoute.TICKET;
    const missingIsOk = cloudwatch.TreatMissingData.NOT_BREACHING;
    const quietWhenSilent = 'Silent while the broker publishes nothing (creation, reboots, a dead broker: broker-not-reporting covers those).';

    // Ingress: the same metric under both dimension names AWS has documented; whichever exists wins.
    this.brokerIngressAlarm = this.alarm(o.brokerIngress, {
      id: 'BrokerIngressAlarm',
      nameSuffix: 'broker-ingress',
      metric: this.metricIngress(),
      threshold: t.brokerIngressBytesPerMinute ?? Lazy.number({ produce: () => brokerIngressThreshold(t, this.maxWorkers()) }),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: missingIsOk,
      route: ticket,
      periodMinutes: 1,
      description: (threshold) => `Broker ${broker.brokerName} received more than ${threshold} bytes in one minute `
        + (o.brokerIngress?.threshold !== undefined || t.brokerIngressBytesPerMinute !== undefined ? '(set explicitly). '
          : `(${this.maxWorkers()} workers x ${t.ingressBytesPerWorkerPerMinute} bytes, at least ${t.brokerIngressFloorBytesPerMinute}). `)
        + 'Watches NetworkIn by Broker (name) and by BrokerId, whichever AWS publishes. Signature of a mingle storm: joining workers pull '
        + 'every other worker\'s revoked set. Runbook: check the fleets\' network-out and restart alarms; make sure workers run with '
        + `--without-mingle --without-gossip --without-heartbeat; stop synchronised restarts. ${quietWhenSilent}`,
    });

    if (props.ingressAnomalyDetection && o.brokerIngressAnomaly?.enabled !== false) {
      const anomaly = new cloudwatch.AnomalyDetectionAlarm(this, 'BrokerIngressAnomalyAlarm', {
        alarmName: this.alarmName('broker-ingress-anomaly'),
        alarmDescription: `Broker ${broker.brokerName} ingress is above its learned band (${t.ingressAnomalyStdDevs} standard deviations). `
          + 'Runbook: compare with the broker ingress alarm and the fleets\' restarts. Missing data is not breaching: broker-not-reporting covers a dead broker.',
        metric: broker.metricNetworkIn({ period: MINUTE, statistic: cloudwatch.Stats.SUM }),
        stdDevs: t.ingressAnomalyStdDevs,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_UPPER_THRESHOLD,
        evaluationPeriods: o.brokerIngressAnomaly?.evaluationPeriods ?? 3,
        datapointsToAlarm: o.brokerIngressAnomaly?.datapointsToAlarm ?? o.brokerIngressAnomaly?.evaluationPeriods ?? 2,
        treatMissingData: missingIsOk,
      });
      this.route(anomaly, o.brokerIngressAnomaly?.route ?? ticket);
      this.orderAfterBroker(anomaly);
      this.brokerIngressAnomalyAlarm = anomaly;
    }

    // Broker not reporting: the only alarm on missing data. Two documented RabbitMQ broker metrics,
    // so that one metric's hiccup is not a dead broker.
    this.brokerNotReportingAlarm = this.alarm(o.brokerNotReporting, {
      id: 'BrokerNotReportingAlarm',
      nameSuffix: 'broker-not-reporting',
      metric: new cloudwatch.MathExpression({
        expression: 'MAX([cpuSamples, exchangeSamples])',
        usingMetrics: {
          cpuSamples: broker.metricCpuUtilization({ period: MINUTE, statistic: cloudwatch.Stats.SAMPLE_COUNT }),
          exchangeSamples: broker.metric('ExchangeCount', { period: MINUTE, statistic: cloudwatch.Stats.SAMPLE_COUNT }),
        },
        label: 'Broker datapoints per minute (SystemCpuUtilization, ExchangeCount)',
        period: MINUTE,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: t.brokerNotReportingMinutes,
      datapointsToAlarm: t.brokerNotReportingMinutes,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      route: AlarmRoute.NONE,
      periodMinutes: 1,
      description: () => `Broker ${broker.brokerName} published neither SystemCpuUtilization nor ExchangeCount for ${t.brokerNotReportingMinutes} minutes: `
        + 'it is down, unreachable for Amazon MQ, or being created or rebooted. Its page (broker-down-page) is held back while Amazon MQ '
        + 'reports the broker being created or rebooted. Runbook: check the broker state in the Amazon MQ console, its general log, '
        + 'and CRITICAL_ACTION_REQUIRED codes; reboot it if it is RUNNING but silent.',
    });

    // The restart signal and the suppressor made of it.
    if (this.metricsPublisher && o.brokerRestarting?.enabled !== false) {
      const publisher = this.metricsPublisher;
      this.brokerRestartingAlarm = this.alarm(o.brokerRestarting, {
        id: 'BrokerRestartingAlarm',
        nameSuffix: 'broker-restarting',
        metric: publisher.metricBrokerRestarting(),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        treatMissingData: missingIsOk,
        route: AlarmRoute.NONE,
        periodMinutes: 1,
        description: () => `Amazon MQ reports broker ${broker.brokerName} being created, rebooted (maintenance window, RebootBroker, the `
          + 'configuration applier) or deleted, or it is younger than the creation grace: broker-down-page is held back meanwhile and for '
          + `${SUPPRESSOR_EXTENSION.toMinutes()} minutes after. Missing data (the publisher not running) is not breaching: the page then notifies as usual. `
          + 'Runbook: none; informational.',
      });
      this.brokerRestartingTooLongAlarm = this.alarm(undefined, {
        id: 'BrokerRestartingTooLongAlarm',
        nameSuffix: 'broker-restarting-too-long',
        metric: publisher.metricBrokerRestarting({ statistic: cloudwatch.Stats.MINIMUM }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: t.brokerRestartingMaxMinutes,
        datapointsToAlarm: t.brokerRestartingMaxMinutes,
        treatMissingData: missingIsOk,
        route: o.brokerRestarting?.route ?? AlarmRoute.NONE,
        periodMinutes: 1,
        description: () => `Amazon MQ has reported broker ${broker.brokerName} restarting for ${t.brokerRestartingMaxMinutes} minutes: `
          + 'broker-down-page is no longer held back. Runbook: check the broker in the Amazon MQ console; a reboot or maintenance that long is stuck.',
      });
      if (this.brokerRestartingAlarm && this.brokerRestartingTooLongAlarm) {
        this.restartSuppressor = new cloudwatch.CompositeAlarm(this, 'RestartSuppressor', {
          compositeAlarmName: this.alarmName('broker-restarting-suppressor'),
          alarmDescription: `Holds back broker-down-page of broker ${broker.brokerName} while Amazon MQ reports it being created or rebooted, `
            + `for at most ${t.brokerRestartingMaxMinutes} minutes. No actions. Runbook: none; informational.`,
          alarmRule: cloudwatch.AlarmRule.allOf(
            cloudwatch.AlarmRule.fromAlarm(this.brokerRestartingAlarm, cloudwatch.AlarmState.ALARM),
            cloudwatch.AlarmRule.not(cloudwatch.AlarmRule.fromAlarm(this.brokerRestartingTooLongAlarm, cloudwatch.AlarmState.ALARM)),
          ),
        });
        this.orderAfterBroker(this.restartSuppressor);
      }
    }

    this.memoryAlarm = this.alarm(o.memory, {
      id: 'MemoryAlarm',
      nameSuffix: 'broker-memory',
      metric: broker.metricMemoryUsedPercent({ label: 'RabbitMQ memory used (% of limit)', period: MINUTE }),
      threshold: t.memoryUsedPercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: missingIsOk,
      route: ticket,
      periodMinutes: 1,
      description: (threshold) => `RabbitMQ on ${broker.brokerName} uses ${threshold} % or more of its memory limit (2 of 3 minutes). `
        + 'At 100 % it blocks every publisher. On a cluster, used / limit of the broker-level aggregates is the nodes\' average ratio, whether AWS sums or averages them. '
        + `Runbook: look for a mingle storm (ingress alarm), a backlog or unacked messages; scale the broker if the load is legitimate. ${quietWhenSilent}`,
    });

    const cluster = (props.deploymentMode ?? this.createdBroker?.deploymentMode) === RabbitMqDeploymentMode.CLUSTER_MULTI_AZ;
    this.cpuAlarm = this.alarm(o.cpu, {
      id: 'CpuAlarm',
      nameSuffix: 'broker-cpu',
      metric: cluster
        ? new cloudwatch.MathExpression({
          // The busiest node: a broker-level aggregate of three nodes (sum or average: AWS does not
          // say) cannot be compared with a per-node percentage.
          expression: `SELECT MAX(SystemCpuUtilization) FROM SCHEMA("${AMAZON_MQ_METRICS_NAMESPACE}", ${BROKER_DIMENSION}, Node) WHERE ${BROKER_DIMENSION} = '${broker.brokerName}'`,
          label: 'System CPU of the busiest node (%)',
          period: MINUTE,
        })
        : broker.metricCpuUtilization({ period: MINUTE, statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: t.cpuUtilizationPercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 5,
      datapointsToAlarm: 5,
      treatMissingData: missingIsOk,
      route: ticket,
      periodMinutes: 1,
      description: (threshold) => `${cluster ? 'The busiest node of broker' : 'Broker'} ${broker.brokerName}: CPU at ${threshold} % or more for 5 minutes`
        + `${cluster ? ' (per-node SystemCpuUtilization, Metrics Insights)' : ''}. Runbook: check connection/channel churn and ingress; `
        + `a saturated broker misses heartbeats and drops clients. ${quietWhenSilent}`,
    });

    this.diskFreeAlarm = this.alarm(o.diskFree, {
      id: 'DiskFreeAlarm',
      nameSuffix: 'broker-disk-free',
      metric: new cloudwatch.MathExpression({
        expression: 'diskFree / diskLimit',
        usingMetrics: {
          diskFree: broker.metricDiskFree({ period: MINUTE, statistic: cloudwatch.Stats.MINIMUM }),
          diskLimit: broker.metricDiskFreeLimit({ period: MINUTE, statistic: cloudwatch.Stats.MAXIMUM }),
        },
        label: 'Free disk / disk free limit',
        period: MINUTE,
      }),
      threshold: t.diskFreeToLimitRatio,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: missingIsOk,
      route: ticket,
      periodMinutes: 1,
      description: (threshold) => `Free disk on ${broker.brokerName} is below ${threshold} x RabbitMQ's disk free limit (2 of 3 minutes). `
        + 'At 1 x RabbitMQ blocks every publisher. A ratio: the same threshold for a cluster\'s aggregates. '
        + `Runbook: drain or purge backlogged queues, look for paged-out messages. ${quietWhenSilent}`,
    });

    this.connectionStormAlarm = this.alarm(o.connectionStorm, {
      id: 'ConnectionStormAlarm',
      nameSuffix: 'connection-storm',
      metric: broker.metricConnectionCount({ period: MINUTE, statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: t.maxConnections ?? Lazy.number({ produce: () => connectionStormThreshold(t, this.maxWorkers()) }),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: missingIsOk,
      route: ticket,
      periodMinutes: 1,
      description: (threshold) => `Broker ${broker.brokerName} holds more than ${threshold} connections (2 of 3 minutes`
        + (o.connectionStorm?.threshold !== undefined || t.maxConnections !== undefined ? ', set explicitly). '
          : `; ${this.maxWorkers()} workers x ${t.connectionsPerWorker} + ${t.nonWorkerConnections} other clients; a cluster's ConnectionCount is the total). `)
        + `Runbook: a crash loop reconnecting, or clients leaking connections; check the worker restart alarms. ${quietWhenSilent}`,
    });

    this.channelStormAlarm = this.alarm(o.channelStorm, {
      id: 'ChannelStormAlarm',
      nameSuffix: 'channel-storm',
      metric: broker.metricChannelCount({ period: MINUTE, statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: t.maxChannels ?? Lazy.number({ produce: () => channelStormThreshold(t, this.maxWorkers()) }),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: missingIsOk,
      route: ticket,
      periodMinutes: 1,
      description: (threshold) => `Broker ${broker.brokerName} holds more than ${threshold} channels (2 of 3 minutes`
        + (o.channelStorm?.threshold !== undefined || t.maxChannels !== undefined ? ', set explicitly). '
          : `; ${this.maxWorkers()} workers x ${t.channelsPerWorker} + ${t.nonWorkerChannels} other channels). `)
        + `Runbook: look for a client opening a channel per publish, or a reconnect loop. ${quietWhenSilent}`,
    });

    // Connection and channel churn: the same alarm over each count, RATE of it against the budget.
    const churnAlarm = (what: 'connections' | 'channels', spec: {
      override: CeleryAlarmOverride | undefined;
      id: string;
      nameSuffix: string;
      countName: string;
      count: cloudwatch.IMetric;
      threshold: () => number;
      explicit: boolean;
    }) => this.alarm(spec.override, {
      id: spec.id,
      nameSuffix: spec.nameSuffix,
      metric: new cloudwatch.MathExpression({
        expression: `RATE(${what})`,
        usingMetrics: { [what]: spec.count },
        label: `${what[0].toUpperCase()}${what.slice(1)} opened per second (net)`,
        period: MINUTE,
      }),
      threshold: Lazy.number({ produce: spec.threshold }),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: missingIsOk,
      route: ticket,
      periodMinutes: 1,
      description: (threshold) =>
        `Broker ${broker.brokerName} gains more than ${threshold} ${what} per second (RATE of ${spec.countName}, 2 of 3 minutes`
        + (spec.explicit ? ', set explicitly). ' : `: the ${what} the fleets can hold, opened within ${AlarmThresholdDefaults.CHURN_BUDGET_SECONDS} s). `)
        + `CloudWatch has no open/close counters: this sees ${what} opened faster than they close (a leak, repeated reconnect waves), `
        + `not opens balanced by closes. Runbook: find the client (management UI, ${what} by client); check worker restarts. ${quietWhenSilent}`,
    });
    this.connectionChurnAlarm = churnAlarm('connections', {
      override: o.connectionChurn,
      id: 'ConnectionChurnAlarm',
      nameSuffix: 'connection-churn',
      countName: 'ConnectionCount',
      count: broker.metricConnectionCount({ period: MINUTE, statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: () => connectionChurnThreshold(t, this.maxWorkers()),
      explicit: o.connectionChurn?.threshold !== undefined || t.maxConnectionsOpenedPerSecond !== undefined,
    });
    this.channelChurnAlarm = churnAlarm('channels', {
      override: o.channelChurn,
      id: 'ChannelChurnAlarm',
      nameSuffix: 'channel-churn',
      countName: 'ChannelCount',
      count: broker.metricChannelCount({ period: MINUTE, statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: () => channelChurnThreshold(t, this.maxWorkers()),
      explicit: o.channelChurn?.threshold !== undefined || t.maxChannelsOpenedPerSecond !== undefined,
    });

    this.noConsumersAlarm = this.alarm(o.noConsumers, {
      id: 'NoConsumersAlarm',
      nameSuffix: 'no-consumers',
      metric: new cloudwatch.MathExpression({
        expression: 'IF(consumers == 0 AND ready > 0, 1, 0)',
        usingMetrics: {
          consumers: broker.metricConsumerCount({ period: MINUTE, statistic: cloudwatch.Stats.MINIMUM }),
          ready: broker.metricMessageReadyCount({ period: MINUTE, statistic: cloudwatch.Stats.MAXIMUM }),
        },
        label: 'No consumer while messages are ready',
        period: MINUTE,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: t.noConsumersMinutes,
      datapointsToAlarm: t.noConsumersMinutes,
      treatMissingData: missingIsOk,
      route: ticket,
      periodMinutes: 1,
      description: () => `No consumer on ${broker.brokerName} while messages wait, for ${t.noConsumersMinutes} minutes (all queues; each fleet's `
        + '<fleet>-no-consumers says which queue). Runbook: are the workers running (fleet in-service count, restart alarms)? Can they reach the '
        + `broker (security group, credentials)? ${quietWhenSilent}`,
    });

    this.backlogAlarm = this.alarm(o.backlog, {
      id: 'BacklogAlarm',
      nameSuffix: 'backlog',
      metric: broker.metricMessageReadyCount({ period: MINUTE, statistic: cloudwatch.Stats.MINIMUM }),
      threshold: t.readyMessages,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: t.backlogMinutes,
      datapointsToAlarm: t.backlogMinutes,
      treatMissingData: missingIsOk,
      route: ticket,
      periodMinutes: 1,
      description: (threshold) => `More than ${threshold} messages ready on ${broker.brokerName} for ${t.backlogMinutes} minutes (all queues; `
        + `each fleet's <fleet>-backlog says which). Runbook: scale the fleet out, look for slow or stuck tasks. ${quietWhenSilent}`,
    });

    if (this.metricsPublisher) {
      const publisher = this.metricsPublisher;
      this.metricsPublisherErrorsAlarm = this.alarm(o.metricsPublisherErrors, {
        id: 'MetricsPublisherErrorsAlarm',
        nameSuffix: 'metrics-publisher-errors',
        metric: publisher.metricErrors(),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: t.metricsPublisherErrorMinutes,
        datapointsToAlarm: t.metricsPublisherErrorMinutes,
        treatMissingData: missingIsOk,
        route: ticket,
        periodMinutes: 1,
        description: () => `The metrics publisher of ${broker.brokerName} failed every run for ${t.metricsPublisherErrorMinutes} minutes: `
          + 'the per-queue alarms and backlog scaling are blind, and broker-down-page is not held back during reboots. Runbook: read the '
          + 'function\'s log; check its route to the broker (security group, port 443) and to the Amazon MQ, CloudWatch and Secrets Manager APIs.',
      });
    }

    // The pages.
    const pageSuppression = this.restartSuppressor ? {
      actionsSuppressor: this.restartSuppressor,
      actionsSuppressorWaitPeriod: SUPPRESSOR_WAIT,
      actionsSuppressorExtensionPeriod: SUPPRESSOR_EXTENSION,
    } : {};
    validateIn(this, () => validatePageOverride('alarms.incidentPage', o.incidentPage));
    if (o.incidentPage?.enabled !== false) {
      this.incidentAlarm = new cloudwatch.CompositeAlarm(this, 'IncidentAlarm', {
        compositeAlarmName: this.alarmName('ingress-storm-page'),
        alarmDescription: `PAGE. Broker ${broker.brokerName}: an ingress storm (broker NetworkIn, or a fleet's NetworkOut) while workers restart `
          + 'or connections storm, the signature of the mingle incident (synchronised worker restarts pulling every revoked set through the broker). '
          + 'Runbook: stop the restarts (suspend the fleet\'s scheduled actions and instance refresh), make sure workers run with --without-mingle '
          + '--without-gossip --without-heartbeat, then watch broker memory. None of its alarms breaches on missing data.',
        alarmRule: {
          // Rendered at synth so that fleets added later join the rule.
          renderAlarmRule: () => Lazy.string({ produce: () => this.incidentRule().renderAlarmRule() }),
        },
        // No actions suppressor: its alarms cannot breach on missing data, so creation and reboots
        // cannot page, and a storm right after a reboot (every worker joining) must page at once.
      });
      this.route(this.incidentAlarm, o.incidentPage?.route ?? AlarmRoute.PAGE);
      this.orderAfterBroker(this.incidentAlarm);
    }
    validateIn(this, () => validatePageOverride('alarms.brokerDownPage', o.brokerDownPage));
    if (o.brokerDownPage?.enabled !== false && this.brokerNotReportingAlarm) {
      this.brokerDownAlarm = new cloudwatch.CompositeAlarm(this, 'BrokerDownAlarm', {
        compositeAlarmName: this.alarmName('broker-down-page'),
        alarmDescription: `PAGE. Broker ${broker.brokerName} has published no metric for ${t.brokerNotReportingMinutes} minutes while Amazon MQ `
          + 'does not report it being created or rebooted: it is down or unreachable. Runbook: Amazon MQ console (state, CRITICAL_ACTION_REQUIRED '
          + 'codes), its general log; reboot a RUNNING but silent broker. Workers reconnect by themselves.',
        alarmRule: cloudwatch.AlarmRule.fromAlarm(this.brokerNotReportingAlarm, cloudwatch.AlarmState.ALARM),
        ...pageSuppression,
      });
      this.route(this.brokerDownAlarm, o.brokerDownPage?.route ?? AlarmRoute.PAGE);
      this.orderAfterBroker(this.brokerDownAlarm);
      // On a first deployment the publisher runs (and can report the young broker) before the page exists.
      if (this.restartSuppressor && this.metricsPublisher) this.brokerDownAlarm.node.addDependency(this.metricsPublisher);
    }

    if (props.createDashboard ?? true) {
      this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
        dashboardName: this.dashboardName(props.dashboardName),
        defaultInterval: Duration.hours(6),
      });
      addBrokerWidgets(this.dashboard, broker, {
        pages: [this.incidentAlarm, this.brokerDownAlarm].filter(isDefined),
        brokerAlarms: this.brokerAlarms,
        ingress: this.metricIngress(),
        ingressAlarm: this.brokerIngressAlarm,
        notReportingAlarm: this.brokerNotReportingAlarm,
        restarting: this.metricsPublisher?.metricBrokerRestarting(),
        memoryAlarm: this.memoryAlarm,
        cpuAlarm: this.cpuAlarm,
        diskFreeAlarm: this.diskFreeAlarm,
        connectionStormAlarm: this.connectionStormAlarm,
        channelStormAlarm: this.channelStormAlarm,
        connectionChurnAlarm: this.connectionChurnAlarm,
        channelChurnAlarm: this.channelChurnAlarm,
        noConsumersAlarm: this.noConsumersAlarm,
        backlogAlarm: this.backlogAlarm,
        publisherErrorsAlarm: this.metricsPublisherErrorsAlarm,
      });
    }

    for (const fleet of props.fleets ?? []) {
      this.addFleet(fleet);
    }
    // Checked at synth, so that fleets added with addFleet count.
    this.node.addValidation({
      validate: () => {
        if (this.fleetAlarmList.length === 0 && t.brokerIngressBytesPerMinute === undefined && o.brokerIngress?.threshold === undefined) {
          Annotations.of(this).addWarningV2('cdk-celery:monitoringWithoutFleet',
            'No worker fleet given: the broker ingress and storm thresholds fall back to their floors. '
            + 'Pass the fleets (or addFleet) or set thresholds.brokerIngressBytesPerMinute and thresholds.maxConnections.');
        }
        return [];
      },
    });
  }

  /** The alarms of each fleet, in the order the fleets were added. */
  public get fleetAlarms(): CeleryFleetAlarms[] {
    return [...this.fleetAlarmList];
  }

  /** Every alarm this construct created: the broker's, the fleets', the suppressor, then the pages. */
  public get alarms(): cloudwatch.IAlarm[] {
    return [
      ...this.brokerAlarms,
      ...this.fleetAlarmList.flatMap(f => [
        f.networkOutAlarm, f.workerRestartsAlarm, f.incompatibleCeleryAlarm, f.queueBacklogAlarm, f.queueNoConsumersAlarm,
      ].filter(isDefined)),
      ...[this.restartSuppressor, this.incidentAlarm, this.brokerDownAlarm].filter(isDefined),
    ];
  }

  /** The broker's metric alarms (no fleet alarm, no composite). */
  public get brokerAlarms(): cloudwatch.Alarm[] {
    return [
      this.brokerIngressAlarm,
      this.brokerIngressAnomalyAlarm,
      this.brokerNotReportingAlarm,
      this.brokerRestartingAlarm,
      this.brokerRestartingTooLongAlarm,
      this.memoryAlarm,
      this.cpuAlarm,
      this.diskFreeAlarm,
      this.connectionStormAlarm,
      this.channelStormAlarm,
      this.connectionChurnAlarm,
      this.channelChurnAlarm,
      this.noConsumersAlarm,
      this.backlogAlarm,
      this.metricsPublisherErrorsAlarm,
    ].filter(isDefined);
  }

  /**
   * Broker ingress per minute: `NetworkIn` (Sum) under the `Broker` (name) and the `BrokerId`
   * dimensions, whichever AWS publishes (metric math, the larger of the two).
   *
   * @param props Options that override the expression's label and period
   */
  public metricIngress(props?: cloudwatch.MathExpressionOptions): cloudwatch.IMetric {
    return new cloudwatch.MathExpression({
      expression: 'MAX([FILL(inByName, 0), FILL(inById, 0)])',
      usingMetrics: {
        inByName: this.broker.metricNetworkIn({ period: MINUTE, statistic: cloudwatch.Stats.SUM }),
        inById: this.broker.metric('NetworkIn', {
          period: MINUTE,
          statistic: cloudwatch.Stats.SUM,
          dimensionsMap: { [BROKER_ID_DIMENSION]: this.broker.brokerId },
        }),
      },
      label: 'Broker NetworkIn (bytes/min)',
      period: MINUTE,
      ...props,
    });
  }

  /**
   * Ready messages of some queues (of `queueVirtualHost`), summed, from the configured queue
   * metrics; the broker-wide `MessageReadyCount` without queue metrics (or without queues). What
   * `CeleryPlatform` scales each fleet on. At most 10 queues.
   *
   * @param queues The queues
   */
  public metricReadyMessages(queues: string[]): cloudwatch.IMetric {
    if (!this.queueReader || queues.length === 0) {
      return this.broker.metricMessageReadyCount({ period: MINUTE, statistic: cloudwatch.Stats.MAXIMUM });
    }
    if (queues.length > MAX_ALARM_METRICS) {
      throw new ValidationError(this, `metricReadyMessages: ${queues.length} queues is not allowed; CloudWatch metric math reads at most ${MAX_ALARM_METRICS} metrics.`);
    }
    return queuesReadyMetric(this.queueReader, queues);
  }

  /**
   * Watch another worker fleet: adds its ingress-source and restart alarms (and, with queue
   * metrics, its backlog and no-consumer alarms; the publisher then publishes its queues), joins
   * it to the incident page, raises the derived broker thresholds by its maximum size and adds its
   * graphs to the dashboard.
   *
   * @param fleet The fleet to watch, added once, whose construct id is part of its alarm names
   * @param overrides Overrides of this fleet's alarms (win over `alarms.fleets`)
   */
  public addFleet(fleet: ICeleryWorkerFleet, overrides?: CeleryFleetAlarmOverrides): CeleryFleetAlarms {
    if (Token.isUnresolved(fleet.maxCapacity)) {
      throw new ValidationError(this, `fleets: the maxCapacity of ${fleet.node.path} is a CloudFormation value (token); the fleet's and the broker's `
        + 'alarm thresholds are derived from it at synth, and arithmetic on a token gives nonsense. Give the fleet a number.');
    }
    if (this.fleetAlarmList.some(f => f.fleet === fleet)) {
      throw new ValidationError(this, `fleets: ${fleet.node.path} is already monitored by ${this.node.path}; add each fleet once`);
    }
    const o = mergeFleetOverrides(this.overrides.fleets, overrides);
    validateFleetOverrides(`addFleet(${fleet.node.id})`, o);
    // Alarm names and construct ids use the fleet's construct id (stable); a unique id only when two fleets share it.
    let namePart = fleet.node.id;
    if (this.fleetNameParts.has(namePart)) {
      namePart = Names.uniqueId(fleet);
    }
    this.fleetNameParts.add(namePart);
    const t = this.thresholds;
    const ticket = AlarmRoute.TICKET;
    const group = `Worker fleet ${namePart} (Auto Scaling group ${fleet.autoScalingGroupName})`;

    const networkOutAlarm = this.alarm(o.networkOut, {
      id: `${namePart}NetworkOutAlarm`,
      nameSuffix: `${namePart}-network-out`,
      metric: fleet.metricNetworkOut({ period: Duration.minutes(FLEET_NETWORK_PERIOD_MINUTES), statistic: cloudwatch.Stats.SUM }),
      threshold: fleetNetworkOutThreshold(t, fleet.maxCapacity, FLEET_NETWORK_PERIOD_MINUTES),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      route: ticket,
      periodMinutes: FLEET_NETWORK_PERIOD_MINUTES,
      description: (threshold) => `${group} sent more than ${threshold} bytes in one minute `
        + (o.networkOut?.threshold !== undefined ? '(set explicitly)' : `(${fleet.maxCapacity} instances x ${t.fleetNetworkOutBytesPerWorkerPerMinute} bytes)`)
        + ': this fleet is the likely source of broker ingress (and the ingress-storm page\'s ingress signal when the broker\'s NetworkIn is not published). '
        + 'Runbook: check its workers\' flags (mingle, gossip, heartbeat) and revoked-set size. Missing data is not breaching (no instance running).',
    });

    const workerRestartsAlarm = this.alarm(o.workerRestarts, {
      id: `${namePart}WorkerRestartsAlarm`,
      nameSuffix: `${namePart}-worker-restarts`,
      metric: fleet.metricWorkerRestarts({ period: MINUTE, statistic: cloudwatch.Stats.SUM }),
      threshold: t.workerRestartsPerMinute,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      route: ticket,
      periodMinutes: 1,
      description: (threshold) => `${group} restarted workers ${threshold} or more times in one minute: a crash loop (exit 0 included) `
        + 'or a synchronised restart. Runbook: read the worker journal on an instance (journalctl -u celery-worker) for the crash; '
        + 'stop synchronised restarts. Missing data is not breaching: the metric is only published when a worker restarts.',
    });

    const incompatibleCeleryAlarm = this.alarm(o.incompatibleCelery, {
      id: `${namePart}IncompatibleCeleryAlarm`,
      nameSuffix: `${namePart}-incompatible-celery`,
      metric: fleet.metricIncompatibleCelery({ period: MINUTE, statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      route: ticket,
      periodMinutes: 1,
      description: () => `An instance of ${group} found a Celery older than its broker needs and started no worker (the deployment's `
        + 'instances fail their boot signal; a scale-out adds idle instances). Runbook: the instance\'s boot log names the version and the '
        + 'minimum; pin a newer celery in requirements.txt (or the image) and deploy. Missing data is not breaching: published only then.',
    });

    let queueBacklogAlarm: cloudwatch.Alarm | undefined;
    let queueNoConsumersAlarm: cloudwatch.Alarm | undefined;
    if (this.queueReader) {
      if (this.queueMetrics === QueueMetricsSource.PUBLISHER) this.metricsPublisher!.addQueues(...fleet.queues);
      const reader = this.queueReader;
      const backlogQueues = this.coveredQueues(fleet, namePart, MAX_ALARM_METRICS, 'backlog');
      const consumerQueues = this.coveredQueues(fleet, namePart, MAX_ALARM_METRICS / 2, 'no-consumers');
      const source = this.queueMetrics === QueueMetricsSource.PUBLISHER ? 'CdkCelery (metrics publisher)' : 'AWS/AmazonMQ';
      queueBacklogAlarm = this.alarm(o.queueBacklog, {
        id: `${namePart}QueueBacklogAlarm`,
        nameSuffix: `${namePart}-backlog`,
        metric: queuesReadyMetric(reader, backlogQueues),
        threshold: t.readyMessages,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: t.backlogMinutes,
        datapointsToAlarm: t.backlogMinutes,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        route: ticket,
        periodMinutes: 1,
        description: (threshold) => `More than ${threshold} messages ready in ${backlogQueues.join(', ')} (vhost ${this.queueVirtualHost}), the queues of `
          + `${group}, for ${t.backlogMinutes} minutes (${source} queue metrics). Runbook: is the fleet at maxCapacity? Raise it; look for slow or `
          + 'stuck tasks. Missing data is not breaching: queue metrics stop while the broker is down (broker-not-reporting covers it).',
      });
      queueNoConsumersAlarm = this.alarm(o.queueNoConsumers, {
        id: `${namePart}QueueNoConsumersAlarm`,
        nameSuffix: `${namePart}-no-consumers`,
        metric: queuesWithoutConsumersMetric(reader, consumerQueues),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: t.noConsumersMinutes,
        datapointsToAlarm: t.noConsumersMinutes,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        route: ticket,
        periodMinutes: 1,
        description: () => `A queue of ${group} (${consumerQueues.join(', ')}, vhost ${this.queueVirtualHost}) has ready messages and no consumer for `
          + `${t.noConsumersMinutes} minutes (${source} queue metrics). Runbook: are the fleet's workers running and consuming that queue (-Q)? `
          + 'Check its restart alarm and the worker journal. Missing data is not breaching (broker-not-reporting covers a silent broker).',
      });
    }

    const alarms: CeleryFleetAlarms = {
      fleet, networkOutAlarm, workerRestartsAlarm, incompatibleCeleryAlarm, queueBacklogAlarm, queueNoConsumersAlarm,
    };
    this.fleetAlarmList.push(alarms);
    if (this.dashboard) {
      const shown = this.queueReader ? fleet.queues.slice(0, MAX_ALARM_METRICS) : [];
      addFleetWidgets(this.dashboard, namePart, {
        ...alarms,
        queueReady: shown.map(q => ({ queue: q, metric: this.queueReader!.ready(q) })),
        queueConsumers: shown.map(q => ({ queue: q, metric: this.queueReader!.consumers(q) })),
      });
    }
    return alarms;
  }

  /** The incident page's rule: (ingress OR any fleet network-out) AND (any fleet restarts OR connection storm). */
  private incidentRule(): cloudwatch.IAlarmRule {
    const any = (alarms: Array<cloudwatch.IAlarm | undefined>) => {
      const present = alarms.filter(isDefined).map(a => cloudwatch.AlarmRule.fromAlarm(a, cloudwatch.AlarmState.ALARM));
      return present.length > 0 ? cloudwatch.AlarmRule.anyOf(...present) : cloudwatch.AlarmRule.fromBoolean(false);
    };
    return cloudwatch.AlarmRule.allOf(
      any([this.brokerIngressAlarm, ...this.fleetAlarmList.map(f => f.networkOutAlarm)]),
      any([...this.fleetAlarmList.map(f => f.workerRestartsAlarm), this.connectionStormAlarm]),
    );
  }

  /** The fleet's queues an alarm can cover (CloudWatch's metric limit), with a warning for the rest. */
  private coveredQueues(fleet: ICeleryWorkerFleet, namePart: string, limit: number, alarm: string): string[] {
    if (fleet.queues.length > limit) {
      Annotations.of(this).addWarningV2(`cdk-celery:fleetQueuesOverAlarmLimit:${namePart}:${alarm}`,
        `Fleet ${namePart} consumes ${fleet.queues.length} queues; its ${alarm} alarm covers the first ${limit} (a CloudWatch alarm reads at most `
        + `${MAX_ALARM_METRICS} metrics): ${fleet.queues.slice(limit).join(', ')} ${fleet.queues.length - limit === 1 ? 'is' : 'are'} watched broker-wide only.`);
    }
    return fleet.queues.slice(0, limit);
  }

  private createQueueReader(): QueueMetricReader | undefined {
    const vhost = this.queueVirtualHost;
    if (this.queueMetrics === QueueMetricsSource.AMAZON_MQ) {
      return {
        ready: (q) => this.broker.metricQueueMessageReadyCount(q, vhost, { period: MINUTE, statistic: cloudwatch.Stats.MAXIMUM }),
        consumers: (q) => this.broker.metricQueueConsumerCount(q, vhost, { period: MINUTE, statistic: cloudwatch.Stats.MINIMUM }),
      };
    }
    if (this.queueMetrics === QueueMetricsSource.PUBLISHER && this.metricsPublisher) {
      const publisher = this.metricsPublisher;
      return {
        ready: (q) => publisher.metricQueueMessageReadyCount(q),
        consumers: (q) => publisher.metricQueueConsumerCount(q),
      };
    }
    return undefined;
  }

  /** `<prefix>-<suffix>`, within CloudWatch's 255 characters. */
  private alarmName(suffix: string): string {
    const name = `${this.alarmNamePrefix}-${suffix}`;
    if (!Token.isUnresolved(name) && name.length > MAX_ALARM_NAME_LENGTH) {
      throw new ValidationError(this, `alarmNamePrefix: the alarm name ${JSON.stringify(name)} has ${name.length} characters; CloudWatch allows `
        + `${MAX_ALARM_NAME_LENGTH}. Use an alarmNamePrefix of at most ${MAX_ALARM_NAME_LENGTH - 1 - suffix.length} characters for this alarm`
        + ' (or shorter fleet names).');
    }
    return name;
  }

  /** The dashboard name: letters, digits, `-` and `_`, at most 255 characters. */
  private dashboardName(given: string | undefined): string {
    const name = given ?? this.alarmNamePrefix;
    if (!Token.isUnresolved(name) && !DASHBOARD_NAME_FORMAT.test(name)) {
      throw new ValidationError(this, `${given !== undefined ? 'dashboardName' : 'alarmNamePrefix (the default dashboardName)'}: ${JSON.stringify(name)} `
        + 'is not a dashboard name CloudWatch accepts; use 1 to 255 letters, digits, - and _.');
    }
    return name;
  }

  /** Total maximum instances of the fleets: one Celery worker node per instance. */
  private maxWorkers(): number {
    return this.fleetAlarmList.reduce((sum, f) => sum + f.fleet.maxCapacity, 0);
  }

  private destination(kind: string, topic: sns.ITopic | undefined, actions: cloudwatch.IAlarmAction[] | undefined,
    topicId: string, displayName: string) {
    if (topic && actions) {
      throw new ValidationError(this, `${kind}Actions and ${kind}Topic are both set; set one: ${kind}Topic is notified through an SnsAction, ${kind}Actions replace it`);
    }
    if (actions) return { topic: undefined, actions: [...actions] };
    const created = topic ?? new sns.Topic(this, topicId, { displayName: topicDisplayName(displayName, this.alarmNamePrefix), enforceSSL: true });
    return { topic: created, actions: [new cw_actions.SnsAction(created)] };
  }

  /** One metric alarm from its spec and its override; undefined when the override disables it. */
  private alarm(override: CeleryAlarmOverride | undefined, spec: AlarmSpec): cloudwatch.Alarm | undefined {
    if (override?.enabled === false) return undefined;
    const threshold = override?.threshold ?? spec.threshold;
    const evaluationPeriods = override?.evaluationPeriods ?? spec.evaluationPeriods;
    // Overriding only the periods means "all of them", as CloudWatch's own default does.
    const datapointsToAlarm = override?.datapointsToAlarm ?? override?.evaluationPeriods ?? spec.datapointsToAlarm;
    if (!Token.isUnresolved(evaluationPeriods) && !Token.isUnresolved(datapointsToAlarm)) {
      if (datapointsToAlarm > evaluationPeriods) {
        throw new ValidationError(this, `alarms (${spec.nameSuffix}): datapointsToAlarm ${datapointsToAlarm} is more than evaluationPeriods ${evaluationPeriods}; use at most ${evaluationPeriods}`);
      }
      if (evaluationPeriods * spec.periodMinutes > 1440) {
        throw new ValidationError(this, `alarms (${spec.nameSuffix}): evaluationPeriods ${evaluationPeriods} of ${spec.periodMinutes} minute(s) is more than a day, `
          + `which CloudWatch refuses; use at most ${Math.floor(1440 / spec.periodMinutes)}`);
      }
    }
    const alarm = new cloudwatch.Alarm(this, spec.id, {
      alarmName: this.alarmName(spec.nameSuffix),
      alarmDescription: Lazy.string({
        produce: () => spec.description(String(Token.isUnresolved(threshold) ? Stack.of(this).resolve(threshold) : threshold)),
      }),
      metric: spec.metric,
      threshold,
      comparisonOperator: spec.comparisonOperator,
      evaluationPeriods,
      datapointsToAlarm,
      treatMissingData: spec.treatMissingData,
    });
    this.route(alarm, override?.route ?? spec.route);
    this.orderAfterBroker(alarm);
    return alarm;
  }

  private route(alarm: cloudwatch.AlarmBase, route: AlarmRoute): void {
    const actions = route.resolve(this.pagingActions, this.ticketingActions);
    if (actions.length === 0) return;
    alarm.addAlarmAction(...actions);
    if (this.notifyOnOk) {
      alarm.addOkAction(...actions);
    }
  }

  /**
   * Create after a broker of the same stack: an alarm that exists while the broker is being
   * created sees no data, and the broker's own creation is not something to be paged for.
   */
  private orderAfterBroker(construct: IConstruct): void {
    // The broker resource only: the broker construct also holds ingress rules that name this
    // construct's security groups, which would make a cycle.
    const resource = this.createdBroker?.node.defaultChild;
    if (resource && Stack.of(resource) === Stack.of(this)) {
      construct.node.addDependency(resource);
    }
  }
}

function isDefined<T>(x: T | undefined): x is T {
  return x !== undefined;
}

function validatePageOverride(name: string, override: CeleryAlarmOverride | undefined): void {
  validateAlarmOverride(name, override, true);
}

function validateOverrides(o: CeleryAlarmOverrides): void {
  const pages = ['incidentPage', 'brokerDownPage'];
  for (const [key, value] of Object.entries(o)) {
    if (key === 'fleets') continue;
    validateAlarmOverride(`alarms.${key}`, value as CeleryAlarmOverride | undefined, pages.includes(key));
  }
  if (o.brokerRestarting && (o.brokerRestarting.threshold !== undefined || o.brokerRestarting.evaluationPeriods !== undefined)) {
    throw new Error('alarms.brokerRestarting: only enabled and route apply (the signal is 0 or 1; its cap is thresholds.brokerRestartingMaxMinutes).');
  }
  validateFleetOverrides('alarms.fleets', o.fleets);
}

function validateFleetOverrides(name: string, o: CeleryFleetAlarmOverrides | undefined): void {
  for (const [key, value] of Object.entries(o ?? {})) {
    validateAlarmOverride(`${name}.${key}`, value as CeleryAlarmOverride | undefined, false);
  }
}

function mergeFleetOverrides(defaults: CeleryFleetAlarmOverrides | undefined, own: CeleryFleetAlarmOverrides | undefined): CeleryFleetAlarmOverrides {
  const merge = (a?: CeleryAlarmOverride, b?: CeleryAlarmOverride) => (a || b ? { ...a, ...b } : undefined);
  return {
    networkOut: merge(defaults?.networkOut, own?.networkOut),
    workerRestarts: merge(defaults?.workerRestarts, own?.workerRestarts),
    incompatibleCelery: merge(defaults?.incompatibleCelery, own?.incompatibleCelery),
    queueBacklog: merge(defaults?.queueBacklog, own?.queueBacklog),
    queueNoConsumers: merge(defaults?.queueNoConsumers, own?.queueNoConsumers),
  };
}

/** SNS display names are at most 100 characters: a long prefix is shortened there (it is only shown in notifications). */
function topicDisplayName(label: string, prefix: string): string {
  const name = `${label} (${prefix})`;
  return Token.isUnresolved(name) || name.length <= 100 ? name : `${name.slice(0, 96)}...)`;
}
