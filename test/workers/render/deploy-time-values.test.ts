import { spawnSync } from 'child_process';
import { App, CfnParameter, Stack } from 'aws-cdk-lib';
import { DeployTimeValues } from '../../../src/workers/render/deploy-time-values';
import { evaluateIntrinsics } from '../../generative/cfn-evaluate';

/*
 * DeployTimeValues keeps CloudFormation values out of the script's text: a value known only at
 * deploy time reaches bash base64-encoded and is decoded into a variable at boot. Here the script is
 * resolved as CloudFormation would resolve it (the parameters' values substituted) and run by bash.
 */

function stackWithParameters(count: number): { stack: Stack; parameters: string[] } {
  const stack = new Stack(new App(), 'Values');
  const parameters = Array.from({ length: count }, (_v, i) => new CfnParameter(stack, `P${i + 1}`, { type: 'String' }).valueAsString);
  return { stack, parameters };
}

/** Runs the rendered assignments, then prints each word NUL-terminated, with the parameters' deploy-time values. */
function runAtBoot(stack: Stack, values: DeployTimeValues, words: string[], deployed: { [logicalId: string]: string }): string[] {
  const script = `${values.render()}printf '%s\\0' ${words.join(' ')}\n`;
  const text = String(evaluateIntrinsics(stack.resolve(script), { refs: deployed }));
  const result = spawnSync('bash', ['-c', text], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`bash failed: ${result.stderr}`);
  return result.stdout.split('\0').slice(0, -1);
}

test('a value known at synth is quoted in place, and nothing needs decoding', () => {
  const values = new DeployTimeValues();
  expect(values.word("it's $(here)")).toBe("'it'\\''s $(here)'");
  expect(values.empty).toBe(true);
  expect(values.render()).toBe('');
});

test('each deploy-time value gets its own variable, numbered in order, decoded before use', () => {
  const { parameters } = stackWithParameters(2);
  const values = new DeployTimeValues();
  expect(values.word(parameters[0])).toBe('"${cdk_v1}"');
  expect(values.word('plain')).toBe('plain');
  expect(values.word(parameters[1])).toBe('"${cdk_v2}"');
  expect(values.empty).toBe(false);
  const lines = values.render().split('\n');
  expect(lines).toHaveLength(3);
  expect(lines[0]).toMatch(/^cdk_v1=\$\(base64 -d <<<'\$\{Token\[.*\]\}'; printf \.\); cdk_v1=\$\{cdk_v1%\.\}$/);
  expect(lines[1]).toMatch(/^cdk_v2=/);
  expect(lines[2]).toBe('');
});

test.each([
  ['quotes and command substitution', 'a\'b"c $(touch /tmp/never) `id` ${HOME}'],
  ['trailing newlines', 'value\n\n'],
  ['an empty value', ''],
  ['non-ASCII text', 'caf\u00e9 \u2603'],
])('bash receives %s exactly, as data', (_name, value) => {
  const { stack, parameters } = stackWithParameters(2);
  const values = new DeployTimeValues();
  const words = [values.word(parameters[0]), values.word('between'), values.word(parameters[1])];
  expect(runAtBoot(stack, values, words, { P1: value, P2: 'second' })).toEqual([value, 'between', 'second']);
});
