// `npx projen bench` (full, every broker) or `npx projen bench -- --quick` (smallest cell per broker);
// `--broker 3.x|amazon-mq-4.2|amazon-mq-4.2/classic|amazon-mq-4.2/quorum` runs one, `--celery VERSION`
// one Celery installation, `--seed` fixes the spread simulation. Prints the markdown tables and writes
// them to bench-results/latest.md (and .json) with the chart, bench-results/join-ingress.svg; a full
// run of every broker also writes the chart the README shows, docs/join-ingress.svg. Progress goes
// to stderr.
import { randomBytes } from 'crypto';
import { mkdirSync, writeFileSync } from 'fs';
import { join, resolve } from 'path';
import { FULL_PLAN, QUICK_PLAN, runBenchmark } from './benchmark';
import { BROKER_SETUPS, selectBrokerSetups } from './broker-setups';
import { renderJoinChart } from './chart';
import { CHART_FILE, renderReport } from './report';
import { celeryInstalls, stopAllWorkers } from '../test/harness/celery';

const ROOT = resolve(__dirname, '..');
const RESULTS_DIR = join(ROOT, 'bench-results');
const DOCS_CHART = join(ROOT, 'docs', CHART_FILE);

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const seed = option('--seed') ?? randomBytes(4).toString('hex');
  const setups = selectBrokerSetups(option('--broker'));
  const present = celeryInstalls().filter((i) => !i.absent);
  const only = option('--celery');
  const installs = only ? present.filter((i) => i.version === only) : present;
  if (installs.length === 0) throw new Error(`no Celery installation to run (${only ? `--celery ${only}; ` : ''}present: ${present.map((i) => i.version).join(', ') || 'none'})`);
  const started = Date.now();
  const log = (line: string) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s] ${line}\n`);

  // Ctrl-C: stop workers and broker through the normal path (their reapers also fire on exit).
  process.once('SIGINT', () => { void stopAllWorkers(1_000).finally(() => process.exit(130)); });

  const results = await runBenchmark({
    plan: quick ? QUICK_PLAN : FULL_PLAN, mode: quick ? 'quick' : 'full', setups, installs, oneInstallPerSetup: quick, seed, log,
  });
  const report = renderReport(results);
  process.stdout.write(report);
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, 'latest.md'), report);
  writeFileSync(join(RESULTS_DIR, 'latest.json'), JSON.stringify(results, null, 1));
  const chart = await renderJoinChart(results);
  writeFileSync(join(RESULTS_DIR, CHART_FILE), chart);
  log(`wrote ${join(RESULTS_DIR, 'latest.md')} and ${CHART_FILE}; wall time ${((Date.now() - started) / 1000).toFixed(0)} s`);
  // Only a complete run replaces the committed chart: a partial one would drop brokers or versions from it.
  if (!quick && !only && setups.length === BROKER_SETUPS.length) {
    mkdirSync(join(ROOT, 'docs'), { recursive: true });
    writeFileSync(DOCS_CHART, chart);
    log(`wrote ${DOCS_CHART} (commit it with the README's tables)`);
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : error}\n`);
  process.exitCode = 1;
});
