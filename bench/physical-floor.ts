import { spawn } from 'child_process';
import { join } from 'path';
import { deltaForGroups, snapshot } from './connection-bytes';
import { median } from './stats';
import { CeleryInstall } from '../test/harness/celery';
import { RabbitMq } from '../test/harness/rabbitmq';
import { pollUntil, Reaper, withTimeout } from '../test/harness/reaper';

const FLOOR_CONSUMER = join(__dirname, 'floor-consumer.py');

export interface FloorResult {
  readonly celery: string;
  readonly samples: number[];
  readonly median: number;
}

/** Bytes the broker receives from a bare consumer of the worker's queues, connected and consuming. */
export async function measureFloorOnce(broker: RabbitMq, install: CeleryInstall, vhost: string, node: string): Promise<number> {
  // Tagged like every harness process, so a crashed run leaves no consumer behind.
  const before = await snapshot(broker, vhost);
  const reaper = Reaper.start('floor');
  const child = spawn(install.python, [FLOOR_CONSUMER, node], {
    env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', CELERY_BROKER_URL: broker.amqpUrl('guest', 'guest', vhost), ...reaper.env },
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
    const after = await snapshot(broker, vhost);
    const bytes = deltaForGroups(before, after, [child.pid!]).recv;
    if (bytes <= 0) throw new Error(`no connection of the floor consumer (pid ${child.pid}) in ${vhost}`);
    return bytes;
  } finally {
    child.stdin!.end();
    await withTimeout(exited, 10_000, 'floor consumer exit').catch(() => undefined);
    await reaper.reap();
  }
}

export async function measureFloor(broker: RabbitMq, install: CeleryInstall, repetitions: number): Promise<FloorResult> {
  const vhost = `floor-${install.version}`;
  await broker.addVhost(vhost);
  try {
    const samples: number[] = [];
    for (let rep = 1; rep <= repetitions; rep++) samples.push(await measureFloorOnce(broker, install, vhost, `floor-${rep}@bench`));
    return { celery: install.version!, samples, median: median(samples) };
  } finally {
    await broker.ctl(['delete_vhost', vhost]).catch(() => undefined);
  }
}
