import { RabbitMq, RabbitMqConnection } from '../test/harness/rabbitmq';

/**
 * Broker byte counters of one vhost at one moment. `rabbitmqctl list_connections recv_oct` asks
 * each connection process, which reads its socket's counters on the spot (a 20 ms old send is
 * already counted on RabbitMQ 3.10), so no wait for a statistics refresh is needed. A closed
 * connection drops out of the list: whoever is measured must stay connected until read.
 */
export interface ByteSnapshot {
  /** `Date.now()` when the listing returned. */
  readonly at: number;
  readonly connections: RabbitMqConnection[];
}

export async function snapshot(broker: RabbitMq, vhost: string): Promise<ByteSnapshot> {
  const connections = (await broker.connections()).filter((c) => c.vhost === vhost);
  return { at: Date.now(), connections };
}

export interface ByteDelta {
  /** Bytes the broker received on these connections between the snapshots (ingress). */
  readonly recv: number;
  /** Bytes the broker sent on them. */
  readonly send: number;
}

/**
 * Bytes on the connections of the given client process groups between two snapshots. A connection
 * first seen in `after` counts from zero. A measured connection missing from `after` means its
 * bytes cannot be read: that is an error, not a zero.
 */
export function deltaForGroups(before: ByteSnapshot, after: ByteSnapshot, pgids: number[]): ByteDelta {
  const afterByName = new Map(after.connections.map((c) => [c.name, c]));
  for (const c of before.connections) {
    if (c.clientPgid !== undefined && pgids.includes(c.clientPgid) && !afterByName.has(c.name)) {
      throw new Error(`connection ${c.name} of process group ${c.clientPgid} closed before it was read`);
    }
  }
  const beforeByName = new Map(before.connections.map((c) => [c.name, c]));
  let recv = 0;
  let send = 0;
  for (const c of after.connections) {
    if (c.clientPgid === undefined || !pgids.includes(c.clientPgid)) continue;
    recv += c.recvOct - (beforeByName.get(c.name)?.recvOct ?? 0);
    send += c.sendOct - (beforeByName.get(c.name)?.sendOct ?? 0);
  }
  return { recv, send };
}

/**
 * Ingress over a period in which connections come and go (restart waves): each connection counts
 * from its first reading (zero if it opened during the period) to its last. A connection that
 * closes counts up to the last snapshot that saw it, so read just before stopping a worker.
 */
export class IngressLedger {
  private readonly first = new Map<string, number>();
  private readonly last = new Map<string, number>();
  private started = false;

  /** Add a snapshot; the first one sets the starting counters. */
  public observe(s: ByteSnapshot): void {
    for (const c of s.connections) {
      if (!this.first.has(c.name)) this.first.set(c.name, this.started ? 0 : c.recvOct);
      this.last.set(c.name, c.recvOct);
    }
    this.started = true;
  }

  public get total(): number {
    let sum = 0;
    for (const [name, last] of this.last) sum += last - this.first.get(name)!;
    return sum;
  }
}
