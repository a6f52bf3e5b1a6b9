import { createHash } from 'crypto';
import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { Stage } from 'aws-cdk-lib';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';

/*
 * Jest setup (setupFilesAfterEnv): when CDK_CELERY_TEMPLATES_DIR is set (the projen test task sets
 * it), every CloudFormation template a test synthesizes is also written there, once per content,
 * so that the build runs cfn-lint on all of them (scripts/cfn-lint-templates.sh). An assembly that
 * still misses context (a lookup the CLI has not done, e.g. worker-image.test.ts without a cached
 * image id) is left out: its templates hold CDK's dummy values, and the CLI never deploys them (it
 * does the lookups and synthesizes again).
 */
const dir = process.env.CDK_CELERY_TEMPLATES_DIR;

function collect(assembly: CloudAssembly, into: string): void {
  for (const stack of assembly.stacks) {
    const text = JSON.stringify(stack.template, undefined, 1);
    const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
    writeFileSync(join(into, `${stack.stackName.replace(/[^A-Za-z0-9-]/g, '_')}-${hash}.template.json`), text);
  }
  for (const nested of assembly.nestedAssemblies) collect(nested.nestedAssembly, into);
}

if (dir) {
  mkdirSync(dir, { recursive: true });
  const synth = Stage.prototype.synth;
  Stage.prototype.synth = function synthAndCollect(this: Stage, ...args: Parameters<typeof synth>) {
    const assembly = synth.apply(this, args);
    if (!(assembly.manifest.missing ?? []).length) collect(assembly, dir);
    return assembly;
  };
}
