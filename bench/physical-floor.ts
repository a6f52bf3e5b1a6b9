import { spawn } from 'child_process';
import { join } from 'path';
import { BenchBroker, BrokerSetupName } from './broker-setups';
import { checkAgainstBroker, whenQuiet } from './connection-bytes';
import { JOIN_QUIET_MS } from './join-ingress';
import { median } from './stats';
import { workerCommand } from './worker-commands';
import { startByteCountingProxy } from '../test/harness/byte-proxy';
import { CeleryInstall, installCommand } from '../test/harness/celery';
import { pollUntil, Reaper, withTimeout } from '../test/harness/reaper';

const FLOOR_CONSUMER = join(__dirname, 'floor-consumer.py');

/** Which floor: the consumer alone, or also Celery's native delayed-delivery topology (quorum queues). */
export type FloorKind = 'consumer' | 'consumer + delayed delivery';

export interface FloorResult {
  readonly broker: BrokerSetupName;
  readonly celery: string;
  readonly kind: FloorKind;
  readonly samples: number[];
  readonly median: number;
}

/** How the generated command declares the task queue on this broker, for the floor consumer to do the same. */
function floorEnvironment(broker: BenchBroker): { [name: string]: string } {
  const rendered = workerCommand(broker, 'generated', 'x@%h').argv;
  const setting = (key: string) => rendered.find((a) => a.startsWith(`${key}=`))?.slice(key.length + 1).replace(/^\([a-z]+\)/, '');
  const queueType = setting('task_default_queue_type');
  const exchangeType = setting('task_default_exchange_type');
  return { ...(queueType ? { FLOOR_QUEUE_TYPE: queueType } : {}), ...(exchangeType ? { FLOOR_EXCHANGE_TYPE: exchangeType } : {}) };
}

/** Bytes the broker receives from a bare consumer of the worker's queues, connected and consuming (every connection it opened). */
export async function measureFloorOnce(broker: BenchBroker, install: CeleryInstall, vhost: string, node: string, kind: FloorKind): Promise<number> {
  const proxy = await startByteCountingProxy(broker.rabbitmq.amqpPort);
  // Tagged like every harness process, so a crashed run leaves no consumer behind.
  const reaper = Reaper.start('floor');
  const argv = installCommand(install, [install.python, FLOOR_CONSUMER, node], '/');
  const child = spawn(argv[0], argv.slice(1), {
    env: {
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
      LANG: 'C.UTF-8',
      CELERY_BROKER_URL: `amqp://guest:guest@127.0.0.1:${proxy.port}/${encodeURIComponent(vhost)}`,
      ...floorEnvironment(broker),
      ...(kind === 'consumer + delayed delivery' ? { FLOOR_DELAYED_DELIVERY: '1' } : {}),
      ...reaper.env,
    },
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let exitCode: number | null | undefined;
  void exited.then((code) => { exitCode = code; });
  try {
    await pollUntil(() => {
      if (exitCode !== undefined) throw new Error(`floor consumer exited (${exitCode}):\n${out}`);
      return out.includes('ready');
    }, { timeoutMs: 60_000, what: 'floor consumer ready', describe: () => out });
    const bytes = await whenQuiet(() => proxy.bytesToServer, { quietMs: JOIN_QUIET_MS, timeoutMs: 30_000, what: 'floor consumer quiet' });
    if (bytes <= 0) throw new Error(`nothing counted for the floor consumer (pid ${child.pid}) in ${vhost}`);
    await checkAgainstBroker(broker.rabbitmq, vhost, [proxy]);
    return bytes;
  } finally {
    child.stdin!.end();
    await withTimeout(exited, 10_000, 'floor consumer exit').catch(() => undefined);
    await reaper.reap();
    await proxy.close();
  }
}

/**
 * The floor of a worker start on this broker: a bare consumer of the same queues, declared alike.
 * In a quorum vhost also the consumer plus Celery's delayed-delivery topology, which every Celery
 * >= 5.5 worker declares on start there.
 */
export async function measureFloors(broker: BenchBroker, install: CeleryInstall, repetitions: number): Promise<FloorResult[]> {
  const kinds: FloorKind[] = broker.setup.vhostQueueType === 'quorum' ? ['consumer', 'consumer + delayed delivery'] : ['consumer'];
  const results: FloorResult[] = [];
  for (const kind of kinds) {
    const vhost = broker.vhostName(`floor-${install.version}-${kind === 'consumer' ? 'consumer' : 'delayed'}`);
    await broker.addVhost(vhost);
    try {
      const samples: number[] = [];
      for (let rep = 1; rep <= repetitions; rep++) samples.push(await measureFloorOnce(broker, install, vhost, `floor-${rep}@bench`, kind));
      results.push({ broker: broker.setup.name, celery: install.version!, kind, samples, median: median(samples) });
    } finally {
      await broker.deleteVhost(vhost).catch(() => undefined);
    }
  }
  return results;
}
