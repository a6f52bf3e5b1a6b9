export type { CeleryAlarmOverride, CeleryAlarmOverrides, CeleryFleetAlarmOverrides } from './alarm-overrides';
export * from './alarm-route';
export { AlarmThresholdDefaults } from './alarm-thresholds';
export type { CeleryAlarmThresholds } from './alarm-thresholds';
export { BrokerMetricNames } from './broker-metric-names';
export * from './broker-metrics-publisher';
export * from './celery-monitoring';
export { QueueMetricsSource } from './queue-metrics';
