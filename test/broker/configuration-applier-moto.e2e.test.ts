import * as http from 'http';
import { AddressInfo } from 'net';
import { CreateBrokerCommand, CreateConfigurationCommand, MqClient } from '@aws-sdk/client-mq';
import {
  ConfigurationApplierDependencies, ConfigurationApplierEvent, DATA_REBOOT_DEFERRED, DATA_REBOOTED, isComplete, onEvent,
} from '../../src/broker/configuration-applier-handler';
import { Moto, startMoto } from '../harness/moto';

/*
 * The ConfigurationApplier handlers with a real Amazon MQ SDK client over real HTTP, against
 * moto_server (beside the client-mock tests in configuration-applier-handler.test.ts): request
 * serialisation, the REST-JSON responses and errors as the SDK parses them.
 *
 * What moto does not emulate: a broker is always RUNNING, RebootBroker changes nothing, and a new
 * configuration revision is applied at once (nothing is ever pending). A small proxy in front of
 * moto adds what the tests need on the wire (a pending revision until moto has seen RebootBroker;
 * throttled answers) and passes everything else through unchanged.
 */

jest.setTimeout(120_000);

let moto: Moto;
beforeAll(async () => { moto = await startMoto(); });
afterAll(async () => moto?.stop());

interface Proxy {
  readonly endpoint: string;
  readonly requests: string[];
  /** DescribeBroker answers report this revision as pending until moto has rebooted the broker. */
  pendingRevision?: number;
  /** The next this many DescribeBroker calls are answered 429 ThrottlingException. */
  throttleNext: number;
  close(): Promise<void>;
}

async function startProxy(): Promise<Proxy> {
  const state = { requests: [] as string[], pendingRevision: undefined as number | undefined, throttleNext: 0, rebooted: false };
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const route = `${req.method} ${req.url}`;
    state.requests.push(route);
    const describe = req.method === 'GET' && /^\/v1\/brokers\/[^/]+$/.test(req.url ?? '');
    if (describe && state.throttleNext > 0) {
      state.throttleNext--;
      res.writeHead(429, { 'content-type': 'application/json', 'x-amzn-errortype': 'ThrottlingException' }).end('{"message":"Rate exceeded"}');
      return;
    }
    const upstream = await fetch(`${moto.endpoint}${req.url}`, {
      method: req.method,
      headers: Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'content-length') as Array<[string, string]>),
      body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
    });
    let body = Buffer.from(await upstream.arrayBuffer());
    if (req.method === 'POST' && /\/reboot$/.test(req.url ?? '') && upstream.ok) state.rebooted = true;
    if (describe && upstream.ok && state.pendingRevision !== undefined && !state.rebooted) {
      const broker = JSON.parse(body.toString('utf8'));
      broker.configurations = { ...broker.configurations, pending: { id: broker.configurations.current.id, revision: state.pendingRevision } };
      body = Buffer.from(JSON.stringify(broker));
    }
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy: Proxy = {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: state.requests,
    get pendingRevision() { return state.pendingRevision; },
    set pendingRevision(v) { state.pendingRevision = v; },
    get throttleNext() { return state.throttleNext; },
    set throttleNext(v) { state.throttleNext = v; },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  return proxy;
}

/** A RabbitMQ broker created in moto with configuration revision 1; its id and the configuration's. */
async function createBroker(): Promise<{ brokerId: string; configurationId: string }> {
  const client = new MqClient(moto.clientConfig);
  const configuration = await client.send(new CreateConfigurationCommand({ Name: `celery-${Date.now()}`, EngineType: 'RABBITMQ', EngineVersion: '3.13' }));
  const broker = await client.send(new CreateBrokerCommand({
    BrokerName: `celery-${Date.now()}`,
    EngineType: 'RABBITMQ',
    EngineVersion: '3.13',
    HostInstanceType: 'mq.m5.large',
    DeploymentMode: 'SINGLE_INSTANCE',
    PubliclyAccessible: false,
    AutoMinorVersionUpgrade: true,
    Users: [{ Username: 'admin', Password: 'admin-password-123' }],
    Configuration: { Id: configuration.Id!, Revision: 1 },
  }));
  return { brokerId: broker.BrokerId!, configurationId: configuration.Id! };
}

function event(type: 'Create' | 'Update', brokerId: string, configurationId: string, data?: { [k: string]: string }): ConfigurationApplierEvent {
  return {
    RequestType: type,
    PhysicalResourceId: type === 'Update' ? `${brokerId}-configuration-applier` : undefined,
    ResourceProperties: { BrokerId: brokerId, BrokerArn: `arn:aws:mq:eu-west-1:123456789012:broker:x:${brokerId}`, ConfigurationId: configurationId, ConfigurationRevision: '2', WaitTimeoutSeconds: '600' },
    Data: data,
  };
}

function deps(endpoint: string): ConfigurationApplierDependencies & { sleeps: number[] } {
  const sleeps: number[] = [];
  return {
    client: new MqClient({ ...moto.clientConfig, endpoint }),
    sleep: async (ms) => { sleeps.push(ms); },
    now: () => Date.now(),
    rebootConfirmDelayMs: 1,
    sleeps,
  };
}

const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
afterAll(() => { log.mockRestore(); warn.mockRestore(); });

test('nothing pending: no reboot, and the completion check reports the current configuration', async () => {
  const { brokerId, configurationId } = await createBroker();
  const d = deps(moto.endpoint);
  const started = await onEvent(event('Update', brokerId, configurationId), d);
  expect(started.Data).toEqual(expect.objectContaining({ [DATA_REBOOTED]: 'false', [DATA_REBOOT_DEFERRED]: 'false' }));
  const done = await isComplete(event('Update', brokerId, configurationId, started.Data), d);
  expect(done).toEqual({ IsComplete: true, Data: { BrokerState: 'RUNNING', CurrentConfiguration: `${configurationId} revision 1`, OtherPendingChanges: 'none' } });
});

test('a pending revision: RebootBroker reaches the broker, and the check completes once nothing is pending', async () => {
  const { brokerId, configurationId } = await createBroker();
  const proxy = await startProxy();
  try {
    proxy.pendingRevision = 2;
    const d = deps(proxy.endpoint);
    const started = await onEvent(event('Update', brokerId, configurationId), d);
    expect(started.Data?.[DATA_REBOOTED]).toBe('true');
    expect(proxy.requests).toContain(`POST /v1/brokers/${brokerId}/reboot`);
    const done = await isComplete(event('Update', brokerId, configurationId, started.Data), d);
    expect(done.IsComplete).toBe(true);
  } finally {
    await proxy.close();
  }
});

test('throttled DescribeBroker answers (429 ThrottlingException) are retried with backoff, beyond the SDK\'s own retries', async () => {
  const { brokerId, configurationId } = await createBroker();
  const proxy = await startProxy();
  try {
    // The SDK retries a throttled call itself (3 attempts); the handler's backoff takes over after that.
    proxy.throttleNext = 4;
    const d = deps(proxy.endpoint);
    const started = await onEvent(event('Create', brokerId, configurationId), d);
    expect(started.Data?.[DATA_REBOOTED]).toBe('false');
    expect(d.sleeps[0]).toBe(1000);
    expect(proxy.requests.filter((r) => r === `GET /v1/brokers/${brokerId}`).length).toBeGreaterThanOrEqual(5);
  } finally {
    await proxy.close();
  }
});

test('a broker that does not exist fails with Amazon MQ\'s own error', async () => {
  const { configurationId } = await createBroker();
  await expect(onEvent(event('Create', 'b-00000000-0000-0000-0000-000000000000', configurationId), deps(moto.endpoint)))
    .rejects.toMatchObject({ name: 'NotFoundException' });
});
