// Access to the broker: users, permissions and the network paths workers need.
export { BrokerMonitoringUser } from './broker-monitoring-user';
export type { BrokerMonitoringUserProps } from './broker-monitoring-user';
export { CeleryBrokerAccess } from './celery-broker-access';
export type { CeleryBrokerAccessOptions, CeleryBrokerAccessProps } from './celery-broker-access';
export { CeleryPermissions } from './celery-permissions';
export type { CeleryPermissionsOptions } from './celery-permissions';
export { WorkerVpcEndpoints } from './worker-vpc-endpoints';
export type { WorkerVpcEndpointsProps } from './worker-vpc-endpoints';
