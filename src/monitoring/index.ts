// Monitoring's public API; threshold arithmetic and metric readers stay internal.
export type { CeleryAlarmOverride, CeleryAlarmOverrides, CeleryFleetAlarmOverrides } from './alarm-overrides';
export { AlarmRoute } from './alarm-route';
export { AlarmThresholdDefaults } from './alarm-thresholds';
export type { CeleryAlarmThresholds } from './alarm-thresholds';
export { BrokerMetricNames } from './broker-metric-names';
export { BrokerMetricsPublisher } from './broker-metrics-publisher';
export type { BrokerMetricsPublisherOptions, BrokerMetricsPublisherProps } from './broker-metrics-publisher';
export { CeleryMonitoring } from './celery-monitoring';
export type { CeleryFleetAlarms, CeleryMonitoringOptions, CeleryMonitoringProps } from './celery-monitoring-props';
export { QueueMetricsSource } from './queue-metrics';
