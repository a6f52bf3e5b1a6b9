import { ChildProcess, spawn, spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { hostname, tmpdir } from 'os';
import { join } from 'path';
import type { RabbitMqProfile } from './rabbitmq';
import { ensureRabbitMq4RootMounts, inRootArgv, RABBITMQ4_ROOT, rabbitMq4RootInstalled } from './rabbitmq4-root';
import { pollUntil, Reaper, taggedProcesses, withTimeout } from './reaper';
import { runCommand } from './run-command';
import { RabbitMqEngineVersion } from '../../src/broker/rabbitmq-engine-version';
import type { CeleryRequirement, CeleryWorkerCommand } from '../../src/workers/render';
import { celeryVersionAtLeast } from '../../src/workers/render/broker-settings';
import { renderCeleryClientModule } from '../../src/workers/render/celery-client';
import { renderCeleryWorkerCommand } from '../../src/workers/render/celery-worker-command';
import { CELERY_CLIENT_MODULE } from '../../src/workers/render/instance-layout';

/** What the harness runs: a rendered command's argv and environment, or a hand-written one (a baseline). */
export type WorkerCommandLine = Pick<CeleryWorkerCommand, 'argv' | 'environment'>;

/** Where the harness' Celery application (`harness_tasks`) lives: the workers' working directory. */
export const HARNESS_APP_DIR = join(__dirname, 'app');
/** The application of `HARNESS_APP_DIR`, as passed to `-A`. */
export const HARNESS_APP = 'harness_tasks';
const DRIVER = join(__dirname, 'celery_driver.py');

/** One Celery installation the tests run against. */
export interface CeleryInstall {
  /** Short name for test titles. */
  readonly label: string;
  /** Its Python interpreter. */
  readonly python: string;
  /** What replaces the rendered argv[0] (`celery`): the executable, or `python -m celery`. */
  readonly celery: string[];
  /** `celery.__version__`; unset when the installation is absent. */
  readonly version?: string;
  /** Why the installation is absent (executable or module missing); unset when present. */
  readonly absent?: string;
  /**
   * Installed in the Debian 13 root (rabbitmq4-root.ts): `python` and `celery` are paths inside
   * it, and every command runs through chroot (see `installCommand`).
   */
  readonly inRoot?: boolean;
}

/**
 * How to run `argv` (whose paths are the installation's) in `cwd`: as it is, or through chroot
 * into the Debian 13 root, where the repository and the temporary directory have the same paths.
 */
export function installCommand(install: CeleryInstall, argv: string[], cwd: string): string[] {
  if (!install.inRoot) return argv;
  ensureRabbitMq4RootMounts();
  return inRootArgv(argv, { cwd });
}

/**
 * Where scripts/install-test-deps.sh puts the current Celery: outside /tmp, /var/tmp, /home and
 * /root, which the worker unit's sandbox (PrivateTmp, ProtectHome) hides from the worker.
 */
export const DEFAULT_VENV_DIR = '/opt/cdk-celery-test/venv';

let installs: CeleryInstall[] | undefined;

/**
 * The three Celery lines of the test matrix: Debian 12's 5.2.6 (exits 0 after a crash), Debian
 * 13's 5.5.2 (the first with quorum-queue support, in the RabbitMQ 4 root) and the venv's current
 * release (`CELERY_VENV_DIR`, default `DEFAULT_VENV_DIR`). All are installed by
 * scripts/install-test-deps.sh. An installation counts as absent only when its interpreter or
 * its `celery` module is missing; any other failure to load Celery throws.
 */
export function celeryInstalls(): CeleryInstall[] {
  if (installs) return installs;
  const venv = process.env.CELERY_VENV_DIR ?? DEFAULT_VENV_DIR;
  const candidates: CeleryInstall[] = [
    { label: 'debian', python: '/usr/bin/python3', celery: ['/usr/bin/python3', '-m', 'celery'] },
    { label: 'trixie', python: '/usr/bin/python3', celery: ['/usr/bin/python3', '-m', 'celery'], inRoot: true },
    { label: 'venv', python: join(venv, 'bin', 'python'), celery: [join(venv, 'bin', 'celery')] },
  ];
  installs = candidates.map((c) => {
    if (c.inRoot && !rabbitMq4RootInstalled()) return { ...c, absent: `${RABBITMQ4_ROOT} is not installed (run scripts/install-test-deps.sh)` };
    const onHost = (path: string) => (c.inRoot ? join(RABBITMQ4_ROOT, path) : path);
    if (!existsSync(onHost(c.python))) return { ...c, absent: `${c.python} does not exist (run scripts/install-test-deps.sh)` };
    if (!existsSync(onHost(c.celery[0]))) return { ...c, absent: `${c.celery[0]} does not exist (run scripts/install-test-deps.sh)` };
    const probeArgv = installCommand(c, [c.python, '-c', 'import celery, sys; sys.stdout.write(celery.__version__)'], '/');
    const probe = spawnSync(probeArgv[0], probeArgv.slice(1), { encoding: 'utf8', timeout: 60_000 });
    if (probe.status !== 0) {
      if (/ModuleNotFoundError: No module named 'celery'/.test(probe.stderr)) {
        return { ...c, absent: `no celery module for ${c.python} (run scripts/install-test-deps.sh)` };
      }
      throw new Error(`${c.python}: importing celery failed:\n${probe.stderr}${probe.error ?? ''}`);
    }
    return { ...c, label: `${c.label} celery ${probe.stdout}`, version: probe.stdout };
  });
  return installs;
}

/**
 * The oldest Celery the generated worker command runs on for a broker profile: the library's own
 * rule (`renderCeleryWorkerCommand`'s `celeryRequirement` with the default options).
 */
export function celeryRequirementFor(profile: Pick<RabbitMqProfile, 'engineVersion'>): CeleryRequirement {
  return renderCeleryWorkerCommand({ app: HARNESS_APP }, { engineVersion: RabbitMqEngineVersion.of(profile.engineVersion) }).celeryRequirement;
}

/** Whether an installation can run the generated worker command on a broker profile. */
export function celeryRunsOn(install: CeleryInstall, profile: Pick<RabbitMqProfile, 'engineVersion'>): boolean {
  return install.version !== undefined && celeryVersionAtLeast(install.version, celeryRequirementFor(profile).version);
}

/**
 * A test per Celery installation. An absent installation gets a skipped test whose title, and a
 * warning, say why; a present one runs `fn`. With `profile`, only the installations the generated
 * command runs on there take part (Celery 5.2 cannot consume quorum queues: the tests that show
 * that it is refused are separate); the cells are the README's tested matrix.
 */
export function testEachCelery(name: string, fn: (install: CeleryInstall) => Promise<void>, timeoutMs?: number,
  options: {
    profile?: RabbitMqProfile;
    /** Only installations on the host (not in the RabbitMQ 4 root), for tests that run Celery where chroot cannot. */
    hostOnly?: boolean;
  } = {}): void {
  const profile = options.profile;
  for (const install of celeryInstalls()) {
    if (profile && !install.absent && !celeryRunsOn(install, profile)) continue;
    if (options.hostOnly && install.inRoot) continue;
    if (install.absent) {
      // eslint-disable-next-line no-console
      console.warn(`skipping "${name}" on ${install.label}: ${install.absent}`);
      test.skip(`${install.label}: ${name} (skipped: ${install.absent})`, () => undefined);
    } else {
      test(`${install.label}: ${name}`, () => fn(install), timeoutMs);
    }
  }
}

/** The node name Celery gives `--hostname`/`-n` (or its default), expanding %h %n %d as `host_format`. */
export function expandNodeName(argv: string[]): string {
  let template: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') break;
    if (argv[i] === '-n' || argv[i] === '--hostname') template = argv[i + 1];
    else if (argv[i].startsWith('--hostname=')) template = argv[i].slice('--hostname='.length);
  }
  const host = hostname();
  const short = host.split('.')[0];
  const domain = host.includes('.') ? host.slice(host.indexOf('.') + 1) : '';
  const values: { [c: string]: string } = { 'h': host, 'n': short, 'd': domain, '%': '%' };
  const name = (template ?? 'celery@%h').replace(/%([hnd%])/g, (_, c: string) => values[c]);
  return name.includes('@') ? name : `celery@${name}`;
}

export interface StartWorkerOptions {
  readonly install: CeleryInstall;
  /** The command as rendered; argv[0] is replaced by the installation's `celery`, nothing else changes. */
  readonly command: WorkerCommandLine;
  /** `CELERY_BROKER_URL` (on an instance it comes from the unit's EnvironmentFile). */
  readonly brokerUrl: string;
  /** Working directory (where `-A` is importable). */
  readonly cwd?: string;
  /** More environment (for example task paths); applied after the rendered environment. */
  readonly env?: { [name: string]: string };
  /** Expected node name; the start fails if the argv would give another (a guard against collisions). */
  readonly nodeName?: string;
}

export interface WorkerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running `celery worker`, in its own process group whose id is `pid`. */
export interface CeleryWorker {
  readonly pid: number;
  readonly nodeName: string;
  /** What was executed. */
  readonly argv: string[];
  readonly env: { [name: string]: string };
  /** Marker value in the environment of the worker and its pool processes (see reaper.ts). */
  readonly harnessId: string;
  /** Settles when the main process exits. */
  readonly exited: Promise<WorkerExit>;
  /** Whether the main process has exited. */
  readonly hasExited: boolean;
  /** Live processes of this worker (main process and pool children). */
  processIds(): number[];
  /** Everything the worker wrote to stdout and stderr so far. */
  log(): string;
  /** Resolves when the worker is ready; rejects if it exits first (a usage error, a crash) or times out. */
  waitReady(timeoutMs?: number): Promise<void>;
  /** Resolves with the first match of `pattern` in the log; rejects on exit or timeout. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGTERM to the main process only, as systemd's `KillMode=mixed` does on stop. */
  term(): void;
  /** Send a signal to the whole process group (main process and pool children). */
  signalGroup(signal: NodeJS.Signals): void;
  /** SIGKILL to the whole process group. */
  kill(): void;
  /** Stop: TERM, then KILL after `graceMs`; kills stragglers tagged with the worker's marker. Idempotent. */
  stop(graceMs?: number): Promise<WorkerExit>;
}

const live = new Set<CeleryWorker>();
const READY_TIMEOUT_MS = 60_000;
/**
 * Base environment of a worker: what a systemd service gets, not the test runner's environment.
 * No bytecode: the app lives in the source tree, where __pycache__ would only be clutter.
 */
const BASE_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', HOME: tmpdir(), PYTHONDONTWRITEBYTECODE: '1' };

/** argv[0] replaced by the installation's celery; the rest exactly as rendered. */
export function workerArgv(install: CeleryInstall, command: WorkerCommandLine): string[] {
  return [...install.celery, ...command.argv.slice(1)];
}

/**
 * Start `celery worker` exactly as rendered: the rendered argv (only the executable swapped for
 * the installation's) and the rendered environment plus `CELERY_BROKER_URL`, in a fresh process
 * group. Output is captured for `waitReady` and failure messages.
 */
export function startWorker(options: StartWorkerOptions): CeleryWorker {
  if (options.install.absent) throw new Error(`${options.install.label} is absent: ${options.install.absent}`);
  const argv = workerArgv(options.install, options.command);
  const nodeName = expandNodeName(argv);
  if (options.nodeName !== undefined && options.nodeName !== nodeName) {
    throw new Error(`the argv names the worker ${nodeName}, not ${options.nodeName}: ${argv.join(' ')}`);
  }
  const reaper = Reaper.start('celery');
  const env = { ...BASE_ENV, ...options.command.environment, CELERY_BROKER_URL: options.brokerUrl, ...options.env, ...reaper.env };
  const cwd = options.cwd ?? HARNESS_APP_DIR;
  const spawned = installCommand(options.install, argv, cwd);
  const child: ChildProcess = spawn(spawned[0], spawned.slice(1), {
    cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => { output += d; });
  child.stderr!.on('data', (d) => { output += d; });
  let exitInfo: WorkerExit | undefined;
  const exited = new Promise<WorkerExit>((resolvePromise) => {
    child.once('error', (error) => {
      output += `\n[harness] spawn failed: ${error.message}\n`;
      exitInfo = { code: -1, signal: null };
      resolvePromise(exitInfo);
    });
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolvePromise(exitInfo);
    });
  });
  const pid = child.pid ?? -1;
  const describe = () => `${nodeName} (${argv.join(' ')})\n${output.split('\n').slice(-40).join('\n')}`;

  const waitForLog = async (pattern: RegExp, timeoutMs = READY_TIMEOUT_MS) => pollUntil(() => {
    const match = output.match(pattern);
    if (match) return match;
    if (exitInfo) {
      throw new Error(`${nodeName} exited (${exitInfo.code ?? exitInfo.signal}) before logging ${pattern}:\n${describe()}`);
    }
    return undefined;
  }, { timeoutMs, what: `${nodeName}: ${pattern} in the log`, describe });

  let stopped: Promise<WorkerExit> | undefined;
  const worker: CeleryWorker = {
    pid,
    nodeName,
    argv,
    env,
    harnessId: reaper.id,
    processIds: () => taggedProcesses(reaper.id),
    log: () => output,
    waitForLog,
    async waitReady(timeoutMs = READY_TIMEOUT_MS) {
      if (!logsInfo(argv)) {
        // Without INFO there is no "ready." line; remote control answers once the consumer runs.
        await pollUntil(async () => {
          if (exitInfo) throw new Error(`${nodeName} exited (${exitInfo.code ?? exitInfo.signal}) before it was ready:\n${describe()}`);
          return ping(options.install, {
            brokerUrl: options.brokerUrl, app: appOf(argv), cwd: options.cwd, nodeName, exclusiveControlQueues: exclusiveControlQueues(argv),
          });
        }, { timeoutMs, intervalMs: 500, what: `${nodeName} answering inspect ping`, describe });
        return;
      }
      await waitForLog(new RegExp(`${escapeRegExp(nodeName)} ready\\.`), timeoutMs);
    },
    term: () => { if (!exitInfo) process.kill(pid, 'SIGTERM'); },
    signalGroup: (signal) => {
      try {
        process.kill(-pid, signal);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
    },
    kill: () => worker.signalGroup('SIGKILL'),
    exited,
    get hasExited() { return exitInfo !== undefined; },
    stop(graceMs = 20_000) {
      stopped ??= (async () => {
        if (!exitInfo) {
          worker.term();
          try {
            await withTimeout(exited, graceMs, `${nodeName} warm shutdown`);
          } catch {
            worker.kill();
          }
        }
        await reaper.reap();
        live.delete(worker);
        return withTimeout(exited, 10_000, `${nodeName} exit`);
      })();
      return stopped;
    },
  };
  live.add(worker);
  return worker;
}

/** Stop every worker this process started and has not stopped (for `afterAll`/`afterEach`). */
export async function stopAllWorkers(graceMs = 5_000): Promise<void> {
  await Promise.all([...live].map((w) => w.stop(graceMs)));
}

function logsInfo(argv: string[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') break;
    if (argv[i] === '-l' || argv[i] === '--loglevel') return /^(info|debug)$/i.test(argv[i + 1] ?? '');
    if (argv[i].startsWith('--loglevel=')) return /^(info|debug)$/i.test(argv[i].slice('--loglevel='.length));
  }
  return false; // Celery's default level is WARNING
}

/** Whether the worker's settings make its remote-control queues exclusive (clients must follow). */
function exclusiveControlQueues(argv: string[]): boolean {
  return argv.slice(argv.indexOf('--') + 1).some((a) => /^control_queue_exclusive=(\(bool\))?true$/i.test(a));
}

function appOf(argv: string[]): string {
  const i = argv.findIndex((a) => a === '-A' || a === '--app');
  if (i < 0) throw new Error(`no -A in ${argv.join(' ')}`);
  return argv[i + 1];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export interface DriverOptions {
  readonly brokerUrl: string;
  /** Application, as for `-A`. */
  readonly app?: string;
  /** Where `app` is importable. */
  readonly cwd?: string;
  readonly timeoutMs?: number;
  /** A Python file run with `app` in scope before the command: the producer's own settings. */
  readonly configure?: string;
  /** More environment (for example `HARNESS_APP_CONFIG`, the app's own configuration). */
  readonly env?: { [name: string]: string };
}

/** Run the Python driver (`celery_driver.py`) with an installation's interpreter; parsed JSON output. */
export async function runDriver<T>(install: CeleryInstall, args: string[], options: DriverOptions): Promise<T> {
  const cwd = options.cwd ?? HARNESS_APP_DIR;
  const configure = options.configure ? ['--configure', options.configure] : [];
  const argv = installCommand(install, [install.python, DRIVER, '--app', options.app ?? HARNESS_APP, ...configure, ...args], cwd);
  const stdout = await runCommand(argv[0], argv.slice(1), {
    cwd,
    env: { ...BASE_ENV, CELERY_BROKER_URL: options.brokerUrl, ...options.env },
    timeoutMs: options.timeoutMs ?? 120_000,
    label: 'celery_driver',
  });
  try {
    return JSON.parse(stdout) as T;
  } catch {
    throw new Error(`celery_driver ${args.join(' ')}: not JSON: ${stdout}`);
  }
}

/** Send `count` tasks named `task` (one connection); resolves their ids. */
export async function sendTasks(install: CeleryInstall, task: string, options: DriverOptions & {
  count?: number; args?: unknown[]; kwargs?: { [k: string]: unknown }; queue?: string; countdown?: number;
}): Promise<string[]> {
  const args = ['send', task, '--count', String(options.count ?? 1), '--args', JSON.stringify(options.args ?? []),
    '--kwargs', JSON.stringify(options.kwargs ?? {}), ...(options.queue ? ['--queue', options.queue] : []),
    ...(options.countdown !== undefined ? ['--countdown', String(options.countdown)] : [])];
  return (await runDriver<{ ids: string[] }>(install, args, options)).ids;
}

/** Revoke `count` random task ids (a broadcast to every worker), `chunk` ids per message. */
export async function revokeRandomIds(install: CeleryInstall, count: number, options: DriverOptions & { chunk?: number }): Promise<void> {
  await runDriver(install, ['revoke', '--count', String(count), '--chunk', String(options.chunk ?? 5000)], options);
}

/** `inspect METHOD` replies by node (for `revoked`, the size of each node's set). */
export async function inspect<T = unknown>(install: CeleryInstall, method: string, options: DriverOptions & {
  nodes?: string[]; timeoutSeconds?: number;
}): Promise<{ [node: string]: T }> {
  const args = ['inspect', method, '--timeout', String(options.timeoutSeconds ?? 5), ...(options.nodes ?? []).flatMap((n) => ['--node', n])];
  return (await runDriver<{ replies: { [node: string]: T } }>(install, args, options)).replies;
}

/**
 * Ready messages and consumers of `queue`, from a passive declare: the queue's own answer, where
 * `rabbitmqctl list_queues` may show quorum queues' periodic statistics.
 */
export async function queueDepth(install: CeleryInstall, queue: string, options: DriverOptions): Promise<{ ready: number; consumers: number }> {
  return runDriver<{ ready: number; consumers: number }>(install, ['depth', queue], options);
}

/** Broadcast remote control `method` (e.g. `shutdown`) to `nodes` (all when unset), without waiting for replies. */
export async function control(install: CeleryInstall, method: string, options: DriverOptions & { nodes?: string[] }): Promise<void> {
  await runDriver(install, ['control', method, ...(options.nodes ?? []).flatMap((n) => ['--node', n])], options);
}

/** The top-level int, str and bool variables of a script `runScript` ran. */
export type ScriptVariables = { [name: string]: boolean | number | string };

/**
 * Run a Python file with the app in scope (`celery_driver.py exec`), for example a script the
 * README documents; resolves its top-level int, str and bool variables.
 */
export async function runScript(install: CeleryInstall, file: string, options: DriverOptions): Promise<ScriptVariables> {
  return (await runDriver<{ vars: ScriptVariables }>(install, ['exec', file], options)).vars;
}

let clientModuleDir: string | undefined;

/**
 * `celery inspect ping -d NODE` with the installation's own CLI, as an instance's `celery-ctl`
 * (and so the boot script's readiness check) runs it: `-A cdk_celery_client`, the rendered module
 * that re-exports the app with the client settings the broker needs (`exclusiveControlQueues`).
 */
export function ping(install: CeleryInstall, options: DriverOptions & { nodeName: string; exclusiveControlQueues?: boolean }): Promise<boolean> {
  if (!clientModuleDir) {
    // Under the shared temporary directory, so Celery in the RabbitMQ 4 root imports it too.
    clientModuleDir = mkdtempSync(join(tmpdir(), 'cdk-celery-client-'));
    Reaper.start('client-module', [clientModuleDir]);
    writeFileSync(join(clientModuleDir, `${CELERY_CLIENT_MODULE}.py`), renderCeleryClientModule());
  }
  const moduleDir = clientModuleDir;
  return new Promise((resolvePromise) => {
    const cwd = options.cwd ?? HARNESS_APP_DIR;
    const argv = installCommand(install, [...install.celery, '-A', CELERY_CLIENT_MODULE, 'inspect', 'ping', '-d', options.nodeName, '--timeout', '2'], cwd);
    const child = spawn(argv[0], argv.slice(1), {
      cwd,
      env: {
        ...BASE_ENV,
        CELERY_BROKER_URL: options.brokerUrl,
        CDK_CELERY_APP: options.app ?? HARNESS_APP,
        CDK_CELERY_EXCLUSIVE_CONTROL_QUEUES: options.exclusiveControlQueues ? '1' : '0',
        PYTHONPATH: moduleDir,
      },
      stdio: 'ignore',
      timeout: options.timeoutMs ?? 30_000,
      killSignal: 'SIGKILL',
    });
    child.once('error', () => resolvePromise(false));
    child.once('close', (code) => resolvePromise(code === 0));
  });
}

/** One event a harness task appended (see app/harness_tasks.py). */
export interface TaskEvent {
  readonly event: 'start' | 'done' | 'report';
  readonly id: string;
  readonly node: string;
  readonly pid: number;
  readonly redelivered: boolean;
  readonly at: number;
  readonly [key: string]: unknown;
}

let eventsRoot: string | undefined;

/**
 * A fresh file for task events, in a directory under a per-process root that a reaper removes
 * when the test process ends (normally or not).
 */
export function eventsFile(): { dir: string; path: string } {
  if (!eventsRoot) {
    eventsRoot = mkdtempSync(join(tmpdir(), 'cdk-celery-events-'));
    Reaper.start('events', [eventsRoot]);
  }
  const dir = mkdtempSync(join(eventsRoot, 'run-'));
  return { dir, path: join(dir, 'events.jsonl') };
}

/** The events appended so far. */
export function readEvents(path: string): TaskEvent[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as TaskEvent);
}
