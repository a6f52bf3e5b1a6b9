import { Duration, Lazy } from 'aws-cdk-lib';
import {
  DEFAULT_CONSUMER_TIMEOUT, effectiveConsumerTimeout, REFUSED_CONFIGURATION_KEYS, renderRabbitMqConfiguration, RabbitMqConfigurationOptions,
} from '../../src/broker/rabbitmq-configuration';

describe('renderRabbitMqConfiguration', () => {
  test('defaults: only consumer_timeout, 24 hours in milliseconds', () => {
    expect(renderRabbitMqConfiguration()).toBe('consumer_timeout = 86400000\n');
    expect(DEFAULT_CONSUMER_TIMEOUT.toHours()).toBe(24);
    expect(effectiveConsumerTimeout().toHours()).toBe(24);
  });

  test('typed options first, then the extra lines in order, normalised to `key = value`', () => {
    expect(renderRabbitMqConfiguration({
      consumerTimeout: Duration.hours(2),
      heartbeat: Duration.minutes(2),
      extraLines: ['management.restrictions.operator_policy_changes.disabled=false', '  connection_max   =  2000  '],
    })).toBe([
      'consumer_timeout = 7200000',
      'heartbeat = 120',
      'management.restrictions.operator_policy_changes.disabled = false',
      'connection_max = 2000',
      '',
    ].join('\n'));
  });

  test('consumerTimeout 0 disables the timeout; bounds are inclusive', () => {
    expect(renderRabbitMqConfiguration({ consumerTimeout: Duration.millis(0) })).toBe('consumer_timeout = 0\n');
    expect(renderRabbitMqConfiguration({ consumerTimeout: Duration.millis(2_147_483_647) })).toBe('consumer_timeout = 2147483647\n');
    expect(renderRabbitMqConfiguration({ heartbeat: Duration.seconds(60) })).toContain('heartbeat = 60\n');
    expect(renderRabbitMqConfiguration({ heartbeat: Duration.hours(1) })).toContain('heartbeat = 3600\n');
  });

  test('tokens are rendered unchecked', () => {
    const ms = Lazy.number({ produce: () => 5 });
    const text = renderRabbitMqConfiguration({ consumerTimeout: Duration.millis(ms), extraLines: [Lazy.string({ produce: () => 'a = b' })] });
    expect(text).toMatch(/^consumer_timeout = \$\{Token\[/);
    expect(text.split('\n')).toHaveLength(3);
  });

  const invalid: Array<[string, RabbitMqConfigurationOptions, string]> = [
    ['heartbeat in fractions of a second', { heartbeat: Duration.millis(90_500) }, 'configuration.heartbeat: 90.5 s is not allowed; use a whole number of seconds from 60 to 3600'],
    ['consumer timeout over the Erlang limit', { consumerTimeout: Duration.days(25) }, 'configuration.consumerTimeout: 2160000000 ms is not allowed; use a whole number of milliseconds from 0 (no timeout) to 2147483647 ms'],
    ['fractional milliseconds', { consumerTimeout: Duration.millis(1.5) }, 'configuration.consumerTimeout: 1.5 ms is not allowed'],
    ['heartbeat under 60 s', { heartbeat: Duration.seconds(30) }, 'configuration.heartbeat: 30 s is not allowed; use a whole number of seconds from 60 to 3600'],
    ['heartbeat over an hour', { heartbeat: Duration.seconds(3601) }, 'configuration.heartbeat: 3601 s is not allowed; use a whole number of seconds from 60 to 3600'],
    ['line break in an extra line', { extraLines: ['a = 1\nb = 2'] }, 'configuration.extraLines[0]: "a = 1\\nb = 2" is not allowed; use one `key = value` per entry, without line breaks'],
    ['no equals sign', { extraLines: ['collect_statistics_interval 5000'] }, 'configuration.extraLines[0]: "collect_statistics_interval 5000" is not allowed; use `key = value`'],
    ['empty value', { extraLines: ['connection_max ='] }, 'configuration.extraLines[0]: "connection_max =" is not allowed; use `key = value`'],
    ['bad key characters', { extraLines: ['connection max = 5'] }, 'configuration.extraLines[0]: "connection max = 5" is not allowed; use `key = value` with a key of letters'],
    ['key with an empty segment', { extraLines: ['a..b = 1'] }, 'configuration.extraLines[0]: "a..b = 1" is not allowed; use `key = value` with a key of letters'],
    ['typed key consumer_timeout', { extraLines: ['consumer_timeout = 0'] }, 'configuration.extraLines[0]: "consumer_timeout = 0" is not allowed; use configuration.consumerTimeout to set consumer_timeout'],
    ['typed key heartbeat', { extraLines: ['heartbeat = 600'] }, 'configuration.extraLines[0]: "heartbeat = 600" is not allowed; use configuration.heartbeat to set heartbeat'],
    ['memory watermark', { extraLines: ['vm_memory_high_watermark.relative = 0.8'] }, 'configuration.extraLines[0]: "vm_memory_high_watermark.relative = 0.8" is not allowed; Amazon MQ manages vm_memory_high_watermark itself'],
    ['duplicate key', { extraLines: ['connection_max = 10', 'channel_max_per_node = 5', 'connection_max = 20'] }, 'configuration.extraLines[2]: "connection_max = 20" is not allowed; connection_max is already set by an earlier line'],
  ];
  test.each(invalid)('refuses %s', (_name, options, message) => {
    expect(() => renderRabbitMqConfiguration(options)).toThrow(message);
  });

  test('the refused keys are one list (a wrong guess is one edit)', () => {
    expect(REFUSED_CONFIGURATION_KEYS).toEqual(['vm_memory_high_watermark']);
    expect(() => renderRabbitMqConfiguration({ extraLines: ['vm_memory_high_watermark = 0.4'] })).toThrow(/manages vm_memory_high_watermark/);
    // A key that merely starts with the same letters is not refused.
    expect(renderRabbitMqConfiguration({ extraLines: ['vm_memory_high_watermark_paging_ratio = 0.5'] })).toContain('vm_memory_high_watermark_paging_ratio = 0.5');
  });
});
