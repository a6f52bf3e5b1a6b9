import { ChildProcess, execFileSync, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { freePortRange, portIsFree } from './ports';
import { ensureRabbitMq4RootMounts, inRootArgv, rootUserIds } from './rabbitmq4-root';
import { pollUntil, Reaper, taggedProcesses, withTimeout } from './reaper';
import { runCommand } from './run-command';

/**
 * A private RabbitMQ node for one test file: its own directory (owned by `rabbitmq`), cookie,
 * node name, epmd port and loopback-only listeners, so parallel suites never meet.
 * Profile `3.x` is Debian 12's `rabbitmq-server` 3.10 (installed by scripts/install-test-deps.sh);
 * the `amazon-mq-4.x` profiles are RabbitMQ 4.0.5
 * of the Debian 13 root (rabbitmq4-root.ts), configured the way Amazon MQ runs those versions.
 */

const RABBITMQ_BIN = '/usr/lib/rabbitmq/bin';

/** The brokers the end-to-end tests run against, by name. */
export type RabbitMqProfileName = '3.x' | 'amazon-mq-4.2' | 'amazon-mq-4.3';

/** A kind of broker: which RabbitMQ, and which Amazon MQ behaviour its configuration reproduces. */
export interface RabbitMqProfile {
  readonly name: RabbitMqProfileName;
  /** The Amazon MQ engine version this profile stands for (what a fleet renders its command for). */
  readonly engineVersion: string;
  /** Runs in the Debian 13 root (RabbitMQ 4.0.5) rather than on the host (RabbitMQ 3.10.8). */
  readonly inRoot: boolean;
  /** `rabbitmq.conf` lines that make the node behave like that Amazon MQ version. */
  readonly conf: string[];
}

/**
 * - `3.x`: classic queues by default, global QoS and transient queues allowed (Amazon MQ 3.13).
 * - `amazon-mq-4.2`: a queue declared without a type is a quorum queue, in every vhost that does
 *   not say otherwise (Amazon MQ 4.2's default).
 * - `amazon-mq-4.3`: also refuses transient non-exclusive queues, and applies global QoS per
 *   consumer (RabbitMQ's rule for a denied `global_qos` deprecated feature) (Amazon MQ 4.3).
 */
export const RABBITMQ_PROFILES: { readonly [name in RabbitMqProfileName]: RabbitMqProfile } = {
  '3.x': { name: '3.x', engineVersion: '3.13', inRoot: false, conf: [] },
  'amazon-mq-4.2': { name: 'amazon-mq-4.2', engineVersion: '4.2', inRoot: true, conf: ['default_queue_type = quorum'] },
  'amazon-mq-4.3': {
    name: 'amazon-mq-4.3',
    engineVersion: '4.3',
    inRoot: true,
    conf: [
      'default_queue_type = quorum',
      'deprecated_features.permit.transient_nonexcl_queues = false',
      'deprecated_features.permit.global_qos = false',
    ],
  },
};

/** Every profile, in the order the matrix lists them. */
export const RABBITMQ_PROFILE_NAMES: RabbitMqProfileName[] = ['3.x', 'amazon-mq-4.2', 'amazon-mq-4.3'];

/**
 * Declare a suite once per broker profile, each in a `describe` named after it: a suite that
 * calls `rabbitMqForThisFile({ profile })` inside gets a broker of that profile for its tests.
 */
export function describeEachRabbitMqProfile(fn: (profile: RabbitMqProfile) => void, names: RabbitMqProfileName[] = RABBITMQ_PROFILE_NAMES): void {
  for (const name of names) {
    describe(`RabbitMQ profile ${name}`, () => fn(RABBITMQ_PROFILES[name]));
  }
}
/** Boot takes about 15 s on 2 idle cores; two suites booting at once with Celery running take longer. */
const DEFAULT_START_TIMEOUT_MS = 120_000;
const DEFAULT_CTL_TIMEOUT_MS = 60_000;
// Bind the Erlang distribution of the node and of every CLI call to loopback (epmd too, below).
const LOOPBACK_DIST = '-kernel inet_dist_use_interface {127,0,0,1}';

export interface StartRabbitMqOptions {
  /**
   * Which broker.
   * @default '3.x'
   */
  readonly profile?: RabbitMqProfileName;
  /** Enable the management plugin (HTTP on 127.0.0.1, `managementPort`). */
  readonly management?: boolean;
  /** Extra `rabbitmq.conf` lines (new-style `key = value`). */
  readonly rabbitmqConf?: string[];
  /** How long the node may take to boot. */
  readonly startTimeoutMs?: number;
}

/** One line of `rabbitmqctl list_connections`, with the local process that owns the client end. */
export interface RabbitMqConnection {
  readonly name: string;
  readonly user: string;
  readonly vhost: string;
  /** Bytes the broker received on this connection (its ingress). */
  readonly recvOct: number;
  /** Bytes the broker sent on this connection. */
  readonly sendOct: number;
  readonly peerHost: string;
  /** Client-side TCP port. */
  readonly peerPort: number;
  /** Processes holding the client socket (prefork children can inherit it). */
  readonly clientPids: number[];
  /** Process group of the client: a harness Celery worker's group is its main pid. */
  readonly clientPgid?: number;
}

export interface RabbitMq {
  /** The profile it was started with. */
  readonly profile: RabbitMqProfile;
  /** RabbitMQ's version, as the node reports it (for example `3.10.8` or `4.0.5`). */
  readonly version: string;
  readonly amqpPort: number;
  /** Set when started with `management: true`. */
  readonly managementPort?: number;
  readonly nodeName: string;
  /** Erlang distribution port of the node. */
  readonly distPort: number;
  /** Port of this broker's own epmd. */
  readonly epmdPort: number;
  /** The broker's private directory (data, logs, config). */
  readonly dir: string;
  /** Marker value in the environment of every process of this broker (see reaper.ts). */
  readonly harnessId: string;
  /** Live processes of this broker (node, epmd, helpers, running rabbitmqctl). */
  processIds(): number[];
  /** `amqp://` URL on 127.0.0.1, user, password and vhost percent-encoded. */
  amqpUrl(user?: string, password?: string, vhost?: string): string;
  /** Run `rabbitmqctl ARGS` against this node (same environment, user and cookie); resolves stdout. */
  ctl(args: string[], options?: { timeoutMs?: number }): Promise<string>;
  /** Live connections with byte counters, read straight from the connection processes. */
  connections(): Promise<RabbitMqConnection[]>;
  /** Create a vhost and give `user` (default `guest`) full permissions on it. */
  addVhost(name: string, user?: string): Promise<void>;
  /** Tail of the node's log and console output, for failure messages. */
  logTail(lines?: number): string;
  /** Stop the node, kill whatever it left (epmd included) and remove its directory. Idempotent. */
  stop(): Promise<void>;
}

function rabbitmqIds(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'rabbitmq'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'rabbitmq'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) chownTree(child, uid, gid);
    else chownSync(child, uid, gid);
  }
}

function tail(path: string, lines: number): string {
  if (!existsSync(path)) return '';
  return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
}

/**
 * The test file's one broker: started in `beforeAll`, stopped in `afterAll` after `beforeStop`
 * (for example `stopAllWorkers`, so that no worker outlives its broker). Call the returned
 * function inside tests and hooks to get it.
 */
export function rabbitMqForThisFile(options: StartRabbitMqOptions & {
  readonly beforeStop?: () => Promise<void>;
  /** @default 150_000 */
  readonly startTimeoutMs?: number;
} = {}): () => RabbitMq {
  let broker: RabbitMq | undefined;
  beforeAll(async () => {
    try {
      broker = await startRabbitMq(options);
    } catch (error) {
      // Once more, on new ports and a new directory: a port taken between the free-port check and
      // the bind (other jest workers, other test runs on the host) fails a start that then works.
      // eslint-disable-next-line no-console
      console.warn(`RabbitMQ did not start, starting it once more: ${(error as Error).message}`);
      broker = await startRabbitMq(options);
    }
  }, options.startTimeoutMs ?? 150_000);
  afterAll(async () => {
    await options.beforeStop?.();
    await broker?.stop();
  });
  return () => {
    if (!broker) throw new Error('the RabbitMQ of this file is not running: use it inside tests and hooks');
    return broker;
  };
}

/** Start a private broker and wait until it accepts connections. */
export async function startRabbitMq(options: StartRabbitMqOptions = {}): Promise<RabbitMq> {
  const profile = RABBITMQ_PROFILES[options.profile ?? '3.x'];
  if (!profile) throw new Error(`unknown RabbitMQ profile ${JSON.stringify(options.profile)}; use one of ${RABBITMQ_PROFILE_NAMES.join(', ')}`);
  if (profile.inRoot) {
    ensureRabbitMq4RootMounts();
  } else if (!existsSync(join(RABBITMQ_BIN, 'rabbitmq-server'))) {
    throw new Error(`${RABBITMQ_BIN}/rabbitmq-server is missing: run scripts/install-test-deps.sh`);
  }
  const { uid, gid } = profile.inRoot ? rootUserIds('rabbitmq') : rabbitmqIds();
  // A host process, or the same program run in the root as its rabbitmq user (chroot switches user).
  const command = (program: string, args: string[], cwd: string): { file: string; args: string[]; ids: { uid?: number; gid?: number } } => {
    if (!profile.inRoot) return { file: program, args, ids: { uid, gid } };
    const argv = inRootArgv([program, ...args], { cwd, user: { uid, gid } });
    return { file: argv[0], args: argv.slice(1), ids: {} };
  };
  // The root shares the host's temporary directory, so the node's directory has the same path in both.
  const dir = mkdtempSync(join(tmpdir(), 'cdk-celery-rabbitmq-'));
  const reaper = Reaper.start('rabbitmq', [dir]);
  try {
    // AMQP, distribution, epmd, management; CLI distribution gets its own 10-port range.
    const base = await freePortRange(4);
    const amqpPort = base;
    const distPort = base + 1;
    const epmdPort = base + 2;
    const managementPort = options.management ? base + 3 : undefined;
    const ctlDistMin = await freePortRange(10);
    const nodeName = `cdkc-${process.pid}-${randomBytes(3).toString('hex')}@localhost`;

    mkdirSync(join(dir, 'mnesia'));
    mkdirSync(join(dir, 'log'));
    writeFileSync(join(dir, 'enabled_plugins'), options.management ? '[rabbitmq_management].\n' : '[].\n');
    writeFileSync(join(dir, 'rabbitmq.conf'), [
      ...(managementPort ? ['management.tcp.ip = 127.0.0.1', `management.tcp.port = ${managementPort}`] : []),
      ...profile.conf,
      ...(options.rabbitmqConf ?? []),
      '',
    ].join('\n'));
    // An empty env file instead of /etc/rabbitmq/rabbitmq-env.conf: nothing from the host leaks in.
    writeFileSync(join(dir, 'rabbitmq-env.conf'), '');
    // A private cookie: rabbitmqctl of another suite cannot talk to this node by mistake.
    writeFileSync(join(dir, '.erlang.cookie'), randomBytes(16).toString('hex'), { mode: 0o400 });
    chmodSync(dir, 0o700);
    chownTree(dir, uid, gid);

    const env: { [name: string]: string } = {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      LANG: 'C.UTF-8',
      HOME: dir,
      RABBITMQ_NODENAME: nodeName,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(amqpPort),
      RABBITMQ_DIST_PORT: String(distPort),
      ERL_EPMD_ADDRESS: '127.0.0.1',
      ERL_EPMD_PORT: String(epmdPort),
      RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(dir, 'log'),
      RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
      RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
      RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: LOOPBACK_DIST,
      RABBITMQ_CTL_ERL_ARGS: LOOPBACK_DIST,
      RABBITMQ_CTL_DIST_PORT_MIN: String(ctlDistMin),
      RABBITMQ_CTL_DIST_PORT_MAX: String(ctlDistMin + 9),
      ERL_CRASH_DUMP: join(dir, 'erl_crash.dump'),
      ...reaper.env,
    };

    // Our own foreground epmd, as a child of this process: the one erl would start daemonizes, and
    // a killed daemon stays a zombie on hosts whose init does not reap.
    const epmdCommand = command(profile.inRoot ? '/usr/bin/epmd' : 'epmd', ['-port', String(epmdPort), '-address', '127.0.0.1'], dir);
    const epmdErr = openSync(join(dir, 'epmd.err'), 'a');
    const epmd = spawn(epmdCommand.file, epmdCommand.args, {
      cwd: dir, env, ...epmdCommand.ids, detached: true, stdio: ['ignore', 'ignore', epmdErr],
    });
    closeSync(epmdErr);
    let epmdExit: string | undefined;
    epmd.on('exit', (code, signal) => { epmdExit = `epmd exited (${code ?? signal})`; });
    epmd.unref();
    await pollUntil(async () => {
      if (epmdExit) throw new Error(`${epmdExit} before listening on 127.0.0.1:${epmdPort}: ${readFileSync(join(dir, 'epmd.err'), 'utf8').trim()}`);
      return !(await portIsFree(epmdPort));
    }, { timeoutMs: 30_000, what: `epmd on 127.0.0.1:${epmdPort}`, describe: () => readFileSync(join(dir, 'epmd.err'), 'utf8') });

    const consoleOut = join(dir, 'server.out');
    const outFd = openSync(consoleOut, 'a');
    // Straight to the real script as `rabbitmq` (the /usr/sbin wrapper would `su` and reset HOME).
    const serverCommand = command(join(RABBITMQ_BIN, 'rabbitmq-server'), [], dir);
    const server: ChildProcess = spawn(serverCommand.file, serverCommand.args, {
      cwd: dir, env, ...serverCommand.ids, detached: true, stdio: ['ignore', outFd, outFd],
    });
    closeSync(outFd);
    server.unref();
    const serverExit = new Promise<string>((resolve) => server.once('exit', (code, signal) => resolve(`exit ${code ?? signal}`)));

    const logTail = (lines = 40) => [
      `--- ${consoleOut}`, tail(consoleOut, lines),
      ...readdirSync(join(dir, 'log')).filter((f) => f.endsWith('.log')).map((f) => `--- ${f}\n${tail(join(dir, 'log', f), lines)}`),
    ].join('\n');

    const ctl = (args: string[], ctlOptions: { timeoutMs?: number } = {}) => {
      const ctlCommand = command(join(RABBITMQ_BIN, 'rabbitmqctl'), args, dir);
      return runCommand(ctlCommand.file, ctlCommand.args, {
        cwd: dir, env, ...ctlCommand.ids, timeoutMs: ctlOptions.timeoutMs ?? DEFAULT_CTL_TIMEOUT_MS, label: 'rabbitmqctl',
      });
    };

    // `wait` watches the pid file, then the OS process, then the boot: it fails fast if the node dies.
    const started = ctl(['wait', env.RABBITMQ_PID_FILE, '--timeout', String(Math.ceil((options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS) / 1000))],
      { timeoutMs: (options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS) + 10_000 });
    const outcome = await Promise.race([started.then(() => 'ready', (e: Error) => e.message), serverExit]);
    if (outcome !== 'ready') {
      throw new Error(`RabbitMQ ${nodeName} did not start: ${outcome}\n${logTail()}`);
    }

    const version = (await ctl(['version'])).trim();

    let stopped: Promise<void> | undefined;
    const broker: RabbitMq = {
      profile,
      version,
      amqpPort,
      managementPort,
      nodeName,
      distPort,
      epmdPort,
      dir,
      harnessId: reaper.id,
      processIds: () => taggedProcesses(reaper.id),
      amqpUrl: (user = 'guest', password = 'guest', vhost = '/') =>
        `amqp://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${amqpPort}/${encodeURIComponent(vhost)}`,
      ctl,
      connections: async () => {
        const out = await ctl(['list_connections', 'name', 'user', 'vhost', 'recv_oct', 'send_oct', 'peer_host', 'peer_port', '-q', '--formatter', 'json']);
        const rows = JSON.parse(out.trim() || '[]') as Array<{ [k: string]: unknown }>;
        const owners = socketOwners(amqpPort);
        return rows.map((r) => {
          const peerPort = Number(r.peer_port);
          const clientPids = owners.get(peerPort) ?? [];
          return {
            name: String(r.name),
            user: String(r.user),
            vhost: String(r.vhost),
            recvOct: Number(r.recv_oct),
            sendOct: Number(r.send_oct),
            peerHost: String(r.peer_host),
            peerPort,
            clientPids,
            clientPgid: clientPids.length > 0 ? processGroup(Math.min(...clientPids)) : undefined,
          };
        });
      },
      addVhost: async (name, user = 'guest') => {
        await ctl(['add_vhost', name]);
        await ctl(['set_permissions', '-p', name, user, '.*', '.*', '.*']);
      },
      logTail,
      stop: () => {
        stopped ??= (async () => {
          try {
            // Graceful first so the node flushes; the reaper kills whatever is left (epmd always is).
            await ctl(['stop'], { timeoutMs: 30_000 });
            await withTimeout(serverExit, 30_000, `RabbitMQ ${nodeName} exit`);
          } catch {
            // The reaper's SIGKILL below is the fallback.
          }
          await reaper.reap();
        })();
        return stopped;
      },
    };
    return broker;
  } catch (error) {
    await reaper.reap().catch(() => undefined);
    throw error;
  }
}

/** Client-side sockets connected to 127.0.0.1:`serverPort`, by local port, with their owning pids (`ss -p`). */
function socketOwners(serverPort: number): Map<number, number[]> {
  const out = execFileSync('ss', ['-Htnp', 'state', 'established', 'dst', `127.0.0.1:${serverPort}`], { encoding: 'utf8', timeout: 10_000 });
  const owners = new Map<number, number[]>();
  for (const line of out.split('\n')) {
    // Recv-Q Send-Q Local:Port Peer:Port users:(("celery",pid=1,fd=7),...)
    const fields = line.trim().split(/\s+/);
    if (fields.length < 4) continue;
    const local = fields[2];
    const port = Number(local.slice(local.lastIndexOf(':') + 1));
    const pids = [...line.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
    owners.set(port, [...new Set(pids)].sort((a, b) => a - b));
  }
  return owners;
}

function processGroup(pid: number): number | undefined {
  try {
    // /proc/PID/stat: "pid (comm) state ppid pgrp ..."; comm may hold spaces, so split after ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return undefined;
  }
}
