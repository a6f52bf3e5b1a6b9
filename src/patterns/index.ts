export { CeleryPlatform } from './celery-platform';
export type { CeleryPlatformFleetOptions, CeleryPlatformProps } from './celery-platform';
export { CeleryCredentials } from './celery-credentials';
