// The package's public API, in every language (jsii): each name is listed on purpose, and
// `npx projen compat` (jsii-diff against compat/baseline/.jsii) fails the build when one of them
// changes incompatibly. Everything else in src/ is TypeScript-internal; see the README's "Public API".

export {
  ConfigurationApplier, ConfigurationChangePolicy, MaintenanceDay, RabbitMqBroker, RabbitMqBrokerBase, RabbitMqDeploymentMode,
  RabbitMqEngineVersion, RabbitMqInstanceType,
} from './broker';
export type {
  ApplyNowWithRebootOptions, ConfigurationApplierProps, IRabbitMqBroker, RabbitMqBrokerAttributes, RabbitMqBrokerOptions,
  RabbitMqBrokerProps, RabbitMqConfigurationOptions, RabbitMqMaintenanceWindow,
} from './broker';
export { CeleryPool, CeleryQueueType, CeleryWorkerFleet, CeleryWorkerRenderer, WorkerCode, WorkerMetricNames } from './workers';
export type {
  CeleryRequirement, CeleryWorkerCommand, CeleryWorkerCommandOptions, CeleryWorkerOptions, CeleryWorkerFleetOptions, CeleryWorkerFleetProps,
  ICeleryWorkerFleet,
  PeriodicRestartOptions, PreinstalledWorkerCodeOptions, QueueBacklogScalingProps, WorkerBrokerOptions, WorkerCodeConfig,
} from './workers';
export { AlarmRoute, AlarmThresholdDefaults, BrokerMetricNames, BrokerMetricsPublisher, CeleryMonitoring, QueueMetricsSource } from './monitoring';
export type {
  BrokerMetricsPublisherOptions, BrokerMetricsPublisherProps, CeleryAlarmOverride, CeleryAlarmOverrides, CeleryAlarmThresholds,
  CeleryFleetAlarmOverrides, CeleryFleetAlarms, CeleryMonitoringOptions, CeleryMonitoringProps,
} from './monitoring';
export { BrokerMonitoringUser, CeleryBrokerAccess, CeleryPermissions, WorkerVpcEndpoints } from './access';
export type {
  BrokerMonitoringUserProps, CeleryBrokerAccessOptions, CeleryBrokerAccessProps, CeleryPermissionsOptions, WorkerVpcEndpointsProps,
} from './access';
export { CeleryCredentials, CeleryPlatform } from './patterns';
export type { CeleryPlatformFleetOptions, CeleryPlatformProps } from './patterns';
