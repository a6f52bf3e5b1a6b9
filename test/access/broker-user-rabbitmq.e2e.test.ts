import { createHash } from 'crypto';
import { accessResourceProperties } from './fixtures/access-resource';
import { isRefusedPassword } from './fixtures/authenticate-user';
import { brokerUserProperties } from './fixtures/broker-user-properties';
import { KNOWN_HASHES } from './fixtures/rabbitmq-password-hashes';
import { CeleryBrokerAccessOptions } from '../../src/access';
import { brokerUserPhysicalId, BrokerUserProperties, handleBrokerUserEvent } from '../../src/access/broker-user-handler';
import {
  DEAD_LETTER_EXCHANGE, DEAD_LETTER_POLICY, DEAD_LETTER_QUEUE, deadLetterPolicy, deadLetterQueueArguments,
} from '../../src/access/celery-dead-letter';
import { CeleryPermissions } from '../../src/access/celery-permissions';
import { passwordMatchesHash, RabbitMqManagementClient } from '../../src/access/rabbitmq-management-client';
import { RabbitMqEngineVersion } from '../../src/broker/rabbitmq-engine-version';
import { CeleryQueueType } from '../../src/workers/render/celery-queue-type';
import { describeEachRabbitMqProfile, rabbitMqForThisFile } from '../harness/rabbitmq';

// The custom resource handler against a real RabbitMQ with the management plugin, on loopback,
// on every broker profile. The admin is the broker's `guest` user (administrator tag, loopback only).

jest.setTimeout(180_000);

describeEachRabbitMqProfile((profile) => {

  const broker = rabbitMqForThisFile({ profile: profile.name, management: true, startTimeoutMs: 180_000 });
  let admin: RabbitMqManagementClient;

  const secrets: { [arn: string]: string } = {};
  const getSecretString = async (arn: string) => {
    if (!(arn in secrets)) throw new Error(`no secret ${arn}`);
    return secrets[arn];
  };
  const permissions = CeleryPermissions.forApplication();

  function baseUrl(): string {
    return `http://127.0.0.1:${broker().managementPort}`;
  }

  function props(overrides: Partial<BrokerUserProperties> = {}): BrokerUserProperties {
    return brokerUserProperties({ ManagementUrl: baseUrl(), RequestTimeoutMs: '10000', ...overrides });
  }

  async function canLogIn(username: string, password: string): Promise<number> {
    const response = await fetch(`${baseUrl()}/api/whoami`, {
      headers: { authorization: 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64') },
    });
    return response.status;
  }

  /**
   * Whether RabbitMQ accepts the password for AMQP (rabbitmqctl authenticate_user). Only a refusal
   * (exit 65, "invalid credentials") means no; any other failure of rabbitmqctl (node down, timeout)
   * fails the test instead of passing for a refused password.
   */
  async function authenticates(username: string, password: string): Promise<boolean> {
    try {
      await broker().ctl(['authenticate_user', username, password]);
      return true;
    } catch (error) {
      if (isRefusedPassword(error, username)) return false;
      throw error;
    }
  }

  async function state(username: string) {
    return {
      user: await admin.getUser(username),
      permissions: await admin.listUserPermissions(username).catch(() => []),
      vhosts: (await (await fetch(`${baseUrl()}/api/vhosts`, { headers: { authorization: 'Basic ' + Buffer.from('guest:guest').toString('base64') } })).json() as Array<{ name: string }>)
        .map((v) => v.name).sort(),
    };
  }

  beforeAll(async () => {
    admin = new RabbitMqManagementClient({ baseUrl: baseUrl(), credentials: { username: 'guest', password: 'guest' } });
    secrets.admin = JSON.stringify({ username: 'guest', password: 'guest' });
    secrets.user = JSON.stringify({ username: 'celery', password: 'first-password-0123456789', vhost: 'celery' });
  });

  describe('broker-user handler against RabbitMQ', () => {
    test('Create makes the vhost and a tagless user with Celery permissions on that vhost only', async () => {
      const result = await handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: props() }, { getSecretString });
      expect(result).toEqual({
        PhysicalResourceId: `celery@127.0.0.1:${broker().managementPort}/celery`,
        Data: { Vhost: 'celery', Username: 'celery' },
      });

      const after = await state('celery');
      expect(after.user).toEqual({ name: 'celery', tags: [] });
      expect(after.vhosts).toContain('celery');
      expect(after.permissions).toEqual([{ vhost: 'celery', ...permissions }]);
      expect(await authenticates('celery', 'first-password-0123456789')).toBe(true);
      // No tags: the management API refuses the user.
      expect(await canLogIn('celery', 'first-password-0123456789')).toBe(401);
    });

    test('Update twice gives the same state; a new password in the secret is applied', async () => {
      const before = await state('celery');
      const update = { RequestType: 'Update' as const, PhysicalResourceId: brokerUserPhysicalId(props()), ResourceProperties: props(), OldResourceProperties: props() };
      await handleBrokerUserEvent(update, { getSecretString });
      await handleBrokerUserEvent(update, { getSecretString });
      expect(await state('celery')).toEqual(before);

      secrets.user = JSON.stringify({ username: 'celery', password: 'second-password-0123456789', vhost: 'celery' });
      await handleBrokerUserEvent(update, { getSecretString });
      expect(await authenticates('celery', 'second-password-0123456789')).toBe(true);
      expect(await authenticates('celery', 'first-password-0123456789')).toBe(false);
      expect(await state('celery')).toEqual(before);
    });

    test('permissions granted by hand on another vhost are removed by the next update', async () => {
      await admin.putVhost('elsewhere');
      await admin.putPermissions('elsewhere', 'celery', { configure: '.*', write: '.*', read: '.*' });
      await handleBrokerUserEvent({ RequestType: 'Update', PhysicalResourceId: brokerUserPhysicalId(props()), ResourceProperties: props() }, { getSecretString });
      expect((await admin.listUserPermissions('celery')).map((p) => p.vhost)).toEqual(['celery']);
    });

    test('wrong admin credentials: a clear 401 error', async () => {
      // The broker's own words for a refused login, passed through as they are.
      const loginFailedReason = profile.name === '3.x' ? 'Login failed' : 'Not_Authorized';
      secrets.badAdmin = JSON.stringify({ username: 'guest', password: 'not-the-password' });
      await expect(handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: props({ AdminSecretArn: 'badAdmin' }) }, { getSecretString }))
        .rejects.toThrow(`RabbitMQ management API at ${baseUrl()} refused user "guest" (HTTP 401 on GET /api/whoami: not_authorized: ${loginFailedReason})`);
    });

    test('a user of the same name with management tags is not taken over', async () => {
      await admin.putUser('ops', 'ops-password-0123456789', ['administrator']);
      await expect(handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: props({ Username: 'ops' }) }, { getSecretString }))
        .rejects.toThrow('username: a user "ops" already exists on the broker with tags administrator');
      expect(await admin.getUser('ops')).toEqual({ name: 'ops', tags: ['administrator'] });
    });

    test('moving to another vhost (replacement): the old Delete keeps the user, which ends up on the new vhost only', async () => {
      const oldProps = props();
      const newProps = props({ Vhost: 'celery-v2' });
      const created = await handleBrokerUserEvent({ RequestType: 'Update', PhysicalResourceId: brokerUserPhysicalId(oldProps), ResourceProperties: newProps, OldResourceProperties: oldProps }, { getSecretString });
      expect(created.PhysicalResourceId).not.toEqual(brokerUserPhysicalId(oldProps));
      await handleBrokerUserEvent({ RequestType: 'Delete', PhysicalResourceId: brokerUserPhysicalId(oldProps), ResourceProperties: oldProps }, { getSecretString });

      const after = await state('celery');
      expect(after.user).toEqual({ name: 'celery', tags: [] });
      expect(after.permissions).toEqual([{ vhost: 'celery-v2', ...permissions }]);
      expect(after.vhosts).toEqual(expect.arrayContaining(['celery', 'celery-v2']));
    });

    test('Delete removes the user and keeps the vhost; a second Delete is a no-op', async () => {
      const p = props({ Vhost: 'celery-v2' });
      const del = { RequestType: 'Delete' as const, PhysicalResourceId: brokerUserPhysicalId(p), ResourceProperties: p };
      await handleBrokerUserEvent(del, { getSecretString });
      expect(await admin.getUser('celery')).toBeUndefined();
      expect(await admin.getVhost('celery-v2')).toMatchObject({ name: 'celery-v2' });
      await expect(handleBrokerUserEvent(del, { getSecretString })).resolves.toEqual({ PhysicalResourceId: brokerUserPhysicalId(p) });
    });

    test('removeVhostOnDelete deletes the vhost with the user', async () => {
      const p = props({ Vhost: 'scratch', Username: 'scratch-user', RemoveVhostOnDelete: 'true' });
      const created = await handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: p }, { getSecretString });
      expect(await admin.getVhost('scratch')).toMatchObject({ name: 'scratch' });
      await handleBrokerUserEvent({ RequestType: 'Delete', PhysicalResourceId: created.PhysicalResourceId, ResourceProperties: p }, { getSecretString });
      expect(await admin.getVhost('scratch')).toBeUndefined();
      expect(await admin.getUser('scratch-user')).toBeUndefined();
    });

    test('an invalid permission regex is reported with RabbitMQ\'s reason', async () => {
      await expect(handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: props({ Username: 'regex-user', Configure: '^(unclosed$' }) }, { getSecretString }))
        .rejects.toThrow(/RabbitMQ management API PUT \/api\/permissions\/celery\/regex-user failed with HTTP 400/);
    });
  });

  describe('Delete after a replacement (new construct id): the user belongs to the new resource', () => {
    const passwordA = 'password-of-resource-a-0123456789';
    const passwordB = 'password-of-resource-b-0123456789';
    const oldProps = () => props({ Vhost: 'app', Username: 'app', UserSecretArn: 'appA', RemoveVhostOnDelete: 'true' });
    const newProps = () => props({ Vhost: 'app', Username: 'app', UserSecretArn: 'appB', RemoveVhostOnDelete: 'true' });

    beforeAll(() => {
      secrets.appA = JSON.stringify({ username: 'app', password: passwordA, vhost: 'app' });
      secrets.appB = JSON.stringify({ username: 'app', password: passwordB, vhost: 'app' });
    });

    test('the old resource\'s Delete keeps the user (with the new password and its permissions) and the vhost; the new one\'s deletes them', async () => {
      // CloudFormation creates the replacement first: same vhost and user, its own secret.
      const a = await handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: oldProps() }, { getSecretString });
      expect(await authenticates('app', passwordA)).toBe(true);
      const b = await handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: newProps() }, { getSecretString });
      expect(b.PhysicalResourceId).toEqual(a.PhysicalResourceId);
      expect(await authenticates('app', passwordB)).toBe(true);
      expect(await authenticates('app', passwordA)).toBe(false);

      // Then deletes the old resource, with its own properties and the same physical id.
      const logs: string[] = [];
      await expect(handleBrokerUserEvent({ RequestType: 'Delete', PhysicalResourceId: a.PhysicalResourceId, ResourceProperties: oldProps() }, { getSecretString, log: (m) => logs.push(m) }))
        .resolves.toEqual({ PhysicalResourceId: a.PhysicalResourceId });
      expect(logs).toContainEqual(expect.stringMatching(/^Kept user app and vhost app: its password is no longer this resource's secret's/));
      const after = await state('app');
      expect(after.user).toEqual({ name: 'app', tags: [] });
      expect(after.permissions).toEqual([{ vhost: 'app', ...permissions }]);
      expect(after.vhosts).toContain('app');
      expect(await authenticates('app', passwordB)).toBe(true);

      // Deleting the new resource (or the stack) deletes them.
      await handleBrokerUserEvent({ RequestType: 'Delete', PhysicalResourceId: b.PhysicalResourceId, ResourceProperties: newProps() }, { getSecretString });
      expect(await admin.getUser('app')).toBeUndefined();
      expect(await admin.getVhost('app')).toBeUndefined();
    });

    test('an ordinary Delete still deletes the user; its stored hash is base64(4-byte salt + SHA-256(salt + password))', async () => {
      const created = await handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: oldProps() }, { getSecretString });
      const stored = await admin.getUserPasswordHash('app');
      expect(stored?.hashingAlgorithm).toBe('rabbit_password_hashing_sha256');
      const bytes = Buffer.from(stored!.passwordHash!, 'base64');
      expect(bytes.length).toBe(4 + 32);
      const salt = bytes.subarray(0, 4);
      expect(bytes.subarray(4)).toEqual(createHash('sha256').update(salt).update(passwordA).digest());
      expect(passwordMatchesHash(passwordA, stored!)).toBe(true);
      // Control: the check really compares.
      expect(passwordMatchesHash(passwordB, stored!)).toBe(false);

      await handleBrokerUserEvent({ RequestType: 'Delete', PhysicalResourceId: created.PhysicalResourceId, ResourceProperties: oldProps() }, { getSecretString });
      expect(await admin.getUser('app')).toBeUndefined();
      expect(await admin.getVhost('app')).toBeUndefined();
    });

    test.each(KNOWN_HASHES)('RabbitMQ authenticates a user stored with the %s hash the check accepts; Delete checks it too', async (hashingAlgorithm, password, passwordHash) => {
      const username = `hashed-${hashingAlgorithm.replace(/^rabbit_password_hashing_/, '')}`;
      const response = await fetch(`${baseUrl()}/api/users/${username}`, {
        method: 'PUT',
        headers: { 'authorization': 'Basic ' + Buffer.from('guest:guest').toString('base64'), 'content-type': 'application/json' },
        body: JSON.stringify({ password_hash: passwordHash, hashing_algorithm: hashingAlgorithm, tags: '' }),
      });
      expect(response.status).toBe(201);
      expect(await admin.getUserPasswordHash(username)).toEqual({ passwordHash, hashingAlgorithm });
      expect(await authenticates(username, password)).toBe(true);
      expect(await authenticates(username, password + 'x')).toBe(false);

      const p = props({ Username: username, UserSecretArn: username });
      const del = { RequestType: 'Delete' as const, PhysicalResourceId: brokerUserPhysicalId(p), ResourceProperties: p };
      secrets[username] = JSON.stringify({ username, password: password + 'x', vhost: 'celery' });
      await handleBrokerUserEvent(del, { getSecretString });
      expect(await admin.getUser(username)).toEqual({ name: username, tags: [] });
      secrets[username] = JSON.stringify({ username, password, vhost: 'celery' });
      await handleBrokerUserEvent(del, { getSecretString });
      expect(await admin.getUser(username)).toBeUndefined();
    });
  });

  describe('the vhost\'s default queue type and the dead-letter queue, from the properties CeleryBrokerAccess renders', () => {
    const quorum = RabbitMqEngineVersion.of(profile.engineVersion).quorumQueuesByDefault === true;
    const logs: string[] = [];
    const deps = { getSecretString, log: (m: string) => logs.push(m) };

    /** The resource of an access construct on this profile's engine, for `vhost` (its user has the same name). */
    function accessProps(vhost: string, options: CeleryBrokerAccessOptions = {}): BrokerUserProperties {
      secrets[vhost] = JSON.stringify({ username: vhost, password: 'queue-type-password-0123456789', vhost });
      return accessResourceProperties(profile, { vhost, username: vhost, ...options }, { managementUrl: baseUrl(), adminSecretArn: 'admin', userSecretArn: vhost });
    }

    async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
      const response = await fetch(`${baseUrl()}${path}`, {
        method,
        headers: { 'authorization': 'Basic ' + Buffer.from('guest:guest').toString('base64'), 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    }

    /** The type RabbitMQ gives a queue the admin declares in `vhost` without x-queue-type. */
    async function untypedQueueType(vhost: string, name: string): Promise<string> {
      expect((await api('PUT', `/api/queues/${vhost}/${name}`, { durable: true, auto_delete: false, arguments: {} })).status).toBe(201);
      return (await api('GET', `/api/queues/${vhost}/${name}`)).body.type;
    }

    async function deadLetterState(vhost: string) {
      const queue = await api('GET', `/api/queues/${vhost}/${DEAD_LETTER_QUEUE}`);
      const exchange = await api('GET', `/api/exchanges/${vhost}/${DEAD_LETTER_EXCHANGE}`);
      const bindings = await api('GET', `/api/bindings/${vhost}/e/${DEAD_LETTER_EXCHANGE}/q/${DEAD_LETTER_QUEUE}`);
      const policy = await api('GET', `/api/policies/${vhost}/${DEAD_LETTER_POLICY}`);
      return {
        queue: queue.status === 200 ? { type: queue.body.type, durable: queue.body.durable, arguments: queue.body.arguments } : queue.status,
        exchange: exchange.status === 200 ? { type: exchange.body.type, durable: exchange.body.durable } : exchange.status,
        bindings: Array.isArray(bindings.body) ? bindings.body.length : bindings.status,
        policy: policy.status === 200 ? { 'pattern': policy.body.pattern, 'apply-to': policy.body['apply-to'], 'priority': policy.body.priority, 'definition': policy.body.definition } : policy.status,
      };
    }

    beforeEach(() => {
      logs.length = 0;
    });

    test(`Create states ${quorum ? 'quorum' : 'classic'} on the vhost, which decides the type of an untyped queue over the broker's own default`, async () => {
      const resource = accessProps('qt-default');
      expect(resource.DefaultQueueType).toBe(quorum ? 'quorum' : 'classic');
      await handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: resource }, deps);
      expect((await admin.getVhost('qt-default'))?.defaultQueueType).toBe(quorum ? 'quorum' : 'classic');
      expect(await untypedQueueType('qt-default', 'untyped')).toBe(quorum ? 'quorum' : 'classic');
      expect(logs).toContain(`Vhost qt-default: default queue type ${quorum ? 'quorum' : 'classic'}`);
    });

    test('the other type, chosen, is stated and decides too (against the broker\'s own default on RabbitMQ 4)', async () => {
      const other = quorum ? CeleryQueueType.CLASSIC : CeleryQueueType.QUORUM;
      await handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: accessProps('qt-chosen', { defaultQueueType: other }) }, deps);
      expect((await admin.getVhost('qt-chosen'))?.defaultQueueType).toBe(other.name);
      expect(await untypedQueueType('qt-chosen', 'untyped')).toBe(other.name);
    });

    if (quorum) {
      test('Create sets up the dead-letter exchange, queue, binding and policy; two Updates change nothing', async () => {
        const resource = accessProps('dl', { taskQueues: ['orders', 'reports'] });
        await handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: resource }, deps);
        const found = await deadLetterState('dl');
        expect(found).toEqual({
          queue: { type: 'quorum', durable: true, arguments: deadLetterQueueArguments(broker().version) },
          exchange: { type: 'fanout', durable: true },
          bindings: 1,
          policy: deadLetterPolicy('^(orders|reports)$', 5),
        });
        // RabbitMQ 4 gives quorum queues a delivery limit of 20: the dead-letter queue has none.
        expect(found.queue).toMatchObject({ arguments: { 'x-delivery-limit': -1 } });
        const update = { RequestType: 'Update' as const, PhysicalResourceId: brokerUserPhysicalId(resource), ResourceProperties: resource, OldResourceProperties: resource };
        await handleBrokerUserEvent(update, deps);
        await handleBrokerUserEvent(update, deps);
        expect(await deadLetterState('dl')).toEqual(found);
      });

      test('an Update follows new task queues and a new delivery limit; one that turns dead-lettering off deletes the policy and keeps the queue and its tasks', async () => {
        const old = accessProps('dl');
        const changed = accessProps('dl', { taskQueues: ['orders', 'late'], deliveryLimit: 9 });
        await handleBrokerUserEvent({ RequestType: 'Update', PhysicalResourceId: brokerUserPhysicalId(changed), ResourceProperties: changed, OldResourceProperties: old }, deps);
        expect((await deadLetterState('dl')).policy).toEqual(deadLetterPolicy('^(orders|late)$', 9));

        expect((await api('POST', `/api/exchanges/dl/${DEAD_LETTER_EXCHANGE}/publish`, { properties: {}, routing_key: '', payload: 'a dead task', payload_encoding: 'string' })).body)
          .toEqual({ routed: true });
        const classic = accessProps('dl', { defaultQueueType: CeleryQueueType.CLASSIC });
        await handleBrokerUserEvent({ RequestType: 'Update', PhysicalResourceId: brokerUserPhysicalId(classic), ResourceProperties: classic, OldResourceProperties: changed }, deps);
        const found = await deadLetterState('dl');
        expect(found.policy).toBe(404);
        expect(found.queue).toMatchObject({ type: 'quorum' });
        expect(logs).toContainEqual(`Deleted policy ${DEAD_LETTER_POLICY} in vhost dl; kept ${DEAD_LETTER_QUEUE} and its messages`);
        const [kept] = (await api('POST', `/api/queues/dl/${DEAD_LETTER_QUEUE}/get`, { count: 1, ackmode: 'ack_requeue_true', encoding: 'auto' })).body;
        expect(kept.payload).toBe('a dead task');
      });

      test('another resource on the vhost without these properties (a monitoring user) leaves its type and policy alone', async () => {
        const resource = accessProps('dl-shared');
        await handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: resource }, deps);
        const before = await deadLetterState('dl-shared');
        secrets.watcher = JSON.stringify({ username: 'watcher', password: 'watcher-password-0123456789', vhost: 'dl-shared' });
        const watcher = { ...resource, Username: 'watcher', UserSecretArn: 'watcher', Configure: '', Write: '', Read: '', DefaultQueueType: undefined, DeliveryLimit: undefined, TaskQueuePattern: undefined };
        await handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: watcher }, deps);
        await handleBrokerUserEvent({ RequestType: 'Update', PhysicalResourceId: brokerUserPhysicalId(watcher), ResourceProperties: watcher, OldResourceProperties: watcher }, deps);
        expect(await deadLetterState('dl-shared')).toEqual(before);
        expect((await admin.getVhost('dl-shared'))?.defaultQueueType).toBe('quorum');
      });

      test('a dead-letter queue that exists as a classic queue fails the deployment, saying what to do', async () => {
        await admin.putVhost('dl-classic');
        expect((await api('PUT', `/api/queues/dl-classic/${DEAD_LETTER_QUEUE}`, { durable: true, arguments: { 'x-queue-type': 'classic' } })).status).toBe(201);
        await expect(handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: accessProps('dl-classic') }, deps))
          .rejects.toThrow(`Queue ${DEAD_LETTER_QUEUE} already exists in vhost dl-classic as a durable classic queue; the dead-letter queue must be a durable quorum queue`);
      });

      test('RabbitMQ 4 changes the default queue type of an existing vhost on Update', async () => {
        await admin.putVhost('qt-existing', 'classic');
        await handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: accessProps('qt-existing') }, deps);
        expect((await admin.getVhost('qt-existing'))?.defaultQueueType).toBe('quorum');
      });
    } else {
      test('classic queues: no dead-letter exchange, queue or policy', async () => {
        await handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: accessProps('dl-none') }, deps);
        expect(await deadLetterState('dl-none')).toEqual({ queue: 404, exchange: 404, bindings: 0, policy: 404 });
      });

      test('quorum queues chosen on RabbitMQ 3: dead-lettered too; 3.10 refuses apply-to quorum_queues, so the policy applies to queues', async () => {
        const resource = accessProps('dl-quorum', { defaultQueueType: CeleryQueueType.QUORUM, deliveryLimit: 3 });
        await handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: resource }, deps);
        const found = await deadLetterState('dl-quorum');
        // No x-delivery-limit: RabbitMQ 3 has no default limit, and reads -1 as "drop on the first return".
        expect(found.queue).toEqual({ type: 'quorum', durable: true, arguments: { 'x-queue-type': 'quorum' } });
        const [major, minor] = broker().version.split('.').map(Number);
        const applyTo = major === 3 && minor < 12 ? 'queues' : 'quorum_queues';
        expect(found.policy).toEqual(deadLetterPolicy('^(celery)$', 3, applyTo));
        if (applyTo === 'queues') expect(logs).toContain(`This broker refuses apply-to quorum_queues (RabbitMQ < 3.12): policy ${DEAD_LETTER_POLICY} applies to queues instead`);
      });

      test('RabbitMQ 3 keeps the type of an existing vhost: one without a type is logged, one of another type fails the deployment', async () => {
        await admin.putVhost('qt-untyped');
        await handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: accessProps('qt-untyped') }, deps);
        expect((await admin.getVhost('qt-untyped'))?.defaultQueueType).toBeUndefined();
        expect(logs).toContainEqual(expect.stringMatching(/^Vhost qt-untyped existed without a default queue type, and this broker does not give an existing vhost one \(RabbitMQ 3\)/));

        await admin.putVhost('qt-quorum', 'quorum');
        await expect(handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: accessProps('qt-quorum') }, deps))
          .rejects.toThrow('DefaultQueueType: vhost "qt-quorum" already exists with default queue type quorum, and this broker does not change the default queue type '
            + 'of an existing vhost (RabbitMQ 3 sets it only when it creates the vhost), so it cannot become classic. Set the CeleryBrokerAccess defaultQueueType to QUORUM, or use a new vhost.');
        expect((await admin.getVhost('qt-quorum'))?.defaultQueueType).toBe('quorum');
      });
    }
  });

  describe('a read-only monitoring user (Tags: monitoring, empty permissions)', () => {
    const readOnly = (overrides: Partial<BrokerUserProperties> = {}) => props({
      Username: 'watcher', UserSecretArn: 'watcher', Tags: 'monitoring', Configure: '', Write: '', Read: '', ...overrides,
    });
    beforeAll(() => {
      secrets.watcher = JSON.stringify({ username: 'watcher', password: 'watcher-password-0123456789', vhost: 'celery' });
    });

    test('Create gives it the monitoring tag and an entry that allows nothing; Delete removes it and keeps the vhost', async () => {
      const p = readOnly();
      const created = await handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: p }, { getSecretString });
      expect(await admin.getUser('watcher')).toEqual({ name: 'watcher', tags: ['monitoring'] });
      expect(await admin.listUserPermissions('watcher')).toEqual([{ vhost: 'celery', configure: '', write: '', read: '' }]);
      // It can read the management API; an AMQP login is allowed (the entry) but it can use nothing.
      expect(await canLogIn('watcher', 'watcher-password-0123456789')).toBe(200);
      await handleBrokerUserEvent({ RequestType: 'Delete', PhysicalResourceId: created.PhysicalResourceId, ResourceProperties: p }, { getSecretString });
      expect(await admin.getUser('watcher')).toBeUndefined();
      expect(await admin.getVhost('celery')).toBeDefined();
    });

    test('it may read the default vhost "/", which the application user may not use', async () => {
      const p = readOnly({ Vhost: '/' });
      const created = await handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: p }, { getSecretString });
      expect(await admin.listUserPermissions('watcher')).toEqual([{ vhost: '/', configure: '', write: '', read: '' }]);
      await handleBrokerUserEvent({ RequestType: 'Delete', PhysicalResourceId: created.PhysicalResourceId, ResourceProperties: p }, { getSecretString });
      expect(await admin.getUser('watcher')).toBeUndefined();
      await expect(handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: props({ Vhost: '/' }) }, { getSecretString }))
        .rejects.toThrow('vhost: "/" is not a vhost name this library accepts');
      // Tags without empty permissions are not read-only: "/" is refused there too.
      await expect(handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: readOnly({ Vhost: '/', Read: '.*' }) }, { getSecretString }))
        .rejects.toThrow('vhost: "/" is not a vhost name this library accepts');
    });

    test('a user of the same name with more tags than monitoring is not taken over; an unknown tag is refused', async () => {
      await admin.putUser('watcher', 'someone-elses-0123456789', ['monitoring', 'administrator']);
      await expect(handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: readOnly() }, { getSecretString }))
        .rejects.toThrow('username: a user "watcher" already exists on the broker with tags monitoring,administrator; it was not created by this resource (whose user has only the tags monitoring)');
      expect(await admin.getUser('watcher')).toEqual({ name: 'watcher', tags: ['monitoring', 'administrator'] });
      await admin.deleteUser('watcher');
      await expect(handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: readOnly({ Tags: 'monitoring,superuser' }) }, { getSecretString }))
        .rejects.toThrow('Tags: "superuser" is not a RabbitMQ user tag');
      expect(await admin.getUser('watcher')).toBeUndefined();
    });
  });
});
