export * from './celery-pool';
export * from './celery-worker-command';
