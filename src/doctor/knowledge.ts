import { DEFAULT_CONSUMER_TIMEOUT } from '../broker/rabbitmq-configuration';
import { SUPPORTED_NEW_BROKER_ENGINE_VERSIONS, UPGRADE_ONLY_ENGINE_VERSIONS } from '../broker/rabbitmq-engine-version';
import { REFUSED_INSTANCE_TYPES } from '../broker/rabbitmq-instance-type';
import { AlarmThresholdDefaults } from '../monitoring/alarm-thresholds';
import { DEFAULT_REVOKES_MAX, renderCeleryWorkerCommand } from '../workers/render/celery-worker-command';
import {
  DEFAULT_INSTANCE_LAYOUT, PERIODIC_RESTART_SCRIPT, PERIODIC_RESTART_TIMER, WORKER_UNIT, layoutPath,
} from '../workers/render/instance-layout';
import { WorkerMetricNames } from '../workers/worker-metrics';

/**
 * What the doctor knows, taken from the library itself wherever the library already knows it:
 * the safe worker command is whatever `renderCeleryWorkerCommand` renders by default, so the
 * doctor judges by the same rules the fleet is built with.
 */

/** The library's default worker command, rendered once. */
export const REFERENCE_WORKER_COMMAND = renderCeleryWorkerCommand({ app: 'proj' });

/** The flags the library always renders to turn the broker-heavy bootsteps off. */
export const SAFE_BOOTSTEP_FLAGS = REFERENCE_WORKER_COMMAND.argv.filter((a) => /^--without-/.test(a));

function referenceOption(flag: string): string | undefined {
  const i = REFERENCE_WORKER_COMMAND.argv.indexOf(flag);
  return i >= 0 ? REFERENCE_WORKER_COMMAND.argv[i + 1] : undefined;
}

/** `--prefetch-multiplier` the library renders (1). */
export const SAFE_PREFETCH_MULTIPLIER = Number(referenceOption('--prefetch-multiplier') ?? '1');

/** Settings the library renders after `--` (late acks). */
export const REFERENCE_SETTINGS: { [key: string]: string } = Object.fromEntries(
  REFERENCE_WORKER_COMMAND.argv.slice(REFERENCE_WORKER_COMMAND.argv.indexOf('--') + 1).map((kv) => {
    const eq = kv.indexOf('=');
    return [kv.slice(0, eq), kv.slice(eq + 1)];
  }),
);

/** The environment variables that bound the revoked set (Celery >= 5.3), as the library renders them. */
export const REVOKED_SET_ENV = Object.keys(REFERENCE_WORKER_COMMAND.environment);
/** `CELERY_WORKER_REVOKES_MAX`: the revoked-set cap variable. */
export const REVOKES_MAX_ENV = REVOKED_SET_ENV.find((n) => /REVOKES_MAX$/.test(n)) ?? 'CELERY_WORKER_REVOKES_MAX';
/** The cap the library renders by default. */
export const LIBRARY_REVOKES_MAX = DEFAULT_REVOKES_MAX;
/** Celery's own cap (hard-coded in 5.0 to 5.2, the default of `CELERY_WORKER_REVOKES_MAX` from 5.3). */
export const CELERY_REVOKES_MAX = AlarmThresholdDefaults.REVOKED_IDS_CAP;
/** Celery's default `--prefetch-multiplier`. */
export const CELERY_DEFAULT_PREFETCH_MULTIPLIER = 4;

/** Bytes of JSON per revoked id in a mingle reply (measured). */
export const BYTES_PER_REVOKED_ID = AlarmThresholdDefaults.BYTES_PER_REVOKED_ID;
/** Broker ingress of one safe join (measured). */
export const SAFE_JOIN_BYTES = AlarmThresholdDefaults.SAFE_JOIN_BYTES;
/** One worker's heartbeat events per minute with default flags (measured). */
export const HEARTBEAT_BYTES_PER_MINUTE = AlarmThresholdDefaults.DEFAULT_WORKER_HEARTBEAT_BYTES_PER_MINUTE;
/** Memory used above this percent of the limit is an alarm in the library's monitoring. */
export const MEMORY_USED_PERCENT = AlarmThresholdDefaults.MEMORY_USED_PERCENT;

/** Amazon MQ's `consumer_timeout` when the configuration does not set it (30 minutes). */
export const AMAZON_MQ_DEFAULT_CONSUMER_TIMEOUT_MS = 1_800_000;
/** The library's `consumer_timeout`. */
export const LIBRARY_CONSUMER_TIMEOUT_MS = DEFAULT_CONSUMER_TIMEOUT.toMilliseconds();

export const CURRENT_ENGINE_VERSIONS = [...SUPPORTED_NEW_BROKER_ENGINE_VERSIONS, ...UPGRADE_ONLY_ENGINE_VERSIONS];
export { REFUSED_INSTANCE_TYPES };
/** Instance types meant for evaluation only. */
export const EVALUATION_INSTANCE_TYPES = ['mq.m7g.medium'];

/** The library's worker metrics (restart counts), to line ingress peaks up with restarts. */
export const WORKER_METRICS = {
  namespace: WorkerMetricNames.NAMESPACE,
  restarts: WorkerMetricNames.WORKER_RESTARTS,
  groupDimension: WorkerMetricNames.AUTO_SCALING_GROUP_DIMENSION,
};

/** Markers of the library's own instance layout in user data. */
export const LIBRARY_LAYOUT = {
  workerUnit: WORKER_UNIT,
  periodicRestartTimer: PERIODIC_RESTART_TIMER,
  periodicRestartScript: layoutPath(DEFAULT_INSTANCE_LAYOUT.libexecDir, PERIODIC_RESTART_SCRIPT),
  bootScriptBanner: 'cdk-celery worker instance boot script',
};

/** Amazon MQ namespace and the dimension keys it is documented (or rumoured) to use. */
export const AMAZON_MQ_NAMESPACE = 'AWS/AmazonMQ';
export const BROKER_DIMENSION_KEYS = ['Broker', 'BrokerId'];

/** Celery releases that matter for the checks. */
export const CELERY_VERSIONS = {
  /** 5.0 to 5.2 exit 0 after "Unrecoverable error"; the unpicklable retry crash is fixed in 5.3.0. */
  exitZeroFixed: '5.3.0',
  /** Revoked-set caps are read from the environment from 5.3.0. */
  revokedEnv: '5.3.0',
  /** Quorum queue support (`task_default_queue_type`, `worker_detect_quorum_queues`). */
  quorum: '5.5.0',
  /** `control_queue_exclusive` / `event_queue_exclusive`. */
  exclusiveControlQueues: '5.6.0',
};
