// The workers' public API. The renderers in ./render stay TypeScript-internal (see the README's
// "Public API"): only the types the public constructs take, and the worker command that
// CeleryWorkerRenderer offers to every language, are exported from them.
export { CeleryWorkerFleet } from './celery-worker-fleet';
export type { CeleryWorkerFleetOptions, CeleryWorkerFleetProps, QueueBacklogScalingProps } from './celery-worker-fleet';
export type { ICeleryWorkerFleet } from './celery-worker-fleet-ref';
export { CeleryWorkerRenderer } from './celery-worker-renderer';
export { WorkerCode } from './worker-code';
export type { PreinstalledWorkerCodeOptions, WorkerCodeConfig } from './worker-code';
export { WorkerMetricNames } from './worker-metrics';
export { CeleryPool } from './render/celery-pool';
export { CeleryQueueType } from './render/celery-queue-type';
export type { CeleryRequirement, WorkerBrokerOptions } from './render/broker-settings';
export type { CeleryWorkerCommand, CeleryWorkerCommandOptions, CeleryWorkerOptions } from './render/celery-worker-command';
export type { PeriodicRestartOptions } from './render/periodic-restart';
