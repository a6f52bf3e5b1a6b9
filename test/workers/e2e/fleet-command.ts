import { RabbitMqBrokerOptions, RabbitMqEngineVersion, RabbitMqInstanceType } from '../../../src/broker';
import { DEFAULT_INSTANCE_LAYOUT, WORKER_UNIT, layoutPath } from '../../../src/workers/render';
import { CeleryWorkerCommand, CeleryWorkerCommandOptions, renderCeleryWorkerCommand } from '../../../src/workers/render/celery-worker-command';
import { HARNESS_APP } from '../../harness/celery';
import { RabbitMqProfile } from '../../harness/rabbitmq';
import { buildFleet } from '../fleet-fixture';
import { parseEnvironmentLines, parseSystemdCommandLine, userDataText, writtenFile } from '../user-data';

/** `celery` of the fleet's default code (`WorkerCode.fromAsset`: a venv on the instance). */
export const FLEET_CELERY = '/opt/celery-app/.venv/bin/celery';

/** The broker a fleet is synthesized against: the engine version a test profile stands for. */
export type FleetBroker = Pick<RabbitMqProfile, 'engineVersion'>;

/** The Amazon MQ engine version of a profile, as the broker construct takes it. */
export function engineVersionOf(broker: FleetBroker): RabbitMqEngineVersion {
  return RabbitMqEngineVersion.of(broker.engineVersion);
}

/** The broker construct's options for a profile's engine (3.13 also runs on m5; 4.x only on m7g, the default). */
export function fleetBrokerOptions(broker: FleetBroker): RabbitMqBrokerOptions {
  const engineVersion = engineVersionOf(broker);
  return { engineVersion, instanceType: engineVersion.majorVersion === 3 ? RabbitMqInstanceType.M5_LARGE : undefined };
}

/**
 * The worker command as a synthesized `CeleryWorkerFleet` runs it on `broker`'s engine version:
 * ExecStart and Environment= of the worker unit in the launch template's user data, parsed back
 * as systemd does. `options` are fleet props (the inherited `celery worker` options); the app is
 * the harness' app. What the renderer says about the command (its Celery requirement) comes
 * with it.
 */
export function fleetWorkerCommand(options: Partial<CeleryWorkerCommandOptions>, broker: FleetBroker): CeleryWorkerCommand {
  // No queues unless given: the fixture's 'default' queue would hide Celery's own default.
  const { stack } = buildFleet({ queues: undefined, ...options, app: HARNESS_APP }, { broker: fleetBrokerOptions(broker) });
  const unit = writtenFile(userDataText(stack), layoutPath(DEFAULT_INSTANCE_LAYOUT.unitDir, WORKER_UNIT));
  const execStart = unit.split('\n').find((l) => l.startsWith('ExecStart='));
  if (!execStart) throw new Error(`no ExecStart in the synthesized worker unit:\n${unit}`);
  return {
    ...renderedWorkerCommand(options, broker),
    argv: parseSystemdCommandLine(execStart.slice('ExecStart='.length)),
    environment: parseEnvironmentLines(unit),
  };
}

/** What `renderCeleryWorkerCommand` gives for the same options and broker, with the fleet's executable. */
export function renderedWorkerCommand(options: Partial<CeleryWorkerCommandOptions>, broker: FleetBroker): CeleryWorkerCommand {
  return renderCeleryWorkerCommand({ ...options, app: HARNESS_APP, celeryExecutable: FLEET_CELERY }, { engineVersion: engineVersionOf(broker) });
}
