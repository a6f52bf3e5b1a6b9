import { Annotations, Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { AlarmFactory } from './alarm-factory';
import { CeleryFleetAlarmOverrides } from './alarm-overrides';
import { AlarmRoute } from './alarm-route';
import { fleetNetworkOutThreshold, ResolvedAlarmThresholds } from './alarm-thresholds';
import { MAX_ALARM_METRICS, QueueMetricReader, queuesReadyMetric, queuesWithoutConsumersMetric } from './queue-metrics';
import { ICeleryWorkerFleet } from '../workers/celery-worker-fleet-ref';

const MINUTE = Duration.minutes(1);
/** The fleets run with EC2 detailed monitoring: `NetworkOut` by Auto Scaling group per minute. */
const FLEET_NETWORK_PERIOD_MINUTES = 1;

/** Where a fleet's per-queue alarms read their queues. */
export interface FleetQueueMetrics {
  readonly reader: QueueMetricReader;
  /** The source, as the alarm descriptions name it. */
  readonly source: string;
  /** Virtual host of the queues. */
  readonly virtualHost: string;
}

/** What one fleet's alarms are made of. */
export interface FleetAlarmsContext {
  readonly fleet: ICeleryWorkerFleet;
  /** The fleet's part of alarm names and construct ids. */
  readonly namePart: string;
  readonly thresholds: ResolvedAlarmThresholds;
  /** The fleet's overrides, merged over `alarms.fleets`. */
  readonly overrides: CeleryFleetAlarmOverrides;
  /** The per-queue metrics, if any: then the fleet also gets backlog and no-consumer alarms. */
  readonly queues?: FleetQueueMetrics;
}

/** One fleet's alarms; an alarm switched off by its override is undefined. */
export interface FleetAlarmSet {
  readonly networkOutAlarm?: cloudwatch.Alarm;
  readonly workerRestartsAlarm?: cloudwatch.Alarm;
  readonly incompatibleCeleryAlarm?: cloudwatch.Alarm;
  readonly queueBacklogAlarm?: cloudwatch.Alarm;
  readonly queueNoConsumersAlarm?: cloudwatch.Alarm;
}

/** One fleet's alarms, in `scope`, their construct ids prefixed with the fleet's name part. */
export function createFleetAlarms(scope: Construct, alarms: AlarmFactory, ctx: FleetAlarmsContext): FleetAlarmSet {
  const { fleet, namePart, thresholds: t, overrides: o } = ctx;
  const queueVirtualHost = ctx.queues?.virtualHost;
  const ticket = AlarmRoute.TICKET;
  const group = `Worker fleet ${namePart} (Auto Scaling group ${fleet.autoScalingGroupName})`;

  const networkOutAlarm = alarms.metricAlarm(o.networkOut, {
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

  const workerRestartsAlarm = alarms.metricAlarm(o.workerRestarts, {
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

  const incompatibleCeleryAlarm = alarms.metricAlarm(o.incompatibleCelery, {
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
  if (ctx.queues) {
    const reader = ctx.queues.reader;
    const backlogQueues = coveredQueues(scope, fleet, namePart, MAX_ALARM_METRICS, 'backlog');
    const consumerQueues = coveredQueues(scope, fleet, namePart, MAX_ALARM_METRICS / 2, 'no-consumers');
    const source = ctx.queues.source;
    queueBacklogAlarm = alarms.metricAlarm(o.queueBacklog, {
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
      description: (threshold) => `More than ${threshold} messages ready in ${backlogQueues.join(', ')} (vhost ${queueVirtualHost}), the queues of `
        + `${group}, for ${t.backlogMinutes} minutes (${source} queue metrics). Runbook: is the fleet at maxCapacity? Raise it; look for slow or `
        + 'stuck tasks. Missing data is not breaching: queue metrics stop while the broker is down (broker-not-reporting covers it).',
    });
    queueNoConsumersAlarm = alarms.metricAlarm(o.queueNoConsumers, {
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
      description: () => `A queue of ${group} (${consumerQueues.join(', ')}, vhost ${queueVirtualHost}) has ready messages and no consumer for `
        + `${t.noConsumersMinutes} minutes (${source} queue metrics). Runbook: are the fleet's workers running and consuming that queue (-Q)? `
        + 'Check its restart alarm and the worker journal. Missing data is not breaching (broker-not-reporting covers a silent broker).',
    });
  }

  return { networkOutAlarm, workerRestartsAlarm, incompatibleCeleryAlarm, queueBacklogAlarm, queueNoConsumersAlarm };
}

/** The fleet's queues an alarm can cover (CloudWatch's metric limit), with a warning for the rest. */
function coveredQueues(scope: Construct, fleet: ICeleryWorkerFleet, namePart: string, limit: number, alarm: string): string[] {
  if (fleet.queues.length > limit) {
    Annotations.of(scope).addWarningV2(`cdk-celery:fleetQueuesOverAlarmLimit:${namePart}:${alarm}`,
      `Fleet ${namePart} consumes ${fleet.queues.length} queues; its ${alarm} alarm covers the first ${limit} (a CloudWatch alarm reads at most `
      + `${MAX_ALARM_METRICS} metrics): ${fleet.queues.slice(limit).join(', ')} ${fleet.queues.length - limit === 1 ? 'is' : 'are'} watched broker-wide only.`);
  }
  return fleet.queues.slice(0, limit);
}
