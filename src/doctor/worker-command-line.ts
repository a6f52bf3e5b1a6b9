import { parse as parseShell } from 'shell-quote';
import { CELERY_DEFAULT_PREFETCH_MULTIPLIER } from './knowledge';
import { UserDataDocument } from './user-data-documents';

/**
 * `celery ... worker` and `celery ... multi` command lines found in user data, and what they
 * say about the worker: the flags and settings that decide its broker traffic.
 */
export interface WorkerCommandLine {
  /** Document it was found in. */
  readonly origin: string;
  /** The command line as written (one logical line). */
  readonly line: string;
  /** Arguments from the `celery` executable on. */
  readonly argv: string[];
  /** `NAME=value` assignments in front of the command. */
  readonly envPrefix: { [name: string]: string };
}

/** What a worker command line sets. `undefined` means: not on the command line. */
export interface WorkerCommandFacts {
  readonly subcommand: 'worker' | 'multi';
  readonly app?: string;
  /** Workers this line starts (`celery multi start 3`, `multi start w1 w2`; 1 for `worker`). */
  readonly nodes: number;
  readonly hostname?: string;
  readonly mingle: boolean;
  readonly gossip: boolean;
  readonly heartbeat: boolean;
  /** `--prefetch-multiplier` or `worker_prefetch_multiplier=`; Celery's default 4 when unset. */
  readonly prefetchMultiplier: number;
  readonly prefetchMultiplierExplicit: boolean;
  readonly concurrency?: number;
  readonly pool?: string;
  readonly timeLimitSeconds?: number;
  readonly softTimeLimitSeconds?: number;
  /** `task_acks_late=` on the command line; undefined when not there (the app may set it). */
  readonly acksLate?: boolean;
  readonly remoteControl: boolean;
  readonly stateDb?: string;
  readonly purge: boolean;
  readonly detach: boolean;
  readonly queues?: string[];
  /** `key=value` settings after the arguments. */
  readonly settings: { [key: string]: string };
}

/** Celery's global options that take a value (before the subcommand). */
const GLOBAL_OPTIONS_WITH_VALUE = new Set(['-A', '--app', '-b', '--broker', '--result-backend', '--loader', '--config', '--workdir']);
/** Worker options that take a value (so that the value is not read as a setting or a node name). */
const WORKER_OPTIONS_WITH_VALUE = new Set([
  '-A', '--app', '-b', '--broker', '-n', '--hostname', '-S', '--statedb', '-l', '--loglevel', '-O', '--optimization',
  '--prefetch-multiplier', '-c', '--concurrency', '-P', '--pool', '-Q', '--queues', '-X', '--exclude-queues',
  '-I', '--include', '--max-tasks-per-child', '--max-memory-per-child', '--time-limit', '--soft-time-limit',
  '--autoscale', '--pidfile', '-f', '--logfile', '--heartbeat-interval', '--uid', '--gid', '--umask', '--executable',
  '-s', '--schedule', '--scheduler', '--result-backend', '--loader', '--config', '--workdir',
]);
const FLAG_ONLY = new Set(['-E', '--task-events', '-D', '--detach', '--purge', '--discard', '-B', '--beat',
  '--without-mingle', '--without-gossip', '--without-heartbeat', '--no-color', '-q', '--quiet']);

type Token = string | { op: string } | { comment: string } | { op: 'glob'; pattern: string };

function tokenize(line: string): Token[] {
  // Variables stay as written ($VAR): the doctor never expands anything.
  return parseShell(line, (key) => `$${key}`) as Token[];
}

function word(t: Token): string | undefined {
  if (typeof t === 'string') return t;
  if ('pattern' in t && t.op === 'glob') return t.pattern;
  return undefined;
}

/** Logical lines: backslash-newline continuations joined. */
export function logicalLines(text: string): string[] {
  return text.replace(/\\\n\s*/g, ' ').split('\n');
}

/** Undo systemd's `%%` and `$$` escapes of an `ExecStart=` line. */
function systemdUnescape(arg: string): string {
  return arg.replace(/%%/g, '%').replace(/\$\$/g, '$');
}

/** Find worker command lines in documents. */
export function findWorkerCommandLines(docs: UserDataDocument[]): WorkerCommandLine[] {
  const found: WorkerCommandLine[] = [];
  const seen = new Set<string>();
  for (const doc of docs) {
    for (const raw of logicalLines(doc.text)) {
      if (!/celery/.test(raw) || !/\b(worker|multi)\b/.test(raw) || /^\s*#/.test(raw)) continue;
      let line = raw.trim();
      let systemd = false;
      const exec = /^Exec(?:Start|StartPre|StartPost|Reload)=[-+@!:]*(.*)$/.exec(line);
      if (exec) {
        line = exec[1];
        systemd = true;
      }
      const supervisor = /^command\s*=\s*(.*)$/.exec(line);
      if (supervisor) line = supervisor[1];
      for (const cmd of commandsIn(line, 0)) {
        const argv = systemd ? cmd.argv.map(systemdUnescape) : cmd.argv;
        const key = `${doc.origin}\0${argv.join('\0')}`;
        if (seen.has(key)) continue;
        seen.add(key);
        found.push({ origin: doc.origin, line: raw.trim(), argv, envPrefix: cmd.env });
      }
    }
  }
  return found;
}

function commandsIn(line: string, depth: number): Array<{ argv: string[]; env: { [n: string]: string } }> {
  if (depth > 3) return [];
  let tokens: Token[];
  try {
    tokens = tokenize(line);
  } catch {
    return [];
  }
  const out: Array<{ argv: string[]; env: { [n: string]: string } }> = [];
  // Segments between shell operators (; && || | & ( ) and redirections end a command).
  let segment: string[] = [];
  const flush = () => {
    const cmd = celeryCommand(segment);
    if (cmd) {out.push(cmd);} else {
      // A command passed as one string to a shell (su -c "...", bash -c '...', runuser -c): look inside.
      segment.forEach((w, i) => {
        if (i > 0 && ['-c', '--command'].includes(segment[i - 1]) && /celery/.test(w)) out.push(...commandsIn(w, depth + 1));
      });
    }
    segment = [];
  };
  for (const t of tokens) {
    const w = word(t);
    if (w !== undefined) {
      segment.push(w);
    } else if (typeof t === 'object' && 'op' in t) {
      if (/^[<>]/.test(t.op) || /^\d*>/.test(t.op)) {
        // A redirection: drop a file-descriptor number just before it; its target follows as a word.
        if (/^\d$/.test(segment[segment.length - 1] ?? '')) segment.pop();
        segment.push('\0redirect');
      } else {
        flush();
      }
    } else {
      flush(); // comment
    }
  }
  flush();
  return out;
}

function isCeleryExecutable(w: string): boolean {
  return /(^|\/)celery$/.test(w) || /^\$\{?CELERY_BIN\}?$/.test(w);
}

/** Programs that run the command after them (so `celery` may follow them in a command). */
const WRAPPERS = new Set(['nohup', 'exec', 'sudo', 'su', 'runuser', 'env', 'nice', 'ionice', 'timeout', 'setsid', 'chpst',
  'stdbuf', 'gosu', 'su-exec', 'setpriv', 'docker', 'podman', 'time', 'newrelic-admin', 'ddtrace-run', 'pipenv', 'poetry', 'uv']);

/** Whether the command word of a segment can lead to `celery`: an assignment, a wrapper, celery or python itself. */
function startsCommand(first: string): boolean {
  const name = first.slice(first.lastIndexOf('/') + 1);
  return /^[A-Za-z_][A-Za-z0-9_]*=/.test(first) || WRAPPERS.has(name) || isCeleryExecutable(first) || /^python[0-9.]*$/.test(name);
}

function celeryCommand(segment: string[]): { argv: string[]; env: { [n: string]: string } } | undefined {
  const words = segment.slice(0, segment.includes('\0redirect') ? segment.indexOf('\0redirect') : undefined);
  if (words.length === 0 || !startsCommand(words[0])) return undefined;
  let start = words.findIndex(isCeleryExecutable);
  let argv: string[];
  if (start >= 0) {
    argv = ['celery', ...words.slice(start + 1)];
  } else {
    // python -m celery ...
    const m = words.findIndex((w, i) => w === '-m' && words[i + 1] === 'celery' && /python/.test(words[i - 1] ?? ''));
    if (m < 0) return undefined;
    start = m - 1;
    argv = ['celery', ...words.slice(m + 2)];
  }
  const sub = subcommandIndex(argv);
  if (sub < 0 || !['worker', 'multi'].includes(argv[sub])) return undefined;
  // `celery multi stop|kill|show ...` starts nothing.
  if (argv[sub] === 'multi' && !['start', 'restart'].includes(argv.slice(sub + 1).find((a) => !a.startsWith('-')) ?? '')) return undefined;
  const env: { [n: string]: string } = {};
  for (const w of words.slice(0, start)) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(w);
    if (m) env[m[1]] = m[2];
  }
  return { argv, env };
}

function subcommandIndex(argv: string[]): number {
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (GLOBAL_OPTIONS_WITH_VALUE.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    return i;
  }
  return -1;
}

function truthy(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const v = value.replace(/^\((int|string|json|bool)\)/, '').toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
  return undefined;
}

function numberOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value.replace(/^\((int|float)\)/, ''));
  return Number.isFinite(n) ? n : undefined;
}

/**
 * What a worker command line sets. `env` is the environment it runs with as far as the user data
 * shows it (`CELERY_WORKER_WITHOUT_MINGLE=1` and the like, which click reads).
 */
export function workerCommandFacts(argv: string[], env: { [name: string]: string } = {}): WorkerCommandFacts {
  const sub = subcommandIndex(argv);
  const subcommand = argv[sub] as 'worker' | 'multi';
  const options = new Map<string, string>();
  const flags = new Set<string>();
  const settings: { [key: string]: string } = {};
  const positionals: string[] = [];
  const global = argv.slice(1, sub);
  for (let i = 0; i < global.length; i++) {
    if (GLOBAL_OPTIONS_WITH_VALUE.has(global[i])) options.set(long(global[i]), global[++i] ?? '');
    else if (/^--\w[\w-]*=/.test(global[i])) options.set(global[i].slice(0, global[i].indexOf('=')), global[i].slice(global[i].indexOf('=') + 1));
  }
  const rest = argv.slice(sub + 1);
  let afterDashDash = false;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (afterDashDash || (!a.startsWith('-') && /^[a-z][a-z0-9_]*=/.test(a))) {
      if (a === '--') continue;
      const eq = a.indexOf('=');
      if (eq > 0) settings[a.slice(0, eq)] = a.slice(eq + 1);
      continue;
    }
    if (a === '--') {
      afterDashDash = true;
      continue;
    }
    if (a.startsWith('--') && a.includes('=')) {
      options.set(a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1));
      continue;
    }
    if (FLAG_ONLY.has(a)) {
      flags.add(a);
      continue;
    }
    // `celery multi` per-node options: -c:1 4
    const base = a.replace(/:[^ ]+$/, '');
    if (WORKER_OPTIONS_WITH_VALUE.has(base)) {
      options.set(long(base), rest[++i] ?? '');
      continue;
    }
    // Short option with its value attached: -c4, -Ofair, -linfo
    const attached = /^(-[A-Za-z])(.+)$/.exec(a);
    if (attached && WORKER_OPTIONS_WITH_VALUE.has(attached[1])) {
      options.set(long(attached[1]), attached[2]);
      continue;
    }
    if (!a.startsWith('-')) positionals.push(a);
  }

  const envFlag = (name: string) => truthy(env[`CELERY_WORKER_${name}`]) === true;
  const prefetch = numberOf(options.get('--prefetch-multiplier') ?? settings.worker_prefetch_multiplier);
  const queues = options.get('--queues');
  let nodes = 1;
  if (subcommand === 'multi') {
    // multi start|restart|stop NODES...: a number, or names up to the first option.
    const names = positionals.filter((p) => !['start', 'restart', 'stop', 'stopwait', 'kill', 'show', 'names', 'expand', 'get', 'dopts'].includes(p));
    const count = names.length === 1 && /^\d+$/.test(names[0]) ? Number(names[0]) : names.length;
    nodes = Math.max(1, count);
  }
  return {
    subcommand,
    app: options.get('--app'),
    nodes,
    hostname: options.get('--hostname'),
    mingle: !(flags.has('--without-mingle') || envFlag('WITHOUT_MINGLE')),
    gossip: !(flags.has('--without-gossip') || envFlag('WITHOUT_GOSSIP')),
    heartbeat: !(flags.has('--without-heartbeat') || envFlag('WITHOUT_HEARTBEAT')),
    prefetchMultiplier: prefetch ?? CELERY_DEFAULT_PREFETCH_MULTIPLIER,
    prefetchMultiplierExplicit: prefetch !== undefined,
    concurrency: numberOf(options.get('--concurrency') ?? settings.worker_concurrency),
    pool: options.get('--pool') ?? settings.worker_pool,
    timeLimitSeconds: numberOf(options.get('--time-limit') ?? settings.task_time_limit),
    softTimeLimitSeconds: numberOf(options.get('--soft-time-limit') ?? settings.task_soft_time_limit),
    acksLate: truthy(settings.task_acks_late),
    remoteControl: truthy(settings.worker_enable_remote_control) !== false,
    stateDb: options.get('--statedb'),
    purge: flags.has('--purge') || flags.has('--discard'),
    detach: flags.has('--detach') || flags.has('-D'),
    queues: queues ? queues.split(',').filter((q) => q !== '') : undefined,
    settings,
  };
}

function long(flag: string): string {
  const map: { [short: string]: string } = {
    '-A': '--app',
    '-b': '--broker',
    '-n': '--hostname',
    '-S': '--statedb',
    '-l': '--loglevel',
    '-O': '--optimization',
    '-c': '--concurrency',
    '-P': '--pool',
    '-Q': '--queues',
    '-X': '--exclude-queues',
    '-I': '--include',
    '-f': '--logfile',
    '-s': '--schedule',
  };
  return map[flag] ?? flag;
}
