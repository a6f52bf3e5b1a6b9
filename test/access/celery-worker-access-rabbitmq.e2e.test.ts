import { spawnSync } from 'child_process';
import { join } from 'path';
import { accessResourceProperties } from './fixtures/access-resource';
import { handleBrokerUserEvent } from '../../src/access/broker-user-handler';
import { DEAD_LETTER_EXCHANGE, DEAD_LETTER_QUEUE } from '../../src/access/celery-dead-letter';
import { RabbitMqEngineVersion } from '../../src/broker/rabbitmq-engine-version';
import { BROKER_URL_PYTHON } from '../../src/workers/render/broker-url';
import {
  eventsFile, inspect, readEvents, sendTasks, startWorker, stopAllWorkers, testEachCelery,
} from '../harness/celery';
import { producerConfigure } from '../harness/client-settings';
import { describeEachRabbitMqProfile, rabbitMqForThisFile } from '../harness/rabbitmq';
import { pollUntil } from '../harness/reaper';
import { fleetWorkerCommand } from '../workers/e2e/fleet-command';

/**
 * The least-privilege application user, end to end, on every broker profile: the broker-user
 * handler creates it (and its vhost, and on quorum queues the dead-letter queue) through the
 * management API of a real RabbitMQ, from the properties a synthesized CeleryBrokerAccess gives
 * it; real Celery workers run the command the fleet generates with the URL the instance builds
 * from the user's secret, and a producer with the README's settings sends them tasks, countdown
 * tasks too (on RabbitMQ 4 through Celery's delay queues); and the user is shown unable to reach
 * another vhost, names outside Celery's, the dead-letter queue beyond reading it, or the
 * management API, each beside a positive control.
 */

jest.setTimeout(170_000);

const VHOST = 'celery-app';
const USERNAME = 'celery-app';
// Every character the instance's URL builder must percent-encode.
const PASSWORD = 'p@ss/w%rd#?+:x-0123456789';
const OTHER_VHOST = 'other-team';
const PROBE = join(__dirname, 'fixtures', 'amqp_probe.py');

describeEachRabbitMqProfile((profile) => {
  const broker = rabbitMqForThisFile({ profile: profile.name, management: true, beforeStop: stopAllWorkers, startTimeoutMs: 180_000 });
  const quorum = RabbitMqEngineVersion.of(profile.engineVersion).quorumQueuesByDefault === true;
  // A producer's (and an operator's) settings: the README's on RabbitMQ 4, Celery's defaults on 3.x.
  const configure = producerConfigure(profile, ['celery']);
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
    const secrets: { [arn: string]: string } = {
      admin: JSON.stringify({ username: 'guest', password: 'guest' }),
      user: JSON.stringify({ username: USERNAME, password: PASSWORD, vhost: VHOST }),
    };
    const properties = accessResourceProperties(profile, { vhost: VHOST, username: USERNAME },
      { managementUrl: managementUrl(), adminSecretArn: 'admin', userSecretArn: 'user' });
    await handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: properties }, { getSecretString: async (arn) => secrets[arn] });
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

    test(`its vhost states the default queue type ${quorum ? 'quorum' : 'classic'}`, async () => {
      const vhost = await (await fetch(`${managementUrl()}/api/vhosts/${VHOST}`, { headers: { authorization: basic('guest', 'guest') } })).json() as { default_queue_type: string };
      expect(vhost.default_queue_type).toBe(quorum ? 'quorum' : 'classic');
    });

    testEachCelery('runs a worker with the generated command: tasks and countdown tasks processed in its vhost, remote control works', async (install) => {
      const worker = startWorker({ install, brokerUrl: appUrl, command: fleetWorkerCommand({ hostname: `access-${install.version}@%h`, concurrency: 1 }, profile) });
      await worker.waitReady();
      const events = eventsFile();
      const ids = await sendTasks(install, 'harness_tasks.record', { brokerUrl: appUrl, configure, count: 3, args: [events.path, 0] });
      const delayed = await sendTasks(install, 'harness_tasks.record', { brokerUrl: appUrl, configure, count: 2, countdown: 2, args: [events.path, 0] });
      const doneIds = () => readEvents(events.path).filter((e) => e.event === 'done').map((e) => e.id);
      await pollUntil(() => doneIds().length === ids.length + delayed.length, { timeoutMs: 60_000, what: 'tasks done', describe: () => worker.log().slice(-3000) });
      expect(doneIds().sort()).toEqual([...ids, ...delayed].sort());
      const delayedRuns = readEvents(events.path).filter((e) => e.event === 'done' && delayed.includes(e.id));
      expect(delayedRuns.every((e) => typeof e.eta === 'string')).toBe(true);
      if (quorum) {
        // Native delayed delivery: the broker held them in Celery's delay queues, which the user's
        // permissions let the worker declare and the producer publish into.
        for (const run of delayedRuns) expect(run.dead_lettered_from).toEqual(expect.arrayContaining([expect.stringMatching(/^celery_delayed_[0-9]+$/)]));
        const queues = await (await fetch(`${managementUrl()}/api/queues/${VHOST}?columns=name`, { headers: { authorization: basic('guest', 'guest') } })).json() as Array<{ name: string }>;
        expect(queues.map((q) => q.name)).toEqual(expect.arrayContaining(['celery_delayed_0', 'celery_delayed_27']));
      } else {
        // Classic queues: the worker holds a countdown task until it is due; the broker delays nothing.
        expect(delayedRuns.every((e) => e.dead_lettered_from === undefined)).toBe(true);
      }
      // The worker's connections really are the application user's, in its vhost.
      const mine = (await broker().connections()).filter((c) => c.clientPgid === worker.pid);
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.every((c) => c.user === USERNAME && c.vhost === VHOST)).toBe(true);
      // Remote control (pidbox exchanges and reply queues) is within the permissions.
      const replies = await inspect(install, 'ping', { brokerUrl: appUrl, configure, nodes: [worker.nodeName] });
      expect(Object.keys(replies)).toEqual([worker.nodeName]);
      expect(await worker.stop()).toEqual({ code: 0, signal: null });
    }, 170_000, { profile });

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
      // Publishing: into RabbitMQ's own exchanges no, through the default exchange (straight to a queue) yes.
      const publish = probe(appUrl, 'publish', 'amq.topic', 'x');
      expect(publish).toMatchObject({ ok: false, code: 403 });
      // RabbitMQ 3.10 leaves out the word "write".
      expect(publish.text).toMatch(new RegExp(`ACCESS_REFUSED - (write )?access to exchange 'amq\\.topic' in vhost '${VHOST}' refused`));
      expect(probe(appUrl, 'publish', '', 'no-such-queue')).toMatchObject({ ok: true });
    });

    if (quorum) {
      test('may read the dead-letter queue, but not declare, delete, bind to or publish to it (each beside what it may do)', () => {
        expect(probe(appUrl, 'consume', DEAD_LETTER_QUEUE)).toMatchObject({ ok: true });
        // Configure: a queue within Celery's names may be declared, the dead-letter queue may not, nor be deleted.
        expect(probe(appUrl, 'declare', 'celeryev.dead-letter-probe')).toMatchObject({ ok: true });
        for (const result of [probe(appUrl, 'declare', DEAD_LETTER_QUEUE), probe(appUrl, 'delete', DEAD_LETTER_QUEUE)]) {
          expect(result).toMatchObject({ ok: false, code: 403 });
          expect(result.text).toMatch(new RegExp(`configure access to queue '${DEAD_LETTER_QUEUE.replace(/\./g, '\\.')}' in vhost '${VHOST}' refused`));
        }
        // An exchange of Celery's names (auto-delete: gone once the bind probe's queue is).
        expect(probe(appUrl, 'declare-exchange', 'probe.celery.pidbox')).toMatchObject({ ok: true });
        // Publish: to that exchange yes, into the dead-letter exchange no.
        expect(probe(appUrl, 'publish', 'probe.celery.pidbox', 'x')).toMatchObject({ ok: true });
        const publish = probe(appUrl, 'publish', DEAD_LETTER_EXCHANGE, '');
        expect(publish).toMatchObject({ ok: false, code: 403 });
        expect(publish.text).toMatch(/write access to exchange 'celery\.dead-letter\.exchange' .* refused/);
        // Bind: to that exchange yes, to the dead-letter exchange no (it would route dead letters back).
        expect(probe(appUrl, 'bind', 'celeryev.bind-probe', 'probe.celery.pidbox')).toMatchObject({ ok: true });
        const bind = probe(appUrl, 'bind', 'celeryev.bind-probe', DEAD_LETTER_EXCHANGE);
        expect(bind).toMatchObject({ ok: false, code: 403 });
        expect(bind.text).toMatch(/read access to exchange 'celery\.dead-letter\.exchange' .* refused/);
      });
    } else {
      test('has no dead-letter queue to read on classic queues', async () => {
        const response = await fetch(`${managementUrl()}/api/queues/${VHOST}/${DEAD_LETTER_QUEUE}`, { headers: { authorization: basic('guest', 'guest') } });
        expect(response.status).toBe(404);
      });
    }

    test('cannot log in to the management API (the admin can)', async () => {
      for (const path of ['/api/whoami', '/api/overview', `/api/vhosts/${VHOST}`]) {
        expect((await fetch(`${managementUrl()}${path}`, { headers: { authorization: basic(USERNAME, PASSWORD) } })).status).toBe(401);
        expect((await fetch(`${managementUrl()}${path}`, { headers: { authorization: basic('guest', 'guest') } })).status).toBe(200);
      }
    });
  });
});
