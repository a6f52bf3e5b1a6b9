import { systemdWordError, shellQuote } from './shell-quote';

/** Celery's node name when `--hostname` is not given. */
export const DEFAULT_NODE_NAME = 'celery@%h';

/** Longest `hostname` template accepted: node names become parts of queue names (at most 255 bytes). */
export const MAX_NODE_NAME_TEMPLATE_LENGTH = 128;

/** The `%` specifiers Celery's `host_format` knows in a worker's main process. */
const SPECIFIERS: { [ch: string]: string } = {
  h: '"${h}"',
  n: '"${hn}"',
  d: '"${hd}"',
  // The process index: '0' and '' in the main process, whose node name the boot script waits for.
  i: '0',
  I: "''",
};

/**
 * Why Celery would not start, or this library could not wait for, a worker with this `--hostname`,
 * or undefined when the template is fine. Celery expands `%` followed by a word character and
 * fails on any it does not know; this library also refuses a `%` before anything else (Celery would
 * keep it), control characters and templates longer than `MAX_NODE_NAME_TEMPLATE_LENGTH`.
 */
export function nodeNameTemplateError(template: string): string | undefined {
  const wordError = systemdWordError(template);
  if (wordError) return wordError;
  if (template === '') return 'an empty name is not allowed; leave hostname unset for celery@%h';
  if (template.length > MAX_NODE_NAME_TEMPLATE_LENGTH) return `use at most ${MAX_NODE_NAME_TEMPLATE_LENGTH} characters (node names become parts of queue names)`;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(template)) return 'control characters are not allowed';
  const bad = /%(?![hndiI])(.?)/su.exec(template);
  if (bad) {
    const specifiers = '"%" must be followed by h (host name), n (name before the first dot), d (domain), i or I (process index)';
    // Celery expands "%" and a word character, and fails on one it does not know; it keeps a "%" before anything else.
    return /^[\p{L}\p{N}_]$/u.test(bad[1]) ? `${specifiers}; Celery fails on %${bad[1]}` : `${specifiers} (a "%" elsewhere is refused here to keep node names plain)`;
  }
  return undefined;
}

/**
 * The node name Celery gives a worker started with `--hostname TEMPLATE` on a machine called
 * `host` (`socket.gethostname()`), as Celery 5.x computes it: the `Hostname` option type applies
 * `default_nodename` (`name@host`, `celery` for a missing name, the machine for a missing host)
 * then `host_format` (`%h`, `%n`, `%d`; `%i` is `0` and `%I` empty in the main process), and the
 * worker applies `default_nodename` once more (an expansion can leave the name or host empty).
 */
export function celeryNodeName(template: string, host: string): string {
  const error = nodeNameTemplateError(template);
  if (error) throw new Error(`hostname: ${JSON.stringify(template)} is not allowed; ${error}.`);
  const hostName = host.split('.')[0];
  const domain = host.includes('.') ? host.slice(host.indexOf('.') + 1) : '';
  const values: { [ch: string]: string } = { h: host, n: hostName, d: domain, i: '0', I: '' };
  const format = (text: string) => text.replace(/%([hndiI])/g, (_m, ch: string) => values[ch]);
  const [name, hostPart] = splitTemplate(template);
  return `${format(name) || 'celery'}@${format(hostPart || '%h') || host}`;
}

/** Name and host parts of a template, split at the first `@`; no `@`: the whole is the host. */
function splitTemplate(template: string): [string, string] {
  const at = template.indexOf('@');
  return at < 0 ? ['', template] : [template.slice(0, at), template.slice(at + 1)];
}

/** Bash that sets `$h` (the machine's name), `$hn` (before the first dot) and `$hd` (after it). */
export const NODE_NAME_PARTS = 'h=$(uname -n)\nhn=${h%%.*}\nhd=${h#"${hn}"}\nhd=${hd#.}';

/**
 * Bash that sets `variable` to the worker's node name on the instance, exactly as
 * `celeryNodeName` computes it, from `$h`, `$hn` and `$hd` (set them first with `NODE_NAME_PARTS`).
 *
 * @param template The `--hostname` template (default `celery@%h`)
 * @param variable The variable to set
 */
export function renderNodeNameAssignment(template: string = DEFAULT_NODE_NAME, variable = 'node'): string {
  const error = nodeNameTemplateError(template);
  if (error) throw new Error(`hostname: ${JSON.stringify(template)} is not allowed; ${error}.`);
  const [name, host] = splitTemplate(template);
  const expand = (text: string) => {
    const parts = text.split(/(%[hndiI])/).filter((p) => p !== '');
    return parts.length === 0 ? "''" : parts.map((p) => (p.startsWith('%') ? SPECIFIERS[p[1]] : shellQuote(p))).join('');
  };
  // Never empty after expansion: literal text, %i ("0"), %h (the machine's name, never empty).
  const neverEmpty = (text: string) => text.replace(/%[dIn]/g, '') !== '';
  const hostPart = host || '%h';
  if (neverEmpty(name) && neverEmpty(hostPart)) return `${variable}=${expand(name)}@${expand(hostPart)}`;
  return [
    `${variable}_name=${expand(name)}`,
    `${variable}_host=${expand(hostPart)}`,
    `${variable}="\${${variable}_name:-celery}@\${${variable}_host:-\${h}}"`,
  ].join('\n');
}
