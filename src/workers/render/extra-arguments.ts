import { systemdWordError } from './shell-quote';

/*
 * `extraArguments` are appended to `celery worker`, whose options Celery 5 parses with click. This
 * module parses them the way click 8 does for Celery's worker command (read from celery/bin/worker.py
 * and celery/bin/base.py of Celery 5.2.6 and 5.6.3, click/parser.py of click 8.1): long options with
 * `--opt value` or `--opt=value`, short options with `-Q value` or an attached value (`-Qother`,
 * `-S/path`, `-n=name` gives the value `=name`), combined short flags (`-DE`), the value of an
 * option taken from the next argument whatever it looks like (`-X --purge` excludes a queue named
 * `--purge`), no abbreviations of long options, `--` ending the options. Positional arguments
 * become Celery settings (`key=value`), so they are refused here: settings go through `settings`,
 * where they are checked. The test suite runs Celery's own parser of both versions on generated
 * argument lists and compares its decisions with `extraArgumentsError`.
 */

/** What the fleet does about one `celery worker` option given in `extraArguments`. */
type Disposition =
  | { readonly kind: 'owned'; readonly prop: string }
  | { readonly kind: 'refused'; readonly reason: string }
  | { readonly kind: 'allowed'; readonly check?: (value: string) => string | undefined };

interface WorkerOption {
  /** click's parameter name. */
  readonly param: string;
  /** Option strings in both Celery 5.2.6 and 5.6.3. */
  readonly names: string[];
  /** Option strings only newer versions know, with the first version that does. */
  readonly newerNames?: { readonly [name: string]: string };
  readonly takesValue: boolean;
  readonly disposition: Disposition;
}

const WHOLE_NUMBER = /^[0-9]+$/;

const daemonOption = 'systemd supervises a foreground worker: it sets the user, the group and the umask, and the journal keeps the logs (boot readiness reads them)';

/** Every option of `celery worker` in Celery 5.2.6 and 5.6.3 (click adds `--help`). */
const WORKER_OPTIONS: WorkerOption[] = [
  { param: 'hostname', names: ['-n', '--hostname'], takesValue: true, disposition: { kind: 'owned', prop: 'hostname' } },
  { param: 'detach', names: ['-D', '--detach'], takesValue: false, disposition: { kind: 'refused', reason: 'systemd supervises a foreground worker; a detached one escapes it' } },
  { param: 'statedb', names: ['-S', '--statedb'], takesValue: true, disposition: { kind: 'refused', reason: 'a state database persists the revoked set across restarts and makes mingle replies larger' } },
  { param: 'loglevel', names: ['-l', '--loglevel'], takesValue: true, disposition: { kind: 'owned', prop: 'logLevel' } },
  {
    param: 'optimization',
    names: ['-O'],
    newerNames: { '--optimization': '5.3.1' },
    takesValue: true,
    disposition: { kind: 'allowed', check: (v) => (v === 'default' || v === 'fair' ? undefined : 'Celery accepts only "default" or "fair"') },
  },
  { param: 'prefetch_multiplier', names: ['--prefetch-multiplier'], takesValue: true, disposition: { kind: 'owned', prop: 'prefetchMultiplier' } },
  { param: 'disable_prefetch', names: [], newerNames: { '--disable-prefetch': '5.6.0' }, takesValue: false, disposition: { kind: 'refused', reason: 'it only applies to Redis brokers' } },
  { param: 'concurrency', names: ['-c', '--concurrency'], takesValue: true, disposition: { kind: 'owned', prop: 'concurrency' } },
  { param: 'pool', names: ['-P', '--pool'], takesValue: true, disposition: { kind: 'owned', prop: 'pool' } },
  { param: 'task_events', names: ['-E', '--task-events', '--events'], takesValue: false, disposition: { kind: 'allowed' } },
  { param: 'time_limit', names: ['--time-limit'], takesValue: true, disposition: { kind: 'owned', prop: 'timeLimit' } },
  { param: 'soft_time_limit', names: ['--soft-time-limit'], takesValue: true, disposition: { kind: 'owned', prop: 'softTimeLimit' } },
  { param: 'max_tasks_per_child', names: ['--max-tasks-per-child'], takesValue: true, disposition: { kind: 'owned', prop: 'maxTasksPerChild' } },
  { param: 'max_memory_per_child', names: ['--max-memory-per-child'], takesValue: true, disposition: { kind: 'owned', prop: 'maxMemoryPerChildKib' } },
  { param: 'purge', names: ['--purge', '--discard'], takesValue: false, disposition: { kind: 'refused', reason: 'it erases every message in the worker\'s queues on each start' } },
  { param: 'queues', names: ['--queues', '-Q'], takesValue: true, disposition: { kind: 'owned', prop: 'queues' } },
  { param: 'exclude_queues', names: ['--exclude-queues', '-X'], takesValue: true, disposition: { kind: 'allowed' } },
  { param: 'include', names: ['--include', '-I'], takesValue: true, disposition: { kind: 'allowed' } },
  { param: 'without_gossip', names: ['--without-gossip'], takesValue: false, disposition: { kind: 'owned', prop: 'enableGossip' } },
  { param: 'without_mingle', names: ['--without-mingle'], takesValue: false, disposition: { kind: 'owned', prop: 'enableMingle' } },
  { param: 'without_heartbeat', names: ['--without-heartbeat'], takesValue: false, disposition: { kind: 'owned', prop: 'enableHeartbeatEvents' } },
  {
    param: 'heartbeat_interval',
    names: ['--heartbeat-interval'],
    takesValue: true,
    disposition: { kind: 'allowed', check: (v) => (WHOLE_NUMBER.test(v) ? undefined : 'use a whole number of seconds') },
  },
  {
    param: 'autoscale',
    names: ['--autoscale'],
    takesValue: true,
    disposition: { kind: 'allowed', check: (v) => (/^[0-9]+(,[0-9]+)?$/.test(v) ? undefined : 'use MAX,MIN or MAX (whole numbers of processes)') },
  },
  { param: 'beat', names: ['-B', '--beat'], takesValue: false, disposition: { kind: 'refused', reason: 'every instance of the fleet would run its own celery beat and send each periodic task once per instance; run one beat elsewhere' } },
  { param: 'schedule_filename', names: ['-s', '--schedule-filename', '--schedule'], takesValue: true, disposition: { kind: 'refused', reason: 'it only configures the embedded beat (-B), which a fleet cannot run' } },
  { param: 'scheduler', names: ['--scheduler'], takesValue: true, disposition: { kind: 'refused', reason: 'it only configures the embedded beat (-B), which a fleet cannot run' } },
  { param: 'logfile', names: ['-f', '--logfile'], takesValue: true, disposition: { kind: 'refused', reason: daemonOption } },
  { param: 'pidfile', names: ['--pidfile'], takesValue: true, disposition: { kind: 'refused', reason: daemonOption } },
  { param: 'uid', names: ['--uid'], takesValue: true, disposition: { kind: 'refused', reason: daemonOption } },
  { param: 'gid', names: ['--gid'], takesValue: true, disposition: { kind: 'refused', reason: daemonOption } },
  { param: 'umask', names: ['--umask'], takesValue: true, disposition: { kind: 'refused', reason: daemonOption } },
  { param: 'executable', names: ['--executable'], takesValue: true, disposition: { kind: 'refused', reason: daemonOption } },
  { param: 'help', names: ['--help'], takesValue: false, disposition: { kind: 'refused', reason: 'the worker would print its help and exit 0, over and over' } },
];

/** Option strings of both versions, by name. */
const OPTIONS_BY_NAME = new Map<string, WorkerOption>();
/** Option strings only newer versions know, by name. */
const NEWER_OPTIONS_BY_NAME = new Map<string, { option: WorkerOption; since: string }>();
for (const option of WORKER_OPTIONS) {
  for (const name of option.names) OPTIONS_BY_NAME.set(name, option);
  for (const [name, since] of Object.entries(option.newerNames ?? {})) NEWER_OPTIONS_BY_NAME.set(name, { option, since });
}

/** Why `extraArguments` is refused, with the kind of reason. */
export interface ExtraArgumentsRefusal {
  /**
   * `celery`: Celery 5.2.6 or 5.6.3 would fail to start, or would set an option the fleet owns or
   * refuses. `strict`: a value Celery might take but this library keeps to a plain form.
   */
  readonly kind: 'celery' | 'strict';
  /** The error message, naming the argument and what to do instead. */
  readonly message: string;
}

/** One option as parsed, for tests and error messages. */
export interface ParsedExtraOption {
  readonly param: string;
  /** The option string as written (`-Q`, `--queues`). */
  readonly name: string;
  readonly value?: string;
}

/**
 * Parse `extraArguments` as Celery's worker command would (see above) and decide whether a fleet
 * may pass them. Returns undefined when they are fine, else the refusal.
 */
export function extraArgumentsError(args: string[]): ExtraArgumentsRefusal | undefined {
  const refuse = (message: string, kind: 'celery' | 'strict' = 'celery'): ExtraArgumentsRefusal => ({ kind, message: `extraArguments: ${message}` });
  for (const arg of args) {
    const error = systemdWordError(arg);
    if (error) return refuse(`${JSON.stringify(arg)} is not allowed; ${error}.`, 'strict');
  }
  const parsed: ParsedExtraOption[] = [];
  const rest = [...args];
  while (rest.length > 0) {
    const arg = rest.shift()!;
    if (arg === '--') {
      return refuse('"--" is not allowed: what follows it would be read as Celery settings; use the settings prop, where they are checked.');
    }
    if (!arg.startsWith('-') || arg.length < 2) {
      return refuse(`${JSON.stringify(arg)} is not an option: Celery reads arguments that are not options as settings (key=value); use the settings prop, where they are checked.`);
    }
    const eq = arg.indexOf('=');
    const longName = eq < 0 ? arg : arg.slice(0, eq);
    const explicit = eq < 0 ? undefined : arg.slice(eq + 1);
    const long = OPTIONS_BY_NAME.get(longName);
    if (long && isLongName(longName)) {
      if (long.takesValue) {
        const value = explicit ?? rest.shift();
        if (value === undefined) return refuse(missingValue(longName), 'strict');
        parsed.push({ param: long.param, name: longName, value });
      } else if (explicit !== undefined) {
        return refuse(`${JSON.stringify(arg)}: "${longName}" takes no value; Celery would fail to start.`);
      } else {
        parsed.push({ param: long.param, name: longName });
      }
      continue;
    }
    if (arg.startsWith('--')) return refuse(unknownOption(longName));
    // Short options: each character after "-" is an option until one takes a value, which gets the
    // rest of the argument, or the next argument when nothing is left.
    for (let i = 1; i < arg.length; i++) {
      const name = `-${arg[i]}`;
      const option = OPTIONS_BY_NAME.get(name);
      if (!option || isLongName(name)) return refuse(unknownOption(name, arg));
      if (option.takesValue) {
        const value = i + 1 < arg.length ? arg.slice(i + 1) : rest.shift();
        if (value === undefined) return refuse(missingValue(name), 'strict');
        parsed.push({ param: option.param, name, value });
        break;
      }
      parsed.push({ param: option.param, name });
    }
  }

  for (const p of parsed) {
    const option = OPTIONS_BY_NAME.get(p.name)!;
    const shown = p.value === undefined ? `"${p.name}"` : `"${p.name}" ${JSON.stringify(p.value)}`;
    const d = option.disposition;
    if (d.kind === 'owned') return refuse(`${shown} is set by the typed option "${d.prop}"; use that option instead.`);
    if (d.kind === 'refused') return refuse(`${shown} is not allowed in a worker fleet: ${d.reason}.`);
    const problem = d.check && p.value !== undefined ? d.check(p.value) : undefined;
    if (problem) {
      // -O is a choice Celery checks exactly; the numbers are kept to plain digits here.
      return refuse(`${shown} is not allowed; ${problem}.`, option.param === 'optimization' ? 'celery' : 'strict');
    }
  }
  return undefined;
}

/** Parse `extraArguments` into options (the way `extraArgumentsError` does); throws when refused. */
export function parseExtraArguments(args: string[]): ParsedExtraOption[] {
  const error = extraArgumentsError(args);
  if (error) throw new Error(error.message);
  const parsed: ParsedExtraOption[] = [];
  const rest = [...args];
  while (rest.length > 0) {
    const arg = rest.shift()!;
    const eq = arg.indexOf('=');
    const longName = eq < 0 ? arg : arg.slice(0, eq);
    const long = OPTIONS_BY_NAME.get(longName);
    if (long && isLongName(longName)) {
      parsed.push({ param: long.param, name: longName, value: long.takesValue ? (eq < 0 ? rest.shift() : arg.slice(eq + 1)) : undefined });
      continue;
    }
    for (let i = 1; i < arg.length; i++) {
      const option = OPTIONS_BY_NAME.get(`-${arg[i]}`)!;
      if (option.takesValue) {
        parsed.push({ param: option.param, name: `-${arg[i]}`, value: i + 1 < arg.length ? arg.slice(i + 1) : rest.shift() });
        break;
      }
      parsed.push({ param: option.param, name: `-${arg[i]}` });
    }
  }
  return parsed;
}

/** The last argument is an option without its value: Celery would take the "--" before the settings as the value, or fail. */
function missingValue(name: string): string {
  return `"${name}" needs a value (Celery would take whatever follows the extra arguments as its value, or fail to start).`;
}

/** click treats a one-character name after a one-character prefix as a short option. */
function isLongName(name: string): boolean {
  return !(name.length === 2 && name[0] === '-' && name[1] !== '-');
}

function unknownOption(name: string, arg?: string): string {
  const newer = NEWER_OPTIONS_BY_NAME.get(name);
  const where = arg !== undefined && arg !== name ? ` (in ${JSON.stringify(arg)})` : '';
  if (newer) {
    const alternative = newer.option.names.length > 0 ? ` use ${newer.option.names.join(' or ')}, which every Celery 5 knows,` : '';
    return `"${name}"${where} is only known to Celery ${newer.since} and later; a worker on an older Celery 5 would fail to start:${alternative || ' leave it out'}${alternative ? ' instead' : ''}.`;
  }
  return `"${name}"${where} is not an option of celery worker (Celery 5.2 to 5.6); Celery would fail to start. Options are matched exactly (no abbreviations).`;
}
