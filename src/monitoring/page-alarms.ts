import { Lazy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { AlarmFactory } from './alarm-factory';
import { CeleryAlarmOverrides, validateAlarmOverride } from './alarm-overrides';
import { AlarmRoute } from './alarm-route';
import { ResolvedAlarmThresholds } from './alarm-thresholds';
import { BrokerAlarms, SUPPRESSOR_EXTENSION, SUPPRESSOR_WAIT } from './broker-alarms';
import { BrokerMetricsPublisher } from './broker-metrics-publisher';
import { IRabbitMqBroker } from '../broker/rabbitmq-broker-ref';
import { validateIn } from '../private/validation-error';

/** The alarms the incident page combines. */
export interface IncidentSignals {
  /** Broker ingress, if its alarm is on. */
  readonly brokerIngressAlarm?: cloudwatch.IAlarm;
  /** Each fleet's `NetworkOut`: the ingress signal when the broker's `NetworkIn` is not published. */
  readonly fleetNetworkOutAlarms: Array<cloudwatch.IAlarm | undefined>;
  /** Each fleet's worker restarts. */
  readonly fleetWorkerRestartsAlarms: Array<cloudwatch.IAlarm | undefined>;
  readonly connectionStormAlarm?: cloudwatch.IAlarm;
}

/** What the two pages are made of. */
export interface PageAlarmsContext {
  readonly broker: IRabbitMqBroker;
  readonly thresholds: ResolvedAlarmThresholds;
  readonly overrides: CeleryAlarmOverrides;
  readonly brokerAlarms: BrokerAlarms;
  /** The incident page's signals, read at synth so that fleets added later join its rule. */
  readonly incidentSignals: () => IncidentSignals;
  readonly metricsPublisher?: BrokerMetricsPublisher;
}

/** The two pages; a page switched off (or with no component left) is undefined. */
export interface PageAlarms {
  readonly incidentAlarm?: cloudwatch.CompositeAlarm;
  readonly brokerDownAlarm?: cloudwatch.CompositeAlarm;
}

/**
 * The incident page's rule: (broker ingress OR any fleet's network-out) AND (any fleet's restarts
 * OR a connection storm). A side with no alarm left is false, so the page cannot fire on half of
 * the signature.
 */
export function incidentRule(signals: IncidentSignals): cloudwatch.IAlarmRule {
  const anyOf = (alarms: Array<cloudwatch.IAlarm | undefined>) => {
    const present = alarms.filter(isDefined).map(a => cloudwatch.AlarmRule.fromAlarm(a, cloudwatch.AlarmState.ALARM));
    return present.length > 0 ? cloudwatch.AlarmRule.anyOf(...present) : cloudwatch.AlarmRule.fromBoolean(false);
  };
  return cloudwatch.AlarmRule.allOf(
    anyOf([signals.brokerIngressAlarm, ...signals.fleetNetworkOutAlarms]),
    anyOf([...signals.fleetWorkerRestartsAlarms, signals.connectionStormAlarm]),
  );
}

/**
 * The incident page (`ingress-storm-page`) and the broker-down page (`broker-down-page`, held back
 * by the restart suppressor while Amazon MQ reports the broker being created or rebooted).
 */
export function createPageAlarms(scope: Construct, alarms: AlarmFactory, ctx: PageAlarmsContext): PageAlarms {
  const { broker, thresholds: t, overrides: o, brokerAlarms } = ctx;
  const { restartSuppressor, brokerNotReportingAlarm } = brokerAlarms;
  const pageSuppression = restartSuppressor ? {
    actionsSuppressor: restartSuppressor,
    actionsSuppressorWaitPeriod: SUPPRESSOR_WAIT,
    actionsSuppressorExtensionPeriod: SUPPRESSOR_EXTENSION,
  } : {};

  let incidentAlarm: cloudwatch.CompositeAlarm | undefined;
  validateIn(scope, () => validateAlarmOverride('alarms.incidentPage', o.incidentPage, true));
  if (o.incidentPage?.enabled !== false) {
    incidentAlarm = new cloudwatch.CompositeAlarm(scope, 'IncidentAlarm', {
      compositeAlarmName: alarms.alarmName('ingress-storm-page'),
      alarmDescription: `PAGE. Broker ${broker.brokerName}: an ingress storm (broker NetworkIn, or a fleet's NetworkOut) while workers restart `
        + 'or connections storm, the signature of the mingle incident (synchronised worker restarts pulling every revoked set through the broker). '
        + 'Runbook: stop the restarts (suspend the fleet\'s scheduled actions and instance refresh), make sure workers run with --without-mingle '
        + '--without-gossip --without-heartbeat, then watch broker memory. None of its alarms breaches on missing data.',
      alarmRule: {
        // Rendered at synth so that fleets added later join the rule.
        renderAlarmRule: () => Lazy.string({ produce: () => incidentRule(ctx.incidentSignals()).renderAlarmRule() }),
      },
      // No actions suppressor: its alarms cannot breach on missing data, so creation and reboots
      // cannot page, and a storm right after a reboot (every worker joining) must page at once.
    });
    alarms.route(incidentAlarm, o.incidentPage?.route ?? AlarmRoute.PAGE);
    alarms.orderAfterBroker(incidentAlarm);
  }

  let brokerDownAlarm: cloudwatch.CompositeAlarm | undefined;
  validateIn(scope, () => validateAlarmOverride('alarms.brokerDownPage', o.brokerDownPage, true));
  if (o.brokerDownPage?.enabled !== false && brokerNotReportingAlarm) {
    brokerDownAlarm = new cloudwatch.CompositeAlarm(scope, 'BrokerDownAlarm', {
      compositeAlarmName: alarms.alarmName('broker-down-page'),
      alarmDescription: `PAGE. Broker ${broker.brokerName} has published no metric for ${t.brokerNotReportingMinutes} minutes while Amazon MQ `
        + 'does not report it being created or rebooted: it is down or unreachable. Runbook: Amazon MQ console (state, CRITICAL_ACTION_REQUIRED '
        + 'codes), its general log; reboot a RUNNING but silent broker. Workers reconnect by themselves.',
      alarmRule: cloudwatch.AlarmRule.fromAlarm(brokerNotReportingAlarm, cloudwatch.AlarmState.ALARM),
      ...pageSuppression,
    });
    alarms.route(brokerDownAlarm, o.brokerDownPage?.route ?? AlarmRoute.PAGE);
    alarms.orderAfterBroker(brokerDownAlarm);
    // On a first deployment the publisher runs (and can report the young broker) before the page exists.
    if (restartSuppressor && ctx.metricsPublisher) brokerDownAlarm.node.addDependency(ctx.metricsPublisher);
  }
  return { incidentAlarm, brokerDownAlarm };
}

function isDefined<T>(x: T | undefined): x is T {
  return x !== undefined;
}
