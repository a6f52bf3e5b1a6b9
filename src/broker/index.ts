export * from './rabbitmq-broker-ref';
