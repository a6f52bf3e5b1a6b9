/**
 * Replays recorded-shape series through the alarms of a synthesized CeleryMonitoring stack, with
 * the evaluator in ./alarm-evaluator.ts. Thresholds, periods, comparisons, datapoints and
 * missing-data treatment all come from the template.
 */
import { parseAlarms, ParsedAlarms, replay } from './alarm-evaluator';
import { buildMonitoring, groupNameIn } from './monitoring-fixture';
import { BrokerShape, FleetShape, jitter, recordDay, WorkerTraffic } from './recorded-series';
import { AlarmThresholdDefaults as D, CeleryAlarmThresholds } from '../../src/monitoring/alarm-thresholds';
import { DEFAULT_REVOKES_MAX, renderCeleryWorkerCommand } from '../../src/workers/render/celery-worker-command';

jest.setTimeout(60_000);

const BROKER = 'prod-broker';
const MAX_WORKERS = 30;

function synthesize(thresholds?: CeleryAlarmThresholds): { alarms: ParsedAlarms; ids: { [name: string]: string }; asg: string } {
  const { stack, fleets: [fleet], monitoring, template } = buildMonitoring({ env: null, brokerName: BROKER, fleets: [['Workers', MAX_WORKERS]], props: { thresholds } });
  const id = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as any);
  const [fleetAlarms] = monitoring.fleetAlarms;
  return {
    // The replay keys a dimension that is a CloudFormation value by its JSON.
    asg: JSON.stringify(groupNameIn(stack, fleet)),
    alarms: parseAlarms(template().toJSON() as any),
    ids: {
      ingress: id(monitoring.brokerIngressAlarm),
      memory: id(monitoring.memoryAlarm),
      connections: id(monitoring.connectionStormAlarm),
      incident: id(monitoring.incidentAlarm),
      restarts: id(fleetAlarms.workerRestartsAlarm),
      networkOut: id(fleetAlarms.networkOutAlarm),
    },
  };
}

const { alarms, ids, asg: ASG } = synthesize();

/** Workers as the library generates them: mingle, gossip and heartbeat events off. */
const generatedWorker = new WorkerTraffic(renderCeleryWorkerCommand({ app: 'proj' }).argv, DEFAULT_REVOKES_MAX);
/** Workers as the incident ran them: Celery defaults, revoked sets at the 50,000-id cap. */
const defaultFlagsWorker = new WorkerTraffic(renderCeleryWorkerCommand({
  app: 'proj', enableMingle: true, acknowledgeMingleBrokerTraffic: true, enableGossip: true, enableHeartbeatEvents: true,
}).argv, D.REVOKED_IDS_CAP);

test('every alarm of the default construct can be replayed', () => {
  expect(alarms.unsupported).toEqual({});
  expect(alarms.metricAlarms).toHaveLength(10); // 8 broker alarms + 2 for the fleet
  expect(alarms.compositeAlarms).toHaveLength(1);
});

describe('the incident: 30 workers restart at midnight, each pulling 29 x 4.9 MB', () => {
  const MIDNIGHT = 60;
  const broker: BrokerShape = {
    brokerName: BROKER,
    taskBytes: () => 5_000_000,
    producerConnections: 10,
    readyMessages: m => (m < MIDNIGHT ? 2_000 : 2_000 + (m - MIDNIGHT) * 3_000),
    memoryLimitBytes: 4.3 * 2 ** 30,
    memoryUsedPercent: m => (m <= MIDNIGHT ? 30 : 97),
    cpuPercent: m => (m < MIDNIGHT ? 20 : 100),
    deadFrom: MIDNIGHT + 10, // it fell over
  };
  const fleet: FleetShape = {
    autoScalingGroupName: ASG,
    running: () => 30,
    joins: m => (m === MIDNIGHT ? 30 : 0),
    restarts: m => (m === MIDNIGHT ? 30 : 0),
    worker: defaultFlagsWorker,
    connectionsPerWorker: 3,
    channelsPerWorker: 6,
  };
  const series = recordDay(120, broker, [fleet]);
  const result = replay(alarms, series.source, 120);

  test('the series has the incident\'s shape', () => {
    const ingress = series.get('AWS/AmazonMQ', 'NetworkIn', BROKER)!;
    // 30 x 29 replies of 98 bytes x 50,000 ids, plus the usual traffic.
    expect(ingress[MIDNIGHT]).toBeGreaterThan(30 * 29 * 4_900_000);
    expect(ingress[MIDNIGHT - 1]).toBeLessThan(10_000_000);
  });

  test('the ingress alarm and the composite page fire within two periods', () => {
    expect(result.states[ids.ingress][MIDNIGHT - 1]).toBe('OK');
    expect(result.states[ids.incident][MIDNIGHT - 1]).toBe('OK');
    expect(result.firstAlarm(ids.ingress)).toBeLessThanOrEqual(MIDNIGHT + 2);
    expect(result.firstAlarm(ids.incident)).toBeLessThanOrEqual(MIDNIGHT + 2);
  });

  test('the fleet is named as the source and its restarts alarm', () => {
    expect(result.firstAlarm(ids.restarts)).toBeLessThanOrEqual(MIDNIGHT + 1);
    expect(result.firstAlarm(ids.networkOut)).toBeLessThanOrEqual(MIDNIGHT + 5);
    expect(result.firstAlarm(ids.memory)).toBeLessThanOrEqual(MIDNIGHT + 3);
  });

  test('the replay reads the thresholds from the template: a 5 GB/min ingress threshold misses this storm', () => {
    const lenient = synthesize({ brokerIngressBytesPerMinute: 5_000_000_000 });
    const r = replay(lenient.alarms, series.source, 120);
    expect(r.states[lenient.ids.ingress][MIDNIGHT]).toBe('OK');
    expect(r.states[lenient.ids.incident][MIDNIGHT]).toBe('OK');
  });

  test('when the broker falls over, missing data brings the page back within two periods and keeps it up', () => {
    // states[i] is the state at the end of minute i + 1; the broker is silent from minute 70.
    const silentFrom = MIDNIGHT + 10;
    expect(result.states[ids.incident][silentFrom - 1]).toBe('OK'); // the one-minute storm has passed
    expect(result.states[ids.incident].slice(silentFrom + 1)).not.toContain('OK');
    expect(result.states[ids.memory].slice(MIDNIGHT + 2)).not.toContain('OK');
  });
});

describe('a normal day with the generated workers', () => {
  const DAY = 24 * 60;
  const random = jitter(42);
  const noise = Array.from({ length: DAY }, () => 0.9 + 0.2 * random());
  // Office hours: traffic rises to 2.5x from 08:00 to 18:00.
  const load = (m: number) => (m >= 480 && m < 1080 ? 2.5 : 0.5) * noise[m];
  const ROLLING_DEPLOY = [600, 605, 610, 615, 620, 625]; // 6 batches of 5 instances
  const broker: BrokerShape = {
    brokerName: BROKER,
    taskBytes: m => 60 * 1_500 * 60 * load(m), // 60 tasks/s of 1.5 KB
    producerConnections: 40,
    readyMessages: m => Math.round(20_000 * noise[m]), // a steady backlog
    memoryLimitBytes: 4.3 * 2 ** 30,
    memoryUsedPercent: m => 25 + 10 * load(m),
    cpuPercent: m => 15 + 15 * load(m),
  };
  const running = (m: number) => (m >= 480 && m < 1080 ? 30 : 20);
  const fleet: FleetShape = {
    autoScalingGroupName: ASG,
    running,
    // Scale-out at 08:00 (10 new instances), the rolling deploy, and nothing else.
    joins: m => (m === 480 ? 10 : ROLLING_DEPLOY.includes(m) ? 5 : 0),
    restarts: m => (m === 1000 || m === 1001 ? 1 : 0), // two unrelated crashes
    worker: generatedWorker,
    connectionsPerWorker: 3,
    channelsPerWorker: 6,
  };

  test('no alarm fires', () => {
    const result = replay(alarms, recordDay(DAY, broker, [fleet]).source, DAY);
    expect(result.fired()).toEqual([]);
    // And every alarm did evaluate (a day of INSUFFICIENT_DATA would also fire nothing).
    for (const [id, states] of Object.entries(result.states)) {
      expect({ id, state: states[DAY - 1] }).toEqual({ id, state: 'OK' });
    }
  });

  test('the rolling deploy costs ~9 KB per join', () => {
    const s = recordDay(DAY, broker, [fleet]);
    const ingress = s.get('AWS/AmazonMQ', 'NetworkIn', BROKER)!;
    const withoutDeploy = recordDay(DAY, broker, [{ ...fleet, joins: () => 0 }]).get('AWS/AmazonMQ', 'NetworkIn', BROKER)!;
    expect(ingress[600]! - withoutDeploy[600]!).toBe(5 * D.SAFE_JOIN_BYTES);
  });

  test('the same day with default-flag workers fires the ingress alarm at the deploy', () => {
    const result = replay(alarms, recordDay(DAY, broker, [{ ...fleet, worker: defaultFlagsWorker }]).source, DAY);
    expect(result.firstAlarm(ids.ingress)).toBe(481); // the scale-out already storms
    expect(result.states[ids.ingress][600]).toBe('ALARM');
  });

  test('a dead broker does not look healthy', () => {
    const result = replay(alarms, recordDay(DAY, { ...broker, deadFrom: 300 }, [fleet]).source, DAY);
    expect(result.states[ids.incident][298]).toBe('OK');
    expect(result.firstAlarm(ids.incident)).toBeLessThanOrEqual(302);
  });
});
