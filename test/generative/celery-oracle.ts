import { spawnSync } from 'child_process';
import { join } from 'path';
import { CeleryInstall, celeryInstalls, installCommand } from '../harness/celery';

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

/**
 * The installed Celery versions of the test matrix. The oldest (Debian's 5.2.6) and the newest
 * (the venv's) must be there: they are the versions the library's tables come from; an absent
 * middle version (Debian 13's, in the RabbitMQ 4 root) is left out with a warning.
 */
export function oracleInstalls(): CeleryInstall[] {
  const installs = celeryInstalls();
  const required = installs.filter((i) => !i.inRoot);
  const absent = required.filter((i) => i.absent);
  if (absent.length > 0) {
    throw new Error(`the Celery oracle needs the oldest and newest Celery; ${absent.map((i) => `${i.label}: ${i.absent}`).join('; ')}`);
  }
  for (const i of installs.filter((x) => x.inRoot && x.absent)) {
    // eslint-disable-next-line no-console
    console.warn(`Celery oracle without ${i.label}: ${i.absent}`);
  }
  return installs.filter((i) => !i.absent);
}

/** Ask one Celery version about every case at once. */
export function askCelery(install: CeleryInstall, mode: 'worker-args' | 'settings' | 'node-name', cases: unknown[]): OracleResult[] {
  const argv = installCommand(install, [install.python, ORACLE, mode], '/');
  const result = spawnSync(argv[0], argv.slice(1), { input: JSON.stringify(cases), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
  if (result.status !== 0) {
    // A timeout or a missing interpreter leaves stderr empty: say how it ended.
    const how = result.error ? result.error.message : result.signal ? `signal ${result.signal}` : `exit ${result.status}`;
    throw new Error(`${install.label} oracle (${mode}) failed (${how}):\n${result.stderr}`);
  }
  const parsed = JSON.parse(result.stdout) as { version: string; results: OracleResult[] };
  if (parsed.results.length !== cases.length) throw new Error(`${install.label} oracle answered ${parsed.results.length} of ${cases.length} cases`);
  return parsed.results;
}
