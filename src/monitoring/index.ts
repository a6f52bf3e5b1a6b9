export { AlarmThresholdDefaults, CeleryAlarmThresholds } from './alarm-thresholds';
export * from './celery-monitoring';
