import { Token } from 'aws-cdk-lib';

const SHELL_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quote a value as one bash word. Unresolved tokens (ARNs, names, the stack name) are single-quoted
 * as they are: the values CloudFormation substitutes for them contain no single quotes.
 */
export function shellQuote(value: string): string {
  if (Token.isUnresolved(value)) return `'${value}'`;
  if (value !== '' && SHELL_SAFE.test(value)) return value;
  return `'${value.replace(/'/g, '\'\\\'\'')}'`;
}

const SYSTEMD_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quote one word of a systemd `ExecStart=` command line: `%` specifiers and `$` expansion are
 * escaped so the process receives the text unchanged; words with other characters are
 * double-quoted with C-style escapes.
 */
export function systemdQuoteArgument(value: string): string {
  const escaped = value.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (value !== '' && SYSTEMD_SAFE.test(value)) return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\t/g, '\\t')}"`;
}

/** Render an argument vector as a systemd command line. */
export function systemdCommandLine(argv: string[]): string {
  return argv.map(systemdQuoteArgument).join(' ');
}

/**
 * Quote a `NAME=value` assignment for systemd's `Environment=` (specifiers expanded, variables not).
 */
export function systemdEnvironmentAssignment(name: string, value: string): string {
  const text = `${name}=${value}`.replace(/%/g, '%%').replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  return `"${text}"`;
}
