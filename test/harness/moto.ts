import { ChildProcess, spawn, spawnSync } from 'child_process';
import { freePortRange, portIsFree } from './ports';
import { pollUntil, Reaper, withTimeout } from './reaper';

/**
 * A private `moto_server` (AWS API emulation, see /work/shared/notes/aws-lint-and-emulation.md)
 * on a free loopback port, for tests whose AWS calls must go over the real wire protocol. Point
 * an SDK v3 client at `endpoint` with `clientConfig`. Like the brokers, it is tagged for the
 * reaper, so a crashed test run cannot leave it behind.
 */
export interface Moto {
  readonly port: number;
  /** `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  /** Options for an AWS SDK v3 client: the endpoint, a Region and dummy credentials. */
  readonly clientConfig: { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } };
  /** Stop the server (idempotent). */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;

/** Start `moto_server` and wait until it answers. */
export async function startMoto(): Promise<Moto> {
  const which = spawnSync('sh', ['-c', 'command -v moto_server'], { encoding: 'utf8' });
  if (which.status !== 0) {
    throw new Error('moto_server is not on the PATH (the machine image provides it through pyenv; see aws-lint-and-emulation.md)');
  }
  const port = await freePortRange(1);
  const reaper = Reaper.start('moto');
  let output = '';
  const child: ChildProcess = spawn(which.stdout.trim(), ['-H', '127.0.0.1', '-p', String(port)], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...reaper.env },
  });
  child.stdout!.on('data', (d) => { output += d; });
  child.stderr!.on('data', (d) => { output += d; });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await pollUntil(async () => !(await portIsFree(port)), {
    timeoutMs: START_TIMEOUT_MS, what: `moto_server on 127.0.0.1:${port}`, describe: () => output.slice(-2000),
  });
  let stopped: Promise<void> | undefined;
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    port,
    endpoint,
    clientConfig: { endpoint, region: 'eu-west-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } },
    stop() {
      stopped ??= (async () => {
        if (child.exitCode === null && child.pid !== undefined) {
          process.kill(child.pid, 'SIGTERM');
          await withTimeout(exited, 10_000, 'moto_server exit').catch(() => undefined);
        }
        await reaper.reap();
      })();
      return stopped;
    },
  };
}

/** The test file's one `moto_server`: started in `beforeAll`, stopped in `afterAll`. */
export function motoForThisFile(): () => Moto {
  let moto: Moto | undefined;
  beforeAll(async () => {
    moto = await startMoto();
  }, START_TIMEOUT_MS + 10_000);
  afterAll(async () => {
    await moto?.stop();
  });
  return () => {
    if (!moto) throw new Error('the moto_server of this file is not running: use it inside tests and hooks');
    return moto;
  };
}
