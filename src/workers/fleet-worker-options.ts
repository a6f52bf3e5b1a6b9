import type { CeleryWorkerFleetProps } from './celery-worker-fleet';
import { CeleryWorkerOptions } from './render';

/** Props of a fleet that are not `celery worker` options. */
type FleetOnlyKey = Exclude<keyof CeleryWorkerFleetProps, keyof CeleryWorkerOptions>;

/**
 * Every fleet-only prop, and only those: the compiler refuses this record when a fleet prop is
 * added without being listed here, so whatever is not listed is a worker option and reaches the
 * instance without being copied by hand.
 */
const FLEET_ONLY_KEYS: { readonly [K in FleetOnlyKey]-?: true } = {
  vpc: true,
  broker: true,
  vpcSubnets: true,
  credentials: true,
  code: true,
  instanceType: true,
  machineImage: true,
  keyPair: true,
  role: true,
  securityGroup: true,
  minCapacity: true,
  maxCapacity: true,
  rootVolumeSizeGib: true,
  user: true,
  stopTimeout: true,
  restartJitter: true,
  startLimitBurst: true,
  startLimitInterval: true,
  replaceOnCrashLoop: true,
  maxBatchSize: true,
  minInstancesInService: true,
  bootTimeout: true,
  readinessTimeout: true,
  periodicRestart: true,
};

/** The `celery worker` options of a fleet's props: the props without the fleet-only ones. */
export function workerOptionsOf(props: CeleryWorkerFleetProps): CeleryWorkerOptions {
  const options: { [key: string]: unknown } = { ...props };
  for (const key of Object.keys(FLEET_ONLY_KEYS)) delete options[key];
  return options as unknown as CeleryWorkerOptions;
}
