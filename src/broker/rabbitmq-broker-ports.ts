/** AMQP 0-9-1 over TLS, the only AMQP listener of Amazon MQ for RabbitMQ. */
export const AMQPS_PORT = 5671;

/** HTTPS port of the RabbitMQ management console and API (15671 also works). */
export const MANAGEMENT_PORT = 443;
