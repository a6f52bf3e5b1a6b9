import { engineVersionOf, fleetWorkerCommand } from './fleet-command';
import { renderBrokerSettings } from '../../../src/workers/render';
import { startByteCountingProxy } from '../../harness/byte-proxy';
import {
  CeleryInstall, CeleryWorker, HARNESS_APP, WorkerCommandLine, inspect, revokeRandomIds, startWorker, stopAllWorkers, testEachCelery,
} from '../../harness/celery';
import { producerConfigure } from '../../harness/client-settings';
import { describeEachRabbitMqProfile, RabbitMq, rabbitMqForThisFile, RabbitMqConnection, RabbitMqProfile } from '../../harness/rabbitmq';
import { pollUntil } from '../../harness/reaper';

/**
 * The incident, measured: three running workers each hold 50,000 revoked task ids (Celery's
 * default cap, what expired tasks leave behind); a fourth worker joins. Broker ingress is the
 * growth of `recv_oct` over the vhost's connections, attributed to the joining worker's own
 * connections and to the fleet's (mingle replies arrive on the fleet's connections).
 * The joiner is either the command the fleet construct generates or a default `celery worker`
 * (on RabbitMQ 4 with only the queue settings it needs to run there at all). On every broker profile.
 */

jest.setTimeout(170_000);

const REVOKED_IDS = 50_000;
const GENERATED_LIMIT_BYTES = 16 * 1024;
const DEFAULT_FLOOR_BYTES = 1024 * 1024;

interface JoinCost {
  /** Bytes the fleet's connections received while the worker joined (mingle replies). */
  readonly fleet: number;
  /** Bytes the joining worker sent, over every connection it opened, closed ones included. */
  readonly joiner: number;
  /** Both. */
  readonly total: number;
  /** Connections the joining worker opened. */
  readonly joinerConnections: number;
}

async function vhostConnections(broker: RabbitMq, vhost: string): Promise<RabbitMqConnection[]> {
  return (await broker.connections()).filter((c) => c.vhost === vhost);
}

function recvSum(connections: RabbitMqConnection[]): number {
  return connections.reduce((sum, c) => sum + c.recvOct, 0);
}

/**
 * Start `command`, wait until it is ready and the byte counters settle; what it cost. The fleet's
 * share is the growth of the broker's `recv_oct` on the fleet's connections (they stay open);
 * the joiner's is counted by a proxy it connects through, because Celery >= 5.5 declares its delay
 * queues on a short-lived connection whose counters the broker drops when it closes.
 */
async function measureJoin(
  broker: RabbitMq, install: CeleryInstall, vhost: string, fleet: CeleryWorker[], command: WorkerCommandLine,
): Promise<JoinCost> {
  const fleetPids = new Set(fleet.map((w) => w.pid));
  const fleetBytes = async () => recvSum((await vhostConnections(broker, vhost)).filter((c) => fleetPids.has(c.clientPgid ?? -1)));
  const fleetBefore = await fleetBytes();
  const proxy = await startByteCountingProxy(broker.amqpPort);
  const joiner = startWorker({ install, command, brokerUrl: `amqp://guest:guest@127.0.0.1:${proxy.port}/${encodeURIComponent(vhost)}` });
  try {
    await joiner.waitReady(90_000);
    // Mingle replies come before "ready."; still, wait until the fleet's counters stop moving (the
    // joiner's never do when it sends heartbeat events, every 2 s: they count as its own traffic).
    let last = -1;
    const fleetAfter = await pollUntil(async () => {
      const now = await fleetBytes();
      const settled = now === last;
      last = now;
      return settled ? now : undefined;
    }, { timeoutMs: 30_000, intervalMs: 1_000, what: 'fleet byte counters settled' });
    // The proxy counts what the broker counts: on the joiner's open connections, the same bytes.
    const live = await vhostConnections(broker, vhost);
    const open = proxy.links().filter((l) => l.open);
    expect(open.length).toBeGreaterThan(0);
    for (const link of open) {
      expect(live.find((c) => c.peerPort === link.upstreamPort)?.recvOct).toBe(link.toServer);
    }
    // Nobody else is connected: every connection is the fleet's or the joiner's (through the proxy).
    const proxyPorts = new Set(open.map((l) => l.upstreamPort));
    expect(live.filter((c) => !fleetPids.has(c.clientPgid ?? -1) && !proxyPorts.has(c.peerPort))).toEqual([]);
    const fleetCost = fleetAfter - fleetBefore;
    return { fleet: fleetCost, joiner: proxy.bytesToServer, total: fleetCost + proxy.bytesToServer, joinerConnections: proxy.connections };
  } finally {
    await joiner.stop();
    await proxy.close();
  }
}

/**
 * A default `celery worker` (mingle, gossip and heartbeat on, Celery's prefetch, no revoked-set
 * bounds) with only what the broker needs for it to consume at all: nothing on RabbitMQ 3, the
 * quorum-queue settings on RabbitMQ 4.
 */
function defaultWorkerCommand(profile: RabbitMqProfile): WorkerCommandLine {
  const { settings } = renderBrokerSettings({ engineVersion: engineVersionOf(profile) }, { queues: [] });
  const settingArgs = Object.keys(settings).sort().map((key) => `${key}=${settings[key]}`);
  return { argv: ['celery', '-A', HARNESS_APP, 'worker', ...(settingArgs.length > 0 ? ['--', ...settingArgs] : [])], environment: {} };
}

describeEachRabbitMqProfile((profile) => {
  const broker = rabbitMqForThisFile({ profile: profile.name, beforeStop: stopAllWorkers });

  testEachCelery(`a worker joining a fleet that holds ${REVOKED_IDS} revoked ids: generated command < 16 KB of ingress, default > 1 MB`, async (install) => {
    const vhost = `join-${install.version}`;
    await broker().addVhost(vhost);
    const brokerUrl = broker().amqpUrl('guest', 'guest', vhost);

    // The running fleet: the generated command (remote control on, so they answer mingle), with
    // revoked sets allowed to hold Celery's default 50,000 (5.3+ read the bound from the environment).
    const fleet = [1, 2, 3].map((i) => startWorker({
      install, brokerUrl, command: fleetWorkerCommand({ hostname: `fleet-${i}-${install.version}@%h`, concurrency: 1, revokesMax: REVOKED_IDS }, profile),
    }));
    await Promise.all(fleet.map((w) => w.waitReady(60_000)));
    const configure = producerConfigure(profile, ['celery']);
    await revokeRandomIds(install, REVOKED_IDS, { brokerUrl, chunk: 5_000, configure });
    const sizes = await inspect<number>(install, 'revoked', { brokerUrl, nodes: fleet.map((w) => w.nodeName), timeoutSeconds: 30, configure });
    expect(fleet.map((w) => sizes[w.nodeName])).toEqual([REVOKED_IDS, REVOKED_IDS, REVOKED_IDS]);

    const generated = await measureJoin(broker(), install, vhost, fleet, fleetWorkerCommand({ hostname: `joiner-${install.version}@%h`, concurrency: 1 }, profile));
    // `celery -A app worker`, nothing else: what the incident's fleet ran (plus, on RabbitMQ 4, the
    // queue settings without which it cannot consume there at all).
    const defaults = await measureJoin(broker(), install, vhost, fleet, defaultWorkerCommand(profile));

    // eslint-disable-next-line no-console
    console.log(`join ingress, RabbitMQ ${broker().version} (${profile.name}), ${install.label}, 3 workers x ${REVOKED_IDS} revoked ids: `
      + `generated ${generated.total} bytes (fleet ${generated.fleet}, joiner ${generated.joiner} on ${generated.joinerConnections} connections); `
      + `default ${defaults.total} bytes (fleet ${defaults.fleet}, joiner ${defaults.joiner} on ${defaults.joinerConnections} connections)`);
    // Not vacuous: the joiner's own connections were found and counted.
    expect(generated.joiner).toBeGreaterThan(0);
    // Nothing scales with the fleet: no worker of it sent anything for the generated joiner.
    expect(generated.fleet).toBe(0);
    expect(generated.total).toBeLessThan(GENERATED_LIMIT_BYTES);
    expect(defaults.total).toBeGreaterThan(DEFAULT_FLOOR_BYTES);
    // The megabytes are the fleet's mingle replies, not the joiner's own traffic.
    expect(defaults.fleet).toBeGreaterThan(DEFAULT_FLOOR_BYTES);

    await Promise.all(fleet.map((w) => w.stop()));
  }, undefined, { profile });
});
