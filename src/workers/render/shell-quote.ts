import { Token } from 'aws-cdk-lib';

const SHELL_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quote a value known at synth as one bash word. A value that holds a CloudFormation token is
 * refused: its text is only known at deploy time, where nothing escapes it; scripts take such
 * values through `DeployTimeValues` (decoded from base64 at boot) instead.
 */
export function shellQuote(value: string): string {
  if (Token.isUnresolved(value)) {
    throw new Error(`internal: a CloudFormation value (${value}) cannot be quoted for bash at synth; pass it through DeployTimeValues.`);
  }
  if (value.includes('\0')) throw new Error(`internal: ${JSON.stringify(value)} holds a NUL character, which no bash word can carry.`);
  if (value !== '' && SHELL_SAFE.test(value)) return value;
  return `'${value.replace(/'/g, '\'\\\'\'')}'`;
}

const SYSTEMD_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why `value` cannot be one word of a systemd unit line, or undefined when it can: a CloudFormation
 * token (its text is only known at deploy time, inside a unit file nothing escapes it), a NUL
 * character (no process argument can carry it), or text that is not well-formed Unicode (systemd
 * ignores lines that are not valid UTF-8).
 */
export function systemdWordError(value: string): string | undefined {
  if (Token.isUnresolved(value)) return 'a CloudFormation value (token) is not accepted here: systemd units are written at synth, so the text must be known then';
  if (value.includes('\0')) return 'it holds a NUL character, which no process argument can carry';
  if (LONE_SURROGATE.test(value)) return 'it is not well-formed Unicode (a lone surrogate), which cannot be written as UTF-8';
  return undefined;
}

/** C escape of one character inside a double-quoted systemd word. */
function systemdEscape(ch: string): string {
  switch (ch) {
    case '\\': return '\\\\';
    case '"': return '\\"';
    case '\n': return '\\n';
    case '\t': return '\\t';
    default: return `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
  }
}

/**
 * Quote one word of a systemd `ExecStart=` command line: `%` specifiers and `$` expansion are
 * escaped so the process receives the text unchanged; words with other characters are
 * double-quoted with C-style escapes (every control character included).
 */
export function systemdQuoteArgument(value: string): string {
  const error = systemdWordError(value);
  if (error) throw new Error(`internal: ${JSON.stringify(value)} cannot be a systemd word: ${error}.`);
  const escaped = value.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (value !== '' && SYSTEMD_SAFE.test(value)) return escaped;
  // eslint-disable-next-line no-control-regex
  return `"${escaped.replace(/[\\"\x00-\x1f\x7f]/g, systemdEscape)}"`;
}

/** Render an argument vector as a systemd command line. */
export function systemdCommandLine(argv: string[]): string {
  return argv.map(systemdQuoteArgument).join(' ');
}

/**
 * Quote a `NAME=value` assignment for systemd's `Environment=` (specifiers expanded, variables not).
 */
export function systemdEnvironmentAssignment(name: string, value: string): string {
  for (const part of [name, value]) {
    const error = systemdWordError(part);
    if (error) throw new Error(`internal: ${JSON.stringify(part)} cannot be written to Environment=: ${error}.`);
  }
  // eslint-disable-next-line no-control-regex
  const text = `${name}=${value}`.replace(/%/g, '%%').replace(/[\\"\x00-\x1f\x7f]/g, systemdEscape);
  return `"${text}"`;
}

/**
 * A path for a systemd setting that takes one path (`WorkingDirectory=`): specifiers escaped. The
 * path must be absolute and normalized (systemd refuses `.` and `..` components), without control
 * characters (the value runs to the end of the line) or surrounding spaces (systemd strips them).
 * Returns the error, or the escaped path.
 */
export function systemdPathSetting(prop: string, path: string): string {
  const error = systemdWordError(path);
  if (error) throw new Error(`${prop}: ${JSON.stringify(path)} is not allowed; ${error}.`);
  // eslint-disable-next-line no-control-regex
  if (!path.startsWith('/') || /[\x00-\x1f\x7f]/.test(path) || path.trim() !== path || path.split('/').some((c) => c === '.' || c === '..')) {
    throw new Error(`${prop}: ${JSON.stringify(path)} is not allowed; use an absolute path without . or .. components, control characters or surrounding spaces.`);
  }
  return path.replace(/%/g, '%%');
}
