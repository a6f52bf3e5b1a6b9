import { readFileSync } from 'fs';
import { join } from 'path';
import { App } from 'aws-cdk-lib';
import { celeryMessage, probeCeleryTasks } from './probe/celery-task-probe';
import { CeleryExampleStack } from '../../example/celery-example-stack';
import { handleBrokerUserEvent } from '../../src/access/broker-user-handler';
import { CeleryPermissions } from '../../src/access/celery-permissions';
import { CeleryInstall, celeryInstalls, startWorker, stopAllWorkers } from '../harness/celery';
import { describeEachRabbitMqProfile, rabbitMqForThisFile, RabbitMqProfile } from '../harness/rabbitmq';
import { engineVersionOf } from '../workers/e2e/fleet-command';
import { userDataTexts, workerCommandLine } from '../workers/user-data';

// The integration test's probe, run here against a real RabbitMQ of every profile (management
// plugin, loopback) and real workers of the example's shop app: the vhost and application user are
// made by the same custom resource handler as in AWS, each fleet's worker runs the command parsed
// from the example stack's synthesized user data (synthesized for that broker version) with the
// Celery the example's requirements.txt pins, and connects as that user; the probe publishes as the
// administrator (`guest`) over the management API.

jest.setTimeout(240_000);

const SHOP_DIR = join(__dirname, '..', '..', 'example', 'worker');
const USER_PASSWORD = 'probe-user-password-0123456789';

/** The Celery version example/worker/requirements.txt pins: the one the example's instances install. */
const PINNED = /^celery==(\S+)$/m.exec(readFileSync(join(SHOP_DIR, 'requirements.txt'), 'utf8'))![1];
const pinnedInstall = (): CeleryInstall => {
  const install = celeryInstalls().find((i) => i.version === PINNED);
  if (!install) throw new Error(`no Celery ${PINNED} (the example's pin) among ${celeryInstalls().map((i) => i.label).join(', ')}: run scripts/install-test-deps.sh`);
  return install;
};

/** The example's worker commands (orders and reports fleets), from its user data synthesized for the profile's broker. */
function exampleWorkerCommands(profile: RabbitMqProfile): { [fleet in 'orders' | 'reports']: ReturnType<typeof workerCommandLine> } {
  const stack = new CeleryExampleStack(new App(), 'CdkCeleryExample', { engineVersion: engineVersionOf(profile) });
  const scripts = userDataTexts(stack);
  const fleet = (name: string) => {
    const ids = Object.keys(scripts).filter((id) => id.startsWith(`CeleryFleets${name}`));
    if (ids.length !== 1) throw new Error(`expected one launch template of the ${name} fleet, found ${Object.keys(scripts).join(', ')}`);
    return workerCommandLine(scripts[ids[0]]);
  };
  return { orders: fleet('orders'), reports: fleet('reports') };
}

describeEachRabbitMqProfile((profile) => {
  const broker = rabbitMqForThisFile({ profile: profile.name, management: true, startTimeoutMs: 180_000, beforeStop: stopAllWorkers });
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

  /**
 * The example's two fleets as workers on this machine: each runs its fleet's command exactly, but
 * for its node name (on AWS each instance has its own host name; here they share one).
 */
  function shopWorkers(install: CeleryInstall, vhost: string, username: string) {
    const commands = exampleWorkerCommands(profile);
    return (['orders', 'reports'] as const).map((fleet) => {
      const { argv, environment } = commands[fleet];
      const hostname = argv.indexOf('--hostname');
      expect(argv[hostname + 1]).toBe('celery@%h');
      const command = { argv: argv.map((a, i) => (i === hostname + 1 ? `${fleet}-${vhost}@%h` : a)), environment };
      return startWorker({ install, command, brokerUrl: broker().amqpUrl(username, USER_PASSWORD, vhost), cwd: SHOP_DIR });
    });
  }

  describe('celery-task-probe against RabbitMQ and the example\'s shop workers', () => {
    let run = 0;
    test(`Celery ${PINNED} (the example's pin): tasks sent to orders and reports come back SUCCESS through rpc://, and the probe leaves nothing behind`, async () => {
      const install = pinnedInstall();
      const vhost = `shop-${++run}`;
      const username = `shop-user-${run}`;
      await applicationUser(vhost, username);
      const permissionsBefore = await adminGet(`/api/permissions/${vhost}/guest`);
      const workers = shopWorkers(install, vhost, username);
      try {
        await Promise.all(workers.map((w) => w.waitReady()));
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
        // Each fleet ran its own queue's task: its log names it as succeeded.
        expect(workers[0].log()).toMatch(/Task shop\.add\[[0-9a-f-]+\] succeeded/);
        expect(workers[1].log()).toMatch(/Task shop\.render_report\[[0-9a-f-]+\] succeeded/);
      } finally {
        await Promise.all(workers.map((w) => w.stop()));
      }
      const queues = (await adminGet(`/api/queues/${vhost}`)).body as Array<{ name: string; type: string; messages: number }>;
      expect(queues.filter((q) => q.name.startsWith('cdk-celery-probe-'))).toEqual([]);
      // Acknowledged: nothing is left in the queues. (Queue statistics appear with the management
      // plugin's next collection, every 5 s.)
      for (const queue of ['orders', 'reports']) {
        let found: { messages?: number; type?: string } | undefined;
        for (let i = 0; i < 40 && found?.messages === undefined; i++) {
          found = (await adminGet(`/api/queues/${vhost}/${queue}`)).body;
          if (found?.messages === undefined) await new Promise((r) => setTimeout(r, 500));
        }
        // shop.py declares its queues as quorum queues on every broker (its settings are the README's).
        expect({ queue, messages: found?.messages, type: found?.type }).toEqual({ queue, messages: 0, type: 'quorum' });
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
