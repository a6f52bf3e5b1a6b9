import { spawnSync } from 'child_process';
import { NODE_NAME_PARTS, renderNodeNameAssignment, shellQuote } from '../../../src/workers/render';

/** The node names the boot script computes for each case under bash, in one run. */
export function bashNodeNames(cases: Array<[string, string]>): string[] {
  const script = cases.map(([t, host]) => [
    `h=${shellQuote(host)}`,
    NODE_NAME_PARTS.split('\n').slice(1).join('\n'),
    renderNodeNameAssignment(t),
    'printf \'%s\\0\' "$node"',
  ].join('\n')).join('\n');
  const result = spawnSync('/bin/bash', ['-s'], { input: script, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  expect(result.stderr).toBe('');
  return result.stdout.split('\0').slice(0, -1);
}
