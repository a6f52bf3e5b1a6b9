/**
 * The publisher's decisions, with in-memory stand-ins for Amazon MQ, Secrets Manager, CloudWatch
 * and the management API (a local HTTP server answering like RabbitMQ). The real wire is tested
 * in broker-metrics-publisher-rabbitmq.e2e.test.ts.
 */
import { createServer, IncomingMessage, Server, ServerResponse } from 'http';
import { AddressInfo } from 'net';
import {
  MetricDatum, parseQueues, PUT_METRIC_DATA_BATCH, publishBrokerMetrics, PublisherConfig, PublisherDependencies, resetCredentialsCache,
} from '../../src/monitoring/broker-metrics-publisher-handler';

const NOW = new Date('2026-06-01T12:00:00Z');
const minutesAgo = (m: number) => new Date(NOW.getTime() - m * 60_000);

interface Fake {
  readonly deps: PublisherDependencies;
  readonly puts: Array<{ namespace: string; data: MetricDatum[] }>;
  readonly secretReads: string[];
  readonly logs: string[];
}

function fake(broker: { state?: string; created?: Date } | Error, secret = { username: 'mon', password: 'right' }): Fake {
  const puts: Fake['puts'] = [];
  const secretReads: string[] = [];
  const logs: string[] = [];
  return {
    puts,
    secretReads,
    logs,
    deps: {
      describeBroker: async () => { if (broker instanceof Error) throw broker; return broker; },
      getSecretString: async (arn) => { secretReads.push(arn); return JSON.stringify(secret); },
      putMetricData: async (namespace, data) => { puts.push({ namespace, data }); },
      now: () => NOW,
      log: (m) => logs.push(m),
    },
  };
}

/** A management API that lists `queues` of vhost `celery` to user mon:right (401 otherwise). */
let server: Server;
let requests: string[] = [];
let queues: Array<{ name: string; messages_ready?: number; messages_unacknowledged?: number; consumers?: number }> = [];
let password = 'right';
beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests.push(`${req.method} ${req.url}`);
    const auth = Buffer.from((req.headers.authorization ?? '').replace('Basic ', ''), 'base64').toString();
    if (auth !== `mon:${password}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not_authorised', reason: 'Login failed' }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(queues));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  requests = [];
  queues = [];
  password = 'right';
  resetCredentialsCache();
});

function config(overrides: Partial<PublisherConfig> = {}): PublisherConfig {
  return {
    brokerId: 'b-1',
    brokerName: 'prod-broker',
    managementUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    credentialsSecretArn: 'arn:secret:mon',
    queues: [{ vhost: 'celery', queue: 'orders' }, { vhost: 'celery', queue: 'emails' }],
    requestTimeoutMs: 2_000,
    creationGraceMinutes: 30,
    ...overrides,
  };
}

const value = (f: Fake, metric: string, queue?: string) => f.puts.flatMap(p => p.data)
  .filter(d => d.MetricName === metric && (queue === undefined || d.Dimensions.some(x => x.Name === 'Queue' && x.Value === queue)))
  .map(d => d.Value);

describe('the restart signal', () => {
  test.each([
    ['RUNNING', 1000, 0],
    ['CRITICAL_ACTION_REQUIRED', 1000, 0],
    ['REBOOT_IN_PROGRESS', 1000, 1],
    ['CREATION_IN_PROGRESS', 0, 1],
    ['DELETION_IN_PROGRESS', 1000, 1],
    ['RUNNING', 29, 1], // younger than the creation grace: its metrics may not flow yet
    ['RUNNING', 30, 0],
  ])('%s, created %d minutes ago: BrokerRestarting = %d', async (state, age, expected) => {
    const f = fake({ state, created: minutesAgo(age) });
    const r = await publishBrokerMetrics(config({ queues: [] }), f.deps);
    expect(value(f, 'BrokerRestarting')).toEqual([expected]);
    expect(f.puts[0].namespace).toBe('CdkCelery');
    expect(f.puts[0].data[0]).toEqual({
      MetricName: 'BrokerRestarting', Dimensions: [{ Name: 'Broker', Value: 'prod-broker' }], Value: expected, Unit: 'Count', Timestamp: NOW,
    });
    expect(r).toMatchObject({ brokerState: state, restarting: expected === 1, datapoints: 1, putMetricDataCalls: 1, managementApiCalls: 0 });
  });

  test('DescribeBroker failing: no signal (the page is not held back), the queues still published, then the run fails', async () => {
    queues = [{ name: 'orders', messages_ready: 4, messages_unacknowledged: 1, consumers: 2 }];
    const f = fake(new Error('AccessDenied'));
    await expect(publishBrokerMetrics(config(), f.deps)).rejects.toThrow('Broker metrics publisher: DescribeBroker b-1: AccessDenied');
    expect(value(f, 'BrokerRestarting')).toEqual([]);
    expect(value(f, 'MessageReadyCount', 'orders')).toEqual([4]);
  });
});

describe('queue metrics', () => {
  test('each configured queue: ready, unacknowledged and consumers, by Broker, VirtualHost and Queue; one list per vhost', async () => {
    queues = [
      { name: 'orders', messages_ready: 120, messages_unacknowledged: 8, consumers: 4 },
      { name: 'celeryev.123', messages_ready: 3, consumers: 1 },
    ];
    const f = fake({ state: 'RUNNING', created: minutesAgo(1000) });
    const r = await publishBrokerMetrics(config(), f.deps);
    expect(requests).toEqual(['GET /api/queues/celery?columns=name,messages_ready,messages_unacknowledged,consumers']);
    expect(value(f, 'MessageReadyCount', 'orders')).toEqual([120]);
    expect(value(f, 'MessageUnacknowledgedCount', 'orders')).toEqual([8]);
    expect(value(f, 'ConsumerCount', 'orders')).toEqual([4]);
    // Not declared yet: nothing waits in it and nobody consumes it.
    expect([value(f, 'MessageReadyCount', 'emails'), value(f, 'ConsumerCount', 'emails')]).toEqual([[0], [0]]);
    expect(f.logs.join('\n')).toMatch(/Queue emails does not exist in vhost celery/);
    // Queues of no fleet are not published.
    expect(JSON.stringify(f.puts)).not.toContain('celeryev');
    const datum = f.puts[0].data.find(d => d.MetricName === 'ConsumerCount')!;
    expect(datum.Dimensions).toEqual([
      { Name: 'Broker', Value: 'prod-broker' }, { Name: 'VirtualHost', Value: 'celery' }, { Name: 'Queue', Value: 'orders' },
    ]);
    expect(r).toEqual({ brokerState: 'RUNNING', restarting: false, datapoints: 1 + 2 * 3, putMetricDataCalls: 1, managementApiCalls: 1 });
  });

  test('a queue without statistics yet (just declared) counts as empty', async () => {
    queues = [{ name: 'orders' }];
    const f = fake({ state: 'RUNNING' });
    await publishBrokerMetrics(config({ queues: [{ vhost: 'celery', queue: 'orders' }] }), f.deps);
    expect([value(f, 'MessageReadyCount'), value(f, 'MessageUnacknowledgedCount'), value(f, 'ConsumerCount')]).toEqual([[0], [0], [0]]);
  });

  test('a young broker is read (it runs); a rebooting one is not (its API cannot answer)', async () => {
    queues = [{ name: 'orders', messages_ready: 1, consumers: 1 }];
    const young = fake({ state: 'RUNNING', created: minutesAgo(5) });
    await publishBrokerMetrics(config(), young.deps);
    expect(value(young, 'MessageReadyCount', 'orders')).toEqual([1]);
    requests = [];
    const rebooting = fake({ state: 'REBOOT_IN_PROGRESS' });
    const r = await publishBrokerMetrics(config(), rebooting.deps);
    expect(requests).toEqual([]);
    expect(r).toMatchObject({ datapoints: 1, managementApiCalls: 0 });
    expect(rebooting.logs.join('\n')).toMatch(/REBOOT_IN_PROGRESS: queue metrics skipped/);
  });

  test('credentials are read once per warm function, and again after a 401 (a replaced user)', async () => {
    queues = [{ name: 'orders', messages_ready: 1, consumers: 1 }];
    const f = fake({ state: 'RUNNING' });
    await publishBrokerMetrics(config(), f.deps);
    await publishBrokerMetrics(config(), f.deps);
    expect(f.secretReads).toEqual(['arn:secret:mon']);
    // The user's password changed (its resource replaced): the cached one fails once.
    password = 'rotated';
    const g = fake({ state: 'RUNNING' }, { username: 'mon', password: 'rotated' });
    await publishBrokerMetrics(config(), g.deps);
    expect(g.secretReads).toEqual(['arn:secret:mon']);
    expect(requests.filter(x => x.startsWith('GET'))).toHaveLength(4);
  });

  test('an unreachable management API: the state is still published, then the run fails naming the vhost', async () => {
    const f = fake({ state: 'RUNNING' });
    await expect(publishBrokerMetrics(config({ managementUrl: 'http://127.0.0.1:1' }), f.deps))
      .rejects.toThrow(/queues of vhost celery: RabbitMQ management API at http:\/\/127.0.0.1:1 is unreachable/);
    expect(value(f, 'BrokerRestarting')).toEqual([0]);
  });

  test('PutMetricData in batches of at most 1,000 datapoints', async () => {
    const many = Array.from({ length: 400 }, (_, i) => ({ vhost: 'celery', queue: `q${i}` }));
    const f = fake({ state: 'RUNNING' });
    const r = await publishBrokerMetrics(config({ queues: many }), f.deps);
    expect(f.puts.map(p => p.data.length)).toEqual([PUT_METRIC_DATA_BATCH, 1 + 400 * 3 - PUT_METRIC_DATA_BATCH]);
    expect(r).toMatchObject({ datapoints: 1201, putMetricDataCalls: 2, managementApiCalls: 1 });
  });
});

test('QUEUES: a JSON array of {vhost, queue}', () => {
  expect(parseQueues(undefined)).toEqual([]);
  expect(parseQueues('[{"vhost":"celery","queue":"orders"}]')).toEqual([{ vhost: 'celery', queue: 'orders' }]);
  expect(() => parseQueues('[{"queue":"orders"}]')).toThrow('QUEUES must be a JSON array of {"vhost": ..., "queue": ...}');
});
