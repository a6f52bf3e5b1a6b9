import { App, Lazy, Stack } from 'aws-cdk-lib';
import { CeleryMonitoring } from '../../src/monitoring';
import {
  AlarmThresholdDefaults,
  brokerIngressThreshold,
  CeleryAlarmThresholds,
  channelChurnThreshold,
  channelStormThreshold,
  connectionChurnThreshold,
  connectionStormThreshold,
  fleetNetworkOutThreshold,
  resolveAlarmThresholds,
} from '../../src/monitoring/alarm-thresholds';
import { importedBroker } from '../broker/broker-fixture';

describe('documented defaults', () => {
  test('the mingle reply at the cap is 98 bytes x 50,000 ids', () => {
    expect(AlarmThresholdDefaults.MINGLE_REPLY_BYTES_AT_CAP).toBe(4_900_000);
    expect(AlarmThresholdDefaults.BROKER_INGRESS_FLOOR_BYTES_PER_MINUTE).toBe(98_000_000);
    expect(AlarmThresholdDefaults.DEFAULT_WORKER_HEARTBEAT_BYTES_PER_MINUTE).toBe(12_000);
  });

  test('a safe join and a minute of heartbeats are far below the per-worker ingress budget', () => {
    const budget = AlarmThresholdDefaults.INGRESS_BYTES_PER_WORKER_PER_MINUTE;
    expect(AlarmThresholdDefaults.SAFE_JOIN_BYTES / budget).toBeLessThan(0.003);
    expect(AlarmThresholdDefaults.DEFAULT_WORKER_HEARTBEAT_BYTES_PER_MINUTE / budget).toBeLessThan(0.003);
  });

  test('derived thresholds follow the fleets\' maximum size, with floors', () => {
    const t = resolveAlarmThresholds();
    expect(brokerIngressThreshold(t, 0)).toBe(98_000_000);
    expect(brokerIngressThreshold(t, 30)).toBe(147_000_000);
    expect(connectionStormThreshold(t, 30)).toBe(30 * 10 + 100);
    expect(channelStormThreshold(t, 30)).toBe(30 * 30 + 300);
    expect(fleetNetworkOutThreshold(t, 30, 5)).toBe(30 * 4_900_000 * 5);
  });

  test('churn: the storm budget opened within 60 seconds, per second, to three decimals', () => {
    const t = resolveAlarmThresholds();
    expect(connectionChurnThreshold(t, 30)).toBe(6.667);
    expect(channelChurnThreshold(t, 30)).toBe(20);
    expect(connectionChurnThreshold(t, 0)).toBe(1.667);
    expect(connectionChurnThreshold(resolveAlarmThresholds({ maxConnections: 120 }), 30)).toBe(2);
    expect(connectionChurnThreshold(resolveAlarmThresholds({ maxConnectionsOpenedPerSecond: 100 }), 30)).toBe(100);
    expect(channelChurnThreshold(resolveAlarmThresholds({ maxChannelsOpenedPerSecond: 0.5 }), 30)).toBe(0.5);
  });

  test('the broker-down timing: 5 silent minutes, 3 minutes for the suppressor, a 2-hour cap', () => {
    const t = resolveAlarmThresholds();
    expect([t.brokerNotReportingMinutes, t.brokerRestartingMaxMinutes, t.metricsPublisherErrorMinutes]).toEqual([5, 120, 5]);
    expect(AlarmThresholdDefaults.RESTART_SUPPRESSION_WAIT_MINUTES).toBe(3);
    expect(AlarmThresholdDefaults.RESTART_SUPPRESSION_EXTENSION_MINUTES).toBe(10);
  });

  test('explicit thresholds win over derived ones', () => {
    const t = resolveAlarmThresholds({ brokerIngressBytesPerMinute: 1_000, maxConnections: 7, maxChannels: 9 });
    expect(brokerIngressThreshold(t, 30)).toBe(1_000);
    expect(connectionStormThreshold(t, 30)).toBe(7);
    expect(channelStormThreshold(t, 30)).toBe(9);
  });

  test('unresolved tokens are not validated', () => {
    expect(() => resolveAlarmThresholds({ memoryUsedPercent: Lazy.number({ produce: () => 500 }) })).not.toThrow();
  });
});

describe('invalid thresholds are rejected with the prop, the value and what is allowed', () => {
  test.each<[CeleryAlarmThresholds, string]>([
    [{ brokerIngressBytesPerMinute: 0 }, 'thresholds.brokerIngressBytesPerMinute: 0 is not allowed; use a number greater than 0'],
    [{ brokerIngressBytesPerMinute: -5 }, 'thresholds.brokerIngressBytesPerMinute: -5 is not allowed; use a number greater than 0'],
    [{ ingressBytesPerWorkerPerMinute: Number.NaN }, 'thresholds.ingressBytesPerWorkerPerMinute: NaN is not allowed; use a number greater than 0'],
    [{ brokerIngressFloorBytesPerMinute: Number.POSITIVE_INFINITY }, 'thresholds.brokerIngressFloorBytesPerMinute: Infinity is not allowed'],
    [{ fleetNetworkOutBytesPerWorkerPerMinute: 0 }, 'thresholds.fleetNetworkOutBytesPerWorkerPerMinute: 0 is not allowed'],
    [{ ingressAnomalyStdDevs: 0 }, 'thresholds.ingressAnomalyStdDevs: 0 is not allowed; use a number greater than 0'],
    [{ memoryUsedPercent: 150 }, 'thresholds.memoryUsedPercent: 150 is not allowed; use a percent greater than 0 and at most 100'],
    [{ memoryUsedPercent: 0 }, 'thresholds.memoryUsedPercent: 0 is not allowed; use a percent greater than 0 and at most 100'],
    [{ cpuUtilizationPercent: 101 }, 'thresholds.cpuUtilizationPercent: 101 is not allowed; use a percent'],
    [{ diskFreeToLimitRatio: 1 }, 'thresholds.diskFreeToLimitRatio: 1 is not allowed; use a ratio greater than 1 (at 1 RabbitMQ already blocks publishers)'],
    [{ connectionsPerWorker: 2.5 }, 'thresholds.connectionsPerWorker: 2.5 is not allowed; use a whole number, 1 or more'],
    [{ connectionsPerWorker: 0 }, 'thresholds.connectionsPerWorker: 0 is not allowed; use a whole number, 1 or more'],
    [{ nonWorkerConnections: -1 }, 'thresholds.nonWorkerConnections: -1 is not allowed; use a whole number, 0 or more'],
    [{ maxConnections: 0 }, 'thresholds.maxConnections: 0 is not allowed; use a whole number, 1 or more'],
    [{ channelsPerWorker: 1.5 }, 'thresholds.channelsPerWorker: 1.5 is not allowed'],
    [{ nonWorkerChannels: 0.5 }, 'thresholds.nonWorkerChannels: 0.5 is not allowed'],
    [{ maxChannels: -3 }, 'thresholds.maxChannels: -3 is not allowed'],
    [{ readyMessages: 10.5 }, 'thresholds.readyMessages: 10.5 is not allowed; use a whole number, 0 or more'],
    [{ backlogMinutes: 0 }, 'thresholds.backlogMinutes: 0 is not allowed; use a whole number of minutes from 1 to 1440'],
    [{ backlogMinutes: 1441 }, 'thresholds.backlogMinutes: 1441 is not allowed; use a whole number of minutes from 1 to 1440'],
    [{ noConsumersMinutes: 2.5 }, 'thresholds.noConsumersMinutes: 2.5 is not allowed'],
    [{ workerRestartsPerMinute: 0 }, 'thresholds.workerRestartsPerMinute: 0 is not allowed; use a whole number, 1 or more'],
    [{ maxConnectionsOpenedPerSecond: 0 }, 'thresholds.maxConnectionsOpenedPerSecond: 0 is not allowed; use a number greater than 0'],
    [{ maxChannelsOpenedPerSecond: -1 }, 'thresholds.maxChannelsOpenedPerSecond: -1 is not allowed'],
    [{ brokerNotReportingMinutes: 0 }, 'thresholds.brokerNotReportingMinutes: 0 is not allowed; use a whole number of minutes from 1 to 1440'],
    [{ brokerRestartingMaxMinutes: 1441 }, 'thresholds.brokerRestartingMaxMinutes: 1441 is not allowed'],
    [{ metricsPublisherErrorMinutes: 1.5 }, 'thresholds.metricsPublisherErrorMinutes: 1.5 is not allowed'],
    [{ workerRestartPerMinute: 3 } as CeleryAlarmThresholds, 'thresholds.workerRestartPerMinute is not a known threshold'],
    [{ memoryUsedPercent: '80' as unknown as number }, 'thresholds.memoryUsedPercent: "80" (a string) is not allowed; use a percent'],
  ])('%j', (thresholds, message) => {
    expect(() => resolveAlarmThresholds(thresholds)).toThrow(message);
  });

  test('the construct rejects them at synth', () => {
    const stack = new Stack(new App(), 'S');
    const broker = importedBroker(stack, { brokerName: 'b' });
    expect(() => new CeleryMonitoring(stack, 'M', { broker, thresholds: { memoryUsedPercent: 150 } }))
      .toThrow('thresholds.memoryUsedPercent: 150 is not allowed; use a percent greater than 0 and at most 100');
  });
});
