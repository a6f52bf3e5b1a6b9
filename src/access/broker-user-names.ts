/**
 * Validation of the vhost and user names the broker-user custom resource creates.
 *
 * Shared by the construct (at synth) and the Lambda handler (at deploy), so it must not import
 * aws-cdk-lib. RabbitMQ itself accepts almost any non-empty UTF-8 name, but a vhost name longer
 * than 255 bytes cannot be opened over AMQP, and names with `/`, `@`, `:`, `%` or spaces need
 * escaping in every AMQP URL a worker builds. This library therefore keeps to a URL-safe subset.
 */

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Returns an error message naming the prop and the bad value, or undefined if the name is fine. */
export function vhostNameError(prop: string, value: string): string | undefined {
  if (typeof value !== 'string' || !NAME.test(value)) {
    return `${prop}: ${JSON.stringify(value)} is not a vhost name this library accepts; use 1 to 64 letters, digits and . _ - starting with a letter or digit `
      + '(RabbitMQ rejects empty names and cannot open names over 255 bytes; the name also goes unescaped into AMQP URLs, and the default vhost "/" is not dedicated to Celery).';
  }
  return undefined;
}

/** Returns an error message naming the prop and the bad value, or undefined if the name is fine. */
export function usernameError(prop: string, value: string): string | undefined {
  if (typeof value !== 'string' || !NAME.test(value)) {
    return `${prop}: ${JSON.stringify(value)} is not a user name this library accepts; use 1 to 64 letters, digits and . _ - starting with a letter or digit `
      + '(RabbitMQ rejects empty names; the name also goes unescaped into AMQP URLs).';
  }
  return undefined;
}
