import { BrokerMetricNames } from './broker-metric-names';
import { ManagementQueueStats, RabbitMqManagementClient } from '../access/rabbitmq-management-client';

/*
 * Logic of the broker metrics publisher, apart from the Lambda entry point so that tests can run
 * it against a real RabbitMQ and an emulated CloudWatch. Each run (once a minute):
 * 1. DescribeBroker: publish `BrokerRestarting` = 1 while Amazon MQ creates, reboots or deletes the
 *    broker, or while the broker is younger than the creation grace (its metrics may not flow yet);
 *    0 otherwise. The pages use it as their actions suppressor.
 * 2. Unless the broker is being created, rebooted or deleted: list the queues of each vhost through the management API as
 *    the read-only monitoring user, and publish `MessageReadyCount`, `MessageUnacknowledgedCount`
 *    and `ConsumerCount` for each configured queue (0s for a queue that does not exist yet: nothing
 *    waits in it and nobody consumes it).
 * Everything that could be read is published; failures are then raised together, so that the
 * function's Errors metric (the publisher-errors alarm) counts the run.
 */

/** Broker states in which the broker cannot publish metrics by design. */
export const RESTARTING_STATES: readonly string[] = ['CREATION_IN_PROGRESS', 'REBOOT_IN_PROGRESS', 'DELETION_IN_PROGRESS'];

/** Most metric data CloudWatch accepts in one PutMetricData request. */
export const PUT_METRIC_DATA_BATCH = 1000;

/** A queue to publish, in its vhost. */
export interface PublishedQueue {
  readonly vhost: string;
  readonly queue: string;
}

export interface PublisherConfig {
  readonly brokerId: string;
  readonly brokerName: string;
  /** Base URL of the management API; without it only the broker state is published. */
  readonly managementUrl?: string;
  /** Secret of the monitoring user (JSON `username`, `password`). */
  readonly credentialsSecretArn?: string;
  readonly queues: PublishedQueue[];
  readonly requestTimeoutMs: number;
  /** Minutes after the broker's creation during which it counts as restarting. */
  readonly creationGraceMinutes: number;
}

/** One datapoint, in the shape of the CloudWatch SDK's `MetricDatum`. */
export interface MetricDatum {
  readonly MetricName: string;
  readonly Dimensions: Array<{ Name: string; Value: string }>;
  readonly Value: number;
  readonly Unit: 'Count';
  readonly Timestamp: Date;
}

export interface PublisherDependencies {
  /** DescribeBroker: the broker's state and creation time. */
  readonly describeBroker: (brokerId: string) => Promise<{ state?: string; created?: Date }>;
  readonly getSecretString: (secretArn: string) => Promise<string>;
  /** One PutMetricData request. */
  readonly putMetricData: (namespace: string, data: MetricDatum[]) => Promise<void>;
  readonly now: () => Date;
  readonly log?: (message: string) => void;
}

export interface PublishResult {
  /** The broker state DescribeBroker returned, if it answered. */
  readonly brokerState?: string;
  readonly restarting?: boolean;
  /** Datapoints published. */
  readonly datapoints: number;
  /** PutMetricData requests made. */
  readonly putMetricDataCalls: number;
  /** Management API requests made. */
  readonly managementApiCalls: number;
}

/** Parse the `QUEUES` setting: a JSON array of `{vhost, queue}`. */
export function parseQueues(text: string | undefined): PublishedQueue[] {
  if (!text) return [];
  const parsed = JSON.parse(text) as unknown;
  if (!Array.isArray(parsed) || !parsed.every((q) => typeof q?.vhost === 'string' && typeof q?.queue === 'string')) {
    throw new Error(`QUEUES must be a JSON array of {"vhost": ..., "queue": ...}; got ${text.slice(0, 200)}`);
  }
  return parsed.map((q) => ({ vhost: q.vhost, queue: q.queue }));
}

/** Credentials cached between runs of a warm function; re-read after a 401 (the secret may have been replaced). */
let cachedCredentials: { arn: string; username: string; password: string } | undefined;

/** Forget the cached credentials (tests). */
export function resetCredentialsCache(): void {
  cachedCredentials = undefined;
}

async function credentials(config: PublisherConfig, deps: PublisherDependencies, refresh: boolean): Promise<{ username: string; password: string }> {
  const arn = config.credentialsSecretArn!;
  if (!refresh && cachedCredentials?.arn === arn) return cachedCredentials;
  const parsed = JSON.parse(await deps.getSecretString(arn)) as { username?: unknown; password?: unknown };
  if (typeof parsed.username !== 'string' || typeof parsed.password !== 'string') {
    throw new Error(`The monitoring user's secret (${arn}) must hold string "username" and "password" keys.`);
  }
  cachedCredentials = { arn, username: parsed.username, password: parsed.password };
  return cachedCredentials;
}

export async function publishBrokerMetrics(config: PublisherConfig, deps: PublisherDependencies): Promise<PublishResult> {
  const log = deps.log ?? (() => undefined);
  const now = deps.now();
  const errors: string[] = [];
  const data: MetricDatum[] = [];
  const brokerDimension = { Name: BrokerMetricNames.BROKER_DIMENSION, Value: config.brokerName };

  let brokerState: string | undefined;
  let restarting: boolean | undefined;
  let down = false;
  try {
    const broker = await deps.describeBroker(config.brokerId);
    brokerState = broker.state;
    const young = broker.created !== undefined && now.getTime() - broker.created.getTime() < config.creationGraceMinutes * 60_000;
    down = RESTARTING_STATES.includes(broker.state ?? '');
    restarting = down || young;
    data.push({ MetricName: BrokerMetricNames.BROKER_RESTARTING, Dimensions: [brokerDimension], Value: restarting ? 1 : 0, Unit: 'Count', Timestamp: now });
    log(`Broker ${config.brokerName} (${config.brokerId}) is ${brokerState}${young ? ', created less than the grace ago' : ''}: BrokerRestarting=${restarting ? 1 : 0}`);
  } catch (e) {
    // No datapoint: the pages are then not held back (fail open).
    errors.push(`DescribeBroker ${config.brokerId}: ${(e as Error).message}`);
  }

  let managementApiCalls = 0;
  // A young broker runs and answers; one being rebooted cannot.
  if (config.queues.length > 0 && config.managementUrl && !down) {
    const vhosts = [...new Set(config.queues.map((q) => q.vhost))];
    for (const vhost of vhosts) {
      let stats: ManagementQueueStats[];
      try {
        stats = await listQueues(config, deps, vhost, () => managementApiCalls++);
      } catch (e) {
        errors.push(`queues of vhost ${vhost}: ${(e as Error).message}`);
        continue;
      }
      const byName = new Map(stats.map((s) => [s.name, s]));
      for (const { queue } of config.queues.filter((q) => q.vhost === vhost)) {
        const s = byName.get(queue);
        const dimensions = [
          brokerDimension,
          { Name: BrokerMetricNames.VIRTUAL_HOST_DIMENSION, Value: vhost },
          { Name: BrokerMetricNames.QUEUE_DIMENSION, Value: queue },
        ];
        const datum = (MetricName: string, Value: number): MetricDatum => ({ MetricName, Dimensions: dimensions, Value, Unit: 'Count', Timestamp: now });
        data.push(
          datum(BrokerMetricNames.QUEUE_MESSAGE_READY_COUNT, s?.messagesReady ?? 0),
          datum(BrokerMetricNames.QUEUE_MESSAGE_UNACKNOWLEDGED_COUNT, s?.messagesUnacknowledged ?? 0),
          datum(BrokerMetricNames.QUEUE_CONSUMER_COUNT, s?.consumers ?? 0),
        );
        if (!s) log(`Queue ${queue} does not exist in vhost ${vhost} (yet): published as empty, without consumers`);
      }
    }
  } else if (down) {
    log(`Broker ${brokerState}: queue metrics skipped (its management API cannot answer)`);
  }

  let putMetricDataCalls = 0;
  for (let i = 0; i < data.length; i += PUT_METRIC_DATA_BATCH) {
    try {
      await deps.putMetricData(BrokerMetricNames.NAMESPACE, data.slice(i, i + PUT_METRIC_DATA_BATCH));
      putMetricDataCalls++;
    } catch (e) {
      errors.push(`PutMetricData: ${(e as Error).message}`);
    }
  }
  log(`Published ${data.length} datapoints in ${putMetricDataCalls} PutMetricData request(s) after ${managementApiCalls} management API request(s)`);
  if (errors.length > 0) {
    throw new Error(`Broker metrics publisher: ${errors.join('; ')}`);
  }
  return { brokerState, restarting, datapoints: data.length, putMetricDataCalls, managementApiCalls };
}

async function listQueues(config: PublisherConfig, deps: PublisherDependencies, vhost: string, counted: () => void): Promise<ManagementQueueStats[]> {
  for (const refresh of [false, true]) {
    const user = await credentials(config, deps, refresh);
    const client = new RabbitMqManagementClient({
      baseUrl: config.managementUrl!,
      credentials: user,
      requestTimeoutMs: config.requestTimeoutMs,
      requiredTag: 'monitoring',
    });
    try {
      counted();
      return await client.listQueueStats(vhost);
    } catch (e) {
      if (!refresh && (e as { status?: number }).status === 401) continue;
      throw e;
    }
  }
  throw new Error('unreachable');
}
