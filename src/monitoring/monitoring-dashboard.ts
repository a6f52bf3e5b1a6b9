import { Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { BrokerAlarms } from './broker-alarms';
import { IRabbitMqBroker } from '../broker/rabbitmq-broker-ref';
import { ICeleryWorkerFleet } from '../workers/celery-worker-fleet-ref';

/** Dashboard names CloudWatch accepts. */
const DASHBOARD_NAME_FORMAT = /^[A-Za-z0-9_-]{1,255}$/;

/** The broker signals the dashboard shows; a switched-off alarm is undefined and shown as its metric. */
export interface BrokerDashboardSignals {
  readonly pages: cloudwatch.IAlarm[];
  /** Every broker alarm, for the status row. */
  readonly allAlarms: cloudwatch.Alarm[];
  /** Each alarm by name, for its own graph (an alarm switched off shows its metric instead). */
  readonly alarms: BrokerAlarms;
  readonly ingress: cloudwatch.IMetric;
  /** The metrics publisher's restart signal, if it runs. */
  readonly restarting?: cloudwatch.IMetric;
}

/** One queue's metric, labelled with the queue. */
export interface QueueMetric {
  readonly queue: string;
  readonly metric: cloudwatch.IMetric;
}

/** The fleet signals the dashboard shows. */
export interface FleetDashboardSignals {
  readonly fleet: ICeleryWorkerFleet;
  readonly networkOutAlarm?: cloudwatch.Alarm;
  readonly workerRestartsAlarm?: cloudwatch.Alarm;
  readonly incompatibleCeleryAlarm?: cloudwatch.Alarm;
  readonly queueBacklogAlarm?: cloudwatch.Alarm;
  readonly queueNoConsumersAlarm?: cloudwatch.Alarm;
  /** Ready messages per queue (with queue metrics). */
  readonly queueReady: QueueMetric[];
  /** Consumers per queue (with queue metrics). */
  readonly queueConsumers: QueueMetric[];
}

const MINUTE = Duration.minutes(1);

/** The alarm's graph with its threshold, or the metric's when the alarm is switched off. */
function alarmOrGraph(title: string, alarm: cloudwatch.Alarm | undefined, metric: cloudwatch.IMetric, width: number): cloudwatch.IWidget {
  return alarm
    ? new cloudwatch.AlarmWidget({ title, alarm, width })
    : new cloudwatch.GraphWidget({ title: `${title} (alarm off)`, left: [metric], width });
}

/**
 * Rows for the broker: the pages and every alarm's state first, then ingress, reporting and
 * restarts, memory, clients and their churn, queues, CPU and disk.
 */
export function addBrokerWidgets(dashboard: cloudwatch.Dashboard, broker: IRabbitMqBroker, s: BrokerDashboardSignals): void {
  dashboard.addWidgets(
    new cloudwatch.AlarmStatusWidget({
      title: `Broker ${broker.brokerName}: the pages first (ingress storm, broker down), then every alarm`,
      alarms: [...s.pages, ...s.allAlarms],
      width: 24,
      height: 4,
    }),
  );
  dashboard.addWidgets(
    alarmOrGraph('Broker ingress (bytes/min, NetworkIn by Broker or BrokerId)', s.alarms.brokerIngressAlarm, s.ingress, 8),
    new cloudwatch.GraphWidget({
      title: 'Broker network (bytes/min), both dimensions',
      left: [
        broker.metricNetworkIn({ period: MINUTE, statistic: cloudwatch.Stats.SUM, label: 'NetworkIn (Broker)' }),
        broker.metric('NetworkIn', { period: MINUTE, statistic: cloudwatch.Stats.SUM, label: 'NetworkIn (BrokerId)', dimensionsMap: { BrokerId: broker.brokerId } }),
        broker.metricNetworkOut({ period: MINUTE, statistic: cloudwatch.Stats.SUM, label: 'NetworkOut (Broker)' }),
      ],
      width: 8,
    }),
    alarmOrGraph('RabbitMQ memory (% of limit)', s.alarms.memoryAlarm, broker.metricMemoryUsedPercent(), 8),
  );
  const churnAlarms = [s.alarms.connectionChurnAlarm, s.alarms.channelChurnAlarm].filter(isAlarm);
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Broker reporting: datapoints per minute, and restarting (1 = being created or rebooted)',
      left: [broker.metricCpuUtilization({ period: MINUTE, statistic: cloudwatch.Stats.SAMPLE_COUNT, label: 'SystemCpuUtilization datapoints' })],
      right: s.restarting ? [s.restarting] : [],
      leftAnnotations: s.alarms.brokerNotReportingAlarm ? [s.alarms.brokerNotReportingAlarm.toAnnotation()] : [],
      width: 6,
    }),
    alarmOrGraph('Connections', s.alarms.connectionStormAlarm, broker.metricConnectionCount(), 6),
    alarmOrGraph('Channels', s.alarms.channelStormAlarm, broker.metricChannelCount(), 6),
    new cloudwatch.GraphWidget({
      title: 'Churn: net connections and channels opened per second',
      left: churnAlarms.map(a => a.metric),
      leftAnnotations: churnAlarms.map(a => a.toAnnotation()),
      width: 6,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Messages and consumers (all queues)',
      left: [
        broker.metricMessageReadyCount({ period: MINUTE, statistic: cloudwatch.Stats.MAXIMUM, label: 'Ready' }),
        broker.metricMessageUnacknowledgedCount({ period: MINUTE, statistic: cloudwatch.Stats.MAXIMUM, label: 'Unacknowledged' }),
      ],
      right: [broker.metricConsumerCount({ period: MINUTE, statistic: cloudwatch.Stats.MINIMUM, label: 'Consumers' })],
      leftAnnotations: s.alarms.backlogAlarm ? [s.alarms.backlogAlarm.toAnnotation()] : [],
      width: 6,
    }),
    alarmOrGraph('CPU (%)', s.alarms.cpuAlarm, broker.metricCpuUtilization(), 6),
    alarmOrGraph('Free disk / disk free limit', s.alarms.diskFreeAlarm, broker.metricDiskFree(), 6),
    alarmOrGraph('No consumer while messages wait', s.alarms.noConsumersAlarm, broker.metricConsumerCount(), 6),
  );
  if (s.alarms.metricsPublisherErrorsAlarm) {
    dashboard.addWidgets(new cloudwatch.AlarmWidget({ title: 'Metrics publisher: failed runs per minute', alarm: s.alarms.metricsPublisherErrorsAlarm, width: 24, height: 4 }));
  }
}

/** One row per fleet: its alarm states, the bytes it sends, its worker restarts and its queues. */
export function addFleetWidgets(dashboard: cloudwatch.Dashboard, fleetLabel: string, s: FleetDashboardSignals): void {
  const fleet = s.fleet;
  const alarms = [s.networkOutAlarm, s.workerRestartsAlarm, s.incompatibleCeleryAlarm, s.queueBacklogAlarm, s.queueNoConsumersAlarm]
    .filter(isAlarm);
  const queues = s.queueReady.length > 0;
  const width = queues ? 4 : 6;
  dashboard.addWidgets(
    new cloudwatch.AlarmStatusWidget({ title: `Fleet ${fleetLabel}`, alarms, width, height: 6 }),
    alarmOrGraph(`${fleetLabel}: NetworkOut (bytes/min)`, s.networkOutAlarm, fleet.metricNetworkOut(), width),
    new cloudwatch.GraphWidget({
      title: `${fleetLabel}: network (bytes/min)`,
      left: [
        fleet.metricNetworkOut({ period: MINUTE, statistic: cloudwatch.Stats.SUM, label: 'NetworkOut' }),
        fleet.metricNetworkIn({ period: MINUTE, statistic: cloudwatch.Stats.SUM, label: 'NetworkIn' }),
      ],
      width,
    }),
    alarmOrGraph(`${fleetLabel}: worker restarts (per min)`, s.workerRestartsAlarm, fleet.metricWorkerRestarts(), width),
    ...(queues ? [
      new cloudwatch.GraphWidget({
        title: `${fleetLabel}: ready messages per queue`,
        left: s.queueReady.map(q => withLabel(q.metric, `${q.queue} ready`)),
        leftAnnotations: s.queueBacklogAlarm ? [s.queueBacklogAlarm.toAnnotation()] : [],
        width,
      }),
      new cloudwatch.GraphWidget({
        title: `${fleetLabel}: consumers per queue`,
        left: s.queueConsumers.map(q => withLabel(q.metric, `${q.queue} consumers`)),
        width,
      }),
    ] : []),
  );
}

function withLabel(metric: cloudwatch.IMetric, label: string): cloudwatch.IMetric {
  return metric instanceof cloudwatch.Metric ? metric.with({ label }) : metric;
}

/**
 * The dashboard name: the given one, else the alarm name prefix; letters, digits, `-` and `_`, at
 * most 255 characters. Throws (plain `Error`, the caller names the construct) for another.
 */
export function dashboardName(given: string | undefined, alarmNamePrefix: string): string {
  const name = given ?? alarmNamePrefix;
  if (!Token.isUnresolved(name) && !DASHBOARD_NAME_FORMAT.test(name)) {
    throw new Error(`${given !== undefined ? 'dashboardName' : 'alarmNamePrefix (the default dashboardName)'}: ${JSON.stringify(name)} `
      + 'is not a dashboard name CloudWatch accepts; use 1 to 255 letters, digits, - and _.');
  }
  return name;
}

function isAlarm(alarm: cloudwatch.Alarm | undefined): alarm is cloudwatch.Alarm {
  return alarm !== undefined;
}
