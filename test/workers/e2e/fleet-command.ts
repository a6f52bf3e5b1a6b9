import { DEFAULT_INSTANCE_LAYOUT, WORKER_UNIT, layoutPath } from '../../../src/workers/render';
import { CeleryWorkerCommand, CeleryWorkerCommandOptions, renderCeleryWorkerCommand } from '../../../src/workers/render/celery-worker-command';
import { HARNESS_APP } from '../../harness/celery';
import { buildFleet } from '../fleet-fixture';
import { parseEnvironmentLines, parseSystemdCommandLine, userDataText, writtenFile } from '../user-data';

/** `celery` of the fleet's default code (`WorkerCode.fromAsset`: a venv on the instance). */
export const FLEET_CELERY = '/opt/celery-app/.venv/bin/celery';

/**
 * The worker command as a synthesized `CeleryWorkerFleet` runs it: ExecStart and Environment= of
 * the worker unit in the launch template's user data, parsed back as systemd does. `options` are
 * fleet props (the inherited `celery worker` options); the app is the harness' app.
 */
export function fleetWorkerCommand(options: Partial<CeleryWorkerCommandOptions> = {}): CeleryWorkerCommand {
  // No queues unless given: the fixture's 'default' queue would hide Celery's own default.
  const { stack } = buildFleet({ queues: undefined, ...options, app: HARNESS_APP });
  const unit = writtenFile(userDataText(stack), layoutPath(DEFAULT_INSTANCE_LAYOUT.unitDir, WORKER_UNIT));
  const execStart = unit.split('\n').find((l) => l.startsWith('ExecStart='));
  if (!execStart) throw new Error(`no ExecStart in the synthesized worker unit:\n${unit}`);
  return { argv: parseSystemdCommandLine(execStart.slice('ExecStart='.length)), environment: parseEnvironmentLines(unit) };
}

/** What `renderCeleryWorkerCommand` gives for the same options, with the fleet's executable. */
export function renderedWorkerCommand(options: Partial<CeleryWorkerCommandOptions> = {}): CeleryWorkerCommand {
  return renderCeleryWorkerCommand({ ...options, app: HARNESS_APP, celeryExecutable: FLEET_CELERY });
}
