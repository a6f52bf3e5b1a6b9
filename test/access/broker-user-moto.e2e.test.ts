import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { brokerUserPhysicalId, BrokerUserProperties } from '../../src/access/broker-user-handler';
import { CeleryPermissions } from '../../src/access/celery-permissions';
import { RabbitMqManagementClient } from '../../src/access/rabbitmq-management-client';
import { Moto, startMoto } from '../harness/moto';
import { rabbitMqForThisFile } from '../harness/rabbitmq';

/*
 * The broker-user Lambda entry point as deployed (broker-user.lambda.ts, its module-level Secrets
 * Manager client configured by the environment, as in Lambda) with real HTTP on both sides: the
 * secrets in moto_server's Secrets Manager, the vhost and user on a real RabbitMQ's management API
 * (beside the client-mock tests in broker-user-handler-errors.test.ts).
 */

jest.setTimeout(180_000);

const broker = rabbitMqForThisFile({ management: true, startTimeoutMs: 180_000 });
let moto: Moto;
let handler: (event: CloudFormationCustomResourceEvent, context?: { getRemainingTimeInMillis(): number }) => Promise<{ PhysicalResourceId: string }>;
const arns: { [name: string]: string } = {};
const savedEnv = { ...process.env };

beforeAll(async () => {
  moto = await startMoto();
  // What Lambda gives the function: a Region and credentials in the environment (here: moto's endpoint too).
  Object.assign(process.env, moto.env);
  const secrets = new SecretsManagerClient(moto.clientConfig);
  const create = async (name: string, value: { SecretString?: string; SecretBinary?: Uint8Array }) =>
    (await secrets.send(new CreateSecretCommand({ Name: `${name}-${Date.now()}`, ...value }))).ARN!;
  arns.admin = await create('admin', { SecretString: JSON.stringify({ username: 'guest', password: 'guest' }) });
  arns.user = await create('user', { SecretString: JSON.stringify({ username: 'celery', password: 'moto-password-0123456789', vhost: 'celery' }) });
  arns.binary = await create('binary', { SecretBinary: new Uint8Array([1, 2, 3]) });
  // Imported after the environment is set: the module creates its client when loaded, as in Lambda.
  jest.isolateModules(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    handler = require('../../src/access/broker-user.lambda').handler;
  });
});

afterAll(async () => {
  process.env = savedEnv;
  await moto?.stop();
});

const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
afterAll(() => log.mockRestore());

const permissions = CeleryPermissions.forApplication();
function props(overrides: Partial<BrokerUserProperties> = {}): BrokerUserProperties {
  return {
    ManagementUrl: `http://127.0.0.1:${broker().managementPort}`,
    AdminSecretArn: arns.admin,
    UserSecretArn: arns.user,
    Vhost: 'celery',
    Username: 'celery',
    Configure: permissions.configure,
    Write: permissions.write,
    Read: permissions.read,
    RemoveVhostOnDelete: 'true',
    RequestTimeoutMs: '10000',
    ...overrides,
  };
}

function cfnEvent(type: 'Create' | 'Delete', p: BrokerUserProperties): CloudFormationCustomResourceEvent {
  return {
    RequestType: type,
    ServiceToken: 'x',
    ResponseURL: 'x',
    StackId: 'x',
    RequestId: 'x',
    LogicalResourceId: 'x',
    ResourceType: 'Custom::CeleryBrokerUser',
    ...(type === 'Delete' ? { PhysicalResourceId: brokerUserPhysicalId(p) } : {}),
    ResourceProperties: { ServiceToken: 'x', ...p },
  } as CloudFormationCustomResourceEvent;
}

const context = { getRemainingTimeInMillis: () => 120_000 };

test('Create reads both secrets from Secrets Manager and makes the user with the secret\'s password', async () => {
  const result = await handler(cfnEvent('Create', props()), context);
  expect(result.PhysicalResourceId).toBe(brokerUserPhysicalId(props()));
  const admin = new RabbitMqManagementClient({ baseUrl: props().ManagementUrl, credentials: { username: 'guest', password: 'guest' } });
  expect(await admin.getUser('celery')).toEqual({ name: 'celery', tags: [] });
  await expect(broker().ctl(['authenticate_user', 'celery', 'moto-password-0123456789'])).resolves.toBeDefined();
});

test('Delete removes the user and the vhost', async () => {
  await handler(cfnEvent('Delete', props()), context);
  const admin = new RabbitMqManagementClient({ baseUrl: props().ManagementUrl, credentials: { username: 'guest', password: 'guest' } });
  expect(await admin.getUser('celery')).toBeUndefined();
  expect(await admin.getVhost('celery')).toBeUndefined();
});

test('a secret without SecretString, and a secret that does not exist, fail with what to fix', async () => {
  await expect(handler(cfnEvent('Create', props({ AdminSecretArn: arns.binary })), context)).rejects.toThrow(`Secret ${arns.binary} has no SecretString`);
  await expect(handler(cfnEvent('Create', props({ AdminSecretArn: `${arns.admin}-gone` })), context)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
});
