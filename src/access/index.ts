export * from './broker-monitoring-user';
export * from './celery-broker-access';
export * from './celery-permissions';
export * from './worker-vpc-endpoints';
