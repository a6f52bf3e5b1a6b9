import { execFileSync, spawn } from 'child_process';
import { existsSync } from 'fs';
import { join } from 'path';
import {
  CeleryWorker, HARNESS_APP, celeryInstalls, eventsFile, readEvents, sendTasks, startWorker, stopAllWorkers, testEachCelery,
} from './celery';
import { RabbitMq, startRabbitMq } from './rabbitmq';
import { pollUntil, taggedProcesses } from './reaper';
import { renderCeleryWorkerCommand } from '../../src/workers/render';

// Smoke test of the shared harness: a private broker on loopback, real workers of both Celery
// installations, byte counters attributed to the worker that owns the connection, and cleanup
// that leaves no process or file behind, even when the test process is SIGKILLed.

jest.setTimeout(150_000);

let broker: RabbitMq;

beforeAll(async () => {
  broker = await startRabbitMq({ management: true });
}, 150_000);

afterAll(async () => {
  await stopAllWorkers();
  await broker?.stop();
});

/** Listening TCP sockets of the given pids, as `address:port`. */
function listeners(pids: number[]): string[] {
  const out = execFileSync('ss', ['-Hltnp'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => [...l.matchAll(/pid=(\d+)/g)].some((m) => pids.includes(Number(m[1]))))
    .map((l) => l.trim().split(/\s+/)[3]);
}

describe('startRabbitMq', () => {
  test('AMQP, management, distribution and epmd listen on loopback only', () => {
    const sockets = listeners(broker.processIds());
    for (const port of [broker.amqpPort, broker.managementPort!, broker.distPort, broker.epmdPort]) {
      expect(sockets.filter((s) => s.endsWith(`:${port}`)).length).toBeGreaterThan(0);
    }
    // epmd always adds ::1 next to the address it is given; both are loopback.
    expect(sockets.filter((s) => !/^(127\.0\.0\.1|\[::1\]):\d+$/.test(s))).toEqual([]);
  });

  test('ctl talks to this node; the management API answers the admin', async () => {
    expect(await broker.ctl(['eval', 'node().'])).toContain(broker.nodeName);
    const response = await fetch(`http://127.0.0.1:${broker.managementPort}/api/overview`, {
      headers: { authorization: 'Basic ' + Buffer.from('guest:guest').toString('base64') },
    });
    expect(response.status).toBe(200);
    expect((await response.json() as { node: string }).node).toBe(broker.nodeName);
  });

  test('a failing ctl command rejects with its output', async () => {
    await expect(broker.ctl(['delete_user', 'no-such-user'])).rejects.toThrow(/no-such-user/);
  });
});

describe('startWorker', () => {
  testEachCelery('runs the rendered command, processes tasks, and its connections are attributed to it', async (install) => {
    const vhost = `smoke-${install.version}`;
    await broker.addVhost(vhost);
    const url = broker.amqpUrl('guest', 'guest', vhost);
    const command = renderCeleryWorkerCommand({ app: HARNESS_APP, hostname: `smoke-${install.version}@%h`, concurrency: 1 });
    const worker = startWorker({ install, command, brokerUrl: url });
    expect(worker.argv.slice(install.celery.length)).toEqual(command.argv.slice(1));
    expect(worker.env).toMatchObject({ ...command.environment, CELERY_BROKER_URL: url });
    await worker.waitReady();

    const events = eventsFile();
    const ids = await sendTasks(install, 'harness_tasks.record', { brokerUrl: url, count: 5, args: [events.path, 0] });
    await pollUntil(() => readEvents(events.path).filter((e) => e.event === 'done').length === 5, { timeoutMs: 30_000, what: '5 tasks done' });
    expect(readEvents(events.path).filter((e) => e.event === 'done').map((e) => e.id).sort()).toEqual([...ids].sort());
    expect(new Set(readEvents(events.path).map((e) => e.node))).toEqual(new Set([worker.nodeName]));

    const mine = (await broker.connections()).filter((c) => c.vhost === vhost);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((c) => c.clientPgid === worker.pid && c.recvOct > 0)).toBe(true);

    const pids = worker.processIds();
    expect(pids).toContain(worker.pid);
    expect(await worker.stop()).toEqual({ code: 0, signal: null });
    expect(pids.filter((p) => existsSync(`/proc/${p}/environ`) && taggedProcesses(worker.harnessId).includes(p))).toEqual([]);
  });

  testEachCelery('waitReady rejects a worker that exits with a usage error', async (install) => {
    const command = renderCeleryWorkerCommand({ app: HARNESS_APP, hostname: `usage-${install.version}@%h` });
    const misspelt = { ...command, argv: command.argv.map((a) => (a === '--prefetch-multiplier' ? '--prefetch-multiplyer' : a)) };
    const worker: CeleryWorker = startWorker({ install, command: misspelt, brokerUrl: broker.amqpUrl() });
    await expect(worker.waitReady(30_000)).rejects.toThrow(/exited \(2\) before logging[\s\S]*No such option/);
    await worker.stop();
  });
});

describe('cleanup after a crash', () => {
  test('a SIGKILLed test process leaves no broker, epmd, worker or directory behind', async () => {
    const install = celeryInstalls().find((i) => !i.absent);
    expect(install).toBeDefined();
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join(__dirname, 'crash-child.ts')], {
      env: { ...process.env, TS_NODE_PROJECT: join(__dirname, '..', 'tsconfig.json') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => { out += d; });
    child.stderr!.on('data', (d) => { err += d; });
    let exited: string | undefined;
    child.once('exit', (code, signal) => { exited = `${code ?? signal}`; });
    const line = await pollUntil(() => {
      if (out.includes('\n')) return out.split('\n')[0];
      if (exited) throw new Error(`crash child exited (${exited}) before it was ready:\n${out}\n${err}`);
      return undefined;
    }, { timeoutMs: 120_000, what: 'crash child started a broker and a worker', describe: () => `${out}\n${err}` });
    const started = JSON.parse(line) as { broker: string; brokerPids: number[]; dir: string; worker: string; workerPids: number[] };
    expect(started.brokerPids.length).toBeGreaterThanOrEqual(3); // beam.smp, epmd, erl_child_setup at least
    expect(started.workerPids.length).toBeGreaterThanOrEqual(3); // main process and two pool children
    expect(existsSync(started.dir)).toBe(true);

    child.kill('SIGKILL');
    await pollUntil(() => taggedProcesses(started.broker).length === 0 && taggedProcesses(started.worker).length === 0 && !existsSync(started.dir),
      { timeoutMs: 20_000, what: 'reapers cleaned up', describe: () => `broker ${taggedProcesses(started.broker)} worker ${taggedProcesses(started.worker)}` });
  });
});
