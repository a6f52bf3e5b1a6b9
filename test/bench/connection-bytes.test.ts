import { spawn } from 'child_process';
import { ByteSnapshot, deltaForGroups, IngressLedger, snapshot } from '../../bench/connection-bytes';
import { celeryInstalls } from '../../test/harness/celery';
import { rabbitMqForThisFile, RabbitMqConnection } from '../../test/harness/rabbitmq';
import { pollUntil, Reaper } from '../../test/harness/reaper';

// The benchmark reads broker ingress from `rabbitmqctl list_connections recv_oct` right after an
// event, without waiting for a statistics refresh. That holds only if the counter is read live.

jest.setTimeout(120_000);

const conn = (name: string, recvOct: number, clientPgid: number | undefined, sendOct = 0): RabbitMqConnection =>
  ({ name, user: 'guest', vhost: 'v', recvOct, sendOct, peerHost: '127.0.0.1', peerPort: 1, clientPids: [], clientPgid });
const snap = (at: number, ...connections: RabbitMqConnection[]): ByteSnapshot => ({ at, connections });

describe('byte accounting', () => {
  test('deltaForGroups: counts only the given groups, new connections from zero', () => {
    const before = snap(0, conn('a', 100, 1, 10), conn('b', 50, 2));
    const after = snap(1, conn('a', 180, 1, 30), conn('b', 90, 2), conn('c', 25, 1, 5), conn('d', 999, undefined));
    expect(deltaForGroups(before, after, [1])).toEqual({ recv: 80 + 25, send: 20 + 5 });
    expect(deltaForGroups(before, after, [2])).toEqual({ recv: 40, send: 0 });
    expect(deltaForGroups(before, after, [3])).toEqual({ recv: 0, send: 0 });
  });

  test('deltaForGroups: a measured connection that closed before the read is an error, not a zero', () => {
    expect(() => deltaForGroups(snap(0, conn('a', 100, 1)), snap(1), [1])).toThrow(/closed before it was read/);
    // Another group's closed connection does not matter.
    expect(deltaForGroups(snap(0, conn('a', 100, 1)), snap(1), [2])).toEqual({ recv: 0, send: 0 });
  });

  test('IngressLedger: connections that come and go count from first to last reading', () => {
    const ledger = new IngressLedger();
    ledger.observe(snap(0, conn('a', 100, 1), conn('b', 10, 2)));
    ledger.observe(snap(1, conn('a', 150, 1), conn('b', 20, 2), conn('c', 30, 3)));
    ledger.observe(snap(2, conn('b', 25, 2), conn('c', 70, 3), conn('d', 5, 4)));
    // a: 50 (then closed), b: 15, c: 70 (opened after the start), d: 5
    expect(ledger.total).toBe(50 + 15 + 70 + 5);
  });
});

describe('recv_oct on RabbitMQ', () => {
  const broker = rabbitMqForThisFile();

  test('is read live: bytes published 20 ms earlier are already counted', async () => {
    const install = celeryInstalls().find((i) => !i.absent);
    expect(install).toBeDefined();
    const reaper = Reaper.start('celery');
    // py-amqp (Celery's transport): one connection, publishes N bytes per line read.
    const client = spawn(install!.python, ['-c', [
      'import sys, amqp',
      `c = amqp.Connection("127.0.0.1:${broker().amqpPort}"); c.connect(); ch = c.channel()`,
      'print("connected", flush=True)',
      'for line in sys.stdin:',
      '    ch.basic_publish(amqp.Message(b"x" * int(line)), exchange="", routing_key="nowhere"); print("sent", flush=True)',
    ].join('\n')], { env: { PATH: '/usr/bin:/bin', ...reaper.env }, detached: true, stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    client.stdout!.on('data', (d) => { out += d; });
    try {
      await pollUntil(() => out.includes('connected'), { timeoutMs: 30_000, what: 'client connected', describe: () => out });
      let last = (await snapshot(broker(), '/')).connections.find((c) => c.clientPgid === client.pid)!.recvOct;
      // Five rounds: with counters refreshed every 5 s, reads this soon would mostly be stale.
      for (let round = 1; round <= 5; round++) {
        out = '';
        client.stdin!.write(`${round * 1000}\n`);
        await pollUntil(() => out.includes('sent'), { timeoutMs: 10_000, intervalMs: 5, what: 'published' });
        await new Promise((resolve) => setTimeout(resolve, 20));
        const now = (await snapshot(broker(), '/')).connections.find((c) => c.clientPgid === client.pid)!.recvOct;
        expect(now - last).toBeGreaterThanOrEqual(round * 1000);
        last = now;
      }
    } finally {
      client.stdin!.end();
      await reaper.reap();
    }
  });
});
