/**
 * The metrics publisher end to end, on every broker profile of the harness (RabbitMQ 3.10.8, and
 * RabbitMQ 4.0.5 configured as Amazon MQ 4.2 and 4.3: quorum queues by default): a real RabbitMQ
 * with the management plugin, a real Celery worker holding messages, the read-only monitoring user made by the real
 * broker-user handler, and Amazon MQ, Secrets Manager and CloudWatch emulated by `moto_server`
 * over the real wire protocol (the AWS SDK clients the function bundles). What was published is
 * read back with GetMetricData. The last test runs the bundled function itself (the deployed
 * asset) the way Lambda does, configured by its environment.
 */
import { execFile } from 'child_process';
import { join } from 'path';
import { promisify } from 'util';
import { CloudWatchClient, GetMetricDataCommand, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CreateBrokerCommand, DescribeBrokerCommand, MqClient } from '@aws-sdk/client-mq';
import { CreateSecretCommand, GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { BrokerUserProperties, handleBrokerUserEvent } from '../../src/access/broker-user-handler';
import { RabbitMqManagementClient } from '../../src/access/rabbitmq-management-client';
import { RabbitMqEngineVersion } from '../../src/broker/rabbitmq-engine-version';
import { BrokerMetricNames } from '../../src/monitoring/broker-metric-names';
import { MetricDatum, publishBrokerMetrics, PublisherConfig, PublisherDependencies, resetCredentialsCache } from '../../src/monitoring/broker-metrics-publisher-handler';
import { renderCeleryWorkerCommand } from '../../src/workers/render/celery-worker-command';
import { MOTO_REGION, MotoServer, startMotoServer } from '../doctor/moto-server';
import { celeryInstalls, celeryRunsOn, eventsFile, HARNESS_APP, sendTasks, startWorker, stopAllWorkers } from '../harness/celery';
import { producerConfigure } from '../harness/client-settings';
import { describeEachRabbitMqProfile, rabbitMqForThisFile } from '../harness/rabbitmq';
import { pollUntil } from '../harness/reaper';

jest.setTimeout(240_000);

// One moto_server for the file (the doctor's tests start theirs the same way).
let motoServer: MotoServer | undefined;
beforeAll(async () => {
  motoServer = await startMotoServer();
}, 70_000);
afterAll(async () => {
  await motoServer?.stop();
});
const moto = () => {
  if (!motoServer) throw new Error('moto_server is not running: use it inside tests and hooks');
  return {
    endpoint: motoServer.endpoint,
    clientConfig: { endpoint: motoServer.endpoint, region: MOTO_REGION, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } },
  };
};

const VHOST = 'celery';
const USERNAME = 'cdk-celery-monitoring';
const MESSAGES_IN_ORDERS = 25;
const TASKS_IN_REPORTS = 3;

let mq: MqClient;
let secrets: SecretsManagerClient;
let cloudwatch: CloudWatchClient;
const basic = (user: string, password: string) => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');

beforeAll(() => {
  mq = new MqClient(moto().clientConfig);
  secrets = new SecretsManagerClient(moto().clientConfig);
  cloudwatch = new CloudWatchClient(moto().clientConfig);
});

/** Calls the publisher made, counted at its dependencies (each a real SDK call to moto, or a real HTTP call). */
interface Counted { describeBroker: number; getSecretValue: number; putMetricData: number; datapoints: number }

describeEachRabbitMqProfile((profile) => {
  const broker = rabbitMqForThisFile({ profile: profile.name, management: true, startTimeoutMs: 180_000, beforeStop: () => stopAllWorkers() });
  // A Celery the generated worker command runs on there (5.5 or later on RabbitMQ 4).
  const install = celeryInstalls().find((i) => !i.absent && celeryRunsOn(i, profile));
  // One broker per profile in moto and in CloudWatch's dimensions, so that profiles never read each other's data.
  const BROKER_NAME = `prod-broker-${profile.name.replace(/\./g, '-')}`;
  const managementUrl = () => `http://127.0.0.1:${broker().managementPort}`;
  let brokerId: string;
  let adminSecretArn: string;
  let userSecretArn: string;

  function realDependencies(counted: Counted): PublisherDependencies {
    return {
      describeBroker: async (id) => {
        counted.describeBroker++;
        const b = await mq.send(new DescribeBrokerCommand({ BrokerId: id }));
        return { state: b.BrokerState, created: b.Created };
      },
      getSecretString: async (arn) => {
        counted.getSecretValue++;
        return (await secrets.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString!;
      },
      putMetricData: async (namespace, data: MetricDatum[]) => {
        counted.putMetricData++;
        counted.datapoints += data.length;
        await cloudwatch.send(new PutMetricDataCommand({ Namespace: namespace, MetricData: data }));
      },
      now: () => new Date(),
    };
  }

  function publisherConfig(overrides: Partial<PublisherConfig> = {}): PublisherConfig {
    return {
      brokerId,
      brokerName: BROKER_NAME,
      managementUrl: managementUrl(),
      credentialsSecretArn: userSecretArn,
      queues: ['orders', 'reports', 'emails'].map((queue) => ({ vhost: VHOST, queue })),
      requestTimeoutMs: 10_000,
      // moto's broker was created seconds ago: without this it would count as restarting.
      creationGraceMinutes: 0,
      ...overrides,
    };
  }

  /** The latest value of a published metric (GetMetricData, Maximum per minute). */
  async function published(metricName: string, dimensions: { [name: string]: string }): Promise<number | undefined> {
    const now = Date.now();
    const result = await cloudwatch.send(new GetMetricDataCommand({
      StartTime: new Date(now - 10 * 60_000),
      EndTime: new Date(now + 60_000),
      MetricDataQueries: [{
        Id: 'm',
        MetricStat: {
          Metric: {
            Namespace: BrokerMetricNames.NAMESPACE,
            MetricName: metricName,
            Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })),
          },
          Period: 60,
          Stat: 'Maximum',
        },
      }],
    }));
    // The datapoint with the latest timestamp, whatever order the answer lists them in.
    const r = result.MetricDataResults?.[0];
    const points = (r?.Timestamps ?? []).map((t, i) => ({ at: t.getTime(), value: r!.Values![i] })).sort((a, b) => b.at - a.at);
    return points[0]?.value;
  }

  const queueDims = (queue: string) => ({ Broker: BROKER_NAME, VirtualHost: VHOST, Queue: queue });

  function monitoringUserProps(): BrokerUserProperties {
    // Exactly what BrokerMonitoringUser passes to the custom resource.
    return {
      ManagementUrl: managementUrl(),
      AdminSecretArn: adminSecretArn,
      UserSecretArn: userSecretArn,
      Vhost: VHOST,
      Username: USERNAME,
      Configure: '',
      Write: '',
      Read: '',
      RemoveVhostOnDelete: 'false',
      RequestTimeoutMs: '10000',
      Tags: 'monitoring',
    };
  }

  beforeAll(async () => {
    brokerId = (await mq.send(new CreateBrokerCommand({
      BrokerName: BROKER_NAME,
      EngineType: 'RABBITMQ',
      EngineVersion: profile.engineVersion,
      HostInstanceType: 'mq.m7g.large',
      DeploymentMode: 'SINGLE_INSTANCE',
      PubliclyAccessible: false,
      AutoMinorVersionUpgrade: true,
      Users: [{ Username: 'admin', Password: 'not-used-here-0123' }],
    }))).BrokerId!;
    adminSecretArn = (await secrets.send(new CreateSecretCommand({
      Name: `admin-${BROKER_NAME}`, SecretString: JSON.stringify({ username: 'guest', password: 'guest' }),
    }))).ARN!;
    userSecretArn = (await secrets.send(new CreateSecretCommand({
      Name: `monitoring-${BROKER_NAME}`, SecretString: JSON.stringify({ username: USERNAME, password: 'first-password-0123456789', vhost: VHOST }),
    }))).ARN!;
    await broker().addVhost(VHOST);
    const getSecretString = async (arn: string) => (await secrets.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString!;
    await handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: monitoringUserProps() }, { getSecretString });

    // orders: messages and no consumer; reports: a Celery worker busy with long tasks.
    const admin = { 'authorization': basic('guest', 'guest'), 'content-type': 'application/json' };
    for (const queue of ['orders', 'reports']) {
      const r = await fetch(`${managementUrl()}/api/queues/${VHOST}/${queue}`, { method: 'PUT', headers: admin, body: JSON.stringify({ durable: true }) });
      expect(r.status).toBeLessThan(300);
    }
    for (let i = 0; i < MESSAGES_IN_ORDERS; i++) {
      const r = await fetch(`${managementUrl()}/api/exchanges/${VHOST}/amq.default/publish`, {
        method: 'POST', headers: admin, body: JSON.stringify({ properties: {}, routing_key: 'orders', payload: `task ${i}`, payload_encoding: 'string' }),
      });
      expect(await r.json()).toEqual({ routed: true });
    }
    // The management API's statistics lag a few seconds behind.
    const guest = new RabbitMqManagementClient({ baseUrl: managementUrl(), credentials: { username: 'guest', password: 'guest' } });
    await pollUntil(async () => (await guest.listQueueStats(VHOST)).find((q) => q.name === 'orders')?.messagesReady === MESSAGES_IN_ORDERS,
      { timeoutMs: 60_000, intervalMs: 500, what: `orders: ${MESSAGES_IN_ORDERS} ready messages in the statistics` });
  }, 120_000);

  afterEach(() => resetCredentialsCache());

  describe('the monitoring user (the monitoring tag, an empty permission entry on the vhost)', () => {
    test('reads the queues of its vhost', async () => {
      const client = new RabbitMqManagementClient({ baseUrl: managementUrl(), credentials: { username: USERNAME, password: 'first-password-0123456789' }, requiredTag: 'monitoring' });
      expect(await client.whoAmI()).toEqual({ name: USERNAME, tags: ['monitoring'] });
      expect((await client.listQueueStats(VHOST)).map((q) => q.name).sort()).toEqual(['orders', 'reports']);
    });

    test.each([
      ['read a message', 'POST', `/api/queues/${VHOST}/orders/get`, { count: 1, ackmode: 'ack_requeue_true', encoding: 'auto' }],
      ['publish', 'POST', `/api/exchanges/${VHOST}/amq.default/publish`, { properties: {}, routing_key: 'orders', payload: 'x', payload_encoding: 'string' }],
      ['declare a queue', 'PUT', `/api/queues/${VHOST}/evil`, { durable: true }],
      ['delete a queue', 'DELETE', `/api/queues/${VHOST}/orders`, undefined],
      ['purge a queue', 'DELETE', `/api/queues/${VHOST}/orders/contents`, undefined],
      ['list users', 'GET', '/api/users', undefined],
      ['create a vhost', 'PUT', '/api/vhosts/other', {}],
      ['change its own permissions', 'PUT', `/api/permissions/${VHOST}/${USERNAME}`, { configure: '.*', write: '.*', read: '.*' }],
    ])('cannot %s', async (_what, method, path, body) => {
      const response = await fetch(`${managementUrl()}${path}`, {
        method,
        headers: { 'authorization': basic(USERNAME, 'first-password-0123456789'), 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      // 401/403, or 400 wrapping the AMQP ACCESS_REFUSED of a publish.
      expect({ status: response.status, refused: response.status === 401 || response.status === 403 || /ACCESS_REFUSED/.test(text) })
        .toEqual({ status: response.status, refused: true });
      const queues = await new RabbitMqManagementClient({ baseUrl: managementUrl(), credentials: { username: 'guest', password: 'guest' } }).listQueueStats(VHOST);
      expect(queues.find((q) => q.name === 'orders')?.messagesReady).toBe(MESSAGES_IN_ORDERS);
      expect(queues.map((q) => q.name).sort()).toEqual(['orders', 'reports']);
    });
  });

  describe('publishing', () => {
    const ifCelery = install ? test : test.skip;

    ifCelery(`depth, unacked and consumers of the fleets' queues reach CloudWatch (moto), read back with GetMetricData (${install?.label ?? 'no Celery installed'})`, async () => {
      const { path } = eventsFile();
      const worker = startWorker({
        install: install!,
        // As a fleet renders it for this engine version (quorum queues declared by Celery on RabbitMQ 4).
        command: renderCeleryWorkerCommand({ app: HARNESS_APP, queues: ['reports'], concurrency: 1, hostname: `reports-${process.pid}@%h` },
          { engineVersion: RabbitMqEngineVersion.of(profile.engineVersion) }),
        brokerUrl: broker().amqpUrl('guest', 'guest', VHOST),
      });
      await worker.waitReady();
      await sendTasks(install!, `${HARNESS_APP}.record`, {
        brokerUrl: broker().amqpUrl('guest', 'guest', VHOST),
        configure: producerConfigure(profile, ['reports']),
        queue: 'reports',
        count: TASKS_IN_REPORTS,
        kwargs: { path, seconds: 120 },
      });
      const admin = new RabbitMqManagementClient({ baseUrl: managementUrl(), credentials: { username: 'guest', password: 'guest' } });
      // The management API's statistics lag a few seconds behind.
      const reports = await pollUntil(async () => {
        const q = (await admin.listQueueStats(VHOST)).find((s) => s.name === 'reports');
        const holding = q && q.consumers === 1 && q.messagesUnacknowledged >= 1 && q.messagesReady + q.messagesUnacknowledged === TASKS_IN_REPORTS;
        return holding ? q : undefined;
      }, { timeoutMs: 60_000, intervalMs: 1_000, what: 'reports: 1 consumer holding a task' });

      const counted: Counted = { describeBroker: 0, getSecretValue: 0, putMetricData: 0, datapoints: 0 };
      const result = await publishBrokerMetrics(publisherConfig(), realDependencies(counted));
      // Measured: per run, 1 DescribeBroker, 1 management API request (one vhost), 1 PutMetricData of 1 + 3 x 3 datapoints,
      // and 1 GetSecretValue (then cached while the function is warm).
      expect(result).toEqual({ brokerState: 'RUNNING', restarting: false, datapoints: 10, putMetricDataCalls: 1, managementApiCalls: 1 });
      expect(counted).toEqual({ describeBroker: 1, getSecretValue: 1, putMetricData: 1, datapoints: 10 });
      const second: Counted = { describeBroker: 0, getSecretValue: 0, putMetricData: 0, datapoints: 0 };
      await publishBrokerMetrics(publisherConfig(), realDependencies(second));
      expect(second).toEqual({ describeBroker: 1, getSecretValue: 0, putMetricData: 1, datapoints: 10 });

      expect(await published('BrokerRestarting', { Broker: BROKER_NAME })).toBe(0);
      expect(await published('MessageReadyCount', queueDims('orders'))).toBe(MESSAGES_IN_ORDERS);
      expect(await published('MessageUnacknowledgedCount', queueDims('orders'))).toBe(0);
      expect(await published('ConsumerCount', queueDims('orders'))).toBe(0);
      expect(await published('ConsumerCount', queueDims('reports'))).toBe(1);
      expect(await published('MessageUnacknowledgedCount', queueDims('reports'))).toBe(reports.messagesUnacknowledged);
      expect(await published('MessageReadyCount', queueDims('reports'))).toBe(reports.messagesReady);
      // A fleet's queue that nobody declared yet.
      expect(await published('MessageReadyCount', queueDims('emails'))).toBe(0);
      await worker.stop();
    });

    test('a broker younger than the creation grace counts as restarting; its queues are still read', async () => {
      const counted: Counted = { describeBroker: 0, getSecretValue: 0, putMetricData: 0, datapoints: 0 };
      const result = await publishBrokerMetrics(publisherConfig({ creationGraceMinutes: 30 }), realDependencies(counted));
      expect(result).toMatchObject({ brokerState: 'RUNNING', restarting: true, managementApiCalls: 1 });
      expect(await published('BrokerRestarting', { Broker: BROKER_NAME })).toBe(1);
    });

    test('after the user\'s password changes (its resource replaced), the next run re-reads the secret and goes on', async () => {
      const counted: Counted = { describeBroker: 0, getSecretValue: 0, putMetricData: 0, datapoints: 0 };
      await publishBrokerMetrics(publisherConfig(), realDependencies(counted));
      await secrets.send(new PutSecretValueCommand({
        SecretId: userSecretArn, SecretString: JSON.stringify({ username: USERNAME, password: 'second-password-0123456789', vhost: VHOST }),
      }));
      const getSecretString = async (arn: string) => (await secrets.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString!;
      await handleBrokerUserEvent({ RequestType: 'Update', PhysicalResourceId: `${USERNAME}@127.0.0.1:${broker().managementPort}/${VHOST}`, ResourceProperties: monitoringUserProps() }, { getSecretString });
      const result = await publishBrokerMetrics(publisherConfig(), realDependencies(counted));
      expect(result.managementApiCalls).toBe(2); // the 401 with the cached password, then the new one
      expect(counted.getSecretValue).toBe(2);
    });

    test('the bundled function, configured by its environment as the construct configures it, publishes the same', async () => {
      const bundle = join(__dirname, '..', '..', 'assets', 'monitoring', 'broker-metrics-publisher.lambda', 'index.js');
      const { stdout } = await promisify(execFile)(process.execPath, ['-e', `require(${JSON.stringify(bundle)}).handler().then((r) => process.stdout.write(JSON.stringify(r)))`], {
        env: {
          PATH: process.env.PATH,
          AWS_ENDPOINT_URL: moto().endpoint,
          AWS_REGION: moto().clientConfig.region,
          AWS_ACCESS_KEY_ID: 'testing',
          AWS_SECRET_ACCESS_KEY: 'testing',
          BROKER_ID: brokerId,
          BROKER_NAME: BROKER_NAME,
          MANAGEMENT_URL: managementUrl(),
          CREDENTIALS_SECRET_ARN: userSecretArn,
          QUEUES: JSON.stringify([{ vhost: VHOST, queue: 'orders' }]),
          REQUEST_TIMEOUT_MS: '10000',
          CREATION_GRACE_MINUTES: '0',
        },
        timeout: 60_000,
      });
      expect(JSON.parse(stdout.slice(stdout.lastIndexOf('{"brokerState"')))).toEqual({
        brokerState: 'RUNNING', restarting: false, datapoints: 4, putMetricDataCalls: 1, managementApiCalls: 1,
      });
      expect(await published('MessageReadyCount', queueDims('orders'))).toBe(MESSAGES_IN_ORDERS);
    });
  });
});
