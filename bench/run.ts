// `npx projen bench` (full) or `npx projen bench -- --quick` (smallest cell). Prints the markdown
// tables and writes them to bench-results/latest.md (and .json); progress goes to stderr.
import { randomBytes } from 'crypto';
import { mkdirSync, writeFileSync } from 'fs';
import { join, resolve } from 'path';
import { FULL_PLAN, QUICK_PLAN, runBenchmark } from './benchmark';
import { renderReport } from './report';
import { celeryInstalls, stopAllWorkers } from '../test/harness/celery';

const RESULTS_DIR = resolve(__dirname, '..', 'bench-results');

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const seed = option('--seed') ?? randomBytes(4).toString('hex');
  const present = celeryInstalls().filter((i) => !i.absent);
  const only = option('--celery');
  const installs = only ? present.filter((i) => i.version === only) : quick ? present.slice(0, 1) : present;
  if (installs.length === 0) throw new Error(`no Celery installation to run (${only ? `--celery ${only}; ` : ''}present: ${present.map((i) => i.version).join(', ') || 'none'})`);
  const started = Date.now();
  const log = (line: string) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s] ${line}\n`);

  // Ctrl-C: stop workers and broker through the normal path (their reapers also fire on exit).
  process.once('SIGINT', () => { void stopAllWorkers(1_000).finally(() => process.exit(130)); });

  const results = await runBenchmark({ plan: quick ? QUICK_PLAN : FULL_PLAN, mode: quick ? 'quick' : 'full', installs, seed, log });
  const report = renderReport(results);
  process.stdout.write(report);
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, 'latest.md'), report);
  writeFileSync(join(RESULTS_DIR, 'latest.json'), JSON.stringify(results, null, 1));
  log(`wrote ${join(RESULTS_DIR, 'latest.md')}; wall time ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : error}\n`);
  process.exitCode = 1;
});
