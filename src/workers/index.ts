export * from './celery-worker-fleet-ref';
export * from './worker-metrics';
export * from './render';
