#!/usr/bin/env node
// cdk-celery command line. The published package ships the esbuild bundle of src/doctor/cli.ts
// (assets/doctor/cli/index.js). In a clone, the bundle is built here when it is missing or older
// than src/ (after `npm ci` alone, or after editing the sources), with the project's own
// `projen bundle:doctor/cli` task.
'use strict';
const { spawnSync } = require('child_process');
const { existsSync, readdirSync, statSync } = require('fs');
const { join } = require('path');

const root = join(__dirname, '..');
const bundle = join(root, 'assets', 'doctor', 'cli', 'index.js');
const sources = join(root, 'src');

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

if (existsSync(sources) && (!existsSync(bundle) || statSync(bundle).mtimeMs < newestMtime(sources))) {
  const projen = join(root, 'node_modules', '.bin', 'projen');
  if (!existsSync(projen)) {
    process.stderr.write('cdk-celery: the CLI bundle is not built and projen is not installed: run `npm ci` first\n');
    process.exit(2);
  }
  const built = spawnSync(projen, ['bundle:doctor/cli'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (built.status !== 0) {
    process.stderr.write('cdk-celery: building the CLI bundle failed (npx projen bundle:doctor/cli)\n');
    process.exit(2);
  }
}

require(bundle).main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error) => {
    process.stderr.write(`cdk-celery: ${error && error.stack ? error.stack : error}\n`);
    process.exitCode = 3;
  },
);
