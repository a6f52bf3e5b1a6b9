export * from './celery-platform';
