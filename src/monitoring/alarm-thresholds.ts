import { Token } from 'aws-cdk-lib';

/**
 * Where the default alarm thresholds come from. Every number is either measured (see the
 * incident notes: RabbitMQ 3.10.8, Celery 5.2.6 and 5.6.3) or derived from a measured number.
 */
export class AlarmThresholdDefaults {
  /** Bytes of JSON per revoked task id in a mingle reply (measured: ~98). */
  public static readonly BYTES_PER_REVOKED_ID = 98;

  /** Celery's default cap on the revoked set (`CELERY_WORKER_REVOKES_MAX`). */
  public static readonly REVOKED_IDS_CAP = 50_000;

  /**
   * One mingle reply from a worker whose revoked set is at the cap:
   * 98 bytes x 50,000 ids = 4.9 MB. In the incident every joining worker pulled 29 of these.
   */
  public static readonly MINGLE_REPLY_BYTES_AT_CAP =
    AlarmThresholdDefaults.BYTES_PER_REVOKED_ID * AlarmThresholdDefaults.REVOKED_IDS_CAP;

  /** Broker ingress caused by one worker joining with the safe flags (measured: 9,007 to 9,025 bytes). */
  public static readonly SAFE_JOIN_BYTES = 9_025;

  /** `worker-heartbeat` events of one worker started with default flags: ~200 bytes/s = 12,000 bytes/min. */
  public static readonly DEFAULT_WORKER_HEARTBEAT_BYTES_PER_MINUTE = 200 * 60;

  /**
   * Broker ingress budget per worker per minute: one full mingle reply. A fleet in which every
   * worker pushes a capped revoked set every minute is already storming, while a safe join
   * (9 KB) or a minute of default heartbeats (12 KB) costs under 0.3 % of it.
   */
  public static readonly INGRESS_BYTES_PER_WORKER_PER_MINUTE = AlarmThresholdDefaults.MINGLE_REPLY_BYTES_AT_CAP;

  /**
   * Lowest derived broker ingress threshold: 20 mingle replies at the cap (98 MB per minute),
   * what five default-flag workers restarting together push (5 x 4 replies). Used when the
   * fleets are small or unknown.
   */
  public static readonly BROKER_INGRESS_FLOOR_BYTES_PER_MINUTE = 20 * AlarmThresholdDefaults.MINGLE_REPLY_BYTES_AT_CAP;

  /**
   * Bytes each worker instance may send (`AWS/EC2` `NetworkOut`) per minute before its fleet
   * is named as an ingress source: one mingle reply at the cap, like the broker budget. Raise it
   * when tasks upload large payloads elsewhere (S3, HTTP), which EC2 counts too.
   */
  public static readonly FLEET_NETWORK_OUT_BYTES_PER_WORKER_PER_MINUTE = AlarmThresholdDefaults.MINGLE_REPLY_BYTES_AT_CAP;

  /**
   * RabbitMQ memory used, percent of its high watermark (`RabbitMQMemLimit`). At 100 % the broker
   * blocks every publisher. On mq.m7g.large the limit is 4.3 GiB: the 20 % left at 80 % is about
   * 860 MiB, roughly 180 mingle replies at the cap in flight; one synchronised restart of 30
   * default-flag workers (870 replies, 4.3 GB) is the whole limit. On mq.m5.* the limit is 40 %
   * of the instance RAM.
   */
  public static readonly MEMORY_USED_PERCENT = 80;

  /** Broker system CPU, percent, sustained 5 minutes: headroom to drain a burst before clients time out. */
  public static readonly CPU_UTILIZATION_PERCENT = 85;

  /**
   * Alarm when free disk falls below this multiple of `RabbitMQDiskFreeLimit` (at 1x RabbitMQ
   * blocks publishers): 2 leaves as much again as the broker keeps in reserve.
   */
  public static readonly DISK_FREE_TO_LIMIT_RATIO = 2;

  /**
   * Connections one worker instance may hold: a Celery worker opens about 3 (consumer, remote
   * control/events, producer pool) plus one per pool process that publishes (subtasks, chords).
   * 10 covers a worker with up to 7 publishing processes.
   */
  public static readonly CONNECTIONS_PER_WORKER = 10;

  /** Connections of clients that are not workers of a known fleet (producers, Flower, beat). */
  public static readonly NON_WORKER_CONNECTIONS = 100;

  /**
   * Channels one worker instance may hold: kombu opens one per consumer, per producer and per
   * event dispatcher; prefork children each open a producer channel. 30 = 3 per connection.
   */
  public static readonly CHANNELS_PER_WORKER = 30;

  /** Channels of clients that are not workers of a known fleet (3 per non-worker connection). */
  public static readonly NON_WORKER_CHANNELS = 300;

  /**
   * Ready messages (all queues) that count as a backlog. A Celery task message is 1 to 2 KB,
   * so 100,000 ready messages hold 100 to 200 MB of broker memory (about 5 % of the smallest
   * m7g limit) before they are paged out.
   */
  public static readonly READY_MESSAGES = 100_000;

  /** Minutes the backlog must persist: a burst that the fleet drains within 15 minutes is normal. */
  public static readonly BACKLOG_MINUTES = 15;

  /** Minutes with zero consumers and ready messages before alarming: longer than one rolling-deploy batch. */
  public static readonly NO_CONSUMERS_MINUTES = 3;

  /**
   * Worker process restarts per fleet per minute. A supervised worker restarts with seconds of
   * jitter, so 3 in one minute is a crash loop or a synchronised restart (the incident's
   * midnight restart was 30 in one minute); one or two independent crashes are not.
   */
  public static readonly WORKER_RESTARTS_PER_MINUTE = 3;

  /** Width of the optional ingress anomaly band, in standard deviations. */
  public static readonly INGRESS_ANOMALY_STD_DEVS = 4;

  /**
   * Consecutive minutes without a single broker metric before the broker counts as not
   * reporting. A running Amazon MQ broker publishes every minute; 5 rides out a late datapoint or
   * two, and pages a dead broker within 5 to 6 minutes.
   */
  public static readonly BROKER_NOT_REPORTING_MINUTES = 5;

  /**
   * Longest a broker may be reported restarting (created, rebooted) before the pages stop being
   * held back: Amazon MQ's maintenance can last up to two hours.
   */
  public static readonly BROKER_RESTARTING_MAX_MINUTES = 120;

  /** Consecutive minutes with a failed run of the metrics publisher before it raises a ticket. */
  public static readonly METRICS_PUBLISHER_ERROR_MINUTES = 5;

  /**
   * Seconds in which the fleets may open all the connections (or channels) they can hold: the
   * churn alarms fire on net openings faster than the whole connection budget per minute, twice
   * in three minutes. A reconnect of every client after a broker reboot opens the budget once.
   */
  public static readonly CHURN_BUDGET_SECONDS = 60;

  /**
   * Minutes the broker-down page, once in ALARM, waits for the restart suppressor to go to ALARM
   * before it notifies: the metrics publisher runs once a minute, and on a first deployment the
   * page is created after it. It is also the delay of a real broker-down page (after the
   * `BROKER_NOT_REPORTING_MINUTES`).
   */
  public static readonly RESTART_SUPPRESSION_WAIT_MINUTES = 3;

  /**
   * Minutes the broker-down page stays held back after Amazon MQ reports the broker running
   * again: its metrics resume within a few minutes, and broker-not-reporting needs one datapoint
   * to clear.
   */
  public static readonly RESTART_SUPPRESSION_EXTENSION_MINUTES = 10;

  private constructor() {}
}

/**
 * Alarm thresholds of `CeleryMonitoring`. Every field is optional; see `AlarmThresholdDefaults`
 * for where each default comes from.
 */
export interface CeleryAlarmThresholds {
  /**
   * Broker ingress (`NetworkIn` Sum over one minute), bytes, above which the ingress alarm fires.
   * @default - max(brokerIngressFloorBytesPerMinute, sum of the fleets' maxCapacity x ingressBytesPerWorkerPerMinute)
   */
  readonly brokerIngressBytesPerMinute?: number;

  /**
   * Ingress budget per worker per minute, bytes, used to derive `brokerIngressBytesPerMinute`.
   * @default AlarmThresholdDefaults.INGRESS_BYTES_PER_WORKER_PER_MINUTE (4,900,000: one mingle reply at the revoked-set cap)
   */
  readonly ingressBytesPerWorkerPerMinute?: number;

  /**
   * Lowest derived broker ingress threshold, bytes per minute.
   * @default AlarmThresholdDefaults.BROKER_INGRESS_FLOOR_BYTES_PER_MINUTE (98,000,000)
   */
  readonly brokerIngressFloorBytesPerMinute?: number;

  /**
   * Bytes per worker instance per minute that a fleet may send (`AWS/EC2` `NetworkOut`).
   * The fleet alarm uses 5-minute periods (EC2 basic monitoring), so its threshold is
   * maxCapacity x this x 5.
   * @default AlarmThresholdDefaults.FLEET_NETWORK_OUT_BYTES_PER_WORKER_PER_MINUTE (4,900,000)
   */
  readonly fleetNetworkOutBytesPerWorkerPerMinute?: number;

  /**
   * Width of the optional ingress anomaly-detection band, standard deviations.
   * @default AlarmThresholdDefaults.INGRESS_ANOMALY_STD_DEVS (4)
   */
  readonly ingressAnomalyStdDevs?: number;

  /**
   * RabbitMQ memory used, percent of its memory limit.
   * @default AlarmThresholdDefaults.MEMORY_USED_PERCENT (80)
   */
  readonly memoryUsedPercent?: number;

  /**
   * Broker system CPU utilization, percent, sustained for 5 minutes.
   * @default AlarmThresholdDefaults.CPU_UTILIZATION_PERCENT (85)
   */
  readonly cpuUtilizationPercent?: number;

  /**
   * Alarm when free disk is below this multiple of RabbitMQ's disk free limit. Must exceed 1.
   * @default AlarmThresholdDefaults.DISK_FREE_TO_LIMIT_RATIO (2)
   */
  readonly diskFreeToLimitRatio?: number;

  /**
   * Connections per worker instance that the fleets explain.
   * @default AlarmThresholdDefaults.CONNECTIONS_PER_WORKER (10)
   */
  readonly connectionsPerWorker?: number;

  /**
   * Connections of other clients (producers, Flower, beat).
   * @default AlarmThresholdDefaults.NON_WORKER_CONNECTIONS (100)
   */
  readonly nonWorkerConnections?: number;

  /**
   * Connection count above which the connection storm alarm fires.
   * @default - sum of the fleets' maxCapacity x connectionsPerWorker + nonWorkerConnections
   */
  readonly maxConnections?: number;

  /**
   * Channels per worker instance that the fleets explain.
   * @default AlarmThresholdDefaults.CHANNELS_PER_WORKER (30)
   */
  readonly channelsPerWorker?: number;

  /**
   * Channels of other clients.
   * @default AlarmThresholdDefaults.NON_WORKER_CHANNELS (300)
   */
  readonly nonWorkerChannels?: number;

  /**
   * Channel count above which the channel storm alarm fires.
   * @default - sum of the fleets' maxCapacity x channelsPerWorker + nonWorkerChannels
   */
  readonly maxChannels?: number;

  /**
   * Ready messages (all queues) above which the backlog alarm fires.
   * @default AlarmThresholdDefaults.READY_MESSAGES (100,000)
   */
  readonly readyMessages?: number;

  /**
   * Consecutive minutes the backlog must last.
   * @default AlarmThresholdDefaults.BACKLOG_MINUTES (15)
   */
  readonly backlogMinutes?: number;

  /**
   * Consecutive minutes with no consumer while messages are ready.
   * @default AlarmThresholdDefaults.NO_CONSUMERS_MINUTES (3)
   */
  readonly noConsumersMinutes?: number;

  /**
   * Worker restarts per fleet per minute at or above which the restart alarm fires.
   * @default AlarmThresholdDefaults.WORKER_RESTARTS_PER_MINUTE (3)
   */
  readonly workerRestartsPerMinute?: number;

  /**
   * Net new connections per second (rate of change of `ConnectionCount`) above which the
   * connection churn alarm fires, 2 of 3 minutes.
   * @default - the connection storm threshold / AlarmThresholdDefaults.CHURN_BUDGET_SECONDS (60)
   */
  readonly maxConnectionsOpenedPerSecond?: number;

  /**
   * Net new channels per second (rate of change of `ChannelCount`) above which the channel churn
   * alarm fires, 2 of 3 minutes.
   * @default - the channel storm threshold / AlarmThresholdDefaults.CHURN_BUDGET_SECONDS (60)
   */
  readonly maxChannelsOpenedPerSecond?: number;

  /**
   * Consecutive minutes without any broker metric before `broker-not-reporting` fires.
   * @default AlarmThresholdDefaults.BROKER_NOT_REPORTING_MINUTES (5)
   */
  readonly brokerNotReportingMinutes?: number;

  /**
   * Longest time the broker may be reported restarting before the pages are no longer held back.
   * @default AlarmThresholdDefaults.BROKER_RESTARTING_MAX_MINUTES (120)
   */
  readonly brokerRestartingMaxMinutes?: number;

  /**
   * Consecutive minutes with a failed run of the metrics publisher before its alarm fires.
   * @default AlarmThresholdDefaults.METRICS_PUBLISHER_ERROR_MINUTES (5)
   */
  readonly metricsPublisherErrorMinutes?: number;
}

/** Every threshold, resolved. Derived thresholds are `undefined` when they depend on the fleets. */
export interface ResolvedAlarmThresholds {
  readonly brokerIngressBytesPerMinute?: number;
  readonly ingressBytesPerWorkerPerMinute: number;
  readonly brokerIngressFloorBytesPerMinute: number;
  readonly fleetNetworkOutBytesPerWorkerPerMinute: number;
  readonly ingressAnomalyStdDevs: number;
  readonly memoryUsedPercent: number;
  readonly cpuUtilizationPercent: number;
  readonly diskFreeToLimitRatio: number;
  readonly connectionsPerWorker: number;
  readonly nonWorkerConnections: number;
  readonly maxConnections?: number;
  readonly channelsPerWorker: number;
  readonly nonWorkerChannels: number;
  readonly maxChannels?: number;
  readonly readyMessages: number;
  readonly backlogMinutes: number;
  readonly noConsumersMinutes: number;
  readonly workerRestartsPerMinute: number;
  readonly maxConnectionsOpenedPerSecond?: number;
  readonly maxChannelsOpenedPerSecond?: number;
  readonly brokerNotReportingMinutes: number;
  readonly brokerRestartingMaxMinutes: number;
  readonly metricsPublisherErrorMinutes: number;
}

interface Rule {
  readonly allowed: string;
  readonly ok: (value: number) => boolean;
}

const positive: Rule = { allowed: 'a number greater than 0', ok: v => v > 0 };
const nonNegativeInteger: Rule = { allowed: 'a whole number, 0 or more', ok: v => Number.isInteger(v) && v >= 0 };
const positiveInteger: Rule = { allowed: 'a whole number, 1 or more', ok: v => Number.isInteger(v) && v >= 1 };
const percent: Rule = { allowed: 'a percent greater than 0 and at most 100', ok: v => v > 0 && v <= 100 };
const aboveOne: Rule = {
  allowed: 'a ratio greater than 1 (at 1 RabbitMQ already blocks publishers)',
  ok: v => v > 1,
};
// An alarm may look back at most one day (EvaluationPeriods x Period <= 86,400 s) of 1-minute periods.
const minutesInADay: Rule = {
  allowed: 'a whole number of minutes from 1 to 1440',
  ok: v => Number.isInteger(v) && v >= 1 && v <= 1440,
};

const RULES: { [key: string]: Rule } = {
  brokerIngressBytesPerMinute: positive,
  ingressBytesPerWorkerPerMinute: positive,
  brokerIngressFloorBytesPerMinute: positive,
  fleetNetworkOutBytesPerWorkerPerMinute: positive,
  ingressAnomalyStdDevs: positive,
  memoryUsedPercent: percent,
  cpuUtilizationPercent: percent,
  diskFreeToLimitRatio: aboveOne,
  connectionsPerWorker: positiveInteger,
  nonWorkerConnections: nonNegativeInteger,
  maxConnections: positiveInteger,
  channelsPerWorker: positiveInteger,
  nonWorkerChannels: nonNegativeInteger,
  maxChannels: positiveInteger,
  readyMessages: nonNegativeInteger,
  backlogMinutes: minutesInADay,
  noConsumersMinutes: minutesInADay,
  workerRestartsPerMinute: positiveInteger,
  maxConnectionsOpenedPerSecond: positive,
  maxChannelsOpenedPerSecond: positive,
  brokerNotReportingMinutes: minutesInADay,
  brokerRestartingMaxMinutes: minutesInADay,
  metricsPublisherErrorMinutes: minutesInADay,
};

/**
 * Thresholds other thresholds are computed from (x the fleets' sizes, max with a floor): a
 * CloudFormation value cannot take part in that arithmetic at synth, so it is refused.
 */
const DERIVATION_INPUTS: { [key: string]: string } = {
  ingressBytesPerWorkerPerMinute: 'brokerIngressBytesPerMinute',
  brokerIngressFloorBytesPerMinute: 'brokerIngressBytesPerMinute',
  fleetNetworkOutBytesPerWorkerPerMinute: 'the fleets\' NetworkOut thresholds',
  connectionsPerWorker: 'maxConnections',
  nonWorkerConnections: 'maxConnections',
  channelsPerWorker: 'maxChannels',
  nonWorkerChannels: 'maxChannels',
};

/**
 * Validate the given thresholds and fill in the defaults. Throws an Error naming the prop,
 * the bad value and what is allowed. Tokens are accepted (unchecked) for thresholds used as they
 * are, and refused for those other thresholds are computed from.
 */
export function resolveAlarmThresholds(thresholds: CeleryAlarmThresholds = {}): ResolvedAlarmThresholds {
  const given = thresholds as { [key: string]: unknown };
  for (const [name, value] of Object.entries(given)) {
    if (value === undefined) continue;
    const rule = RULES[name];
    if (!rule) {
      throw new Error(`thresholds.${name} is not a known threshold; known thresholds: ${Object.keys(RULES).join(', ')}`);
    }
    if (typeof value === 'number' && Token.isUnresolved(value)) {
      if (DERIVATION_INPUTS[name]) {
        throw new Error(`thresholds.${name}: a CloudFormation value (token) is not accepted; ${DERIVATION_INPUTS[name]} is computed from it at synth. `
          + `Use a number${DERIVATION_INPUTS[name].startsWith('the') ? '' : `, or give ${DERIVATION_INPUTS[name]} itself (a token is fine there)`}.`);
      }
      continue;
    }
    if (typeof value !== 'number' || !Number.isFinite(value) || !rule.ok(value)) {
      const shown = typeof value === 'number' ? String(value) : `${JSON.stringify(value)} (a ${typeof value})`;
      throw new Error(`thresholds.${name}: ${shown} is not allowed; use ${rule.allowed}`);
    }
  }
  // The churn thresholds are computed from the storm thresholds unless given themselves.
  for (const [storm, churn] of [['maxConnections', 'maxConnectionsOpenedPerSecond'], ['maxChannels', 'maxChannelsOpenedPerSecond']]) {
    const value = given[storm];
    if (typeof value === 'number' && Token.isUnresolved(value) && given[churn] === undefined) {
      throw new Error(`thresholds.${storm}: a CloudFormation value (token) is only accepted with thresholds.${churn}, which is otherwise computed from it at synth. `
        + `Give ${churn} too (a token is fine there), or use a number.`);
    }
  }
  const d = AlarmThresholdDefaults;
  return {
    brokerIngressBytesPerMinute: thresholds.brokerIngressBytesPerMinute,
    ingressBytesPerWorkerPerMinute: thresholds.ingressBytesPerWorkerPerMinute ?? d.INGRESS_BYTES_PER_WORKER_PER_MINUTE,
    brokerIngressFloorBytesPerMinute: thresholds.brokerIngressFloorBytesPerMinute ?? d.BROKER_INGRESS_FLOOR_BYTES_PER_MINUTE,
    fleetNetworkOutBytesPerWorkerPerMinute: thresholds.fleetNetworkOutBytesPerWorkerPerMinute ?? d.FLEET_NETWORK_OUT_BYTES_PER_WORKER_PER_MINUTE,
    ingressAnomalyStdDevs: thresholds.ingressAnomalyStdDevs ?? d.INGRESS_ANOMALY_STD_DEVS,
    memoryUsedPercent: thresholds.memoryUsedPercent ?? d.MEMORY_USED_PERCENT,
    cpuUtilizationPercent: thresholds.cpuUtilizationPercent ?? d.CPU_UTILIZATION_PERCENT,
    diskFreeToLimitRatio: thresholds.diskFreeToLimitRatio ?? d.DISK_FREE_TO_LIMIT_RATIO,
    connectionsPerWorker: thresholds.connectionsPerWorker ?? d.CONNECTIONS_PER_WORKER,
    nonWorkerConnections: thresholds.nonWorkerConnections ?? d.NON_WORKER_CONNECTIONS,
    maxConnections: thresholds.maxConnections,
    channelsPerWorker: thresholds.channelsPerWorker ?? d.CHANNELS_PER_WORKER,
    nonWorkerChannels: thresholds.nonWorkerChannels ?? d.NON_WORKER_CHANNELS,
    maxChannels: thresholds.maxChannels,
    readyMessages: thresholds.readyMessages ?? d.READY_MESSAGES,
    backlogMinutes: thresholds.backlogMinutes ?? d.BACKLOG_MINUTES,
    noConsumersMinutes: thresholds.noConsumersMinutes ?? d.NO_CONSUMERS_MINUTES,
    workerRestartsPerMinute: thresholds.workerRestartsPerMinute ?? d.WORKER_RESTARTS_PER_MINUTE,
    maxConnectionsOpenedPerSecond: thresholds.maxConnectionsOpenedPerSecond,
    maxChannelsOpenedPerSecond: thresholds.maxChannelsOpenedPerSecond,
    brokerNotReportingMinutes: thresholds.brokerNotReportingMinutes ?? d.BROKER_NOT_REPORTING_MINUTES,
    brokerRestartingMaxMinutes: thresholds.brokerRestartingMaxMinutes ?? d.BROKER_RESTARTING_MAX_MINUTES,
    metricsPublisherErrorMinutes: thresholds.metricsPublisherErrorMinutes ?? d.METRICS_PUBLISHER_ERROR_MINUTES,
  };
}

/** Broker ingress threshold, bytes per minute, for fleets that can run `maxWorkers` instances in all. */
export function brokerIngressThreshold(t: ResolvedAlarmThresholds, maxWorkers: number): number {
  return t.brokerIngressBytesPerMinute
    ?? Math.max(t.brokerIngressFloorBytesPerMinute, maxWorkers * t.ingressBytesPerWorkerPerMinute);
}

/** Connection count the fleets (and other clients) can explain. */
export function connectionStormThreshold(t: ResolvedAlarmThresholds, maxWorkers: number): number {
  return t.maxConnections ?? maxWorkers * t.connectionsPerWorker + t.nonWorkerConnections;
}

/** Channel count the fleets (and other clients) can explain. */
export function channelStormThreshold(t: ResolvedAlarmThresholds, maxWorkers: number): number {
  return t.maxChannels ?? maxWorkers * t.channelsPerWorker + t.nonWorkerChannels;
}

/** Bytes one fleet may send per `periodMinutes`. */
export function fleetNetworkOutThreshold(t: ResolvedAlarmThresholds, maxCapacity: number, periodMinutes: number): number {
  return maxCapacity * t.fleetNetworkOutBytesPerWorkerPerMinute * periodMinutes;
}

/** Net new connections per second that the fleets (and other clients) can explain. */
export function connectionChurnThreshold(t: ResolvedAlarmThresholds, maxWorkers: number): number {
  return t.maxConnectionsOpenedPerSecond ?? roundRate(connectionStormThreshold(t, maxWorkers) / AlarmThresholdDefaults.CHURN_BUDGET_SECONDS);
}

/** Net new channels per second that the fleets (and other clients) can explain. */
export function channelChurnThreshold(t: ResolvedAlarmThresholds, maxWorkers: number): number {
  return t.maxChannelsOpenedPerSecond ?? roundRate(channelStormThreshold(t, maxWorkers) / AlarmThresholdDefaults.CHURN_BUDGET_SECONDS);
}

/** Three decimals: readable in the console and the description, exact enough for a threshold. */
function roundRate(perSecond: number): number {
  return Math.round(perSecond * 1000) / 1000;
}
