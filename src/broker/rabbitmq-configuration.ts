import { Duration, Token } from 'aws-cdk-lib';

/**
 * Default `consumer_timeout` rendered by this library: 24 hours.
 *
 * RabbitMQ closes the channel of a consumer that holds a delivery unacknowledged longer than
 * `consumer_timeout` (`PRECONDITION_FAILED - delivery acknowledgement timed out`); Amazon MQ's
 * default is 30 minutes. A Celery worker holds a message unacknowledged while it runs the task
 * (with `task_acks_late`) and, whatever the ack mode, while an ETA/countdown task waits for its
 * time: a `countdown` of one hour under the 30-minute default makes the worker lose its channel,
 * reconnect and receive the message again, over and over. 24 hours covers long tasks and ETAs of up
 * to a day; schedule anything further away with celery beat rather than a countdown.
 */
export const DEFAULT_CONSUMER_TIMEOUT = Duration.hours(24);

/** Largest `consumer_timeout` Amazon MQ accepts, in milliseconds (0 means no timeout). */
export const MAX_CONSUMER_TIMEOUT_MS = 2_147_483_647;

/** `heartbeat` range Amazon MQ accepts, in seconds. */
export const MIN_HEARTBEAT_SECONDS = 60;
/** `heartbeat` range Amazon MQ accepts, in seconds. */
export const MAX_HEARTBEAT_SECONDS = 3600;

/** Keys rendered from typed options; extra lines may not set them. */
export const TYPED_CONFIGURATION_KEYS: { readonly [key: string]: string } = Object.freeze({
  consumer_timeout: 'consumerTimeout',
  heartbeat: 'heartbeat',
});

/**
 * Keys Amazon MQ manages itself and refuses in a configuration (the key and its sub-keys).
 * One list so that a key found to be refused (or accepted) is a one-line change and one test.
 */
export const REFUSED_CONFIGURATION_KEYS: readonly string[] = Object.freeze(['vm_memory_high_watermark']);

/** Cuttlefish keys: letters, digits, `_`, `-`, separated by dots. */
const KEY_FORMAT = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const LINE_FORMAT = /^\s*([^=\s]+)\s*=\s*(\S(?:.*\S)?)\s*$/;

/**
 * Settings of the broker's `rabbitmq.conf` (Cuttlefish format), rendered into an
 * `AWS::AmazonMQ::Configuration`.
 */
export interface RabbitMqConfigurationOptions {
  /**
   * `consumer_timeout`: how long a consumer may hold a delivery unacknowledged before RabbitMQ
   * closes its channel. It must exceed the longest Celery task (with `task_acks_late`) and the
   * longest ETA/countdown wait. `Duration.millis(0)` disables the timeout. At most 2,147,483,647 ms.
   * On RabbitMQ 4.3 it no longer applies to classic queues.
   *
   * @default Duration.hours(24) (see `DEFAULT_CONSUMER_TIMEOUT`)
   */
  readonly consumerTimeout?: Duration;

  /**
   * `heartbeat`: the AMQP heartbeat timeout the broker proposes, between 60 and 3600 seconds.
   * Client and broker agree on the lower non-zero value; Celery's `broker_heartbeat` is 120 s.
   *
   * @default - not rendered: Amazon MQ's default, 60 seconds
   */
  readonly heartbeat?: Duration;

  /**
   * Further `key = value` lines, for keys Amazon MQ accepts (for example
   * `management.restrictions.operator_policy_changes.disabled = false`, or the resource limits
   * of RabbitMQ 4 such as `connection_max = 2000`). Each line is one key; keys may not repeat,
   * may not be `consumer_timeout` or `heartbeat` (use the typed options) and may not be keys
   * Amazon MQ manages (`vm_memory_high_watermark`). Amazon MQ validates the values when the
   * configuration is created.
   *
   * @default - none
   */
  readonly extraLines?: string[];
}

/**
 * The effective `consumer_timeout` for these options.
 */
export function effectiveConsumerTimeout(options: RabbitMqConfigurationOptions = {}): Duration {
  return options.consumerTimeout ?? DEFAULT_CONSUMER_TIMEOUT;
}

/**
 * Renders `rabbitmq.conf` (Cuttlefish) from typed options, one `key = value` per line, and
 * throws on values Amazon MQ would refuse. Values that are tokens are rendered unchecked.
 */
export function renderRabbitMqConfiguration(options: RabbitMqConfigurationOptions = {}): string {
  const lines = [`consumer_timeout = ${consumerTimeoutMillis(effectiveConsumerTimeout(options))}`];
  if (options.heartbeat !== undefined) {
    lines.push(`heartbeat = ${heartbeatSeconds(options.heartbeat)}`);
  }
  lines.push(...validateExtraLines(options.extraLines ?? []));
  return lines.join('\n') + '\n';
}

function consumerTimeoutMillis(timeout: Duration): string {
  if (timeout.isUnresolved()) return Token.asString(timeout.toMilliseconds());
  const ms = timeout.toMilliseconds({ integral: false });
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_CONSUMER_TIMEOUT_MS) {
    throw new Error(`configuration.consumerTimeout: ${ms} ms is not allowed; use a whole number of milliseconds `
      + `from 0 (no timeout) to ${MAX_CONSUMER_TIMEOUT_MS} ms (about 24.8 days)`);
  }
  return String(ms);
}

function heartbeatSeconds(heartbeat: Duration): string {
  if (heartbeat.isUnresolved()) return Token.asString(heartbeat.toSeconds());
  const seconds = heartbeat.toSeconds({ integral: false });
  if (!Number.isInteger(seconds) || seconds < MIN_HEARTBEAT_SECONDS || seconds > MAX_HEARTBEAT_SECONDS) {
    throw new Error(`configuration.heartbeat: ${seconds} s is not allowed; use a whole number of seconds `
      + `from ${MIN_HEARTBEAT_SECONDS} to ${MAX_HEARTBEAT_SECONDS}`);
  }
  return String(seconds);
}

function validateExtraLines(extraLines: string[]): string[] {
  const seen = new Set<string>();
  return extraLines.map((line, index) => {
    const prop = `configuration.extraLines[${index}]`;
    if (Token.isUnresolved(line)) return line;
    if (/[\r\n]/.test(line)) {
      throw new Error(`${prop}: ${JSON.stringify(line)} is not allowed; use one \`key = value\` per entry, without line breaks`);
    }
    const match = LINE_FORMAT.exec(line);
    if (!match || !KEY_FORMAT.test(match[1])) {
      throw new Error(`${prop}: ${JSON.stringify(line)} is not allowed; use \`key = value\` with a key of letters, digits, '_' and '-' separated by dots`);
    }
    const [, key, value] = match;
    const typed = TYPED_CONFIGURATION_KEYS[key];
    if (typed) {
      throw new Error(`${prop}: ${JSON.stringify(line)} is not allowed; use configuration.${typed} to set ${key}`);
    }
    const refused = REFUSED_CONFIGURATION_KEYS.find(k => key === k || key.startsWith(`${k}.`));
    if (refused) {
      throw new Error(`${prop}: ${JSON.stringify(line)} is not allowed; Amazon MQ manages ${refused} itself, use a larger instance type for more memory`);
    }
    if (seen.has(key)) {
      throw new Error(`${prop}: ${JSON.stringify(line)} is not allowed; ${key} is already set by an earlier line, use each key once`);
    }
    seen.add(key);
    return `${key} = ${value}`;
  });
}
