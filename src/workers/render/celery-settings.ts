import { CELERY_LOG_LEVELS, CELERY_POOLS, CELERY_SETTINGS, CELERY_TABLE_OLDEST_VERSION } from './celery-settings-table';
import { systemdWordError } from './shell-quote';

/*
 * Checks of `settings` (passed as `key=value` after the worker's options) against Celery's own
 * table (celery-settings-table.ts, generated from celery.app.defaults), mirroring how
 * `Loader.cmdline_config_parser` reads them: the key must be a setting of a namespace
 * (`task_acks_late`: namespace `task`, key `acks_late`); a value may start with a cast such as
 * `(json)` or `(int)`; without one, the declared type converts it (`int(value)`, Celery's
 * `strtobool`, `dict(value)`...), and types the parser has no converter for (`str`, `bytes`,
 * `list`, Python classes) fail without a cast. A worker whose settings fail to parse does not start.
 */

/** Why a setting is refused, with the kind of reason (see `ExtraArgumentsRefusal`). */
export interface CelerySettingRefusal {
  /** `celery`: Celery would fail to start or misread it. `strict`: this library keeps to plain forms or refuses it for the fleet's sake. */
  readonly kind: 'celery' | 'strict';
  readonly message: string;
}

/** Settings the fleet sets itself, with the typed option to use instead. */
const OWNED_SETTINGS: { [key: string]: string } = {
  worker_concurrency: 'concurrency',
  worker_pool: 'pool',
  worker_prefetch_multiplier: 'prefetchMultiplier',
  worker_max_tasks_per_child: 'maxTasksPerChild',
  worker_max_memory_per_child: 'maxMemoryPerChildKib',
  task_time_limit: 'timeLimit (the worker unit\'s stop timeout and the drain are derived from it)',
  task_soft_time_limit: 'softTimeLimit',
  worker_enable_remote_control: 'enableRemoteControl (boot readiness depends on it)',
};

/** Settings the fleet refuses, with the reason. */
const REFUSED_SETTINGS: { [key: string]: string } = {
  worker_state_db: 'a state database persists the revoked set across restarts and makes mingle replies larger',
  broker_url: 'the fleet builds the broker URL on the instance from the credentials secret',
  broker_read_url: 'the fleet builds the broker URL on the instance from the credentials secret',
  broker_write_url: 'the fleet builds the broker URL on the instance from the credentials secret',
  broker_host: 'the fleet builds the broker URL on the instance from the credentials secret',
  broker_port: 'the fleet builds the broker URL on the instance from the credentials secret',
  broker_user: 'the fleet builds the broker URL on the instance from the credentials secret',
  broker_password: 'the fleet builds the broker URL on the instance from the credentials secret',
  broker_vhost: 'the fleet builds the broker URL on the instance from the credentials secret',
};

/** Casts `(name)value` the parser knows, and what each converts with (`dict`, `list`, `tuple` read JSON). */
const CASTS: { [cast: string]: string } = {
  string: 'string', int: 'int', float: 'float', any: 'any', bool: 'bool', json: 'json', dict: 'json', list: 'json', tuple: 'json',
};

/** Celery's `strtobool` table. */
const BOOLEAN_WORDS = new Set(['false', 'no', '0', 'true', 'yes', '1', 'on', 'off']);

const INTEGER = /^-?[0-9]+$/;
const FLOAT = /^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;
const SETTING_KEY = /^[a-z][a-z0-9_]*$/;
/** `scheme://user:password@`: credentials in a URL. */
const URL_CREDENTIALS = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/@]*:[^/@]*@/;

/** The closest of `candidates` to `name` (Levenshtein distance), if one is close enough to be a typo. */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 4)) ? best : undefined;
}

/** Levenshtein distance (insertions, deletions, substitutions), two rows at a time. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_v, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/** Why `key=value` cannot be a setting of a fleet's worker, or undefined when it can. */
export function celerySettingError(key: string, value: string): CelerySettingRefusal | undefined {
  const shown = `settings.${key}`;
  const refuse = (message: string, kind: 'celery' | 'strict' = 'celery'): CelerySettingRefusal => ({ kind, message: `${shown}: ${message}` });
  const keyError = systemdWordError(key);
  if (keyError) return refuse(`the name is not allowed; ${keyError}.`, 'strict');
  const normalized = key.toLowerCase().replace(/\./g, '_');
  if (!SETTING_KEY.test(key) && SETTING_KEY.test(normalized) && normalized in CELERY_SETTINGS) {
    // Celery would read it (names are case-insensitive, dots stand for underscores); one spelling keeps the checks simple.
    return refuse(`use the name as Celery documents it: "${normalized}".`, 'strict');
  }
  if (!SETTING_KEY.test(key) || !(key in CELERY_SETTINGS)) {
    const suggestion = closestName(key.toLowerCase(), Object.keys(CELERY_SETTINGS));
    // With a cast, Celery's parser sets any NAMESPACE_KEY name without looking it up: nothing reads it.
    const silentlyIgnored = /^\(([A-Za-z0-9_]+)\)/.test(value) && CASTS[/^\(([A-Za-z0-9_]+)\)/.exec(value)![1]] !== undefined && normalized.includes('_');
    return refuse(`${JSON.stringify(key)} is not a setting Celery's worker command line accepts${suggestion ? `; did you mean "${suggestion}"?` : ''} `
      + '(settings are lowercase NAMESPACE_NAME names from Celery\'s configuration reference; top-level ones such as timezone must be set in the application'
      + `${silentlyIgnored ? '; with a cast Celery would not even complain, and nothing would read it' : ''}).`, silentlyIgnored ? 'strict' : 'celery');
  }
  if (OWNED_SETTINGS[key]) return refuse(`${key} is set by the typed option ${OWNED_SETTINGS[key]}; use that option instead.`, 'strict');
  if (REFUSED_SETTINGS[key]) return refuse(`${key} is not allowed in a worker fleet: ${REFUSED_SETTINGS[key]}.`, 'strict');
  if (key.includes('password')) return refuse(`${key} is not allowed: the value would be readable in the template and the instances' user data; set it in the application from a secret.`, 'strict');

  const valueError = systemdWordError(value);
  if (valueError) return refuse(`${JSON.stringify(value)} is not allowed; ${valueError}.`, 'strict');
  if (URL_CREDENTIALS.test(value)) {
    return refuse('a URL with credentials is not allowed: it would be readable in the template and the instances\' user data; set it in the application from a secret.', 'strict');
  }

  const type = CELERY_SETTINGS[key].type;
  let convertAs = type;
  let text = value;
  if (value.startsWith('(')) {
    const cast = /^\(([A-Za-z0-9_]+)\)/.exec(value);
    if (!cast) return refuse(`${JSON.stringify(value)} is not allowed: Celery reads a value that starts with "(" as a cast such as (json) or (int).`, 'strict');
    if (!CASTS[cast[1]]) return refuse(`the cast (${cast[1]}) in ${JSON.stringify(value)} is not one Celery knows; use (string), (int), (float), (bool), (json) or (any).`);
    convertAs = CASTS[cast[1]];
    text = value.slice(cast[0].length);
    const castType = CAST_RESULT_TYPE[convertAs];
    const expected = JSON_TYPE_OF[type];
    if (castType && expected && castType !== expected && !(expected === 'number' && castType === 'integer')) {
      return refuse(`${JSON.stringify(value)} is not allowed; Celery declares this setting as ${type}, and (${cast[1]}) makes it a ${castType}.`, 'strict');
    }
  }
  return conversionError(convertAs, type, text, value, refuse);
}

function conversionError(convertAs: string, declared: string, text: string, value: string,
  refuse: (message: string, kind?: 'celery' | 'strict') => CelerySettingRefusal): CelerySettingRefusal | undefined {
  const quoted = JSON.stringify(value);
  switch (convertAs) {
    case 'string':
    case 'any':
      return undefined;
    case 'int':
      return INTEGER.test(text) ? undefined : refuse(`${quoted} is not allowed; use a whole number (digits, optionally after -).`, 'strict');
    case 'float':
      return FLOAT.test(text) ? undefined : refuse(`${quoted} is not allowed; use a number such as 2, 0.5 or 1e3.`, 'strict');
    case 'bool':
      return /^[A-Za-z0-9]+$/.test(text) && BOOLEAN_WORDS.has(text.toLowerCase()) ? undefined
        : refuse(`${quoted} is not allowed; use True or False (Celery also reads yes/no, on/off, 1/0).`, 'strict');
    case 'json': {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return refuse(`${quoted} is not allowed; the text after the cast must be JSON.`, 'strict');
      }
      const expected = JSON_TYPE_OF[declared];
      if (expected && jsonType(parsed) !== expected && !(expected === 'number' && jsonType(parsed) === 'integer')) {
        return refuse(`${quoted} is not allowed; Celery declares this setting as ${declared}, so give a JSON ${expected}.`, 'strict');
      }
      return undefined;
    }
    case 'dict':
      // dict(value): only the empty string converts; anything else fails.
      return text === '' ? undefined : refuse(`${quoted} is not allowed: the setting is a dict, which Celery reads from the command line only as (json){...}.`);
    case 'tuple':
      return refuse(`${quoted} is not allowed: the setting is a tuple, and without (json)[...] Celery splits the text into single characters.`, 'strict');
    default:
      // str, bytes, list and Python classes: the parser has no converter for them without a cast.
      return refuse(`${quoted} is not allowed: Celery's command line cannot convert a plain value for this setting (declared as ${declared}); `
        + `prefix it with a cast, for example ${declared === 'list' ? '(json)["a", "b"]' : declared.startsWith('class:') ? '(int)30' : `(string)${text}`}.`);
  }
}

/** What a non-JSON cast produces, in the terms of `JSON_TYPE_OF`. */
const CAST_RESULT_TYPE: { [cast: string]: string } = { string: 'string', int: 'integer', float: 'number', bool: 'boolean' };

const JSON_TYPE_OF: { [declared: string]: string } = {
  'dict': 'object',
  'list': 'array',
  'tuple': 'array',
  'int': 'integer',
  'class:int': 'integer',
  'float': 'number',
  'bool': 'boolean',
  'string': 'string',
  'str': 'string',
  'bytes': 'string',
};

function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** Warnings for settings that only newer Celery versions know. */
export function celerySettingWarnings(settings: { [key: string]: string }): string[] {
  return Object.keys(settings).filter((key) => CELERY_SETTINGS[key] && !CELERY_SETTINGS[key].inOldest)
    .map((key) => `settings.${key} is not known to Celery ${CELERY_TABLE_OLDEST_VERSION} (a later 5.x added it): a worker on an older Celery fails to start with it. `
      + 'Make sure the application\'s requirements pin a Celery that knows it.');
}

/** Why `--loglevel LEVEL` fails in Celery, or undefined. */
export function logLevelError(level: string): string | undefined {
  if (/^[A-Za-z]+$/.test(level) && CELERY_LOG_LEVELS.includes(level.toUpperCase())) return undefined;
  return `logLevel: ${JSON.stringify(level)} is not a level Celery accepts; use one of ${CELERY_LOG_LEVELS.join(', ')}.`;
}

/** Why `--pool NAME` fails in Celery 5.2 or 5.6, or undefined. */
export function poolNameError(name: string): string | undefined {
  if (CELERY_POOLS.includes(name)) return undefined;
  const suggestion = closestName(name, CELERY_POOLS);
  return `pool: ${JSON.stringify(name)} is not a pool Celery accepts${suggestion ? ` (did you mean "${suggestion}"?)` : ''}; use one of ${CELERY_POOLS.join(', ')}.`;
}
