import { randomInt } from 'crypto';
import { createServer } from 'net';

// Ports handed out by this process, so two brokers of one jest worker never get the same one.
const handedOut = new Set<number>();

/** Whether `port` can be bound on 127.0.0.1 right now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * `count` consecutive free loopback ports. Drawn at random below Linux's ephemeral range
 * (32768+), so outgoing connections of other suites do not take them between the check and the
 * broker's bind, and parallel suites are unlikely to draw the same.
 */
export async function freePortRange(count = 1): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = randomInt(20_000, 32_000 - count);
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if (ports.some((p) => handedOut.has(p))) continue;
    const free = await Promise.all(ports.map(portIsFree));
    if (free.every(Boolean)) {
      ports.forEach((p) => handedOut.add(p));
      return base;
    }
  }
  throw new Error(`no ${count} consecutive free ports on 127.0.0.1 between 20000 and 32000`);
}
