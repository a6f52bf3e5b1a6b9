import { spawnSync } from 'child_process';
import { join } from 'path';
import { CeleryInstall, celeryInstalls } from '../harness/celery';

const ORACLE = join(__dirname, '..', 'workers', 'fixtures', 'celery_oracle.py');

/** What one Celery version made of one case (see test/workers/fixtures/celery_oracle.py). */
export interface OracleResult {
  readonly ok: boolean;
  readonly error?: string;
  /** worker-args: parameters set from the command line. */
  readonly params?: string[];
  /** worker-args: positional arguments (Celery reads them as settings). */
  readonly extra?: string[];
  /** node-name: the worker's node name. */
  readonly name?: string;
}

/** The installed Celery versions; throws (with the reason) when one is absent: the oracle needs both. */
export function oracleInstalls(): CeleryInstall[] {
  const installs = celeryInstalls();
  const absent = installs.filter((i) => i.absent);
  if (absent.length > 0) {
    throw new Error(`the Celery oracle needs both Celery versions; ${absent.map((i) => `${i.label}: ${i.absent}`).join('; ')}`);
  }
  return installs;
}

/** Ask one Celery version about every case at once. */
export function askCelery(install: CeleryInstall, mode: 'worker-args' | 'settings' | 'node-name', cases: unknown[]): OracleResult[] {
  const result = spawnSync(install.python, [ORACLE, mode], { input: JSON.stringify(cases), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
  if (result.status !== 0) throw new Error(`${install.label} oracle (${mode}) failed:\n${result.stderr}`);
  const parsed = JSON.parse(result.stdout) as { version: string; results: OracleResult[] };
  if (parsed.results.length !== cases.length) throw new Error(`${install.label} oracle answered ${parsed.results.length} of ${cases.length} cases`);
  return parsed.results;
}
