import { RabbitMqEngineVersion } from '../src/broker/rabbitmq-engine-version';
import { CeleryQueueType } from '../src/workers/render';
import { producerConfigure } from '../test/harness/client-settings';
import { RABBITMQ_PROFILES, RabbitMq, RabbitMqProfileName } from '../test/harness/rabbitmq';

/**
 * What the benchmark measures against: a broker profile of the test harness, and on RabbitMQ 4
 * the default queue type of the vhosts it creates there. A fleet's vhost on Amazon MQ 4.2 is
 * either: quorum (the broker's default, what CeleryBrokerAccess creates unless told otherwise)
 * or classic (an existing fleet kept on classic queues, `queueType: CeleryQueueType.CLASSIC`).
 */
export interface BrokerSetup {
  /** What `--broker` selects and results are keyed by. */
  readonly name: BrokerSetupName;
  readonly profile: RabbitMqProfileName;
  /** Default queue type of the benchmark's vhosts; unset: the broker's own default (classic on 3.x). */
  readonly vhostQueueType?: 'classic' | 'quorum';
  /** Short column heading, with the RabbitMQ version filled in (`{version}`). */
  readonly heading: string;
  /** What it stands for, for the report's legend. */
  readonly description: string;
}

export type BrokerSetupName = '3.x' | 'amazon-mq-4.2/classic' | 'amazon-mq-4.2/quorum';

export const BROKER_SETUPS: readonly BrokerSetup[] = [
  {
    name: '3.x',
    profile: '3.x',
    heading: 'RabbitMQ {version}',
    description: 'RabbitMQ {version} (profile `3.x`, as Amazon MQ 3.13: classic queues)',
  },
  {
    name: 'amazon-mq-4.2/classic',
    profile: 'amazon-mq-4.2',
    vhostQueueType: 'classic',
    heading: 'RabbitMQ {version}, classic vhost',
    description: 'RabbitMQ {version} (profile `amazon-mq-4.2`) in vhosts whose default queue type is classic; the generated command declares classic queues (`queueType: CeleryQueueType.CLASSIC`)',
  },
  {
    name: 'amazon-mq-4.2/quorum',
    profile: 'amazon-mq-4.2',
    vhostQueueType: 'quorum',
    heading: 'RabbitMQ {version}, quorum vhost',
    description: 'RabbitMQ {version} (profile `amazon-mq-4.2`) in vhosts whose default queue type is quorum, as Amazon MQ 4.2 creates them; the generated command declares quorum queues behind topic exchanges (the engine\'s default); the baseline is a default worker plus only the queue settings it needs to consume there',
  },
];

/**
 * The setups `--broker` names: a setup's name, or a profile (all of its setups). Unset: all.
 */
export function selectBrokerSetups(option?: string): BrokerSetup[] {
  if (option === undefined) return [...BROKER_SETUPS];
  const chosen = BROKER_SETUPS.filter((s) => s.name === option || s.profile === option);
  if (chosen.length === 0) {
    const names = [...new Set(BROKER_SETUPS.flatMap((s) => [s.profile, s.name]))];
    throw new Error(`--broker ${JSON.stringify(option)}: no such broker; use one of ${names.join(', ')}`);
  }
  return chosen;
}

/** A setup's heading for a RabbitMQ version (`RabbitMQ 4.0.5, quorum vhost`). */
export function setupHeading(setup: BrokerSetup, rabbitmqVersion: string): string {
  return setup.heading.replace('{version}', rabbitmqVersion);
}

/** A setup's description for a RabbitMQ version. */
export function setupDescription(setup: BrokerSetup, rabbitmqVersion: string): string {
  return setup.description.replace('{version}', rabbitmqVersion);
}

/** A setup on its running broker: what the fleets, clients and vhosts of the benchmark use. */
export interface BenchBroker {
  readonly setup: BrokerSetup;
  readonly rabbitmq: RabbitMq;
  /** The Amazon MQ engine version the profile stands for: what the generated command is rendered for. */
  readonly engineVersion: RabbitMqEngineVersion;
  /**
   * The task queues' type the generated command declares: classic in a classic vhost of RabbitMQ
   * 4 (declared explicitly, as `queueType: CeleryQueueType.CLASSIC` renders it); otherwise the
   * engine's default (quorum on RabbitMQ 4, none on 3.x).
   */
  readonly queueType?: CeleryQueueType;
  /**
   * The driver's `--configure` file for revokes and inspects: the README's settings for RabbitMQ
   * 4 producers and operators (none on 3.x, where Celery's defaults work).
   */
  readonly clientConfigure?: string;
  /** A vhost with the setup's default queue type, `guest` allowed everything. */
  addVhost(name: string): Promise<void>;
  /** Delete a vhost with everything in it (queues, exchanges); a missing one is no error. */
  deleteVhost(name: string): Promise<void>;
  /** A vhost name unique to this setup (several setups share one RabbitMQ 4 broker). */
  vhostName(purpose: string): string;
}

/**
 * The setup on a broker started with the management plugin: vhosts are created and deleted
 * through its HTTP API, milliseconds each, where every `rabbitmqctl` call boots an Erlang VM
 * (a second or more of the shared cores; the benchmark makes a few hundred). Byte counts never
 * come from there (its connection statistics are sampled, not live).
 */
export function benchBroker(setup: BrokerSetup, rabbitmq: RabbitMq): BenchBroker {
  if (rabbitmq.profile.name !== setup.profile) throw new Error(`${setup.name} needs a ${setup.profile} broker, not ${rabbitmq.profile.name}`);
  if (rabbitmq.managementPort === undefined) throw new Error(`${setup.name}: the benchmark's broker needs the management plugin (startRabbitMq({ management: true }))`);
  const engineVersion = RabbitMqEngineVersion.of(RABBITMQ_PROFILES[setup.profile].engineVersion);
  const classicOnQuorumEngine = setup.vhostQueueType === 'classic' && engineVersion.quorumQueuesByDefault === true;
  const api = async (method: 'PUT' | 'DELETE', path: string, body?: object, allowed: number[] = []) => {
    const response = await fetch(`http://127.0.0.1:${rabbitmq.managementPort}/api/${path}`, {
      method,
      headers: { 'authorization': `Basic ${Buffer.from('guest:guest').toString('base64')}`, 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(60_000),
    });
    if (!response.ok && !allowed.includes(response.status)) throw new Error(`${method} /api/${path}: ${response.status} ${await response.text()}`);
  };
  return {
    setup,
    rabbitmq,
    engineVersion,
    queueType: classicOnQuorumEngine ? CeleryQueueType.CLASSIC : undefined,
    clientConfigure: producerConfigure(rabbitmq.profile, ['celery']),
    addVhost: async (name) => {
      await api('PUT', `vhosts/${encodeURIComponent(name)}`, setup.vhostQueueType ? { default_queue_type: setup.vhostQueueType } : {});
      await api('PUT', `permissions/${encodeURIComponent(name)}/guest`, { configure: '.*', write: '.*', read: '.*' });
    },
    deleteVhost: (name) => api('DELETE', `vhosts/${encodeURIComponent(name)}`, undefined, [404]),
    vhostName: (purpose) => (setup.vhostQueueType ? `${setup.vhostQueueType}-${purpose}` : purpose),
  };
}
