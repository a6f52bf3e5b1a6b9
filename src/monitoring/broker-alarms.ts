import { Duration, Lazy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { AlarmFactory } from './alarm-factory';
import { CeleryAlarmOverride, CeleryAlarmOverrides } from './alarm-overrides';
import { AlarmRoute } from './alarm-route';
import {
  AlarmThresholdDefaults,
  brokerIngressThreshold,
  channelChurnThreshold,
  channelStormThreshold,
  connectionChurnThreshold,
  connectionStormThreshold,
  ResolvedAlarmThresholds,
} from './alarm-thresholds';
import { BrokerMetricsPublisher } from './broker-metrics-publisher';
import { AMAZON_MQ_METRICS_NAMESPACE, BROKER_DIMENSION } from '../broker/rabbitmq-broker-base';
import { IRabbitMqBroker } from '../broker/rabbitmq-broker-ref';

/** Period of every broker alarm: Amazon MQ publishes broker metrics once a minute. */
const MINUTE = Duration.minutes(1);
/** How long the broker-down page waits for its suppressor after entering ALARM (the publisher runs once a minute). */
export const SUPPRESSOR_WAIT = Duration.minutes(AlarmThresholdDefaults.RESTART_SUPPRESSION_WAIT_MINUTES);
/** How long the broker-down page stays quiet after the broker is back (its metrics resume within a few minutes). */
export const SUPPRESSOR_EXTENSION = Duration.minutes(AlarmThresholdDefaults.RESTART_SUPPRESSION_EXTENSION_MINUTES);

/** What the broker's alarms are made of. */
export interface BrokerAlarmsContext {
  readonly broker: IRabbitMqBroker;
  readonly thresholds: ResolvedAlarmThresholds;
  readonly overrides: CeleryAlarmOverrides;
  /** Broker ingress per minute (`CeleryMonitoring.metricIngress()`). */
  readonly ingress: cloudwatch.IMetric;
  /** Total maximum workers of the fleets, read at synth (fleets may be added later). */
  readonly maxWorkers: () => number;
  readonly ingressAnomalyDetection: boolean;
  /** The metrics publisher, if it runs: the restart signal and its own errors. */
  readonly metricsPublisher?: BrokerMetricsPublisher;
  /** A three-node cluster: the CPU alarm watches the busiest node. */
  readonly cluster: boolean;
}

/** The broker's alarms (an alarm switched off by its override is undefined) and the pages' suppressor. */
export interface BrokerAlarms {
  readonly brokerIngressAlarm?: cloudwatch.Alarm;
  readonly brokerIngressAnomalyAlarm?: cloudwatch.Alarm;
  readonly brokerNotReportingAlarm?: cloudwatch.Alarm;
  readonly brokerRestartingAlarm?: cloudwatch.Alarm;
  readonly brokerRestartingTooLongAlarm?: cloudwatch.Alarm;
  readonly restartSuppressor?: cloudwatch.CompositeAlarm;
  readonly memoryAlarm?: cloudwatch.Alarm;
  readonly cpuAlarm?: cloudwatch.Alarm;
  readonly diskFreeAlarm?: cloudwatch.Alarm;
  readonly connectionStormAlarm?: cloudwatch.Alarm;
  readonly channelStormAlarm?: cloudwatch.Alarm;
  readonly connectionChurnAlarm?: cloudwatch.Alarm;
  readonly channelChurnAlarm?: cloudwatch.Alarm;
  readonly noConsumersAlarm?: cloudwatch.Alarm;
  readonly backlogAlarm?: cloudwatch.Alarm;
  readonly metricsPublisherErrorsAlarm?: cloudwatch.Alarm;
}

/**
 * The broker's alarms, in `scope`, in the order their construct ids have always been created.
 * Every one but `broker-not-reporting` treats missing data as not breaching.
 */
export function createBrokerAlarms(scope: Construct, alarms: AlarmFactory, ctx: BrokerAlarmsContext): BrokerAlarms {
  const { broker, thresholds: t, overrides: o, ingress, maxWorkers, metricsPublisher, cluster } = ctx;
  const ticket = AlarmRoute.TICKET;
  const missingIsOk = cloudwatch.TreatMissingData.NOT_BREACHING;
  const quietWhenSilent = 'Silent while the broker publishes nothing (creation, reboots, a dead broker: broker-not-reporting covers those).';

  // Ingress: the same metric under both dimension names AWS has documented; whichever exists wins.
  const brokerIngressAlarm = alarms.metricAlarm(o.brokerIngress, {
    id: 'BrokerIngressAlarm',
    nameSuffix: 'broker-ingress',
    metric: ingress,
    threshold: t.brokerIngressBytesPerMinute ?? Lazy.number({ produce: () => brokerIngressThreshold(t, maxWorkers()) }),
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    treatMissingData: missingIsOk,
    route: ticket,
    periodMinutes: 1,
    description: (threshold) => `Broker ${broker.brokerName} received more than ${threshold} bytes in one minute `
      + (o.brokerIngress?.threshold !== undefined || t.brokerIngressBytesPerMinute !== undefined ? '(set explicitly). '
        : `(${maxWorkers()} workers x ${t.ingressBytesPerWorkerPerMinute} bytes, at least ${t.brokerIngressFloorBytesPerMinute}). `)
      + 'Watches NetworkIn by Broker (name) and by BrokerId, whichever AWS publishes. Signature of a mingle storm: joining workers pull '
      + 'every other worker\'s revoked set. Runbook: check the fleets\' network-out and restart alarms; make sure workers run with '
      + `--without-mingle --without-gossip --without-heartbeat; stop synchronised restarts. ${quietWhenSilent}`,
  });

  let brokerIngressAnomalyAlarm: cloudwatch.Alarm | undefined;
  if (ctx.ingressAnomalyDetection && o.brokerIngressAnomaly?.enabled !== false) {
    const anomaly = new cloudwatch.AnomalyDetectionAlarm(scope, 'BrokerIngressAnomalyAlarm', {
      alarmName: alarms.alarmName('broker-ingress-anomaly'),
      alarmDescription: `Broker ${broker.brokerName} ingress is above its learned band (${t.ingressAnomalyStdDevs} standard deviations). `
        + 'Runbook: compare with the broker ingress alarm and the fleets\' restarts. Missing data is not breaching: broker-not-reporting covers a dead broker.',
      metric: broker.metricNetworkIn({ period: MINUTE, statistic: cloudwatch.Stats.SUM }),
      stdDevs: t.ingressAnomalyStdDevs,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_UPPER_THRESHOLD,
      evaluationPeriods: o.brokerIngressAnomaly?.evaluationPeriods ?? 3,
      datapointsToAlarm: o.brokerIngressAnomaly?.datapointsToAlarm ?? o.brokerIngressAnomaly?.evaluationPeriods ?? 2,
      treatMissingData: missingIsOk,
    });
    alarms.route(anomaly, o.brokerIngressAnomaly?.route ?? ticket);
    alarms.orderAfterBroker(anomaly);
    brokerIngressAnomalyAlarm = anomaly;
  }

  // Broker not reporting: the only alarm on missing data. Two documented RabbitMQ broker metrics,
  // so that one metric's hiccup is not a dead broker.
  const brokerNotReportingAlarm = alarms.metricAlarm(o.brokerNotReporting, {
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
  let brokerRestartingAlarm: cloudwatch.Alarm | undefined;
  let brokerRestartingTooLongAlarm: cloudwatch.Alarm | undefined;
  let restartSuppressor: cloudwatch.CompositeAlarm | undefined;
  if (metricsPublisher && o.brokerRestarting?.enabled !== false) {
    const publisher = metricsPublisher;
    brokerRestartingAlarm = alarms.metricAlarm(o.brokerRestarting, {
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
    brokerRestartingTooLongAlarm = alarms.metricAlarm(undefined, {
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
    if (brokerRestartingAlarm && brokerRestartingTooLongAlarm) {
      restartSuppressor = new cloudwatch.CompositeAlarm(scope, 'RestartSuppressor', {
        compositeAlarmName: alarms.alarmName('broker-restarting-suppressor'),
        alarmDescription: `Holds back broker-down-page of broker ${broker.brokerName} while Amazon MQ reports it being created or rebooted, `
          + `for at most ${t.brokerRestartingMaxMinutes} minutes. No actions. Runbook: none; informational.`,
        alarmRule: cloudwatch.AlarmRule.allOf(
          cloudwatch.AlarmRule.fromAlarm(brokerRestartingAlarm, cloudwatch.AlarmState.ALARM),
          cloudwatch.AlarmRule.not(cloudwatch.AlarmRule.fromAlarm(brokerRestartingTooLongAlarm, cloudwatch.AlarmState.ALARM)),
        ),
      });
      alarms.orderAfterBroker(restartSuppressor);
    }
  }

  const memoryAlarm = alarms.metricAlarm(o.memory, {
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

  const cpuAlarm = alarms.metricAlarm(o.cpu, {
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

  const diskFreeAlarm = alarms.metricAlarm(o.diskFree, {
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

  // Connection and channel storms: the same alarm over each count's maximum, against what the
  // fleets hold plus other clients.
  const stormAlarm = (what: 'connections' | 'channels', spec: {
    override: CeleryAlarmOverride | undefined;
    id: string;
    nameSuffix: string;
    count: cloudwatch.IMetric;
    threshold: number;
    explicit: boolean;
    /** How the default threshold is made up (read at synth, when every fleet is known). */
    budget: () => string;
    runbook: string;
  }) => alarms.metricAlarm(spec.override, {
    id: spec.id,
    nameSuffix: spec.nameSuffix,
    metric: spec.count,
    threshold: spec.threshold,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 3,
    datapointsToAlarm: 2,
    treatMissingData: missingIsOk,
    route: ticket,
    periodMinutes: 1,
    description: (threshold) => `Broker ${broker.brokerName} holds more than ${threshold} ${what} (2 of 3 minutes`
      + (spec.explicit ? ', set explicitly). ' : `; ${spec.budget()}). `)
      + `Runbook: ${spec.runbook} ${quietWhenSilent}`,
  });
  const connectionStormAlarm = stormAlarm('connections', {
    override: o.connectionStorm,
    id: 'ConnectionStormAlarm',
    nameSuffix: 'connection-storm',
    count: broker.metricConnectionCount({ period: MINUTE, statistic: cloudwatch.Stats.MAXIMUM }),
    threshold: t.maxConnections ?? Lazy.number({ produce: () => connectionStormThreshold(t, maxWorkers()) }),
    explicit: o.connectionStorm?.threshold !== undefined || t.maxConnections !== undefined,
    budget: () => `${maxWorkers()} workers x ${t.connectionsPerWorker} + ${t.nonWorkerConnections} other clients; a cluster's ConnectionCount is the total`,
    runbook: 'a crash loop reconnecting, or clients leaking connections; check the worker restart alarms.',
  });
  const channelStormAlarm = stormAlarm('channels', {
    override: o.channelStorm,
    id: 'ChannelStormAlarm',
    nameSuffix: 'channel-storm',
    count: broker.metricChannelCount({ period: MINUTE, statistic: cloudwatch.Stats.MAXIMUM }),
    threshold: t.maxChannels ?? Lazy.number({ produce: () => channelStormThreshold(t, maxWorkers()) }),
    explicit: o.channelStorm?.threshold !== undefined || t.maxChannels !== undefined,
    budget: () => `${maxWorkers()} workers x ${t.channelsPerWorker} + ${t.nonWorkerChannels} other channels`,
    runbook: 'look for a client opening a channel per publish, or a reconnect loop.',
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
  }) => alarms.metricAlarm(spec.override, {
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
  const connectionChurnAlarm = churnAlarm('connections', {
    override: o.connectionChurn,
    id: 'ConnectionChurnAlarm',
    nameSuffix: 'connection-churn',
    countName: 'ConnectionCount',
    count: broker.metricConnectionCount({ period: MINUTE, statistic: cloudwatch.Stats.MAXIMUM }),
    threshold: () => connectionChurnThreshold(t, maxWorkers()),
    explicit: o.connectionChurn?.threshold !== undefined || t.maxConnectionsOpenedPerSecond !== undefined,
  });
  const channelChurnAlarm = churnAlarm('channels', {
    override: o.channelChurn,
    id: 'ChannelChurnAlarm',
    nameSuffix: 'channel-churn',
    countName: 'ChannelCount',
    count: broker.metricChannelCount({ period: MINUTE, statistic: cloudwatch.Stats.MAXIMUM }),
    threshold: () => channelChurnThreshold(t, maxWorkers()),
    explicit: o.channelChurn?.threshold !== undefined || t.maxChannelsOpenedPerSecond !== undefined,
  });

  const noConsumersAlarm = alarms.metricAlarm(o.noConsumers, {
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

  const backlogAlarm = alarms.metricAlarm(o.backlog, {
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

  let metricsPublisherErrorsAlarm: cloudwatch.Alarm | undefined;
  if (metricsPublisher) {
    const publisher = metricsPublisher;
    metricsPublisherErrorsAlarm = alarms.metricAlarm(o.metricsPublisherErrors, {
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

  return {
    brokerIngressAlarm,
    brokerIngressAnomalyAlarm,
    brokerNotReportingAlarm,
    brokerRestartingAlarm,
    brokerRestartingTooLongAlarm,
    restartSuppressor,
    memoryAlarm,
    cpuAlarm,
    diskFreeAlarm,
    connectionStormAlarm,
    channelStormAlarm,
    connectionChurnAlarm,
    channelChurnAlarm,
    noConsumersAlarm,
    backlogAlarm,
    metricsPublisherErrorsAlarm,
  };
}
