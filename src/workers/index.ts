export * from './celery-worker-fleet-ref';
export * from './worker-metrics';
export * from './render';
export * from './worker-code';
export * from './celery-worker-fleet';
