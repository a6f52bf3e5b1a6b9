// The broker's public API: constructs, their props and attributes, and the enum-like classes they
// take. Synth-time rules (rabbitmq-broker-rules.ts) and the configuration renderer stay internal.
export { ConfigurationApplier } from './configuration-applier';
export type { ConfigurationApplierProps } from './configuration-applier';
export { ConfigurationChangePolicy } from './configuration-change-policy';
export type { ApplyNowWithRebootOptions } from './configuration-change-policy';
export { RabbitMqBroker } from './rabbitmq-broker';
export type { RabbitMqBrokerOptions, RabbitMqBrokerProps } from './rabbitmq-broker';
export type { RabbitMqBrokerAttributes } from './rabbitmq-broker-attributes';
export { RabbitMqBrokerBase } from './rabbitmq-broker-base';
export type { IRabbitMqBroker } from './rabbitmq-broker-ref';
export type { RabbitMqConfigurationOptions } from './rabbitmq-configuration';
export { RabbitMqDeploymentMode } from './rabbitmq-deployment-mode';
export { RabbitMqEngineVersion } from './rabbitmq-engine-version';
export { RabbitMqInstanceType } from './rabbitmq-instance-type';
export { MaintenanceDay } from './rabbitmq-maintenance-window';
export type { RabbitMqMaintenanceWindow } from './rabbitmq-maintenance-window';
