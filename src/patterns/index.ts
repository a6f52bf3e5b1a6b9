export * from './celery-platform';
export * from './celery-credentials';
