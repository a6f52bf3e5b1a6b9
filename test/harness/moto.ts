import { ChildProcess, spawn, spawnSync } from 'child_process';
import { freePortRange } from './ports';
import { pollUntil, Reaper, withTimeout } from './reaper';

/**
 * A private `moto_server` (moto 5, on the CI image through pyenv): the real AWS wire protocols on
 * loopback, for tests of handlers with real SDK clients (request serialisation, error parsing)
 * where a client mock would skip them. It emulates APIs, not AWS's rules or timings.
 */
export interface Moto {
  /** `http://127.0.0.1:PORT`, for the SDK's `endpoint`. */
  readonly endpoint: string;
  /** SDK client configuration: the endpoint, a Region and throwaway credentials. */
  readonly clientConfig: { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } };
  /** Environment that points an SDK client created without configuration (a Lambda module's) at it. */
  readonly env: { [name: string]: string };
  stop(): Promise<void>;
}

export const MOTO_REGION = 'eu-west-1';

/** Why moto_server cannot run here, or undefined. */
export function motoUnavailable(): string | undefined {
  const which = spawnSync('sh', ['-c', 'command -v moto_server'], { encoding: 'utf8' });
  return which.status === 0 ? undefined : 'moto_server is not on PATH (it comes with the CI image\'s Python 3.11 through pyenv; elsewhere: pip install "moto[server]==5.*")';
}

export async function startMoto(): Promise<Moto> {
  const unavailable = motoUnavailable();
  if (unavailable) throw new Error(`cannot start moto_server: ${unavailable}`);
  const port = await freePortRange(1);
  const reaper = Reaper.start('moto');
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    env: { ...process.env, ...reaper.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
  });
  let output = '';
  child.stdout!.on('data', (d) => { output += d; });
  child.stderr!.on('data', (d) => { output += d; });
  child.unref();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await pollUntil(async () => {
      const response = await fetch(`${endpoint}/moto-api/`).catch(() => undefined);
      return response?.ok ? true : undefined;
    }, { timeoutMs: 60_000, intervalMs: 200, what: `moto_server on ${endpoint}`, describe: () => output });
  } catch (e) {
    await reaper.reap().catch(() => undefined);
    throw e;
  }
  const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
  return {
    endpoint,
    clientConfig: { endpoint, region: MOTO_REGION, credentials },
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: MOTO_REGION,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    },
    stop: async () => {
      child.kill('SIGTERM');
      await withTimeout(exited, 10_000, 'moto_server exit').catch(() => undefined);
      await reaper.reap();
    },
  };
}
