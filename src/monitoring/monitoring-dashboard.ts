import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { IRabbitMqBroker } from '../broker/rabbitmq-broker-ref';
import { ICeleryWorkerFleet } from '../workers/celery-worker-fleet-ref';

/** The broker alarms the dashboard shows. */
export interface BrokerDashboardAlarms {
  readonly incidentAlarm: cloudwatch.IAlarm;
  readonly brokerIngressAlarm: cloudwatch.Alarm;
  readonly memoryAlarm: cloudwatch.Alarm;
  readonly cpuAlarm: cloudwatch.Alarm;
  readonly diskFreeAlarm: cloudwatch.Alarm;
  readonly connectionStormAlarm: cloudwatch.Alarm;
  readonly channelStormAlarm: cloudwatch.Alarm;
  readonly noConsumersAlarm: cloudwatch.Alarm;
  readonly backlogAlarm: cloudwatch.Alarm;
  readonly brokerAlarms: cloudwatch.Alarm[];
}

/** The fleet alarms the dashboard shows. */
export interface FleetDashboardAlarms {
  readonly fleet: ICeleryWorkerFleet;
  readonly networkOutAlarm: cloudwatch.Alarm;
  readonly workerRestartsAlarm: cloudwatch.Alarm;
}

const MINUTE = Duration.minutes(1);

/** Rows for the broker: alarm states first, then ingress, memory, CPU, clients, queues, disk. */
export function addBrokerWidgets(dashboard: cloudwatch.Dashboard, broker: IRabbitMqBroker, alarms: BrokerDashboardAlarms): void {
  dashboard.addWidgets(
    new cloudwatch.AlarmStatusWidget({
      title: `Broker ${broker.brokerName}: page on the first alarm (ingress storm)`,
      alarms: [alarms.incidentAlarm, ...alarms.brokerAlarms],
      width: 24,
      height: 4,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.AlarmWidget({ title: 'Broker ingress (bytes/min)', alarm: alarms.brokerIngressAlarm, width: 8 }),
    new cloudwatch.GraphWidget({
      title: 'Broker network (bytes/min)',
      left: [
        broker.metricNetworkIn({ period: MINUTE, statistic: cloudwatch.Stats.SUM, label: 'NetworkIn' }),
        broker.metricNetworkOut({ period: MINUTE, statistic: cloudwatch.Stats.SUM, label: 'NetworkOut' }),
      ],
      width: 8,
    }),
    new cloudwatch.AlarmWidget({ title: 'RabbitMQ memory (% of limit)', alarm: alarms.memoryAlarm, width: 8 }),
  );
  dashboard.addWidgets(
    new cloudwatch.AlarmWidget({ title: 'Connections', alarm: alarms.connectionStormAlarm, width: 6 }),
    new cloudwatch.AlarmWidget({ title: 'Channels', alarm: alarms.channelStormAlarm, width: 6 }),
    new cloudwatch.GraphWidget({
      title: 'Messages and consumers',
      left: [
        broker.metricMessageReadyCount({ period: MINUTE, statistic: cloudwatch.Stats.MAXIMUM, label: 'Ready' }),
        broker.metricMessageUnacknowledgedCount({ period: MINUTE, statistic: cloudwatch.Stats.MAXIMUM, label: 'Unacknowledged' }),
      ],
      right: [broker.metricConsumerCount({ period: MINUTE, statistic: cloudwatch.Stats.MINIMUM, label: 'Consumers' })],
      leftAnnotations: [alarms.backlogAlarm.toAnnotation()],
      width: 6,
    }),
    new cloudwatch.AlarmWidget({ title: 'CPU (%)', alarm: alarms.cpuAlarm, width: 6 }),
  );
  dashboard.addWidgets(
    new cloudwatch.AlarmWidget({ title: 'Free disk / disk free limit', alarm: alarms.diskFreeAlarm, width: 12 }),
    new cloudwatch.AlarmWidget({ title: 'No consumer while messages wait', alarm: alarms.noConsumersAlarm, width: 12 }),
  );
}

/** One row per fleet: its alarm states, the bytes it sends and receives, its worker restarts. */
export function addFleetWidgets(dashboard: cloudwatch.Dashboard, fleetLabel: string, alarms: FleetDashboardAlarms): void {
  const fleet = alarms.fleet;
  const fiveMinutes = Duration.minutes(5);
  dashboard.addWidgets(
    new cloudwatch.AlarmStatusWidget({
      title: `Fleet ${fleetLabel}`,
      alarms: [alarms.networkOutAlarm, alarms.workerRestartsAlarm],
      width: 6,
      height: 6,
    }),
    new cloudwatch.AlarmWidget({ title: `${fleetLabel}: NetworkOut (bytes/5 min)`, alarm: alarms.networkOutAlarm, width: 6 }),
    new cloudwatch.GraphWidget({
      title: `${fleetLabel}: network (bytes/5 min)`,
      left: [
        fleet.metricNetworkOut({ period: fiveMinutes, statistic: cloudwatch.Stats.SUM, label: 'NetworkOut' }),
        fleet.metricNetworkIn({ period: fiveMinutes, statistic: cloudwatch.Stats.SUM, label: 'NetworkIn' }),
      ],
      width: 6,
    }),
    new cloudwatch.AlarmWidget({ title: `${fleetLabel}: worker restarts (per min)`, alarm: alarms.workerRestartsAlarm, width: 6 }),
  );
}
