import { spawn } from 'child_process';
import { bytesBetween, checkAgainstBroker, countsOf, mismatch, whenQuiet } from '../../bench/connection-bytes';
import { ByteCountingProxy, startByteCountingProxy } from '../../test/harness/byte-proxy';
import { celeryInstalls } from '../../test/harness/celery';
import { rabbitMqForThisFile, RabbitMqConnection } from '../../test/harness/rabbitmq';
import { pollUntil, Reaper } from '../../test/harness/reaper';

// The benchmark counts each client's bytes with a proxy of its own (closed connections included)
// and checks the counts against the broker's `recv_oct`/`send_oct`. Both must hold.

jest.setTimeout(120_000);

const conn = (name: string, peerPort: number, recvOct: number, sendOct = 0, vhost = 'v'): RabbitMqConnection =>
  ({ name, user: 'guest', vhost, recvOct, sendOct, peerHost: '127.0.0.1', peerPort, clientPids: [], clientPgid: undefined });
const links = (...entries: Array<[number, number, number]>) => new Map(entries.map(([port, toServer, toClient]) => [port, { toServer, toClient }]));

describe('byte accounting', () => {
  test('countsOf sums the proxies, bytesBetween subtracts each way', () => {
    const proxy = (toServer: number, toClient: number) => ({ bytesToServer: toServer, bytesToClient: toClient }) as ByteCountingProxy;
    const before = countsOf([proxy(100, 10), proxy(50, 5)]);
    expect(before).toEqual({ toBroker: 150, fromBroker: 15 });
    expect(bytesBetween(before, countsOf([proxy(180, 30), proxy(50, 5), proxy(25, 1)]))).toEqual({ toBroker: 105, fromBroker: 21 });
  });

  test('mismatch: the broker\'s counters must lie between the proxy\'s before and after the listing', () => {
    expect(mismatch('v', links([1, 100, 10]), [conn('a', 1, 150, 20)], links([1, 200, 30]))).toBeUndefined();
    expect(mismatch('v', links([1, 100, 10]), [conn('a', 1, 250, 20)], links([1, 200, 30]))).toMatch(/a: broker received 250, proxy passed 100 to 200/);
    expect(mismatch('v', links([1, 100, 10]), [conn('a', 1, 150, 5)], links([1, 200, 30]))).toMatch(/a: broker sent 5/);
    // A connection that opened during the listing counts from zero.
    expect(mismatch('v', links(), [conn('a', 1, 40, 4)], links([1, 40, 4]))).toBeUndefined();
  });

  test('mismatch: a connection of the vhost that bypasses the proxies is an error; other vhosts do not matter', () => {
    expect(mismatch('v', links([1, 5, 5]), [conn('a', 1, 5, 5), conn('b', 2, 9, 9)], links([1, 5, 5]))).toMatch(/b: not made through a counting proxy/);
    expect(mismatch('v', links([1, 5, 5]), [conn('a', 1, 5, 5), conn('c', 3, 9, 9, 'other')], links([1, 5, 5]))).toBeUndefined();
  });

  test('whenQuiet waits for two equal readings', async () => {
    const readings = [1, 2, 3, 3, 9];
    let i = 0;
    await expect(whenQuiet(() => readings[Math.min(i++, readings.length - 1)], { quietMs: 1, timeoutMs: 5_000, what: 'quiet' })).resolves.toBe(3);
  });
});

describe('a client through the counting proxy, on RabbitMQ', () => {
  const broker = rabbitMqForThisFile();

  test('counts what the broker counts while connected, and keeps counting a connection after it closes', async () => {
    const install = celeryInstalls().find((i) => !i.absent && !i.inRoot);
    expect(install).toBeDefined();
    const proxy = await startByteCountingProxy(broker().amqpPort);
    const reaper = Reaper.start('celery');
    // py-amqp (Celery's transport): one connection, publishes N bytes per line read, closes at EOF.
    const client = spawn(install!.python, ['-c', [
      'import sys, amqp',
      `c = amqp.Connection("127.0.0.1:${proxy.port}"); c.connect(); ch = c.channel()`,
      'print("connected", flush=True)',
      'for line in sys.stdin:',
      '    ch.basic_publish(amqp.Message(b"x" * int(line)), exchange="", routing_key="nowhere"); print("sent", flush=True)',
      'c.close()',
    ].join('\n')], { env: { PATH: '/usr/bin:/bin', ...reaper.env }, detached: true, stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    client.stdout!.on('data', (d) => { out += d; });
    const exited = new Promise((resolve) => client.once('exit', resolve));
    try {
      await pollUntil(() => out.includes('connected'), { timeoutMs: 30_000, what: 'client connected', describe: () => out });
      for (const size of [1_000, 5_000]) {
        out = '';
        const before = proxy.bytesToServer;
        client.stdin!.write(`${size}\n`);
        await pollUntil(() => out.includes('sent'), { timeoutMs: 10_000, intervalMs: 5, what: 'published' });
        await checkAgainstBroker(broker(), '/', [proxy]);
        expect(proxy.bytesToServer - before).toBeGreaterThanOrEqual(size);
      }
      const open = proxy.bytesToServer;
      client.stdin!.end();
      await exited;
      await pollUntil(async () => (await broker().connections()).length === 0, { timeoutMs: 10_000, what: 'connection gone from the broker' });
      // The broker has forgotten the connection; the proxy has not (and counted its close frames).
      expect(proxy.connections).toBe(1);
      expect(proxy.links()[0].open).toBe(false);
      expect(proxy.bytesToServer).toBeGreaterThan(open);
    } finally {
      client.stdin!.end();
      await reaper.reap();
      await proxy.close();
    }
  });
});
