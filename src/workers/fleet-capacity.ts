import { Duration } from 'aws-cdk-lib';
import type { CeleryWorkerFleetOptions } from './celery-worker-fleet';

/** Default of `minCapacity`. */
export const DEFAULT_MIN_CAPACITY = 1;
/** Default of `maxCapacity`. */
export const DEFAULT_MAX_CAPACITY = 4;
/** Default of `bootTimeout`. */
export const DEFAULT_BOOT_TIMEOUT = Duration.minutes(15);

/** A fleet's group size and rolling-update numbers, with the defaults applied. */
export interface FleetCapacity {
  readonly minCapacity: number;
  readonly maxCapacity: number;
  /** Instances replaced at a time by a rolling update. */
  readonly maxBatchSize: number;
  /** Instances kept in service during a rolling update. */
  readonly minInstancesInService: number;
  /** Launch to ready worker (cfn-signal), and the rolling update's pause. */
  readonly bootTimeout: Duration;
}

/**
 * The capacities a fleet's options resolve to: the one place their defaults are applied, so the
 * fleet's public values and its group agree. Unvalidated: `validateFleetProps` checks the result.
 */
export function resolveFleetCapacity(options: Pick<CeleryWorkerFleetOptions,
'minCapacity' | 'maxCapacity' | 'maxBatchSize' | 'minInstancesInService' | 'bootTimeout'>): FleetCapacity {
  const minCapacity = options.minCapacity ?? DEFAULT_MIN_CAPACITY;
  const maxCapacity = options.maxCapacity ?? DEFAULT_MAX_CAPACITY;
  const maxBatchSize = options.maxBatchSize ?? Math.max(1, Math.floor(maxCapacity * 0.2));
  return {
    minCapacity,
    maxCapacity,
    maxBatchSize,
    minInstancesInService: options.minInstancesInService ?? Math.max(0, Math.min(minCapacity, maxCapacity - maxBatchSize)),
    bootTimeout: options.bootTimeout ?? DEFAULT_BOOT_TIMEOUT,
  };
}
