import * as http from 'http';
import * as net from 'net';
import { brokerUserProperties } from './fixtures/broker-user-properties';
import { BrokerUserProperties, handleBrokerUserEvent } from '../../src/access/broker-user-handler';
import { ManagementApiError, RabbitMqManagementClient } from '../../src/access/rabbitmq-management-client';

/*
 * The management-API client retries what a broker that has just turned RUNNING does for a while
 * (DNS not resolving yet, connection refused, 5xx, no answer) with bounded backoff, within the
 * Lambda function's time, and fails at once on answers that will not change (4xx). Real sockets
 * and a real HTTP server; only the waits between attempts are skipped (injected sleep).
 */

const secrets: { [arn: string]: string } = {
  admin: JSON.stringify({ username: 'admin', password: 'admin-password-123' }),
  user: JSON.stringify({ username: 'celery', password: 'user-password-1234', vhost: 'celery' }),
};

function props(url: string): BrokerUserProperties {
  return brokerUserProperties({ ManagementUrl: url });
}

/** Waits recorded instead of slept. */
function fakeSleep() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => { waits.push(ms); } };
}

/**
 * A management API that answers each path with the statuses of `script` in turn (the last one from
 * then on), a JSON body for 2xx; records every request.
 */
async function scriptedApi(script: { [route: string]: number[] }) {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const route = `${req.method} ${req.url}`;
    requests.push(route);
    const statuses = script[route] ?? [404];
    const status = statuses[Math.min(requests.filter((r) => r === route).length - 1, statuses.length - 1)];
    const body = status >= 400 ? { error: 'Object Not Found', reason: `scripted ${status}` }
      : req.url === '/api/whoami' ? { name: 'admin', tags: ['administrator'] } : req.url?.endsWith('/permissions') ? [] : {};
    res.writeHead(status, { 'content-type': 'application/json' }).end(status === 204 ? undefined : JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return { url, requests, close: () => new Promise((resolve) => server.close(resolve)) };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
afterAll(() => warn.mockRestore());

describe('transient failures are retried, then the Create succeeds', () => {
  test.each([[503], [502], [500], [429]])('HTTP %i twice on the first call', async (status) => {
    const api = await scriptedApi({
      'GET /api/whoami': [status, status, 200],
      'PUT /api/vhosts/celery': [201],
      'PUT /api/users/celery': [201],
      'PUT /api/permissions/celery/celery': [201],
      'GET /api/users/celery/permissions': [200],
    });
    const { waits, sleep } = fakeSleep();
    try {
      const result = await handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: props(api.url) }, {
        getSecretString: async (arn) => secrets[arn], retry: { sleep },
      });
      expect(result.Data).toEqual({ Vhost: 'celery', Username: 'celery' });
      expect(api.requests.filter((r) => r === 'GET /api/whoami')).toHaveLength(3);
      // Exponential backoff from 1 s.
      expect(waits).toEqual([1000, 2000]);
    } finally {
      await api.close();
    }
  });

  test('connection refused until the broker listens', async () => {
    const port = await freePort();
    let attempts = 0;
    let server: http.Server | undefined;
    const sleep = async () => {
      attempts++;
      // The broker comes up after the third refused attempt.
      if (attempts === 3) {
        server = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"name":"admin","tags":"administrator"}'));
        await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
      }
    };
    try {
      const client = new RabbitMqManagementClient({ baseUrl: `http://127.0.0.1:${port}`, credentials: { username: 'admin', password: 'p' }, retry: { sleep } });
      await expect(client.whoAmI()).resolves.toEqual({ name: 'admin', tags: ['administrator'] });
      expect(attempts).toBe(3);
    } finally {
      await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    }
  });
});

describe('answers that will not change fail at once, with the status and reason', () => {
  test.each([
    [401, /refused user "admin" \(HTTP 401 on GET \/api\/whoami/],
    [403, /user "admin" is not allowed to GET \/api\/whoami \(HTTP 403\)/],
    [400, /GET \/api\/whoami failed with HTTP 400: Object Not Found: scripted 400/],
  ])('HTTP %i: one request, no retry', async (status, message) => {
    const api = await scriptedApi({ 'GET /api/whoami': [status] });
    const { waits, sleep } = fakeSleep();
    try {
      const client = new RabbitMqManagementClient({ baseUrl: api.url, credentials: { username: 'admin', password: 'p' }, retry: { sleep } });
      const error = await client.whoAmI().catch((e) => e);
      expect(error).toBeInstanceOf(ManagementApiError);
      expect(error.status).toBe(status);
      expect(error.message).toMatch(message);
      expect(api.requests).toEqual(['GET /api/whoami']);
      expect(waits).toEqual([]);
    } finally {
      await api.close();
    }
  });
});

describe('retries are bounded', () => {
  test('by the attempts: a broker that keeps answering 503 fails with the count and the last status', async () => {
    const api = await scriptedApi({ 'GET /api/whoami': [503] });
    const { waits, sleep } = fakeSleep();
    try {
      const client = new RabbitMqManagementClient({ baseUrl: api.url, credentials: { username: 'admin', password: 'p' }, retry: { sleep, maxAttempts: 5 } });
      const error = await client.whoAmI().catch((e) => e);
      expect(error).toBeInstanceOf(ManagementApiError);
      expect(error.message).toMatch(/GET \/api\/whoami failed with HTTP 503: Object Not Found: scripted 503\. Tried 5 times over \d+ s\.$/);
      expect(api.requests).toHaveLength(5);
      expect(waits).toEqual([1000, 2000, 4000, 8000]);
    } finally {
      await api.close();
    }
  });

  test('by the deadline: no attempt starts that could not end before it, and the error says so', async () => {
    const port = await freePort();
    let clock = 1_000_000;
    const waits: number[] = [];
    const client = new RabbitMqManagementClient({
      baseUrl: `http://127.0.0.1:${port}`,
      credentials: { username: 'admin', password: 'p' },
      requestTimeoutMs: 1000,
      retry: { now: () => clock, sleep: async (ms) => { waits.push(ms); clock += ms; }, deadline: 1_000_000 + 10_000 },
    });
    const error = await client.whoAmI().catch((e) => e);
    // 1 + 2 + 4 s of waits leave 3 s; the next wait (8 s) plus a request would pass the deadline.
    expect(waits).toEqual([1000, 2000, 4000]);
    expect(error.message).toMatch(/connection refused \(ECONNREFUSED\).* Tried 4 times over 7 s \(no time left before the function's timeout\)\.$/);
  });

  test('without retry options (the metrics publisher, which runs again a minute later): one attempt, the plain error', async () => {
    const api = await scriptedApi({ 'GET /api/whoami': [503, 200] });
    try {
      const client = new RabbitMqManagementClient({ baseUrl: api.url, credentials: { username: 'admin', password: 'p' } });
      const error = await client.whoAmI().catch((e) => e);
      expect(error).toBeInstanceOf(ManagementApiError);
      expect(error.status).toBe(503);
      expect(error.message).toMatch(/GET \/api\/whoami failed with HTTP 503: Object Not Found: scripted 503\.$/);
      expect(api.requests).toEqual(['GET /api/whoami']);
    } finally {
      await api.close();
    }
  });

  test('the longest wait is capped', async () => {
    const api = await scriptedApi({ 'GET /api/whoami': [503] });
    const { waits, sleep } = fakeSleep();
    try {
      const client = new RabbitMqManagementClient({ baseUrl: api.url, credentials: { username: 'admin', password: 'p' }, retry: { sleep, maxAttempts: 8 } });
      await client.whoAmI().catch(() => undefined);
      expect(waits).toEqual([1000, 2000, 4000, 8000, 15000, 15000, 15000]);
    } finally {
      await api.close();
    }
  });

  test('a host name that does not resolve is retried (DNS right after the broker turns RUNNING)', async () => {
    const { waits, sleep } = fakeSleep();
    const client = new RabbitMqManagementClient({ baseUrl: 'http://b-0000.mq.invalid', credentials: { username: 'admin', password: 'p' }, retry: { sleep, maxAttempts: 3 } });
    const error = await client.whoAmI().catch((e) => e);
    expect(error.message).toMatch(/is unreachable \(GET \/api\/whoami\): host name not resolved \((ENOTFOUND|EAI_AGAIN)\).* Tried 3 times/);
    expect(waits).toEqual([1000, 2000]);
  });
});
