import { ByteCountingProxy } from '../test/harness/byte-proxy';
import { RabbitMq, RabbitMqConnection } from '../test/harness/rabbitmq';
import { pollUntil } from '../test/harness/reaper';

/**
 * How the benchmark counts bytes: every client it measures (fleet worker, joiner, floor consumer)
 * connects to the broker through a byte-counting proxy of its own (test/harness/byte-proxy.ts).
 * A proxy counts every connection made through it, closed ones included: Celery >= 5.5 on quorum
 * queues declares its delay queues on a short-lived connection, whose bytes vanish from
 * `rabbitmqctl list_connections` when it closes, and a restarted worker's last frames go with its
 * connections. The bytes a proxy passes to the broker are the broker's `recv_oct` on those
 * connections; `checkAgainstBroker` verifies that against the broker's own counters.
 */
export interface ByteCounts {
  /** Bytes the broker received (its ingress). */
  readonly toBroker: number;
  /** Bytes the broker sent. */
  readonly fromBroker: number;
}

export const NO_BYTES: ByteCounts = { toBroker: 0, fromBroker: 0 };

/** What the proxies have passed so far, summed. */
export function countsOf(proxies: readonly ByteCountingProxy[]): ByteCounts {
  return proxies.reduce((sum, p) => ({ toBroker: sum.toBroker + p.bytesToServer, fromBroker: sum.fromBroker + p.bytesToClient }), NO_BYTES);
}

/** `after - before`, each way. */
export function bytesBetween(before: ByteCounts, after: ByteCounts): ByteCounts {
  return { toBroker: after.toBroker - before.toBroker, fromBroker: after.fromBroker - before.fromBroker };
}

/**
 * Resolves `read()` once two readings `quietMs` apart are equal: traffic that was still on its way
 * (a mingle reply of megabytes from a busy worker) has arrived.
 */
export async function whenQuiet(read: () => number, options: { quietMs: number; timeoutMs: number; what: string }): Promise<number> {
  let last: number | undefined;
  return pollUntil(() => {
    const now = read();
    const quiet = now === last;
    last = now;
    return quiet ? now : undefined;
  }, { timeoutMs: options.timeoutMs, intervalMs: options.quietMs, what: options.what, describe: () => `last reading ${last}` });
}

interface LinkReading {
  readonly toServer: number;
  readonly toClient: number;
}

function openLinks(proxies: readonly ByteCountingProxy[]): Map<number, LinkReading> {
  const byPort = new Map<number, LinkReading>();
  for (const proxy of proxies) {
    for (const link of proxy.links()) {
      if (link.open && link.upstreamPort !== undefined) byPort.set(link.upstreamPort, link);
    }
  }
  return byPort;
}

/**
 * What is wrong with the proxies' counts compared with the broker's, or undefined: every
 * connection of `vhost` is one of the proxies' (nobody bypasses the count), and the broker's
 * `recv_oct`/`send_oct` of each lies between the proxy's counts just before and just after the
 * listing (traffic keeps flowing while `rabbitmqctl` runs).
 */
export function mismatch(
  vhost: string, before: Map<number, LinkReading>, connections: RabbitMqConnection[], after: Map<number, LinkReading>,
): string | undefined {
  const problems: string[] = [];
  for (const c of connections.filter((x) => x.vhost === vhost)) {
    const early = before.get(c.peerPort);
    const late = after.get(c.peerPort);
    if (!late && !early) {
      problems.push(`${c.name}: not made through a counting proxy`);
      continue;
    }
    const low = early ?? { toServer: 0, toClient: 0 };
    const high = late ?? early!;
    if (c.recvOct < low.toServer || c.recvOct > high.toServer) problems.push(`${c.name}: broker received ${c.recvOct}, proxy passed ${low.toServer} to ${high.toServer}`);
    if (c.sendOct < low.toClient || c.sendOct > high.toClient) problems.push(`${c.name}: broker sent ${c.sendOct}, proxy passed ${low.toClient} to ${high.toClient}`);
  }
  return problems.length > 0 ? problems.join('; ') : undefined;
}

/**
 * Check the proxies' counts against the broker's own (`rabbitmqctl list_connections`), retried
 * while a connection is just opening or closing; throws when they keep disagreeing.
 */
export async function checkAgainstBroker(
  rabbitmq: RabbitMq, vhost: string, proxies: readonly ByteCountingProxy[], timeoutMs = 30_000,
): Promise<void> {
  let problem: string | undefined;
  await pollUntil(async () => {
    const before = openLinks(proxies);
    const connections = await rabbitmq.connections();
    problem = mismatch(vhost, before, connections, openLinks(proxies));
    return problem === undefined;
  }, { timeoutMs, intervalMs: 500, what: `${vhost}: proxy byte counts equal to the broker's`, describe: () => problem ?? '' });
}
