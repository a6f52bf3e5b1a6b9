import { ChildProcess, execFileSync, spawn } from 'child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { dirname, join } from 'path';
import { pollUntil, Reaper, withTimeout } from './reaper';
import { runCommand } from './run-command';

/**
 * A real systemd (the host's /lib/systemd/systemd, 252 on Debian 12 as on Amazon Linux 2023)
 * running as PID 1 of a private PID, mount and cgroup namespace, for tests of rendered units on a
 * machine where systemd is not the init (containers, CI, Firecracker VMs).
 *
 * Isolation from the host:
 * - it sees only the units the test gives (SYSTEMD_UNIT_PATH) plus stub targets, no generators;
 * - its /run and /sys/fs/cgroup are fresh mounts inside the namespace: on the host, /sys/fs/cgroup
 *   is a tmpfs whose superblock systemd would otherwise remount read-only for everyone;
 * - it runs in a child cgroup of the host's cgroup2 hierarchy (in unified mode), removed on stop;
 * - /etc/passwd and /etc/group are bind-mounted copies (service users exist only inside).
 * SIGKILL to its PID 1 (stop, or the reaper if the test process dies) ends every process inside.
 */

const SYSTEMD = '/lib/systemd/systemd';
// journald from the host's units, so services log as on an instance (journalctl -u works).
const HOST_UNIT_DIR = '/lib/systemd/system';
const JOURNALD_UNITS = ['systemd-journald.service', 'systemd-journald.socket', 'systemd-journald-dev-log.socket'];
// What DefaultDependencies=yes and the rendered units refer to, as empty targets.
const STUB_TARGETS = ['sysinit.target', 'basic.target', 'multi-user.target', 'network.target', 'network-online.target',
  'shutdown.target', 'sockets.target', 'local-fs.target', 'paths.target', 'timers.target', 'slices.target'];
const TARGET = 'cdk-celery-e2e.target';
const CGROUP2 = '/sys/fs/cgroup/unified';

export interface SystemdSetup {
  /** Unit files by name. */
  readonly units: { [name: string]: string };
  /** Files to write, by path relative to the root directory (directories are created). */
  readonly files?: { [relativePath: string]: { content: string; mode?: number } };
}

export interface StartSystemdOptions {
  /** Units and files; gets the root directory, which paths in the units may name. */
  readonly setup: (root: string) => SystemdSetup;
  /** Users (and same-name groups) that exist inside the namespace only. */
  readonly users?: string[];
  /**
   * Directories bind-mounted over host paths inside the namespace (e.g. stubs over
   * /usr/local/bin); a relative `source` is relative to the root directory.
   */
  readonly bindMounts?: Array<{ source: string; target: string }>;
  readonly bootTimeoutMs?: number;
}

export interface Systemd {
  /** Private directory (on /dev/shm, which PrivateTmp= does not hide from services). */
  readonly root: string;
  /** Host pid of the namespace's PID 1. */
  readonly pid: number;
  /** `systemctl ARGS` inside the namespace; stdout. Rejects on a non-zero exit unless `allowFailure`. */
  systemctl(args: string[], options?: { allowFailure?: boolean; timeoutMs?: number }): Promise<string>;
  /** `journalctl ARGS` inside the namespace. */
  journalctl(args: string[]): Promise<string>;
  /** Unit properties (`systemctl show -p ...`). */
  show(unit: string, properties: string[]): Promise<{ [property: string]: string }>;
  /** Poll `show` until `predicate` holds; resolves the last properties. */
  waitFor(unit: string, properties: string[], predicate: (p: { [property: string]: string }) => boolean,
    options: { timeoutMs: number; what: string }): Promise<{ [property: string]: string }>;
  /** Kill the namespace and remove the root directory and cgroup. Idempotent. */
  stop(): Promise<void>;
}

/** Why this host cannot run the namespaced systemd, or undefined when it can. */
export function systemdUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (namespaces, mounts)';
  if (!existsSync(SYSTEMD)) return `${SYSTEMD} is missing (apt-get install systemd)`;
  if (!existsSync(join(CGROUP2, 'cgroup.procs'))) return `no cgroup2 hierarchy at ${CGROUP2}`;
  if (!existsSync('/usr/bin/unshare') || !existsSync('/usr/bin/nsenter')) return 'unshare/nsenter missing (util-linux)';
  return undefined;
}

function run(command: string, args: string[], timeoutMs: number, allowFailure = false): Promise<string> {
  return runCommand(command, args, { timeoutMs, allowFailure });
}

/** Boot systemd in its own namespaces with the given units, and wait until it runs. */
export async function startSystemd(options: StartSystemdOptions): Promise<Systemd> {
  const unavailable = systemdUnavailable();
  if (unavailable) throw new Error(`cannot start a namespaced systemd: ${unavailable}`);
  const root = mkdtempSync('/dev/shm/cdk-celery-systemd-');
  chmodSync(root, 0o755);
  const cgroup = join(CGROUP2, root.slice(root.lastIndexOf('/') + 1));
  const reaper = Reaper.start('systemd', [root], [cgroup]);
  try {
    const setup = options.setup(root);
    const unitDir = join(root, 'units');
    mkdirSync(unitDir);
    mkdirSync(join(root, 'empty'));
    for (const target of STUB_TARGETS) writeFileSync(join(unitDir, target), `[Unit]\nDescription=stub ${target}\n`);
    writeFileSync(join(unitDir, TARGET), `[Unit]\nDescription=cdk-celery e2e\nWants=${JOURNALD_UNITS.filter((u) => u.endsWith('.socket')).join(' ')}\n`);
    for (const unit of JOURNALD_UNITS) copyFileSync(join(HOST_UNIT_DIR, unit), join(unitDir, unit));
    for (const [name, content] of Object.entries(setup.units)) writeFileSync(join(unitDir, name), content);
    for (const [path, file] of Object.entries(setup.files ?? {})) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), file.content, { mode: file.mode ?? 0o644 });
      chmodSync(join(root, path), file.mode ?? 0o644);
    }

    // Users inside only: copies of passwd/group with system users appended (free ids from 60000 up).
    mkdirSync(join(root, 'etc'));
    let passwd = readFileSync('/etc/passwd', 'utf8');
    let group = readFileSync('/etc/group', 'utf8');
    const usedIds = new Set([...passwd.split('\n'), ...group.split('\n')].map((l) => Number(l.split(':')[2])));
    let id = 60_000;
    for (const user of options.users ?? []) {
      while (usedIds.has(id)) id++;
      passwd += `${user}:x:${id}:${id}:cdk-celery e2e:/nonexistent:/usr/sbin/nologin\n`;
      group += `${user}:x:${id}:\n`;
      usedIds.add(id);
    }
    writeFileSync(join(root, 'etc', 'passwd'), passwd);
    writeFileSync(join(root, 'etc', 'group'), group);

    const binds = [
      { source: join(root, 'etc', 'passwd'), target: '/etc/passwd' },
      { source: join(root, 'etc', 'group'), target: '/etc/group' },
      ...(options.bindMounts ?? []).map((b) => ({ source: b.source.startsWith('/') ? b.source : join(root, b.source), target: b.target })),
    ];
    // Runs as PID 1 of the new namespaces until it execs systemd. The cgroup namespace is entered
    // after moving into the child cgroup, so that cgroup is systemd's root.
    const script = [
      'set -eu',
      'mount -t tmpfs -o mode=755 tmpfs /run',
      ...binds.map((b) => `mount --bind '${b.source}' '${b.target}'`),
      `mkdir '${cgroup}'`,
      `echo $$ > '${cgroup}/cgroup.procs'`,
      'exec unshare --cgroup /bin/sh -c \'mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec "$@"\' sh '
        + `${SYSTEMD} --system --unit=${TARGET} --log-target=kmsg --log-level=info --show-status=false`,
    ].join('\n');
    writeFileSync(join(root, 'boot.sh'), script);

    const env = {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      LANG: 'C.UTF-8',
      // Tells systemd it is a container's init: no hardware, no TTY setup.
      container: 'cdk-celery-e2e',
      SYSTEMD_UNIT_PATH: unitDir,
      SYSTEMD_GENERATOR_PATH: join(root, 'empty'),
      SYSTEMD_ENVIRONMENT_GENERATOR_PATH: join(root, 'empty'),
      ...reaper.env,
    };
    const init: ChildProcess = spawn('unshare', ['--pid', '--mount', '--fork', '--mount-proc', '--propagation', 'private', '/bin/sh', join(root, 'boot.sh')], {
      env, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let bootOutput = '';
    init.stdout!.on('data', (d) => { bootOutput += d; });
    init.stderr!.on('data', (d) => { bootOutput += d; });
    init.unref();
    const initExit = new Promise<void>((resolve) => init.once('exit', () => resolve()));
    let initExited = false;
    void initExit.then(() => { initExited = true; });

    // The namespace's PID 1 is unshare's child.
    const pid = await pollUntil(() => {
      if (initExited) throw new Error(`namespaced systemd did not start:\n${bootOutput}`);
      const children = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(init.pid)], { encoding: 'utf8' }).trim().split('\n');
      const line = children.find((l) => l.includes(`${SYSTEMD} --system`));
      return line ? Number(line.trim().split(/\s+/)[0]) : undefined;
    }, { timeoutMs: 10_000, what: 'namespaced systemd process', describe: () => bootOutput });

    const nsenter = (command: string, args: string[], timeoutMs: number, allowFailure = false) =>
      run('nsenter', ['--target', String(pid), '--mount', '--pid', '--', command, ...args], timeoutMs, allowFailure);
    const systemd: Systemd = {
      root,
      pid,
      systemctl: (args, o = {}) => nsenter('systemctl', ['--no-pager', ...args], o.timeoutMs ?? 30_000, o.allowFailure),
      journalctl: (args) => nsenter('journalctl', ['--no-pager', ...args], 30_000),
      show: async (unit, properties) => {
        const out = await systemd.systemctl(['show', unit, ...properties.map((p) => `--property=${p}`)]);
        return Object.fromEntries(out.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      },
      waitFor: async (unit, properties, predicate, o) => {
        let last: { [p: string]: string } = {};
        return pollUntil(async () => {
          last = await systemd.show(unit, properties);
          return predicate(last) ? last : undefined;
        }, { timeoutMs: o.timeoutMs, intervalMs: 250, what: o.what, describe: () => JSON.stringify(last) });
      },
      stop: async () => {
        // No orderly shutdown: it would run the stop jobs of the host's mounts it sees. Killing the
        // namespace's PID 1 kills everything inside; unshare, our child, reaps it (no zombie).
        try {
          process.kill(pid, 'SIGKILL');
          await withTimeout(initExit, 10_000, 'namespaced systemd exit');
        } catch {
          // Already gone, or the reaper below finishes the job.
        }
        await reaper.reap();
      },
    };

    await pollUntil(async () => {
      if (initExited) throw new Error(`namespaced systemd exited:\n${bootOutput}`);
      const state = (await systemd.systemctl(['is-system-running'], { allowFailure: true }).catch(() => '')).trim();
      return ['running', 'degraded'].includes(state) ? state : undefined;
    }, { timeoutMs: options.bootTimeoutMs ?? 30_000, intervalMs: 200, what: 'namespaced systemd running', describe: () => bootOutput });
    return systemd;
  } catch (error) {
    await reaper.reap().catch(() => undefined);
    throw error;
  }
}
