import * as net from 'net';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { BrokerUserProperties, handleBrokerUserEvent } from '../../src/access/broker-user-handler';
import { handler } from '../../src/access/broker-user.lambda';
import { CeleryPermissions } from '../../src/access/celery-permissions';

// Failure paths that need no broker: real sockets that refuse or never answer, and bad input.

const permissions = CeleryPermissions.forApplication();
const secrets: { [arn: string]: string } = {
  admin: JSON.stringify({ username: 'admin', password: 'admin-password-123' }),
  user: JSON.stringify({ username: 'celery', password: 'user-password-1234', vhost: 'celery' }),
};
const getSecretString = async (arn: string) => secrets[arn];

function props(overrides: Partial<BrokerUserProperties> = {}): BrokerUserProperties {
  return {
    ManagementUrl: 'http://127.0.0.1:1',
    AdminSecretArn: 'admin',
    UserSecretArn: 'user',
    Vhost: 'celery',
    Username: 'celery',
    Configure: permissions.configure,
    Write: permissions.write,
    Read: permissions.read,
    RemoveVhostOnDelete: 'false',
    RequestTimeoutMs: '1000',
    ...overrides,
  };
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
    await expect(handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: props({ ManagementUrl: `http://127.0.0.1:${port}` }) }, { getSecretString }))
      .rejects.toThrow(new RegExp(`RabbitMQ management API at http://127.0.0.1:${port} is unreachable \\(GET /api/whoami\\): connection refused \\(ECONNREFUSED\\)\\. Check .*security groups`));
  });

  test('a broker that accepts but never answers times out', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const started = Date.now();
      await expect(handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: props({ ManagementUrl: `http://127.0.0.1:${port}`, RequestTimeoutMs: '500' }) }, { getSecretString }))
        .rejects.toThrow(/is unreachable \(GET \/api\/whoami\): no answer within 500 ms \(timeout\)/);
      expect(Date.now() - started).toBeLessThan(5000);
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
      await expect(handler(event as never)).rejects.toThrow(/ECONNREFUSED/);
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
