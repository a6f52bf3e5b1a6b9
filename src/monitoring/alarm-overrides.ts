import { Token } from 'aws-cdk-lib';
import { AlarmRoute } from './alarm-route';

/**
 * How one alarm of `CeleryMonitoring` differs from its default, in the spirit of
 * cdk-monitoring-constructs' per-alarm overrides: switched off, re-thresholded, re-timed or
 * re-routed on its own.
 */
export interface CeleryAlarmOverride {
  /**
   * Create the alarm. A page whose components are all disabled is not created either; a disabled
   * component simply drops out of its page's rule.
   * @default true (the opt-in ingress anomaly alarm: `ingressAnomalyDetection`)
   */
  readonly enabled?: boolean;

  /**
   * Where the alarm's notifications go.
   * @default - AlarmRoute.PAGE for the two pages, AlarmRoute.NONE for the signals the
   * `broker-down-page` is made of (`brokerNotReporting`, `brokerRestarting`), AlarmRoute.TICKET
   * for every other alarm
   */
  readonly route?: AlarmRoute;

  /**
   * The threshold, in the unit of the alarm's metric (see the alarm table in the README); wins
   * over the matching field of `thresholds`. Not for pages.
   * @default - from `thresholds` (and the fleets' sizes, for the derived ones)
   */
  readonly threshold?: number;

  /**
   * Periods the alarm looks at. Not for pages.
   * @default - the alarm's own (see the README)
   */
  readonly evaluationPeriods?: number;

  /**
   * Periods out of `evaluationPeriods` that must breach. Not for pages.
   * @default - the alarm's own; `evaluationPeriods` when only that is overridden
   */
  readonly datapointsToAlarm?: number;
}

/** Overrides of the alarms every worker fleet gets (each fleet's alarms are its own). */
export interface CeleryFleetAlarmOverrides {
  /**
   * `<fleet>-network-out`: the fleet's EC2 `NetworkOut` per minute.
   * @default - enabled, AlarmRoute.TICKET
   */
  readonly networkOut?: CeleryAlarmOverride;

  /**
   * `<fleet>-worker-restarts`: worker process restarts per minute.
   * @default - enabled, AlarmRoute.TICKET
   */
  readonly workerRestarts?: CeleryAlarmOverride;

  /**
   * `<fleet>-incompatible-celery`: an instance booted with a Celery older than the broker needs and
   * started no worker.
   * @default - enabled, AlarmRoute.TICKET
   */
  readonly incompatibleCelery?: CeleryAlarmOverride;

  /**
   * `<fleet>-backlog`: ready messages in the fleet's queues (queue metrics only).
   * @default - enabled when queue metrics are available, AlarmRoute.TICKET
   */
  readonly queueBacklog?: CeleryAlarmOverride;

  /**
   * `<fleet>-no-consumers`: a queue of the fleet with messages and no consumer (queue metrics only).
   * @default - enabled when queue metrics are available, AlarmRoute.TICKET
   */
  readonly queueNoConsumers?: CeleryAlarmOverride;
}

/**
 * Per-alarm overrides of `CeleryMonitoring`, one field per alarm (named as in the README table).
 */
export interface CeleryAlarmOverrides {
  /** `broker-ingress`. @default - enabled, AlarmRoute.TICKET */
  readonly brokerIngress?: CeleryAlarmOverride;
  /** `broker-ingress-anomaly` (created with `ingressAnomalyDetection`). @default - AlarmRoute.TICKET */
  readonly brokerIngressAnomaly?: CeleryAlarmOverride;
  /** `broker-not-reporting`. @default - enabled, AlarmRoute.NONE (its page is `broker-down-page`) */
  readonly brokerNotReporting?: CeleryAlarmOverride;
  /**
   * `broker-restarting` (and the `broker-restarting-too-long` cap and the suppressor made of
   * both): disabling it lets the pages notify during creation and reboots.
   * @default - enabled when the metrics publisher is, AlarmRoute.NONE
   */
  readonly brokerRestarting?: CeleryAlarmOverride;
  /** `broker-memory`. @default - enabled, AlarmRoute.TICKET */
  readonly memory?: CeleryAlarmOverride;
  /** `broker-cpu`. @default - enabled, AlarmRoute.TICKET */
  readonly cpu?: CeleryAlarmOverride;
  /** `broker-disk-free`. @default - enabled, AlarmRoute.TICKET */
  readonly diskFree?: CeleryAlarmOverride;
  /** `connection-storm`. @default - enabled, AlarmRoute.TICKET */
  readonly connectionStorm?: CeleryAlarmOverride;
  /** `channel-storm`. @default - enabled, AlarmRoute.TICKET */
  readonly channelStorm?: CeleryAlarmOverride;
  /** `connection-churn`. @default - enabled, AlarmRoute.TICKET */
  readonly connectionChurn?: CeleryAlarmOverride;
  /** `channel-churn`. @default - enabled, AlarmRoute.TICKET */
  readonly channelChurn?: CeleryAlarmOverride;
  /** `no-consumers` (broker-wide). @default - enabled, AlarmRoute.TICKET */
  readonly noConsumers?: CeleryAlarmOverride;
  /** `backlog` (broker-wide). @default - enabled, AlarmRoute.TICKET */
  readonly backlog?: CeleryAlarmOverride;
  /** `metrics-publisher-errors`. @default - enabled with the metrics publisher, AlarmRoute.TICKET */
  readonly metricsPublisherErrors?: CeleryAlarmOverride;
  /** `ingress-storm-page`: only `enabled` and `route` apply. @default - enabled, AlarmRoute.PAGE */
  readonly incidentPage?: CeleryAlarmOverride;
  /** `broker-down-page`: only `enabled` and `route` apply. @default - enabled, AlarmRoute.PAGE */
  readonly brokerDownPage?: CeleryAlarmOverride;
  /**
   * Overrides for the alarms of every fleet; `addFleet` takes overrides of one fleet's alarms,
   * which win over these.
   * @default - none
   */
  readonly fleets?: CeleryFleetAlarmOverrides;
}

/** An override with every field checked; `name` names it in errors (`alarms.memory`). */
export function validateAlarmOverride(name: string, override: CeleryAlarmOverride | undefined, isPage: boolean): void {
  if (!override) return;
  if (isPage) {
    for (const key of ['threshold', 'evaluationPeriods', 'datapointsToAlarm'] as const) {
      if (override[key] !== undefined) {
        throw new Error(`${name}.${key}: ${override[key]} is not allowed on a page (a composite alarm has no threshold or periods); `
          + 'override the alarms it is made of, or use only enabled and route.');
      }
    }
    return;
  }
  const known = (v: number | undefined): v is number => v !== undefined && !Token.isUnresolved(v);
  if (known(override.threshold) && !Number.isFinite(override.threshold)) {
    throw new Error(`${name}.threshold: ${override.threshold} is not allowed; use a finite number`);
  }
  for (const key of ['evaluationPeriods', 'datapointsToAlarm'] as const) {
    const v = override[key];
    if (known(v) && (!Number.isInteger(v) || v < 1)) {
      throw new Error(`${name}.${key}: ${v} is not allowed; use a whole number, 1 or more`);
    }
  }
}

/** Every override of `alarms`, checked; the pages take only `enabled` and `route`. */
export function validateAlarmOverrides(o: CeleryAlarmOverrides): void {
  const pages = ['incidentPage', 'brokerDownPage'];
  for (const [key, value] of Object.entries(o)) {
    if (key === 'fleets') continue;
    validateAlarmOverride(`alarms.${key}`, value as CeleryAlarmOverride | undefined, pages.includes(key));
  }
  if (o.brokerRestarting && (o.brokerRestarting.threshold !== undefined || o.brokerRestarting.evaluationPeriods !== undefined)) {
    throw new Error('alarms.brokerRestarting: only enabled and route apply (the signal is 0 or 1; its cap is thresholds.brokerRestartingMaxMinutes).');
  }
  validateFleetAlarmOverrides('alarms.fleets', o.fleets);
}

/** Every override of one fleet's alarms, checked; `name` names them in errors. */
export function validateFleetAlarmOverrides(name: string, o: CeleryFleetAlarmOverrides | undefined): void {
  for (const [key, value] of Object.entries(o ?? {})) {
    validateAlarmOverride(`${name}.${key}`, value as CeleryAlarmOverride | undefined, false);
  }
}

/** One fleet's overrides over those of every fleet, field by field. */
export function mergeFleetAlarmOverrides(defaults: CeleryFleetAlarmOverrides | undefined,
  own: CeleryFleetAlarmOverrides | undefined): CeleryFleetAlarmOverrides {
  const merge = (a?: CeleryAlarmOverride, b?: CeleryAlarmOverride) => (a || b ? { ...a, ...b } : undefined);
  return {
    networkOut: merge(defaults?.networkOut, own?.networkOut),
    workerRestarts: merge(defaults?.workerRestarts, own?.workerRestarts),
    incompatibleCelery: merge(defaults?.incompatibleCelery, own?.incompatibleCelery),
    queueBacklog: merge(defaults?.queueBacklog, own?.queueBacklog),
    queueNoConsumers: merge(defaults?.queueNoConsumers, own?.queueNoConsumers),
  };
}
