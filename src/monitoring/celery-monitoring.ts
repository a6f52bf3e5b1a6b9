import { Annotations, Duration, Names, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { alarmDestination } from './alarm-destination';
import { AlarmFactory } from './alarm-factory';
import {
  CeleryAlarmOverrides,
  CeleryFleetAlarmOverrides,
  mergeFleetAlarmOverrides,
  validateAlarmOverrides,
  validateFleetAlarmOverrides,
} from './alarm-overrides';
import { resolveAlarmThresholds, ResolvedAlarmThresholds } from './alarm-thresholds';
import { BrokerAlarms, createBrokerAlarms } from './broker-alarms';
import { BrokerMetricsPublisher } from './broker-metrics-publisher';
import { CeleryFleetAlarms, CeleryMonitoringProps } from './celery-monitoring-props';
import { createFleetAlarms } from './fleet-alarms';
import { addBrokerWidgets, addFleetWidgets, dashboardName } from './monitoring-dashboard';
import { createPageAlarms } from './page-alarms';
import { MAX_ALARM_METRICS, QueueMetricReader, QueueMetricsSource, queuesReadyMetric } from './queue-metrics';
import { queueMetricReader, queueMetricsSourceLabel, resolveQueueMetricsSource } from './queue-metrics-source';
import { RabbitMqBroker } from '../broker/rabbitmq-broker';
import { IRabbitMqBroker } from '../broker/rabbitmq-broker-ref';
import { RabbitMqDeploymentMode } from '../broker/rabbitmq-deployment-mode';
import { validateIn, ValidationError } from '../private/validation-error';
import { ICeleryWorkerFleet } from '../workers/celery-worker-fleet-ref';

/** Period of the broker's metrics: Amazon MQ publishes them once a minute. */
const MINUTE = Duration.minutes(1);
/** Dimension of `NetworkIn` that older AWS pages name for RabbitMQ (its value is the broker id). */
const BROKER_ID_DIMENSION = 'BrokerId';

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
  private readonly alarmFactory: AlarmFactory;
  private readonly fleetAlarmList: CeleryFleetAlarms[] = [];
  private readonly fleetNameParts = new Set<string>();
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
    validateIn(this, () => validateAlarmOverrides(this.overrides));
    this.broker = props.broker;
    const createdBroker = props.broker instanceof RabbitMqBroker ? props.broker : undefined;
    this.alarmNamePrefix = props.alarmNamePrefix ?? `${props.broker.brokerName}-celery`;
    this.queueVirtualHost = props.queueVirtualHost ?? '/';

    // Where pages and tickets go.
    const paging = alarmDestination(this, {
      kind: 'paging',
      topic: props.pagingTopic,
      actions: props.pagingActions,
      topicId: 'PagingTopic',
      label: 'Celery broker pages',
      alarmNamePrefix: this.alarmNamePrefix,
    });
    this.pagingTopic = paging.topic;
    const ticketing = alarmDestination(this, {
      kind: 'ticketing',
      topic: props.ticketingTopic,
      actions: props.ticketingActions,
      topicId: 'TicketingTopic',
      label: 'Celery broker tickets',
      alarmNamePrefix: this.alarmNamePrefix,
    });
    this.ticketingTopic = ticketing.topic;
    this.alarmFactory = new AlarmFactory(this, {
      alarmNamePrefix: this.alarmNamePrefix,
      pagingActions: paging.actions,
      ticketingActions: ticketing.actions,
      notifyOnOk: props.notifyOnOk ?? true,
      // The broker resource only: the broker construct also holds ingress rules that name this
      // construct's security groups, which would make a cycle.
      brokerResource: createdBroker?.node.defaultChild,
    });

    // The metrics publisher and the queue metrics.
    const publisherEnabled = props.enableMetricsPublisher ?? true;
    this.queueMetrics = validateIn(this, () => resolveQueueMetricsSource({
      chosen: props.queueMetrics,
      // Known for a created broker, and for an imported one given its engineVersion.
      engineVersion: props.broker.engineVersion,
      publisherEnabled,
      hasVpc: props.vpc !== undefined,
      hasAdminCredentials: (props.metricsPublisherOptions?.adminCredentials ?? props.broker.credentials) !== undefined,
    }));
    if (publisherEnabled) {
      this.metricsPublisher = new BrokerMetricsPublisher(this, 'MetricsPublisher', {
        ...props.metricsPublisherOptions,
        broker: props.broker,
        vpc: this.queueMetrics === QueueMetricsSource.PUBLISHER ? props.vpc : undefined,
        virtualHost: this.queueVirtualHost,
      });
    }
    this.queueReader = queueMetricReader(this.queueMetrics, props.broker, this.queueVirtualHost, this.metricsPublisher);

    // The broker's alarms, then the pages made of them and of the fleets' alarms.
    const brokerAlarms: BrokerAlarms = createBrokerAlarms(this, this.alarmFactory, {
      broker: props.broker,
      thresholds: this.thresholds,
      overrides: this.overrides,
      ingress: this.metricIngress(),
      maxWorkers: () => this.maxWorkers(),
      ingressAnomalyDetection: props.ingressAnomalyDetection ?? false,
      metricsPublisher: this.metricsPublisher,
      cluster: (props.deploymentMode ?? createdBroker?.deploymentMode) === RabbitMqDeploymentMode.CLUSTER_MULTI_AZ,
    });
    this.brokerIngressAlarm = brokerAlarms.brokerIngressAlarm;
    this.brokerIngressAnomalyAlarm = brokerAlarms.brokerIngressAnomalyAlarm;
    this.brokerNotReportingAlarm = brokerAlarms.brokerNotReportingAlarm;
    this.brokerRestartingAlarm = brokerAlarms.brokerRestartingAlarm;
    this.brokerRestartingTooLongAlarm = brokerAlarms.brokerRestartingTooLongAlarm;
    this.restartSuppressor = brokerAlarms.restartSuppressor;
    this.memoryAlarm = brokerAlarms.memoryAlarm;
    this.cpuAlarm = brokerAlarms.cpuAlarm;
    this.diskFreeAlarm = brokerAlarms.diskFreeAlarm;
    this.connectionStormAlarm = brokerAlarms.connectionStormAlarm;
    this.channelStormAlarm = brokerAlarms.channelStormAlarm;
    this.connectionChurnAlarm = brokerAlarms.connectionChurnAlarm;
    this.channelChurnAlarm = brokerAlarms.channelChurnAlarm;
    this.noConsumersAlarm = brokerAlarms.noConsumersAlarm;
    this.backlogAlarm = brokerAlarms.backlogAlarm;
    this.metricsPublisherErrorsAlarm = brokerAlarms.metricsPublisherErrorsAlarm;

    const pages = createPageAlarms(this, this.alarmFactory, {
      broker: props.broker,
      thresholds: this.thresholds,
      overrides: this.overrides,
      brokerAlarms,
      incidentSignals: () => ({
        brokerIngressAlarm: this.brokerIngressAlarm,
        fleetNetworkOutAlarms: this.fleetAlarmList.map(f => f.networkOutAlarm),
        fleetWorkerRestartsAlarms: this.fleetAlarmList.map(f => f.workerRestartsAlarm),
        connectionStormAlarm: this.connectionStormAlarm,
      }),
      metricsPublisher: this.metricsPublisher,
    });
    this.incidentAlarm = pages.incidentAlarm;
    this.brokerDownAlarm = pages.brokerDownAlarm;

    if (props.createDashboard ?? true) {
      this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
        dashboardName: validateIn(this, () => dashboardName(props.dashboardName, this.alarmNamePrefix)),
        defaultInterval: Duration.hours(6),
      });
      addBrokerWidgets(this.dashboard, props.broker, {
        pages: [this.incidentAlarm, this.brokerDownAlarm].filter(isDefined),
        allAlarms: this.brokerAlarms,
        alarms: brokerAlarms,
        ingress: this.metricIngress(),
        restarting: this.metricsPublisher?.metricBrokerRestarting(),
      });
    }

    for (const fleet of props.fleets ?? []) {
      this.addFleet(fleet);
    }
    // Checked at synth, so that fleets added with addFleet count.
    this.node.addValidation({
      validate: () => {
        if (this.fleetAlarmList.length === 0 && this.thresholds.brokerIngressBytesPerMinute === undefined
          && this.overrides.brokerIngress?.threshold === undefined) {
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
    const o = mergeFleetAlarmOverrides(this.overrides.fleets, overrides);
    validateFleetAlarmOverrides(`addFleet(${fleet.node.id})`, o);
    // Alarm names and construct ids use the fleet's construct id (stable); a unique id only when two fleets share it.
    let namePart = fleet.node.id;
    if (this.fleetNameParts.has(namePart)) {
      namePart = Names.uniqueId(fleet);
    }
    this.fleetNameParts.add(namePart);

    if (this.queueReader && this.queueMetrics === QueueMetricsSource.PUBLISHER) this.metricsPublisher!.addQueues(...fleet.queues);
    const alarms: CeleryFleetAlarms = {
      fleet,
      ...createFleetAlarms(this, this.alarmFactory, {
        fleet,
        namePart,
        thresholds: this.thresholds,
        overrides: o,
        queues: this.queueReader
          ? { reader: this.queueReader, source: queueMetricsSourceLabel(this.queueMetrics), virtualHost: this.queueVirtualHost }
          : undefined,
      }),
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

  /** Total maximum instances of the fleets: one Celery worker node per instance. */
  private maxWorkers(): number {
    return this.fleetAlarmList.reduce((sum, f) => sum + f.fleet.maxCapacity, 0);
  }
}

function isDefined<T>(x: T | undefined): x is T {
  return x !== undefined;
}
