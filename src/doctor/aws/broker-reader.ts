import {
  DescribeBrokerCommand, DescribeBrokerResponse, DescribeConfigurationRevisionCommand, MqClient, paginateListBrokers,
} from '@aws-sdk/client-mq';
import { BrokerConfigurationFacts, BrokerFacts } from '../facts';

/** Read-only calls: mq:ListBrokers, mq:DescribeBroker, mq:DescribeConfigurationRevision. */
export const BROKER_READER_ACTIONS = ['mq:ListBrokers', 'mq:DescribeBroker', 'mq:DescribeConfigurationRevision'];

/** A broker that is not there, or not unique. */
export class BrokerNotFoundError extends Error {}

/** Find the broker by name or id (`ListBrokers`: DescribeBroker takes only the id). */
export async function resolveBrokerId(mq: MqClient, nameOrId: string): Promise<string> {
  const matches: string[] = [];
  for await (const page of paginateListBrokers({ client: mq, pageSize: 100 }, {})) {
    for (const b of page.BrokerSummaries ?? []) {
      if (b.BrokerId === nameOrId || b.BrokerName === nameOrId) matches.push(b.BrokerId!);
    }
  }
  if (matches.length === 0) throw new BrokerNotFoundError(`no Amazon MQ broker named or with the id "${nameOrId}" in this account and region`);
  if (matches.length > 1) throw new BrokerNotFoundError(`"${nameOrId}" matches ${matches.length} brokers (${matches.join(', ')}); pass the broker id`);
  return matches[0];
}

/** `consumer_timeout = N` in a Cuttlefish `rabbitmq.conf`; undefined when absent. */
export function consumerTimeoutOf(conf: string): number | undefined {
  const m = /^\s*consumer_timeout\s*=\s*(\d+)\s*$/m.exec(conf);
  return m ? Number(m[1]) : undefined;
}

export async function readBroker(mq: MqClient, nameOrId: string): Promise<BrokerFacts> {
  const id = await resolveBrokerId(mq, nameOrId);
  const b = await mq.send(new DescribeBrokerCommand({ BrokerId: id }));
  const window = b.MaintenanceWindowStartTime;
  return {
    id,
    name: b.BrokerName ?? id,
    engineType: b.EngineType ?? 'unknown',
    engineVersion: b.EngineVersion,
    pendingEngineVersion: b.PendingEngineVersion,
    instanceType: b.HostInstanceType,
    pendingInstanceType: b.PendingHostInstanceType,
    deploymentMode: b.DeploymentMode,
    state: b.BrokerState,
    maintenanceWindow: window ? `${window.DayOfWeek} ${window.TimeOfDay} ${window.TimeZone ?? 'UTC'}` : undefined,
    consoleUrl: b.BrokerInstances?.[0]?.ConsoleURL,
    amqpEndpoints: (b.BrokerInstances ?? []).flatMap((i) => i.Endpoints ?? []).filter((e) => /^amqps?:/.test(e)),
    configuration: await readConfiguration(mq, b),
  };
}

async function readConfiguration(mq: MqClient, b: DescribeBrokerResponse): Promise<BrokerConfigurationFacts | undefined> {
  const current = b.Configurations?.Current;
  if (!current?.Id || current.Revision === undefined) return undefined;
  const pending = b.Configurations?.Pending;
  const base = {
    id: current.Id,
    revision: current.Revision,
    pending: pending?.Id && pending.Revision !== undefined
      && (pending.Id !== current.Id || pending.Revision !== current.Revision)
      ? { id: pending.Id, revision: pending.Revision } : undefined,
  };
  try {
    const rev = await mq.send(new DescribeConfigurationRevisionCommand({
      ConfigurationId: current.Id, ConfigurationRevision: String(current.Revision),
    }));
    const data = Buffer.from(rev.Data ?? '', 'base64').toString('utf8');
    return { ...base, consumerTimeoutMs: consumerTimeoutOf(data) };
  } catch (error) {
    return { ...base, readError: `${(error as Error).name}: ${(error as Error).message}` };
  }
}
