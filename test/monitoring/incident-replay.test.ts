/**
 * Replays recorded-shape series through the alarms of a synthesized CeleryMonitoring stack, with
 * the evaluator in ./alarm-evaluator.ts, on a RabbitMQ 3.13 broker (Amazon MQ's queue metrics)
 * and a 4.2 broker (the metrics publisher's). Thresholds, periods, comparisons, datapoints,
 * missing-data treatment, actions and the actions suppressor all come from the template; a "page"
 * is an ALARM notification that reaches the paging topic.
 */
import { parseAlarms, ParsedAlarms, replay, Replay, ReplayOptions } from './alarm-evaluator';
import { buildMonitoring, groupNameIn } from './monitoring-fixture';
import { BrokerShape, FleetShape, jitter, recordDay, RecordedSeries, WorkerTraffic } from './recorded-series';
import { RabbitMqDeploymentMode, RabbitMqEngineVersion } from '../../src/broker';
import { CeleryMonitoringProps } from '../../src/monitoring';
import { AlarmThresholdDefaults as D } from '../../src/monitoring/alarm-thresholds';
import { DEFAULT_REVOKES_MAX, renderCeleryWorkerCommand } from '../../src/workers/render/celery-worker-command';

jest.setTimeout(120_000);

const BROKER = 'prod-broker';
const MAX_WORKERS = 30;
const DAY = 24 * 60;

type Engine = '3.x' | '4.x';
const ENGINES: Engine[] = ['3.x', '4.x'];

interface Synthesized {
  readonly alarms: ParsedAlarms;
  /** Logical ids by role. */
  readonly ids: { [role: string]: string };
  readonly asg: string;
  readonly reportsAsg: string;
  readonly brokerIdKey: string;
  readonly paging: string;
  readonly ticketing: string;
}

function synthesize(engine: Engine, props: Partial<CeleryMonitoringProps> = {}, cluster = false): Synthesized {
  const { stack, broker, fleets: [fleet, reports], monitoring, template } = buildMonitoring({
    env: null,
    brokerName: BROKER,
    fleets: [['Workers', MAX_WORKERS, ['orders']], ['Reports', 4, ['reports']]],
    brokerOptions: {
      engineVersion: engine === '3.x' ? RabbitMqEngineVersion.V3_13 : RabbitMqEngineVersion.V4_2,
      deploymentMode: cluster ? RabbitMqDeploymentMode.CLUSTER_MULTI_AZ : undefined,
    },
    monitorInVpc: true,
    props,
  });
  const id = (c: { node: { defaultChild?: unknown } } | undefined) => (c ? stack.getLogicalId(c.node.defaultChild as any) : 'absent');
  const [workers, reportsAlarms] = monitoring.fleetAlarms;
  return {
    // The replay keys a dimension that is a CloudFormation value by its JSON.
    asg: JSON.stringify(groupNameIn(stack, fleet)),
    reportsAsg: JSON.stringify(groupNameIn(stack, reports)),
    brokerIdKey: JSON.stringify(stack.resolve(broker.brokerId)),
    alarms: parseAlarms(template().toJSON() as any),
    paging: monitoring.pagingTopic ? id(monitoring.pagingTopic as any) : 'none',
    ticketing: monitoring.ticketingTopic ? id(monitoring.ticketingTopic as any) : 'none',
    ids: {
      ingress: id(monitoring.brokerIngressAlarm),
      memory: id(monitoring.memoryAlarm),
      cpu: id(monitoring.cpuAlarm),
      connections: id(monitoring.connectionStormAlarm),
      connectionChurn: id(monitoring.connectionChurnAlarm),
      notReporting: id(monitoring.brokerNotReportingAlarm),
      incident: id(monitoring.incidentAlarm),
      brokerDown: id(monitoring.brokerDownAlarm),
      restarts: id(workers.workerRestartsAlarm),
      networkOut: id(workers.networkOutAlarm),
      ordersBacklog: id(workers.queueBacklogAlarm),
      ordersNoConsumers: id(workers.queueNoConsumersAlarm),
      reportsBacklog: id(reportsAlarms.queueBacklogAlarm),
      reportsNoConsumers: id(reportsAlarms.queueNoConsumersAlarm),
    },
  };
}

const synthesized: { [engine: string]: Synthesized } = { '3.x': synthesize('3.x'), '4.x': synthesize('4.x') };

function run(s: Synthesized, series: RecordedSeries, options: ReplayOptions = {}): Replay & { pages(): number[]; alarmNotifications(): string[] } {
  const r = replay(s.alarms, series.source, series.minutes, { catalog: () => series.catalog(), ...options });
  return {
    ...r,
    /** Minutes at which a page was sent. */
    pages: () => r.alarmsSentTo(s.paging).map(n => n.minute),
    /** Every ALARM notification (pages and tickets), as `alarm@minute`. */
    alarmNotifications: () => r.notifications.filter(n => n.state === 'ALARM').map(n => `${n.alarm}@${n.minute}`),
  };
}

/** Workers as the library generates them: mingle, gossip and heartbeat events off. */
const generatedWorker = new WorkerTraffic(renderCeleryWorkerCommand({ app: 'proj' }).argv, DEFAULT_REVOKES_MAX);
/** Workers as the incident ran them: Celery defaults, revoked sets at the 50,000-id cap. */
const defaultFlagsWorker = new WorkerTraffic(renderCeleryWorkerCommand({
  app: 'proj', enableMingle: true, acknowledgeMingleBrokerTraffic: true, enableGossip: true, enableHeartbeatEvents: true,
}).argv, D.REVOKED_IDS_CAP);

/** A steady broker: the base every scenario changes. */
function steadyBroker(engine: Engine, s: Synthesized, overrides: Partial<BrokerShape> = {}): BrokerShape {
  return {
    brokerName: BROKER,
    engine: engine === '3.x' ? 3 : 4,
    brokerIdKey: s.brokerIdKey,
    taskBytes: () => 5_000_000,
    producerConnections: 10,
    readyMessages: () => 1_000,
    memoryLimitBytes: 4.3 * 2 ** 30,
    memoryUsedPercent: () => 30,
    cpuPercent: () => 20,
    ...overrides,
  };
}

/** The fleets of the stack: `Workers` (orders) and `Reports` (reports, 2 workers). */
function fleetsOf(s: Synthesized, workers: Partial<FleetShape> = {}, reports: Partial<FleetShape> = {}): FleetShape[] {
  return [{
    autoScalingGroupName: s.asg,
    running: () => 20,
    joins: () => 0,
    restarts: () => 0,
    worker: generatedWorker,
    connectionsPerWorker: 3,
    channelsPerWorker: 6,
    queues: ['orders'],
    queueReady: () => 200,
    ...workers,
  }, {
    autoScalingGroupName: s.reportsAsg,
    running: () => 2,
    joins: () => 0,
    restarts: () => 0,
    worker: generatedWorker,
    connectionsPerWorker: 3,
    channelsPerWorker: 6,
    queues: ['reports'],
    queueReady: () => 5,
    ...reports,
  }];
}

test.each(ENGINES)('every alarm of the construct (%s) can be replayed', (engine) => {
  const { alarms } = synthesized[engine];
  expect(alarms.unsupported).toEqual({});
  // 14 broker alarms (no anomaly band) + 5 per fleet; the suppressor and the two pages.
  expect(alarms.metricAlarms).toHaveLength(14 + 2 * 5);
  expect(alarms.compositeAlarms.map(c => c.alarmName).sort()).toEqual([
    `${BROKER}-celery-broker-down-page`, `${BROKER}-celery-broker-restarting-suppressor`, `${BROKER}-celery-ingress-storm-page`,
  ]);
});

describe.each(ENGINES)('RabbitMQ %s', (engine) => {
  const s = synthesized[engine];

  describe('the incident: 30 workers restart at midnight, each pulling 29 x 4.9 MB, and the broker falls over', () => {
    const MIDNIGHT = 60;
    const DEAD = MIDNIGHT + 10;
    const incidentFleet: Partial<FleetShape> = {
      running: () => 30,
      joins: m => (m === MIDNIGHT ? 30 : 0),
      restarts: m => (m === MIDNIGHT ? 30 : 0),
      worker: defaultFlagsWorker,
    };
    const incidentBroker = (overrides: Partial<BrokerShape> = {}) => steadyBroker(engine, s, {
      memoryUsedPercent: m => (m <= MIDNIGHT ? 30 : 97),
      cpuPercent: m => (m < MIDNIGHT ? 20 : 100),
      deadFrom: DEAD,
      ...overrides,
    });
    const series = recordDay(120, incidentBroker(), fleetsOf(s, incidentFleet));
    const result = run(s, series);

    test('the series has the incident\'s shape', () => {
      const ingress = series.get('AWS/AmazonMQ', 'NetworkIn', BROKER)!;
      expect(ingress[MIDNIGHT]).toBeGreaterThan(30 * 29 * 4_900_000);
      expect(ingress[MIDNIGHT - 1]).toBeLessThan(10_000_000);
    });

    test('the ingress-storm page is sent within two periods, and not before', () => {
      expect(result.states[s.ids.incident][MIDNIGHT - 1]).toBe('OK');
      expect(result.firstAlarm(s.ids.ingress)).toBeLessThanOrEqual(MIDNIGHT + 2);
      expect(result.pages()[0]).toBeLessThanOrEqual(MIDNIGHT + 2);
      expect(result.alarmsSentTo(s.paging)[0].alarm).toBe(s.ids.incident);
    });

    test('the fleet is named as the source, its restarts and the memory alarm ticket', () => {
      expect(result.firstAlarm(s.ids.restarts)).toBe(MIDNIGHT + 1);
      expect(result.firstAlarm(s.ids.networkOut)).toBe(MIDNIGHT + 1);
      expect(result.firstAlarm(s.ids.memory)).toBeLessThanOrEqual(MIDNIGHT + 3);
      const tickets = result.alarmsSentTo(s.ticketing).map(n => n.alarm);
      expect(tickets).toEqual(expect.arrayContaining([s.ids.ingress, s.ids.restarts, s.ids.networkOut, s.ids.memory]));
    });

    test('when the broker falls over (Amazon MQ still says RUNNING), broker-down-page is sent within 10 minutes', () => {
      const down = result.alarmsSentTo(s.paging).filter(n => n.alarm === s.ids.brokerDown).map(n => n.minute);
      expect(down).toHaveLength(1);
      expect(down[0]).toBeGreaterThan(DEAD);
      expect(down[0]).toBeLessThanOrEqual(DEAD + D.BROKER_NOT_REPORTING_MINUTES + D.RESTART_SUPPRESSION_WAIT_MINUTES + 1);
      // It stays up: the broker stays dead.
      expect(result.states[s.ids.brokerDown].slice(down[0])).not.toContain('OK');
    });

    test('NetworkIn under BrokerId: the same page at the same minute', () => {
      const r = run(s, recordDay(120, incidentBroker({ networkInDimension: 'BrokerId' }), fleetsOf(s, incidentFleet)));
      expect(r.pages()[0]).toBe(result.pages()[0]);
      expect(r.firstAlarm(s.ids.ingress)).toBe(result.firstAlarm(s.ids.ingress));
    });

    test('NetworkIn not published at all: the fleet\'s NetworkOut carries the page, within two periods', () => {
      const r = run(s, recordDay(120, incidentBroker({ networkInDimension: 'none' }), fleetsOf(s, incidentFleet)));
      expect(r.firstAlarm(s.ids.ingress)).toBeUndefined();
      expect(r.pages()[0]).toBeLessThanOrEqual(MIDNIGHT + 2);
    });

    test('the replay reads the thresholds from the template: a 5 GB/min ingress threshold and a huge NetworkOut threshold miss this storm', () => {
      const lenient = synthesize(engine, {
        thresholds: { brokerIngressBytesPerMinute: 5_000_000_000 },
        alarms: { fleets: { networkOut: { threshold: 50_000_000_000 } } },
      });
      const r = run(lenient, recordDay(120, incidentBroker({ brokerIdKey: lenient.brokerIdKey }), fleetsOf(lenient, incidentFleet)));
      expect(r.states[lenient.ids.incident][MIDNIGHT]).toBe('OK');
      expect(r.alarmsSentTo(lenient.paging).filter(n => n.alarm === lenient.ids.incident)).toEqual([]);
    });
  });

  describe('a normal day with the generated workers', () => {
    const random = jitter(42);
    const noise = Array.from({ length: DAY }, () => 0.9 + 0.2 * random());
    // Office hours: traffic rises to 2.5x from 08:00 to 18:00.
    const load = (m: number) => (m >= 480 && m < 1080 ? 2.5 : 0.5) * noise[m];
    const ROLLING_DEPLOY = [600, 605, 610, 615, 620, 625]; // 6 batches of 5 instances
    const broker = steadyBroker(engine, s, {
      taskBytes: m => 60 * 1_500 * 60 * load(m), // 60 tasks/s of 1.5 KB
      producerConnections: 40,
      readyMessages: m => Math.round(20_000 * noise[m]), // a steady backlog elsewhere
      memoryUsedPercent: m => 25 + 10 * load(m),
      cpuPercent: m => 15 + 15 * load(m),
    });
    const running = (m: number) => (m >= 480 && m < 1080 ? 30 : 20);
    const fleet: Partial<FleetShape> = {
      running,
      // Scale-out at 08:00 (10 new instances), the rolling deploy, and nothing else.
      joins: m => (m === 480 ? 10 : ROLLING_DEPLOY.includes(m) ? 5 : 0),
      restarts: m => (m === 1000 || m === 1001 ? 1 : 0), // two unrelated crashes
      queueReady: (_q, m) => Math.round(300 * load(m)),
    };

    test('no alarm fires, and every alarm did evaluate', () => {
      const result = run(s, recordDay(DAY, broker, fleetsOf(s, fleet)));
      expect(result.fired()).toEqual([]);
      expect(result.alarmNotifications()).toEqual([]);
      // A day of INSUFFICIENT_DATA would also fire nothing.
      for (const [id, states] of Object.entries(result.states)) {
        expect({ id, state: states[DAY - 1] }).toEqual({ id, state: 'OK' });
      }
    });

    test('NetworkIn missing all day: nothing fires, nothing pages', () => {
      const result = run(s, recordDay(DAY, { ...broker, networkInDimension: 'none' }, fleetsOf(s, fleet)));
      expect(result.fired()).toEqual([]);
      expect(result.pages()).toEqual([]);
    });

    test('the rolling deploy costs ~9 KB per join', () => {
      const ingress = recordDay(DAY, broker, fleetsOf(s, fleet)).get('AWS/AmazonMQ', 'NetworkIn', BROKER)!;
      const withoutDeploy = recordDay(DAY, broker, fleetsOf(s, { ...fleet, joins: () => 0 })).get('AWS/AmazonMQ', 'NetworkIn', BROKER)!;
      expect(ingress[600]! - withoutDeploy[600]!).toBe(5 * D.SAFE_JOIN_BYTES);
    });

    test('the same day with default-flag workers tickets the ingress alarm at the scale-out', () => {
      const result = run(s, recordDay(DAY, broker, fleetsOf(s, { ...fleet, worker: defaultFlagsWorker })));
      expect(result.firstAlarm(s.ids.ingress)).toBe(481);
      expect(result.alarmsSentTo(s.ticketing).some(n => n.alarm === s.ids.ingress && n.minute === 481)).toBe(true);
    });
  });

  describe('a first deployment: the broker takes 20 minutes to create, the alarms come after it', () => {
    const CREATED = 20;
    const firstDeploy = (metricsFrom: number): RecordedSeries => recordDay(150, steadyBroker(engine, s, {
      createdMinute: 0,
      state: m => (m < CREATED ? 'CREATION_IN_PROGRESS' : 'RUNNING'),
      silent: m => m < metricsFrom,
      // The publisher is created with the alarms; its first run a minute or two later.
      publisherFrom: CREATED + 2,
      // A new application: nothing is sent before its workers run.
      readyMessages: m => (m < CREATED + 6 ? 0 : 1_000),
    }), fleetsOf(s, {
      // The fleets' instances boot once the broker exists, and join with the safe flags.
      running: m => (m < CREATED + 6 ? 0 : 20),
      joins: m => (m === CREATED + 6 ? 20 : 0),
      queueReady: (_q, m) => (m < CREATED + 6 ? 0 : 200),
    }, {
      running: m => (m < CREATED + 6 ? 0 : 2),
      joins: m => (m === CREATED + 6 ? 2 : 0),
      queueReady: (_q, m) => (m < CREATED + 6 ? 0 : 5),
    }));

    test('nothing pages and nothing tickets, with the broker\'s metrics from the start or 9 minutes late', () => {
      for (const metricsFrom of [CREATED + 2, CREATED + 9]) {
        const result = run(s, firstDeploy(metricsFrom), { createdAt: CREATED });
        expect({ metricsFrom, notifications: result.alarmNotifications() }).toEqual({ metricsFrom, notifications: [] });
        // broker-not-reporting itself looks back before its creation, and is held back.
        expect(result.firstAlarm(s.ids.notReporting)).toBe(CREATED + 1);
      }
    });

    test('without the metrics publisher (no suppressor), the same deployment pages: the suppressor is what keeps it quiet', () => {
      const bare = synthesize(engine, { enableMetricsPublisher: false });
      const result = run(bare, firstDeploy(CREATED + 2), { createdAt: CREATED });
      expect(result.alarmsSentTo(bare.paging).map(n => n.alarm)).toEqual([bare.ids.brokerDown]);
    });
  });

  describe('reboots: a maintenance window at 03:00 and the configuration applier at 14:00', () => {
    const reboots = [180, 840];
    // Amazon MQ reports REBOOT_IN_PROGRESS for 12 minutes; the broker publishes nothing for 14.
    const rebooting = (m: number) => reboots.some(r => m >= r && m < r + 12);
    const silent = (m: number) => reboots.some(r => m >= r && m < r + 14);
    // When it is back, every worker reconnects (safe flags: no mingle).
    const reconnect = (m: number) => reboots.some(r => m === r + 14);
    const series = () => recordDay(DAY, steadyBroker(engine, s, { state: m => (rebooting(m) ? 'REBOOT_IN_PROGRESS' : 'RUNNING'), silent }),
      fleetsOf(s, { joins: m => (reconnect(m) ? 20 : 0) }, { joins: m => (reconnect(m) ? 2 : 0) }));

    test('nothing pages and nothing tickets', () => {
      const result = run(s, series());
      expect(result.alarmNotifications()).toEqual([]);
      // The broker-down page did go to ALARM, held back by the suppressor.
      expect(result.firstAlarm(s.ids.brokerDown)).toBe(180 + D.BROKER_NOT_REPORTING_MINUTES);
    });

    test('without the metrics publisher, each reboot pages', () => {
      const bare = synthesize(engine, { enableMetricsPublisher: false });
      const result = run(bare, recordDay(DAY, steadyBroker(engine, bare, { state: m => (rebooting(m) ? 'REBOOT_IN_PROGRESS' : 'RUNNING'), silent }),
        fleetsOf(bare, { joins: m => (reconnect(m) ? 20 : 0) })));
      expect(result.alarmsSentTo(bare.paging).map(n => n.minute)).toEqual(reboots.map(r => r + D.BROKER_NOT_REPORTING_MINUTES));
    });

    test('a broker stuck in REBOOT_IN_PROGRESS pages once the restart cap and the extension have passed', () => {
      const stuckFrom = 300;
      const result = run(s, recordDay(DAY, steadyBroker(engine, s, {
        state: m => (m >= stuckFrom ? 'REBOOT_IN_PROGRESS' : 'RUNNING'),
        deadFrom: stuckFrom,
      }), fleetsOf(s)));
      const pages = result.pages();
      expect(pages).toHaveLength(1);
      expect(pages[0]).toBeGreaterThan(stuckFrom + D.BROKER_RESTARTING_MAX_MINUTES);
      expect(pages[0]).toBeLessThanOrEqual(stuckFrom + D.BROKER_RESTARTING_MAX_MINUTES + D.RESTART_SUPPRESSION_EXTENSION_MINUTES + 2);
    });
  });

  describe('churn and storms', () => {
    test('a producer leaking 10 connections a second: connection churn tickets within 3 minutes, before the storm alarm', () => {
      const LEAK = 200;
      const leaking = steadyBroker(engine, s, { producerConnections: 10 });
      const series = recordDay(300, leaking, fleetsOf(s));
      // Rewrite the connection count: +600 per minute from the leak on.
      const base = series.get('AWS/AmazonMQ', 'ConnectionCount', BROKER)!;
      series.broker(BROKER, 'ConnectionCount', m => base[m]! + Math.max(0, m - LEAK + 1) * 600);
      const result = run(s, series);
      expect(result.firstAlarm(s.ids.connectionChurn)).toBeLessThanOrEqual(LEAK + 3);
      expect(result.firstAlarm(s.ids.connectionChurn)).toBeLessThanOrEqual(result.firstAlarm(s.ids.connections)!);
      expect(result.pages()).toEqual([]);
    });
  });

  describe('per-queue signals', () => {
    test('a backlog in one fleet\'s queue tickets that fleet\'s backlog alarm only', () => {
      const result = run(s, recordDay(120, steadyBroker(engine, s), fleetsOf(s, { queueReady: (_q, m) => (m >= 30 ? 150_000 : 200) })));
      expect(result.firstAlarm(s.ids.ordersBacklog)).toBe(30 + D.BACKLOG_MINUTES);
      expect(result.firstAlarm(s.ids.reportsBacklog)).toBeUndefined();
    });

    test('a fleet that stops consuming its queue tickets its no-consumer alarm only', () => {
      const result = run(s, recordDay(120, steadyBroker(engine, s), fleetsOf(s, {}, { running: m => (m >= 40 ? 0 : 2) })));
      expect(result.firstAlarm(s.ids.reportsNoConsumers)).toBe(40 + D.NO_CONSUMERS_MINUTES);
      expect(result.firstAlarm(s.ids.ordersNoConsumers)).toBeUndefined();
    });
  });
});

describe('a three-node cluster (RabbitMQ 4.x): CPU per node, memory as a ratio of aggregates', () => {
  const s = synthesize('4.x', {}, true);
  const nodes = (cpu: (node: number, m: number) => number) => [0, 1, 2].map(i => ({ name: `rabbit@node${i}`, cpuPercent: (m: number) => cpu(i, m) }));

  test.each(['sum', 'average'] as const)('three nodes at 30 %% (broker-level %s): no CPU alarm; one node at 95 %% for 10 minutes: the CPU alarm', (aggregate) => {
    const calm = recordDay(120, steadyBroker('4.x', s, { nodes: nodes(() => 30), aggregate }), fleetsOf(s));
    if (aggregate === 'sum') {
      // What a per-node threshold on the broker-level aggregate would have seen.
      expect(calm.get('AWS/AmazonMQ', 'SystemCpuUtilization', BROKER)![10]).toBe(90);
    }
    expect(run(s, calm).fired()).toEqual([]);
    const hot = recordDay(120, steadyBroker('4.x', s, { nodes: nodes((i, m) => (i === 1 && m >= 50 && m < 60 ? 95 : 30)), aggregate }), fleetsOf(s));
    expect(run(s, hot).firstAlarm(s.ids.cpu)).toBe(55);
  });

  test.each(['sum', 'average'] as const)('memory at 85 %% on every node fires at the same minute whatever the aggregate (%s)', (aggregate) => {
    const r = run(s, recordDay(120, steadyBroker('4.x', s, {
      nodes: nodes(() => 30), aggregate, memoryUsedPercent: m => (m >= 40 ? 85 : 30),
    }), fleetsOf(s)));
    expect(r.firstAlarm(s.ids.memory)).toBe(42);
  });
});
