import { ChildProcess, spawn, spawnSync } from 'child_process';
import { freePortRange, portIsFree } from '../harness/ports';
import { pollUntil, Reaper, withTimeout } from '../harness/reaper';

/**
 * A private `moto_server` (AWS API emulator; test/harness/README.md says what it does and does not emulate)
 * on a free loopback port, for tests where real HTTP and real SDK clients matter. Tagged with a
 * reaper marker, so a crashed test process cannot leave it running.
 */
export interface MotoServer {
  readonly endpoint: string;
  /** Environment for a process that should talk to it with the default credential chain. */
  readonly env: { [name: string]: string };
  stop(): Promise<void>;
}

export const MOTO_REGION = 'eu-west-1';

export function motoServerMissing(): string | undefined {
  const probe = spawnSync('moto_server', ['--help'], { encoding: 'utf8', timeout: 60_000 });
  return probe.status === 0 ? undefined : `moto_server is not on PATH (${probe.error?.message ?? probe.stderr.split('\n')[0]})`;
}

export async function startMotoServer(): Promise<MotoServer> {
  const reaper = Reaper.start('moto');
  const port = await freePortRange(1);
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    env: { ...process.env, ...reaper.env }, stdio: 'ignore', detached: true,
  });
  child.unref();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await pollUntil(async () => !(await portIsFree(port)), { timeoutMs: 60_000, intervalMs: 200, what: `moto_server on 127.0.0.1:${port}` });
  } catch (error) {
    await reaper.reap();
    throw error;
  }
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: MOTO_REGION,
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    stop: async () => {
      child.kill('SIGTERM');
      await withTimeout(exited, 10_000, 'moto_server exit').catch(() => undefined);
      await reaper.reap();
    },
  };
}
