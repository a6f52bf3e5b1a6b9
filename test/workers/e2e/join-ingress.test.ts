import { fleetWorkerCommand } from './fleet-command';
import { CeleryWorkerCommand } from '../../../src/workers/render/celery-worker-command';
import {
  CeleryInstall, CeleryWorker, HARNESS_APP, inspect, revokeRandomIds, startWorker, stopAllWorkers, testEachCelery,
} from '../../harness/celery';
import { rabbitMqForThisFile, RabbitMqConnection } from '../../harness/rabbitmq';
import { pollUntil } from '../../harness/reaper';

/**
 * The incident, measured: three running workers each hold 50,000 revoked task ids (Celery's
 * default cap, what expired tasks leave behind); a fourth worker joins. Broker ingress is the
 * growth of `recv_oct` over the vhost's connections, attributed to the joining worker's own
 * connections and to the fleet's (mingle replies arrive on the fleet's connections).
 * The joiner is either the command the fleet construct generates or a default `celery worker`.
 */

jest.setTimeout(170_000);

const REVOKED_IDS = 50_000;
const GENERATED_LIMIT_BYTES = 16 * 1024;
const DEFAULT_FLOOR_BYTES = 1024 * 1024;

const broker = rabbitMqForThisFile({ beforeStop: stopAllWorkers });

interface JoinCost {
  /** Growth of recv_oct over every connection of the vhost. */
  readonly total: number;
  /** Part of it on the fleet's connections (mingle replies). */
  readonly fleet: number;
  /** Part of it on the joining worker's own connections. */
  readonly joiner: number;
}

async function vhostConnections(vhost: string): Promise<RabbitMqConnection[]> {
  return (await broker().connections()).filter((c) => c.vhost === vhost);
}

function recvSum(connections: RabbitMqConnection[]): number {
  return connections.reduce((sum, c) => sum + c.recvOct, 0);
}

/** Start `command`, wait until it is ready and the fleet's byte counters settle; what it cost. */
async function measureJoin(install: CeleryInstall, vhost: string, fleet: CeleryWorker[], command: CeleryWorkerCommand): Promise<JoinCost> {
  const fleetPids = new Set(fleet.map((w) => w.pid));
  const before = new Map((await vhostConnections(vhost)).map((c) => [c.name, c.recvOct]));
  const joiner = startWorker({ install, command, brokerUrl: broker().amqpUrl('guest', 'guest', vhost) });
  try {
    await joiner.waitReady(90_000);
    // Mingle replies come before "ready."; still, wait until the fleet's counters stop moving.
    let last = -1;
    const after = await pollUntil(async () => {
      const now = await vhostConnections(vhost);
      const fleetBytes = recvSum(now.filter((c) => fleetPids.has(c.clientPgid ?? -1)));
      const settled = fleetBytes === last;
      last = fleetBytes;
      return settled ? now : undefined;
    }, { timeoutMs: 30_000, intervalMs: 1_000, what: 'fleet byte counters settled' });
    const delta = (cs: RabbitMqConnection[]) => cs.reduce((sum, c) => sum + c.recvOct - (before.get(c.name) ?? 0), 0);
    const cost = {
      total: delta(after),
      fleet: delta(after.filter((c) => fleetPids.has(c.clientPgid ?? -1))),
      joiner: delta(after.filter((c) => c.clientPgid === joiner.pid)),
    };
    // Every byte is the fleet's or the joiner's: no other client was connected.
    expect(cost.fleet + cost.joiner).toBe(cost.total);
    return cost;
  } finally {
    await joiner.stop();
  }
}

testEachCelery(`a worker joining a fleet that holds ${REVOKED_IDS} revoked ids: generated command < 16 KB of ingress, default > 1 MB`, async (install) => {
  const vhost = `join-${install.version}`;
  await broker().addVhost(vhost);
  const brokerUrl = broker().amqpUrl('guest', 'guest', vhost);

  // The running fleet: the generated command (remote control on, so they answer mingle), with
  // revoked sets allowed to hold Celery's default 50,000 (5.3+ read the bound from the environment).
  const fleet = [1, 2, 3].map((i) => startWorker({
    install, brokerUrl, command: fleetWorkerCommand({ hostname: `fleet-${i}-${install.version}@%h`, concurrency: 1, revokesMax: REVOKED_IDS }),
  }));
  await Promise.all(fleet.map((w) => w.waitReady(60_000)));
  await revokeRandomIds(install, REVOKED_IDS, { brokerUrl, chunk: 5_000 });
  const sizes = await inspect<number>(install, 'revoked', { brokerUrl, nodes: fleet.map((w) => w.nodeName), timeoutSeconds: 30 });
  expect(fleet.map((w) => sizes[w.nodeName])).toEqual([REVOKED_IDS, REVOKED_IDS, REVOKED_IDS]);

  const generated = await measureJoin(install, vhost, fleet, fleetWorkerCommand({ hostname: `joiner-${install.version}@%h`, concurrency: 1 }));
  // `celery -A app worker`, nothing else: what the incident's fleet ran.
  const defaults = await measureJoin(install, vhost, fleet, { argv: ['celery', '-A', HARNESS_APP, 'worker'], environment: {} });

  // eslint-disable-next-line no-console
  console.log(`join ingress, ${install.label}, 3 workers x ${REVOKED_IDS} revoked ids: `
    + `generated ${generated.total} bytes (fleet ${generated.fleet}, joiner ${generated.joiner}); `
    + `default ${defaults.total} bytes (fleet ${defaults.fleet}, joiner ${defaults.joiner})`);
  // Not vacuous: the joiner's own connections were found and counted.
  expect(generated.joiner).toBeGreaterThan(0);
  expect(generated.total).toBeLessThan(GENERATED_LIMIT_BYTES);
  expect(defaults.total).toBeGreaterThan(DEFAULT_FLOOR_BYTES);
  // The megabytes are the fleet's mingle replies, not the joiner's own traffic.
  expect(defaults.fleet).toBeGreaterThan(DEFAULT_FLOOR_BYTES);

  await Promise.all(fleet.map((w) => w.stop()));
});
