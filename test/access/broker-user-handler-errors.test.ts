import * as http from 'http';
import * as net from 'net';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { brokerUserProperties } from './fixtures/broker-user-properties';
import { KNOWN_HASHES } from './fixtures/rabbitmq-password-hashes';
import { brokerUserPhysicalId, BrokerUserProperties, handleBrokerUserEvent } from '../../src/access/broker-user-handler';
import { handler } from '../../src/access/broker-user.lambda';
import { CeleryPermissions } from '../../src/access/celery-permissions';
import { passwordMatchesHash } from '../../src/access/rabbitmq-management-client';

// Failure paths that need no broker: real sockets that refuse or never answer, and bad input.

const permissions = CeleryPermissions.forApplication();
const secrets: { [arn: string]: string } = {
  admin: JSON.stringify({ username: 'admin', password: 'admin-password-123' }),
  user: JSON.stringify({ username: 'celery', password: 'user-password-1234', vhost: 'celery' }),
};
const getSecretString = async (arn: string) => secrets[arn];
/** Two quick attempts: these tests are about the final error, test/access/management-client-retry.test.ts about the retries. */
const retry = { maxAttempts: 2, baseDelayMs: 10 };

function props(overrides: Partial<BrokerUserProperties> = {}): BrokerUserProperties {
  return brokerUserProperties(overrides);
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('broker-user handler errors', () => {
  test('connection refused names the URL and the cause', async () => {
    const port = await freePort();
    await expect(handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: props({ ManagementUrl: `http://127.0.0.1:${port}` }) }, { getSecretString, retry }))
      .rejects.toThrow(new RegExp(`RabbitMQ management API at http://127.0.0.1:${port} is unreachable \\(GET /api/whoami\\): connection refused \\(ECONNREFUSED\\)\\. Check .*security groups.* Tried 2 times`));
  });

  test('a broker that accepts but never answers times out', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      await expect(handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: props({ ManagementUrl: `http://127.0.0.1:${port}`, RequestTimeoutMs: '500' }) }, { getSecretString, retry }))
        .rejects.toThrow(/is unreachable \(GET \/api\/whoami\): no answer within 500 ms \(timeout\).* Tried 2 times/);
    } finally {
      sockets.forEach((s) => s.destroy());
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  test.each([
    [{ Vhost: 'bad vhost' }, 'vhost: "bad vhost" is not a vhost name this library accepts'],
    [{ Vhost: '/' }, 'vhost: "/" is not a vhost name'],
    [{ Username: 'user:name' }, 'username: "user:name" is not a user name this library accepts'],
    [{ Username: 'admin' }, 'username: "admin" is the broker\'s admin user'],
    [{ AdminSecretArn: 'user', UserSecretArn: 'user', Username: 'celery' }, 'username: "celery" is the broker\'s admin user'],
    [{ ManagementUrl: 'not a url' }, 'ManagementUrl: "not a url" is not a URL'],
    [{ DefaultQueueType: 'stream' }, 'DefaultQueueType: "stream" is not a queue type this resource sets; use quorum or classic.'],
    [{ DeliveryLimit: 'five', TaskQueuePattern: '^(celery)$' }, 'DeliveryLimit: "five" is not a whole number of redeliveries.'],
    [{ DeliveryLimit: '-1', TaskQueuePattern: '^(celery)$' }, 'DeliveryLimit: "-1" is not a whole number of redeliveries.'],
    [{ DeliveryLimit: '0', TaskQueuePattern: '^(celery)$' }, 'DeliveryLimit: 0 is not allowed; use a whole number of redeliveries from 1 to 1000'],
    [{ DeliveryLimit: '5' }, 'TaskQueuePattern: required with DeliveryLimit'],
  ])('Create with %j fails before any request', async (overrides, message) => {
    await expect(handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: props(overrides) }, { getSecretString }))
      .rejects.toThrow(message);
  });

  test.each([
    ['not json', 'The admin credentials secret (bad) is not JSON'],
    [JSON.stringify({ username: 'admin' }), 'The admin credentials secret (bad) must hold string "username" and "password" keys'],
  ])('an admin secret %j is reported', async (value, message) => {
    await expect(handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: props({ AdminSecretArn: 'bad' }) }, {
      getSecretString: async (arn) => arn === 'bad' ? value : secrets[arn],
    })).rejects.toThrow(message);
  });

  test('Delete of an id this handler never returned (failed Create rollback) does nothing', async () => {
    const requests: string[] = [];
    const result = await handleBrokerUserEvent({ RequestType: 'Delete', PhysicalResourceId: 'Stack-Access-1A2B3C', ResourceProperties: props() }, {
      getSecretString: async (arn) => { requests.push(arn); return secrets[arn]; },
    });
    expect(result).toEqual({ PhysicalResourceId: 'Stack-Access-1A2B3C' });
    expect(requests).toEqual([]);
  });

  test('Delete with an invalid name (Create failed on validation) does nothing', async () => {
    const result = await handleBrokerUserEvent({ RequestType: 'Delete', PhysicalResourceId: 'bad vhost', ResourceProperties: props({ Vhost: 'bad vhost' }) }, { getSecretString });
    expect(result.PhysicalResourceId).toBe('bad vhost');
  });
});

describe('passwordMatchesHash', () => {
  test.each(KNOWN_HASHES)('%s: the password matches its hash, another password does not', (hashingAlgorithm, password, passwordHash) => {
    expect(passwordMatchesHash(password, { passwordHash, hashingAlgorithm })).toBe(true);
    expect(passwordMatchesHash(password + 'x', { passwordHash, hashingAlgorithm })).toBe(false);
    expect(passwordMatchesHash('', { passwordHash, hashingAlgorithm })).toBe(false);
  });

  test('a hash made with another algorithm does not match', () => {
    const [, password, sha256Hash] = KNOWN_HASHES[0];
    expect(passwordMatchesHash(password, { passwordHash: sha256Hash, hashingAlgorithm: 'rabbit_password_hashing_sha512' })).toBe(false);
  });

  test('a user without a password (empty hash) does not match', () => {
    expect(passwordMatchesHash('test12', { passwordHash: '', hashingAlgorithm: 'rabbit_password_hashing_sha256' })).toBe(false);
  });

  test.each([
    [{ passwordHash: KNOWN_HASHES[0][2], hashingAlgorithm: 'rabbit_password_hashing_bcrypt' }],
    [{ passwordHash: KNOWN_HASHES[0][2], hashingAlgorithm: 'toString' }],
    [{ passwordHash: KNOWN_HASHES[0][2] }],
    [{ hashingAlgorithm: 'rabbit_password_hashing_sha256' }],
  ])('%j cannot be checked (undefined)', (hash) => {
    expect(passwordMatchesHash('test12', hash)).toBeUndefined();
  });
});

/** A management API that knows one user, `celery`, with the given stored hash; records requests. */
type StoredUser = { password_hash?: string; hashing_algorithm?: string };

async function fakeManagementApi(user: StoredUser) {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const json = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.method === 'GET' && req.url === '/api/users/celery') return json({ name: 'celery', tags: '', ...user });
    if (req.method === 'GET' && req.url === '/api/users/celery/permissions') return json([{ vhost: 'celery', user: 'celery', ...permissions }]);
    if (req.method === 'GET' && req.url === '/api/vhosts/celery/permissions') return json([{ vhost: 'celery', user: 'celery', ...permissions }]);
    if (req.method === 'DELETE') return res.writeHead(204).end();
    return res.writeHead(404).end('{"error":"Object Not Found","reason":"Not Found"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return { url, requests, close: () => new Promise((resolve) => server.close(resolve)) };
}

describe('Delete deletes the user only while it has this resource\'s password', () => {
  const [sha256, password, passwordHash] = KNOWN_HASHES[0];
  const userSecret = JSON.stringify({ username: 'celery', password, vhost: 'celery' });

  async function deleteAgainst(user: StoredUser, getUserSecret: () => Promise<string> = async () => userSecret) {
    const api = await fakeManagementApi(user);
    const logs: string[] = [];
    try {
      const p = props({ ManagementUrl: api.url, RemoveVhostOnDelete: 'true' });
      const result = await handleBrokerUserEvent({ RequestType: 'Delete', PhysicalResourceId: brokerUserPhysicalId(p), ResourceProperties: p }, {
        getSecretString: async (arn) => arn === 'user' ? getUserSecret() : secrets[arn],
        log: (m) => logs.push(m),
      });
      return { result, logs, deletes: api.requests.filter((r) => r.startsWith('DELETE')) };
    } finally {
      await api.close();
    }
  }

  test('its password: the user and the vhost are deleted', async () => {
    const { deletes } = await deleteAgainst({ password_hash: passwordHash, hashing_algorithm: sha256 });
    expect(deletes).toEqual(['DELETE /api/users/celery', 'DELETE /api/vhosts/celery']);
  });

  test('another password (taken over by a replacement): nothing is deleted, and the log says why', async () => {
    const other = JSON.stringify({ username: 'celery', password: 'another-password', vhost: 'celery' });
    const { result, logs, deletes } = await deleteAgainst({ password_hash: passwordHash, hashing_algorithm: sha256 }, async () => other);
    expect(deletes).toEqual([]);
    expect(result.PhysicalResourceId).toMatch(/^celery@127\.0\.0\.1:\d+\/celery$/);
    expect(logs).toContainEqual(expect.stringMatching(/^Kept user celery and vhost celery: its password is no longer this resource's secret's/));
  });

  test('an unknown hashing algorithm: deleted as before, and the log says why', async () => {
    const { logs, deletes } = await deleteAgainst({ password_hash: passwordHash, hashing_algorithm: 'rabbit_password_hashing_custom' });
    expect(deletes).toEqual(['DELETE /api/users/celery', 'DELETE /api/vhosts/celery']);
    expect(logs).toContainEqual('Cannot tell whether user celery is still this resource\'s: the broker returned hashing algorithm "rabbit_password_hashing_custom"; deleting it as owned');
  });

  test('no password hash returned: deleted as before, and the log says why', async () => {
    const { logs, deletes } = await deleteAgainst({ hashing_algorithm: sha256 });
    expect(deletes).toEqual(['DELETE /api/users/celery', 'DELETE /api/vhosts/celery']);
    expect(logs).toContainEqual(expect.stringContaining('and no password hash; deleting it as owned'));
  });

  test('an unreadable user secret (removed by hand): deleted as before, so the stack can still be deleted, and the log says why', async () => {
    const unreadable = async (): Promise<string> => { throw new Error('ResourceNotFoundException'); };
    const { logs, deletes } = await deleteAgainst({ password_hash: passwordHash, hashing_algorithm: sha256 }, unreadable);
    expect(deletes).toEqual(['DELETE /api/users/celery', 'DELETE /api/vhosts/celery']);
    expect(logs).toContainEqual(expect.stringMatching(/^Cannot tell whether user celery is still this resource's: .*ResourceNotFoundException.*; deleting it as owned$/));
  });
});

describe('broker-user Lambda entry point', () => {
  const sm = mockClient(SecretsManagerClient);
  afterEach(() => sm.reset());

  test('reads both secrets from Secrets Manager and reports an unreachable broker', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'arn:admin' }).resolves({ SecretString: secrets.admin });
    sm.on(GetSecretValueCommand, { SecretId: 'arn:user' }).resolves({ SecretString: secrets.user });
    const port = await freePort();
    const event = {
      RequestType: 'Create',
      ServiceToken: 'x',
      ResponseURL: 'x',
      StackId: 'x',
      RequestId: 'x',
      LogicalResourceId: 'x',
      ResourceType: 'Custom::CeleryBrokerUser',
      ResourceProperties: { ServiceToken: 'x', ...props({ ManagementUrl: `http://127.0.0.1:${port}`, AdminSecretArn: 'arn:admin', UserSecretArn: 'arn:user' }) },
    };
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      // 18 s left: the handler's deadline (15 s before the end) leaves room for one retry only.
      await expect(handler(event as never, { getRemainingTimeInMillis: () => 18_000 })).rejects.toThrow(/ECONNREFUSED.* Tried 2 times .*no time left/);
    } finally {
      log.mockRestore();
    }
    expect(sm.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.SecretId)).toEqual(['arn:admin', 'arn:user']);
  });

  test('a secret without SecretString is reported', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretBinary: new Uint8Array([1]) });
    const event = {
      RequestType: 'Create',
      ResourceProperties: { ServiceToken: 'x', ...props({ AdminSecretArn: 'arn:admin' }) },
    };
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await expect(handler(event as never)).rejects.toThrow('Secret arn:admin has no SecretString');
    } finally {
      log.mockRestore();
    }
  });
});
