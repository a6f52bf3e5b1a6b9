import { join } from 'path';
import { handleBrokerUserEvent } from '../../src/access/broker-user-handler';
import { CeleryPermissions } from '../../src/access/celery-permissions';
import { renderCeleryWorkerCommand } from '../../src/workers/render';
import { CeleryInstall, startWorker, testEachCelery } from '../harness/celery';
import { rabbitMqForThisFile } from '../harness/rabbitmq';
import { celeryMessage, probeCeleryTasks } from './probe/celery-task-probe';

// The integration test's probe, run here against a real RabbitMQ (management plugin, loopback) and
// a real worker of the example's shop app: the vhost and application user are made by the same
// custom resource handler as in AWS, the worker runs the rendered command and connects as that
// user, and the probe publishes as the administrator (`guest`) over the management API.

jest.setTimeout(240_000);

const SHOP_DIR = join(__dirname, '..', '..', 'example', 'worker');
const USER_PASSWORD = 'probe-user-password-0123456789';

const broker = rabbitMqForThisFile({ management: true, startTimeoutMs: 180_000 });
const secrets: { [arn: string]: string } = { admin: JSON.stringify({ username: 'guest', password: 'guest' }) };

function managementUrl(): string {
  return `http://127.0.0.1:${broker().managementPort}`;
}

async function adminGet(path: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${managementUrl()}${path}`, { headers: { authorization: 'Basic ' + Buffer.from('guest:guest').toString('base64') } });
  return { status: response.status, body: response.status === 200 ? await response.json() : undefined };
}

/** A vhost and a tagless application user allowed the example's queues and rpc:// replies, made by the custom resource handler. */
async function applicationUser(vhost: string, username: string): Promise<void> {
  secrets[username] = JSON.stringify({ username, password: USER_PASSWORD, vhost });
  const permissions = CeleryPermissions.forApplication({ taskQueues: ['orders', 'reports'], enableRpcResultBackend: true });
  await handleBrokerUserEvent({
    RequestType: 'Create',
    ResourceProperties: {
      ManagementUrl: managementUrl(),
      AdminSecretArn: 'admin',
      UserSecretArn: username,
      Vhost: vhost,
      Username: username,
      Configure: permissions.configure,
      Write: permissions.write,
      Read: permissions.read,
    },
  }, { getSecretString: async (arn) => secrets[arn] });
}

function shopWorker(install: CeleryInstall, vhost: string, username: string) {
  const command = renderCeleryWorkerCommand({ app: 'shop', queues: ['orders', 'reports'], concurrency: 2, hostname: `${vhost}@%h` });
  return startWorker({ install, command, brokerUrl: broker().amqpUrl(username, USER_PASSWORD, vhost), cwd: SHOP_DIR });
}

describe('celery-task-probe against RabbitMQ and a real shop worker', () => {
  let run = 0;
  testEachCelery('tasks sent to orders and reports come back SUCCESS through rpc://, and the probe leaves nothing behind', async (install) => {
    const vhost = `shop-${++run}`;
    const username = `shop-user-${run}`;
    await applicationUser(vhost, username);
    const permissionsBefore = await adminGet(`/api/permissions/${vhost}/guest`);
    const worker = shopWorker(install, vhost, username);
    try {
      await worker.waitReady();
      const report = await probeCeleryTasks({
        managementUrl: managementUrl(),
        username: 'guest',
        password: 'guest',
        vhost,
        tasks: [
          { queue: 'orders', task: 'shop.add', args: [2, 3] },
          { queue: 'reports', task: 'shop.render_report', args: ['integ'], kwargs: { seconds: 0.1 } },
        ],
        timeoutMs: 60_000,
        pollIntervalMs: 200,
      });
      expect(report).toEqual({
        allSucceeded: true,
        results: [
          expect.objectContaining({ queue: 'orders', task: 'shop.add', status: 'SUCCESS', result: 5 }),
          expect.objectContaining({ queue: 'reports', task: 'shop.render_report', status: 'SUCCESS', result: { report_id: 'integ', status: 'rendered' } }),
        ],
      });
      // The worker ran them: its log names both tasks as succeeded.
      expect(worker.log()).toMatch(/Task shop\.add\[[0-9a-f-]+\] succeeded/);
      expect(worker.log()).toMatch(/Task shop\.render_report\[[0-9a-f-]+\] succeeded/);
    } finally {
      await worker.stop();
    }
    const queues = (await adminGet(`/api/queues/${vhost}`)).body as Array<{ name: string; messages: number }>;
    expect(queues.filter((q) => q.name.startsWith('cdk-celery-probe-'))).toEqual([]);
    // Queue statistics appear with the management plugin's next collection (every 5 s).
    for (const queue of ['orders', 'reports']) {
      let messages: number | undefined;
      for (let i = 0; i < 40 && messages === undefined; i++) {
        messages = (await adminGet(`/api/queues/${vhost}/${queue}`)).body?.messages;
        if (messages === undefined) await new Promise((r) => setTimeout(r, 500));
      }
      expect({ queue, messages }).toEqual({ queue, messages: 0 });
    }
    expect((await adminGet(`/api/permissions/${vhost}/guest`)).status).toBe(permissionsBefore.status);
  });

  test('a queue nobody declared is NOT_ROUTED; a queue nobody consumes times out', async () => {
    // guest has full permissions on this vhost (rabbitmqctl), and declares orders without consuming it.
    await broker().addVhost('idle');
    const put = await fetch(`${managementUrl()}/api/queues/idle/orders`, {
      method: 'PUT',
      headers: { 'authorization': 'Basic ' + Buffer.from('guest:guest').toString('base64'), 'content-type': 'application/json' },
      body: JSON.stringify({ durable: true }),
    });
    expect(put.status).toBe(201);
    const report = await probeCeleryTasks({
      managementUrl: managementUrl(),
      username: 'guest',
      password: 'guest',
      vhost: 'idle',
      tasks: [{ queue: 'nowhere', task: 'shop.add', args: [1, 1] }, { queue: 'orders', task: 'shop.add', args: [1, 2] }],
      timeoutMs: 2_000,
      pollIntervalMs: 200,
    });
    expect(report.allSucceeded).toBe(false);
    expect(report.results.map((r) => r.status)).toEqual(['NOT_ROUTED', 'TIMEOUT']);
  });
});

describe('celery-task-probe permissions', () => {
  test('on a vhost where the administrator has no permissions, the probe grants itself its own for the run and removes them', async () => {
    await broker().ctl(['add_vhost', 'no-admin']);
    expect((await adminGet('/api/permissions/no-admin/guest')).status).toBe(404);
    const logged: string[] = [];
    const report = await probeCeleryTasks({
      managementUrl: managementUrl(),
      username: 'guest',
      password: 'guest',
      vhost: 'no-admin',
      tasks: [{ queue: 'orders', task: 'shop.add', args: [1, 1] }],
      timeoutMs: 1_000,
      log: (m) => logged.push(m),
    });
    expect(report.results.map((r) => r.status)).toEqual(['NOT_ROUTED']);
    expect(logged[0]).toBe('guest has no permissions on vhost no-admin; granting the probe\'s own for the run');
    expect((await adminGet('/api/permissions/no-admin/guest')).status).toBe(404);
    expect((await adminGet('/api/queues/no-admin')).body).toEqual([]);
  });
});

describe('celeryMessage (protocol v2)', () => {
  test('task name, id and reply address in headers and properties; [args, kwargs, embed] as JSON; no null header', () => {
    const message = celeryMessage({ queue: 'orders', task: 'shop.place_order', args: [42] }, 'id-1', 'reply-1');
    expect(message).toMatchObject({
      routing_key: 'orders',
      payload_encoding: 'string',
      properties: {
        content_type: 'application/json',
        correlation_id: 'id-1',
        reply_to: 'reply-1',
        delivery_mode: 2,
        headers: { lang: 'py', task: 'shop.place_order', id: 'id-1', root_id: 'id-1', argsrepr: '[42]', kwargsrepr: '{}' },
      },
    });
    expect(JSON.parse(message.payload)).toEqual([[42], {}, { callbacks: null, errbacks: null, chain: null, chord: null }]);
    expect(Object.values(message.properties.headers)).not.toContain(null);
  });
});
