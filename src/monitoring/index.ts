export { AlarmThresholdDefaults } from './alarm-thresholds';
export type { CeleryAlarmThresholds } from './alarm-thresholds';
export * from './celery-monitoring';
