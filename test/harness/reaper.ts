import { ChildProcess, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { readdirSync, readFileSync } from 'fs';

/**
 * Environment variable that tags every process the harness starts (brokers, epmd, Celery workers
 * and their pool children inherit it). Process groups are not enough: RabbitMQ's epmd,
 * erl_child_setup and inet_gethost each call setsid, so they leave the broker's group.
 */
export const HARNESS_MARKER_VAR = 'CDK_CELERY_HARNESS_ID';

// Blocks on stdin until the harness asks for cleanup (a line) or the test process dies (EOF,
// whatever killed it), then SIGKILLs every process whose environment holds the marker and
// removes the paths. Repeats the sweep because a dying parent may still fork.
const REAPER_SCRIPT = `
marker="${HARNESS_MARKER_VAR}=$1"; shift
IFS= read -r _ || :
n=0
while [ "$n" -lt 50 ]; do
  pids=$(grep -lzxF -- "$marker" /proc/[0-9]*/environ 2>/dev/null | sed -n 's#^/proc/\\([0-9]*\\)/environ$#\\1#p' | grep -vx "$$")
  [ -z "$pids" ] && break
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null
  n=$((n + 1))
  sleep 0.1
done
rm -rf -- "$@"
# cgroup directories go with rmdir, leaves first, once their processes are gone.
for cg in $CGROUPS; do
  n=0
  while [ -d "$cg" ] && [ "$n" -lt 50 ]; do
    find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || sleep 0.1
    n=$((n + 1))
  done
done
[ -z "$pids" ]
`;

/**
 * A watchdog for one harness resource (a broker or a worker). It lives in its own session, so it
 * survives the jest worker: if the test process crashes or is killed, its stdin pipe closes and it
 * kills what the resource left behind and deletes its files. `reap()` runs the same cleanup on
 * purpose. One code path for both: a crashed run cannot leave `beam.smp` or `epmd` behind.
 */
export class Reaper {
  /**
   * Start a watchdog that kills the processes tagged with a fresh marker, then removes `paths`
   * and the cgroup directories `cgroups` (with everything below them).
   */
  public static start(label: string, paths: string[] = [], cgroups: string[] = []): Reaper {
    if (process.getuid?.() !== 0) {
      // Reading other users' /proc/PID/environ (the broker runs as `rabbitmq`) needs root.
      throw new Error('the RabbitMQ/Celery test harness must run as root (it starts the broker as the rabbitmq user)');
    }
    const id = `${label}-${process.pid}-${randomBytes(6).toString('hex')}`;
    return new Reaper(id, paths, cgroups);
  }

  /** The marker value; put `env` into the environment of every process this resource starts. */
  public readonly id: string;
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;
  private reaped?: Promise<void>;

  private constructor(id: string, paths: string[], cgroups: string[]) {
    this.id = id;
    this.child = spawn('/bin/sh', ['-c', REAPER_SCRIPT, 'cdk-celery-reaper', id, ...paths], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', CGROUPS: cgroups.join(' ') },
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    // Neither the watchdog nor its pipe may keep the jest worker alive.
    this.child.unref();
    (this.child.stdin as unknown as { unref?: () => void }).unref?.();
    this.child.stdin!.on('error', () => undefined);
  }

  /** Environment entries that tag a process as belonging to this resource. */
  public get env(): { [name: string]: string } {
    return { [HARNESS_MARKER_VAR]: this.id };
  }

  /** Kill every tagged process and remove the paths now; resolves when done (idempotent). */
  public reap(timeoutMs = 20_000): Promise<void> {
    this.reaped ??= (async () => {
      this.child.stdin!.end('reap\n');
      const code = await withTimeout(this.exited, timeoutMs, `reaper ${this.id}`);
      if (code !== 0) throw new Error(`reaper ${this.id}: tagged processes survived SIGKILL (exit ${code})`);
    })();
    return this.reaped;
  }
}

/** Pids of the live processes tagged with marker `id` (zombies have no environment and are left out). */
export function taggedProcesses(id: string): number[] {
  const tag = `${HARNESS_MARKER_VAR}=${id}`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(tag)) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/** Reject with a clear message when `promise` does not settle within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Poll `check` until it returns a value other than `undefined`/`false`, at most `timeoutMs`.
 * `describe` explains the last state when it times out.
 */
export async function pollUntil<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  options: { timeoutMs: number; intervalMs?: number; what: string; describe?: () => string | Promise<string> },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() >= deadline) {
      const detail = options.describe ? `\n${await options.describe()}` : '';
      throw new Error(`${options.what}: not reached within ${options.timeoutMs} ms${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
  }
}
