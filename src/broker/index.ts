export * from './rabbitmq-broker-ref';
export * from './configuration-applier';
