import { spawnSync } from 'child_process';
import { join } from 'path';
import { handleBrokerUserEvent } from '../../src/access/broker-user-handler';
import { CeleryPermissions } from '../../src/access/celery-permissions';
import { BROKER_URL_PYTHON } from '../../src/workers/render/broker-url';
import {
  eventsFile, inspect, readEvents, sendTasks, startWorker, stopAllWorkers, testEachCelery,
} from '../harness/celery';
import { describeEachRabbitMqProfile, rabbitMqForThisFile } from '../harness/rabbitmq';
import { pollUntil } from '../harness/reaper';
import { fleetWorkerCommand } from '../workers/e2e/fleet-command';

/**
 * The least-privilege application user, end to end: the broker-user handler creates it (and its
 * vhost) through the management API of a real RabbitMQ; real Celery workers of both installations
 * run the command the fleet generates with the URL the instance builds from the user's secret;
 * and the user is shown unable to reach another vhost or the management API.
 */

jest.setTimeout(170_000);

const VHOST = 'celery-app';
const USERNAME = 'celery-app';
// Every character the instance's URL builder must percent-encode.
const PASSWORD = 'p@ss/w%rd#?+:x-0123456789';
const OTHER_VHOST = 'other-team';
const PROBE = join(__dirname, 'fixtures', 'amqp_probe.py');

describeEachRabbitMqProfile((profile) => {
  const broker = rabbitMqForThisFile({ profile: profile.name, management: true, beforeStop: stopAllWorkers });
  let appUrl: string;

  function managementUrl(): string {
    return `http://127.0.0.1:${broker().managementPort}`;
  }

  function basic(username: string, password: string): string {
    return 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64');
  }

  /** The worker's broker URL as the instance builds it from the user's secret (broker-url.ts), on plain AMQP here. */
  function instanceBrokerUrl(secret: { username: string; password: string; vhost: string }): string {
    const out = spawnSync('/usr/bin/python3', ['-c', BROKER_URL_PYTHON, '127.0.0.1', String(broker().amqpPort)], { input: JSON.stringify(secret), encoding: 'utf8' });
    if (out.status !== 0) throw new Error(out.stderr);
    const line = out.stdout.trim();
    expect(line).toMatch(/^CELERY_BROKER_URL=amqps:\/\//);
    // The local broker has no TLS listener; the rest of the URL is the instance's.
    return line.slice('CELERY_BROKER_URL='.length).replace(/^amqps:/, 'amqp:');
  }

  interface ProbeResult {
    readonly ok: boolean;
    readonly error?: string;
    readonly code?: number;
    readonly text?: string;
  }

  function probe(url: string, ...args: string[]): ProbeResult {
    const out = spawnSync('/usr/bin/python3', [PROBE, url, ...args], { encoding: 'utf8', timeout: 30_000 });
    if (out.status !== 0) throw new Error(`amqp_probe ${args.join(' ')} failed:\n${out.stderr}`);
    return JSON.parse(out.stdout) as ProbeResult;
  }

  beforeAll(async () => {
    const permissions = CeleryPermissions.forApplication();
    const secrets: { [arn: string]: string } = {
      admin: JSON.stringify({ username: 'guest', password: 'guest' }),
      user: JSON.stringify({ username: USERNAME, password: PASSWORD, vhost: VHOST }),
    };
    await handleBrokerUserEvent({
      RequestType: 'Create',
      ResourceProperties: {
        ManagementUrl: managementUrl(),
        AdminSecretArn: 'admin',
        UserSecretArn: 'user',
        Vhost: VHOST,
        Username: USERNAME,
        Configure: permissions.configure,
        Write: permissions.write,
        Read: permissions.read,
        RemoveVhostOnDelete: 'false',
        RequestTimeoutMs: '10000',
      },
    }, { getSecretString: async (arn) => secrets[arn] });
    appUrl = instanceBrokerUrl({ username: USERNAME, password: PASSWORD, vhost: VHOST });

    // Another team's vhost, with a queue and an exchange the application user must not reach.
    await broker().ctl(['add_vhost', OTHER_VHOST]);
    await broker().ctl(['set_permissions', '-p', OTHER_VHOST, 'guest', '.*', '.*', '.*']);
    const adminOther = broker().amqpUrl('guest', 'guest', OTHER_VHOST);
    expect(probe(adminOther, 'declare-exchange', 'billing')).toMatchObject({ ok: true });
    const declared = spawnSync('/usr/bin/python3', ['-c', [
      'import sys; from kombu import Connection',
      'c = Connection(sys.argv[1]); ch = c.channel(); ch.queue_declare(queue="invoices", durable=True); c.release()',
    ].join('\n'), adminOther], { encoding: 'utf8' });
    expect(declared.stderr).toBe('');
  }, 170_000);

  describe('the application user created by the handler', () => {
    test('has permissions on its vhost only, and no tags', async () => {
      const response = await fetch(`${managementUrl()}/api/users/${USERNAME}/permissions`, { headers: { authorization: basic('guest', 'guest') } });
      const permissions = await response.json() as Array<{ vhost: string }>;
      expect(permissions.map((p) => p.vhost)).toEqual([VHOST]);
      const user = await (await fetch(`${managementUrl()}/api/users/${USERNAME}`, { headers: { authorization: basic('guest', 'guest') } })).json() as { tags: unknown };
      expect(user.tags).toEqual([]);
    });

    testEachCelery('runs a worker with the generated command: tasks processed in its vhost, remote control works', async (install) => {
      const worker = startWorker({ install, brokerUrl: appUrl, command: fleetWorkerCommand({ hostname: `access-${install.version}@%h`, concurrency: 1 }, profile) });
      await worker.waitReady();
      const events = eventsFile();
      const ids = await sendTasks(install, 'harness_tasks.record', { brokerUrl: appUrl, count: 3, args: [events.path, 0] });
      await pollUntil(() => readEvents(events.path).filter((e) => e.event === 'done').length === ids.length, { timeoutMs: 30_000, what: 'tasks done' });
      expect(readEvents(events.path).filter((e) => e.event === 'done').map((e) => e.id).sort()).toEqual([...ids].sort());
      // The worker's connections really are the application user's, in its vhost.
      const mine = (await broker().connections()).filter((c) => c.clientPgid === worker.pid);
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.every((c) => c.user === USERNAME && c.vhost === VHOST)).toBe(true);
      // Remote control (pidbox exchanges and reply queues) is within the permissions.
      const replies = await inspect(install, 'ping', { brokerUrl: appUrl, nodes: [worker.nodeName] });
      expect(Object.keys(replies)).toEqual([worker.nodeName]);
      expect(await worker.stop()).toEqual({ code: 0, signal: null });
    }, undefined, { profile });

    test('cannot read from or publish into another vhost (the admin can: the probe works)', () => {
      const appOther = appUrl.replace(/\/[^/]*$/, `/${OTHER_VHOST}`);
      const adminOther = broker().amqpUrl('guest', 'guest', OTHER_VHOST);
      expect(probe(adminOther, 'publish', 'billing', 'x')).toMatchObject({ ok: true });
      expect(probe(adminOther, 'consume', 'invoices')).toMatchObject({ ok: true });

      const read = probe(appOther, 'consume', 'invoices');
      const publish = probe(appOther, 'publish', 'billing', 'x');
      for (const result of [read, publish]) {
        expect(result.ok).toBe(false);
        expect(result.text).toMatch(new RegExp(`access to vhost '${OTHER_VHOST}' refused for user '${USERNAME}'`));
      }
    });

    test('cannot touch resources outside Celery\'s names in its own vhost', () => {
      const declare = probe(appUrl, 'declare', 'not-a-celery-queue');
      expect(declare).toMatchObject({ ok: false, code: 403 });
      expect(declare.text).toMatch(/ACCESS_REFUSED/);
      // Positive control: a name within the permissions (an event receiver queue) is allowed.
      expect(probe(appUrl, 'declare', 'celeryev.access-probe')).toMatchObject({ ok: true });
    });

    test('cannot log in to the management API (the admin can)', async () => {
      for (const path of ['/api/whoami', '/api/overview', `/api/vhosts/${VHOST}`]) {
        expect((await fetch(`${managementUrl()}${path}`, { headers: { authorization: basic(USERNAME, PASSWORD) } })).status).toBe(401);
        expect((await fetch(`${managementUrl()}${path}`, { headers: { authorization: basic('guest', 'guest') } })).status).toBe(200);
      }
    });
  });
});
