import { Annotations, Duration, Lazy, Names, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cw_actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import {
  brokerIngressThreshold,
  CeleryAlarmThresholds,
  channelStormThreshold,
  connectionStormThreshold,
  fleetNetworkOutThreshold,
  resolveAlarmThresholds,
  ResolvedAlarmThresholds,
} from './alarm-thresholds';
import { addBrokerWidgets, addFleetWidgets } from './monitoring-dashboard';
import { IRabbitMqBroker } from '../broker/rabbitmq-broker-ref';
import { validateIn, ValidationError } from '../private/validation-error';
import { ICeleryWorkerFleet } from '../workers/celery-worker-fleet-ref';

/** Longest alarm name CloudWatch accepts. */
const MAX_ALARM_NAME_LENGTH = 255;
/** Dashboard names CloudWatch accepts. */
const DASHBOARD_NAME_FORMAT = /^[A-Za-z0-9_-]{1,255}$/;

/** Period of every broker alarm: Amazon MQ publishes broker metrics once a minute. */
const BROKER_PERIOD = Duration.minutes(1);
/** EC2 publishes `NetworkOut` by Auto Scaling group every 5 minutes without detailed monitoring. */
const FLEET_NETWORK_PERIOD_MINUTES = 5;

/**
 * Everything a user chooses for a `CeleryMonitoring` except the broker and the fleets:
 * thresholds, alarm actions, names and the dashboard. `CeleryPlatform` takes these and supplies
 * its broker and fleets itself.
 */
export interface CeleryMonitoringOptions {
  /**
   * Alarm thresholds.
   * @default - the defaults documented in `AlarmThresholdDefaults`
   */
  readonly thresholds?: CeleryAlarmThresholds;

  /**
   * Topic that every alarm notifies.
   * @default - a topic is created, unless `alarmActions` is given
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * Actions of every alarm, instead of a topic.
   * @default - notify `alarmTopic`
   */
  readonly alarmActions?: cloudwatch.IAlarmAction[];

  /**
   * Also run the actions when an alarm returns to OK (so a pager resolves itself).
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
 * Properties of `CeleryMonitoring`: its options, plus the broker and the fleets.
 */
export interface CeleryMonitoringProps extends CeleryMonitoringOptions {
  /** The broker to watch, created by this library or imported. */
  readonly broker: IRabbitMqBroker;

  /**
   * Worker fleets that use the broker. They explain connections and ingress, and each gets its
   * own ingress-source and restart alarms. More can be added with `addFleet`.
   * @default - no fleet: broker alarms only, derived thresholds use their floors
   */
  readonly fleets?: ICeleryWorkerFleet[];
}

/** The alarms of one worker fleet. */
export interface CeleryFleetAlarms {
  /** The fleet. */
  readonly fleet: ICeleryWorkerFleet;
  /** The fleet's instances send more bytes than its size explains (`AWS/EC2` `NetworkOut`). */
  readonly networkOutAlarm: cloudwatch.Alarm;
  /** Worker processes restart too often (`CdkCelery` `WorkerRestarts`). */
  readonly workerRestartsAlarm: cloudwatch.Alarm;
}

/**
 * CloudWatch alarms and a dashboard for Celery on Amazon MQ for RabbitMQ: broker ingress,
 * memory, CPU, disk, connection and channel storms, stranded work, backlog, worker restarts,
 * and one composite alarm for the mingle storm signature to page on (`incidentAlarm`).
 *
 * Missing data: the broker publishes every broker metric once a minute while it runs, so the
 * broker health alarms (ingress, memory, CPU, disk, connections, channels, no consumers) treat
 * missing data as BREACHING: a dead or unreachable broker must not look healthy. Metrics that
 * exist only when something happens (worker restarts) or only while instances run (fleet
 * `NetworkOut`, the backlog question) treat missing data as NOT_BREACHING.
 */
export class CeleryMonitoring extends Construct {
  /** The broker. */
  public readonly broker: IRabbitMqBroker;
  /** The topic the alarms notify, if the alarms notify a topic. */
  public readonly alarmTopic?: sns.ITopic;
  /** The dashboard, unless `createDashboard` is false. */
  public readonly dashboard?: cloudwatch.Dashboard;
  /** Broker `NetworkIn` per minute above what the fleets explain: the mingle storm itself. */
  public readonly brokerIngressAlarm: cloudwatch.Alarm;
  /** Broker `NetworkIn` above its learned band; only with `ingressAnomalyDetection`. */
  public readonly brokerIngressAnomalyAlarm?: cloudwatch.Alarm;
  /** RabbitMQ memory used, percent of its limit. */
  public readonly memoryAlarm: cloudwatch.Alarm;
  /** Broker system CPU. */
  public readonly cpuAlarm: cloudwatch.Alarm;
  /** Free disk near RabbitMQ's disk free limit. */
  public readonly diskFreeAlarm: cloudwatch.Alarm;
  /** More connections than the fleets' maximum sizes explain. */
  public readonly connectionStormAlarm: cloudwatch.Alarm;
  /** More channels than the fleets' maximum sizes explain. */
  public readonly channelStormAlarm: cloudwatch.Alarm;
  /** No consumer while messages are ready. */
  public readonly noConsumersAlarm: cloudwatch.Alarm;
  /** Ready messages above the backlog threshold for a sustained time. */
  public readonly backlogAlarm: cloudwatch.Alarm;
  /**
   * THE alarm to page on: broker ingress high AND (a fleet's restarts high OR connection storm).
   */
  public readonly incidentAlarm: cloudwatch.CompositeAlarm;

  private readonly thresholds: ResolvedAlarmThresholds;
  private readonly namePrefix: string;
  private readonly actions: cloudwatch.IAlarmAction[];
  private readonly notifyOnOk: boolean;
  private readonly fleetAlarmList: CeleryFleetAlarms[] = [];
  private readonly fleetNameParts = new Set<string>();

  /**
   * @param scope Scope in which the alarms and the dashboard are defined
   * @param id Construct id (the alarm and dashboard names come from `alarmNamePrefix`, not from it)
   * @param props The broker, the fleets, and the thresholds, actions and names of the alarms
   */
  constructor(scope: Construct, id: string, props: CeleryMonitoringProps) {
    super(scope, id);
    this.thresholds = validateIn(this, () => resolveAlarmThresholds(props.thresholds));
    this.broker = props.broker;
    this.namePrefix = props.alarmNamePrefix ?? `${props.broker.brokerName}-celery`;
    this.notifyOnOk = props.notifyOnOk ?? true;
    // The longest broker alarm name, checked before anything is created with the prefix.
    this.alarmName('broker-ingress-anomaly');

    if (props.alarmActions && props.alarmTopic) {
      throw new ValidationError(this, 'alarmActions and alarmTopic are both set; set one: alarmTopic is notified through an SnsAction, alarmActions replace it');
    }
    if (props.alarmActions) {
      this.actions = [...props.alarmActions];
    } else {
      this.alarmTopic = props.alarmTopic ?? new sns.Topic(this, 'AlarmTopic', {
        displayName: topicDisplayName(this.namePrefix),
        enforceSSL: true,
      });
      this.actions = [new cw_actions.SnsAction(this.alarmTopic)];
    }

    const t = this.thresholds;
    const broker = props.broker;
    const minute = { period: BROKER_PERIOD };
    const ingressThreshold = t.brokerIngressBytesPerMinute !== undefined
      ? t.brokerIngressBytesPerMinute
      : Lazy.number({ produce: () => brokerIngressThreshold(t, this.maxWorkers()) });

    this.brokerIngressAlarm = this.alarm('BrokerIngressAlarm', {
      nameSuffix: 'broker-ingress',
      metric: broker.metricNetworkIn({ ...minute, statistic: cloudwatch.Stats.SUM }),
      threshold: ingressThreshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      description: Lazy.string({
        produce: () => `Broker ${broker.brokerName} received more than ${brokerIngressThreshold(t, this.maxWorkers())} bytes in one minute `
          + (t.brokerIngressBytesPerMinute !== undefined ? '(thresholds.brokerIngressBytesPerMinute). '
            : `(${this.maxWorkers()} workers x ${t.ingressBytesPerWorkerPerMinute} bytes, at least ${t.brokerIngressFloorBytesPerMinute}). `)
          + 'Signature of a mingle storm: workers joining with mingle on pull the revoked set of every other worker '
          + '(4.9 MB each at the 50,000-id cap). Runbook: check the fleets\' NetworkOut alarms for the source; make sure workers run with '
          + '--without-mingle --without-gossip --without-heartbeat; stop synchronised restarts. Missing data counts as breaching (broker not reporting).',
      }),
    });

    if (props.ingressAnomalyDetection) {
      this.brokerIngressAnomalyAlarm = new cloudwatch.AnomalyDetectionAlarm(this, 'BrokerIngressAnomalyAlarm', {
        alarmName: this.alarmName('broker-ingress-anomaly'),
        alarmDescription: `Broker ${broker.brokerName} ingress is above its learned band (${t.ingressAnomalyStdDevs} standard deviations). `
          + 'Runbook: compare with the broker ingress alarm and the fleets\' restarts. Missing data is not breaching: the static ingress alarm covers a dead broker.',
        metric: broker.metricNetworkIn({ ...minute, statistic: cloudwatch.Stats.SUM }),
        stdDevs: t.ingressAnomalyStdDevs,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_UPPER_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      this.addActions(this.brokerIngressAnomalyAlarm);
    }

    this.memoryAlarm = this.alarm('MemoryAlarm', {
      nameSuffix: 'broker-memory',
      metric: broker.metricMemoryUsedPercent({ label: 'RabbitMQ memory used (% of limit)', period: BROKER_PERIOD }),
      threshold: t.memoryUsedPercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      description: `RabbitMQ on ${broker.brokerName} uses ${t.memoryUsedPercent} % or more of its memory limit (2 of 3 minutes). `
        + 'At 100 % it blocks every publisher. Runbook: look for a mingle storm (ingress alarm), a backlog or unacked messages; '
        + 'scale the broker instance if the load is legitimate. Missing data counts as breaching (broker not reporting).',
    });

    this.cpuAlarm = this.alarm('CpuAlarm', {
      nameSuffix: 'broker-cpu',
      metric: broker.metricCpuUtilization({ ...minute, statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: t.cpuUtilizationPercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 5,
      datapointsToAlarm: 5,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      description: `Broker ${broker.brokerName} CPU at ${t.cpuUtilizationPercent} % or more for 5 minutes. `
        + 'Runbook: check connection/channel churn and ingress; a saturated broker misses heartbeats and drops clients. '
        + 'Missing data counts as breaching (broker not reporting).',
    });

    this.diskFreeAlarm = this.alarm('DiskFreeAlarm', {
      nameSuffix: 'broker-disk-free',
      metric: new cloudwatch.MathExpression({
        expression: 'diskFree / diskLimit',
        usingMetrics: {
          diskFree: broker.metricDiskFree({ ...minute, statistic: cloudwatch.Stats.MINIMUM }),
          diskLimit: broker.metricDiskFreeLimit({ ...minute, statistic: cloudwatch.Stats.MAXIMUM }),
        },
        label: 'Free disk / disk free limit',
        period: BROKER_PERIOD,
      }),
      threshold: t.diskFreeToLimitRatio,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      description: `Free disk on ${broker.brokerName} is below ${t.diskFreeToLimitRatio} x RabbitMQ's disk free limit (2 of 3 minutes). `
        + 'At 1 x RabbitMQ blocks every publisher. Runbook: drain or purge backlogged queues, look for paged-out messages. '
        + 'Missing data counts as breaching (broker not reporting).',
    });

    this.connectionStormAlarm = this.alarm('ConnectionStormAlarm', {
      nameSuffix: 'connection-storm',
      metric: broker.metricConnectionCount({ ...minute, statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: t.maxConnections ?? Lazy.number({ produce: () => connectionStormThreshold(t, this.maxWorkers()) }),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      description: Lazy.string({
        produce: () => `Broker ${broker.brokerName} holds more than ${connectionStormThreshold(t, this.maxWorkers())} connections (2 of 3 minutes`
          + (t.maxConnections !== undefined ? ', thresholds.maxConnections). '
            : `; ${this.maxWorkers()} workers x ${t.connectionsPerWorker} + ${t.nonWorkerConnections} other clients). `)
          + 'Runbook: a crash loop reconnecting, or clients leaking connections; check the worker restart alarms. '
          + 'Missing data counts as breaching (broker not reporting).',
      }),
    });

    this.channelStormAlarm = this.alarm('ChannelStormAlarm', {
      nameSuffix: 'channel-storm',
      metric: broker.metricChannelCount({ ...minute, statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: t.maxChannels ?? Lazy.number({ produce: () => channelStormThreshold(t, this.maxWorkers()) }),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      description: Lazy.string({
        produce: () => `Broker ${broker.brokerName} holds more than ${channelStormThreshold(t, this.maxWorkers())} channels (2 of 3 minutes`
          + (t.maxChannels !== undefined ? ', thresholds.maxChannels). '
            : `; ${this.maxWorkers()} workers x ${t.channelsPerWorker} + ${t.nonWorkerChannels} other channels). `)
          + 'Runbook: look for a client opening a channel per publish, or a reconnect loop. Missing data counts as breaching (broker not reporting).',
      }),
    });

    this.noConsumersAlarm = this.alarm('NoConsumersAlarm', {
      nameSuffix: 'no-consumers',
      metric: new cloudwatch.MathExpression({
        expression: 'IF(consumers == 0 AND ready > 0, 1, 0)',
        usingMetrics: {
          consumers: broker.metricConsumerCount({ ...minute, statistic: cloudwatch.Stats.MINIMUM }),
          ready: broker.metricMessageReadyCount({ ...minute, statistic: cloudwatch.Stats.MAXIMUM }),
        },
        label: 'No consumer while messages are ready',
        period: BROKER_PERIOD,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: t.noConsumersMinutes,
      datapointsToAlarm: t.noConsumersMinutes,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      description: `No consumer on ${broker.brokerName} while messages wait, for ${t.noConsumersMinutes} minutes. `
        + 'Runbook: are the workers running (fleet in-service count, restart alarms)? Can they reach the broker (security group, credentials)? '
        + 'Missing data counts as breaching (broker not reporting: nothing can be consumed).',
    });

    this.backlogAlarm = this.alarm('BacklogAlarm', {
      nameSuffix: 'backlog',
      metric: broker.metricMessageReadyCount({ ...minute, statistic: cloudwatch.Stats.MINIMUM }),
      threshold: t.readyMessages,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: t.backlogMinutes,
      datapointsToAlarm: t.backlogMinutes,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      description: `More than ${t.readyMessages} messages ready on ${broker.brokerName} for ${t.backlogMinutes} minutes. `
        + 'Runbook: scale the fleet out, look for slow or stuck tasks. Missing data is not breaching: the broker health alarms cover a dead broker.',
    });

    this.incidentAlarm = new cloudwatch.CompositeAlarm(this, 'IncidentAlarm', {
      compositeAlarmName: this.alarmName('ingress-storm-page'),
      alarmDescription: `PAGE. Broker ${broker.brokerName}: ingress storm while workers restart or connections storm, the signature `
        + 'of the mingle incident (synchronised worker restarts pulling every revoked set through the broker). Runbook: stop the restarts '
        + '(suspend the fleet\'s scheduled actions and instance refresh), make sure workers run with --without-mingle --without-gossip '
        + '--without-heartbeat, then watch broker memory. Also fires when the broker stops reporting.',
      alarmRule: {
        // Rendered at synth so that fleets added later join the rule.
        renderAlarmRule: () => Lazy.string({
          produce: () => cloudwatch.AlarmRule.allOf(
            cloudwatch.AlarmRule.fromAlarm(this.brokerIngressAlarm, cloudwatch.AlarmState.ALARM),
            cloudwatch.AlarmRule.anyOf(
              ...this.fleetAlarmList.map(f => cloudwatch.AlarmRule.fromAlarm(f.workerRestartsAlarm, cloudwatch.AlarmState.ALARM)),
              cloudwatch.AlarmRule.fromAlarm(this.connectionStormAlarm, cloudwatch.AlarmState.ALARM),
            ),
          ).renderAlarmRule(),
        }),
      },
    });
    this.addActions(this.incidentAlarm);

    if (props.createDashboard ?? true) {
      this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
        dashboardName: this.dashboardName(props.dashboardName),
        defaultInterval: Duration.hours(6),
      });
      addBrokerWidgets(this.dashboard, broker, this);
    }

    for (const fleet of props.fleets ?? []) {
      this.addFleet(fleet);
    }
    // Checked at synth, so that fleets added with addFleet count.
    this.node.addValidation({
      validate: () => {
        if (this.fleetAlarmList.length === 0 && t.brokerIngressBytesPerMinute === undefined) {
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

  /** Every alarm this construct created, the composite last. */
  public get alarms(): cloudwatch.IAlarm[] {
    return [
      ...this.brokerAlarms,
      ...this.fleetAlarmList.flatMap(f => [f.networkOutAlarm, f.workerRestartsAlarm]),
      this.incidentAlarm,
    ];
  }

  /** The broker's metric alarms (no fleet alarm, no composite). */
  public get brokerAlarms(): cloudwatch.Alarm[] {
    return [
      this.brokerIngressAlarm,
      ...(this.brokerIngressAnomalyAlarm ? [this.brokerIngressAnomalyAlarm] : []),
      this.memoryAlarm,
      this.cpuAlarm,
      this.diskFreeAlarm,
      this.connectionStormAlarm,
      this.channelStormAlarm,
      this.noConsumersAlarm,
      this.backlogAlarm,
    ];
  }

  /**
   * Watch another worker fleet: adds its ingress-source and restart alarms, joins its restarts to
   * the composite alarm, raises the derived broker thresholds by its maximum size and adds its
   * graphs to the dashboard.
   *
   * @param fleet The fleet to watch, added once, whose construct id is part of its alarm names
   */
  public addFleet(fleet: ICeleryWorkerFleet): CeleryFleetAlarms {
    if (Token.isUnresolved(fleet.maxCapacity)) {
      throw new ValidationError(this, `fleets: the maxCapacity of ${fleet.node.path} is a CloudFormation value (token); the fleet's and the broker's `
        + 'alarm thresholds are derived from it at synth, and arithmetic on a token gives nonsense. Give the fleet a number.');
    }
    if (this.fleetAlarmList.some(f => f.fleet === fleet)) {
      throw new ValidationError(this, `fleets: ${fleet.node.path} is already monitored by ${this.node.path}; add each fleet once`);
    }
    // Alarm names and construct ids use the fleet's construct id (stable); a unique id only when two fleets share it.
    let namePart = fleet.node.id;
    if (this.fleetNameParts.has(namePart)) {
      namePart = Names.uniqueId(fleet);
    }
    this.fleetNameParts.add(namePart);
    const idPart = namePart;
    const t = this.thresholds;

    const networkOutAlarm = this.alarm(`${idPart}NetworkOutAlarm`, {
      nameSuffix: `${namePart}-network-out`,
      metric: fleet.metricNetworkOut({ period: Duration.minutes(FLEET_NETWORK_PERIOD_MINUTES), statistic: cloudwatch.Stats.SUM }),
      threshold: fleetNetworkOutThreshold(t, fleet.maxCapacity, FLEET_NETWORK_PERIOD_MINUTES),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      description: `Worker fleet ${namePart} (Auto Scaling group ${fleet.autoScalingGroupName}) sent more than `
        + `${fleetNetworkOutThreshold(t, fleet.maxCapacity, FLEET_NETWORK_PERIOD_MINUTES)} bytes in ${FLEET_NETWORK_PERIOD_MINUTES} minutes `
        + `(${fleet.maxCapacity} instances x ${t.fleetNetworkOutBytesPerWorkerPerMinute} bytes per minute): this fleet is the likely source of broker ingress. `
        + 'Runbook: check its workers\' flags (mingle, gossip, heartbeat) and revoked-set size. Missing data is not breaching (no instance running).',
    });

    const workerRestartsAlarm = this.alarm(`${idPart}WorkerRestartsAlarm`, {
      nameSuffix: `${namePart}-worker-restarts`,
      metric: fleet.metricWorkerRestarts({ period: Duration.minutes(1), statistic: cloudwatch.Stats.SUM }),
      threshold: t.workerRestartsPerMinute,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      description: `Worker fleet ${namePart} (Auto Scaling group ${fleet.autoScalingGroupName}) restarted workers `
        + `${t.workerRestartsPerMinute} or more times in one minute: a crash loop (exit 0 included) or a synchronised restart. `
        + 'Runbook: read the worker journal on an instance (journalctl -u celery-worker) for the crash; stop synchronised restarts. '
        + 'Missing data is not breaching: the metric is only published when a worker restarts.',
    });

    const alarms: CeleryFleetAlarms = { fleet, networkOutAlarm, workerRestartsAlarm };
    this.fleetAlarmList.push(alarms);
    if (this.dashboard) {
      addFleetWidgets(this.dashboard, namePart, alarms);
    }
    return alarms;
  }

  /** Total maximum instances of the fleets: one Celery worker node per instance. */
  private maxWorkers(): number {
    return this.fleetAlarmList.reduce((sum, f) => sum + f.fleet.maxCapacity, 0);
  }

  /** `<prefix>-<suffix>`, within CloudWatch's 255 characters. */
  private alarmName(suffix: string): string {
    const name = `${this.namePrefix}-${suffix}`;
    if (!Token.isUnresolved(name) && name.length > MAX_ALARM_NAME_LENGTH) {
      throw new ValidationError(this, `alarmNamePrefix: the alarm name ${JSON.stringify(name)} has ${name.length} characters; CloudWatch allows `
        + `${MAX_ALARM_NAME_LENGTH}. Use an alarmNamePrefix of at most ${MAX_ALARM_NAME_LENGTH - 1 - suffix.length} characters for this alarm`
        + ' (or shorter fleet names).');
    }
    return name;
  }

  /** The dashboard name: letters, digits, `-` and `_`, at most 255 characters. */
  private dashboardName(given: string | undefined): string {
    const name = given ?? this.namePrefix;
    if (!Token.isUnresolved(name) && !DASHBOARD_NAME_FORMAT.test(name)) {
      throw new ValidationError(this, `${given !== undefined ? 'dashboardName' : 'alarmNamePrefix (the default dashboardName)'}: ${JSON.stringify(name)} `
        + 'is not a dashboard name CloudWatch accepts; use 1 to 255 letters, digits, - and _.');
    }
    return name;
  }

  private alarm(id: string, options: AlarmOptions): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      alarmName: this.alarmName(options.nameSuffix),
      alarmDescription: options.description,
      metric: options.metric,
      threshold: options.threshold,
      comparisonOperator: options.comparisonOperator,
      evaluationPeriods: options.evaluationPeriods,
      datapointsToAlarm: options.datapointsToAlarm,
      treatMissingData: options.treatMissingData,
    });
    this.addActions(alarm);
    return alarm;
  }

  private addActions(alarm: cloudwatch.AlarmBase): void {
    alarm.addAlarmAction(...this.actions);
    if (this.notifyOnOk) {
      alarm.addOkAction(...this.actions);
    }
  }
}

/** SNS display names are at most 100 characters: a long prefix is shortened there (it is only shown in notifications). */
function topicDisplayName(prefix: string): string {
  const name = `Celery broker alarms (${prefix})`;
  return Token.isUnresolved(name) || name.length <= 100 ? name : `${name.slice(0, 96)}...)`;
}

interface AlarmOptions {
  readonly nameSuffix: string;
  readonly description: string;
  readonly metric: cloudwatch.IMetric;
  readonly threshold: number;
  readonly comparisonOperator: cloudwatch.ComparisonOperator;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly treatMissingData: cloudwatch.TreatMissingData;
}
