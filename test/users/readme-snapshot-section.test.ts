import { readFileSync } from 'fs';
import { join } from 'path';

/*
 * The README's jest snapshot example (section "Snapshot-testing your stacks") is
 * snapshot-example.test.ts, which jest runs, with the package name for the import path. The
 * README block is not a rosetta example (a whole test file, not a constructor body), so this test
 * keeps it from drifting from the code that runs.
 */
test('the README\'s jest example is snapshot-example.test.ts', () => {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const block = readme.match(/<!-- from test\/users\/snapshot-example\.test\.ts -->\n```tsx\n([\s\S]*?)```\n/);
  expect(block).not.toBeNull();
  const test = readFileSync(join(__dirname, 'snapshot-example.test.ts'), 'utf8');
  expect(test).toContain("from '../../src';");
  expect(block![1]).toEqual(test.replace("from '../../src';", "from 'cdk-celery';"));
});
