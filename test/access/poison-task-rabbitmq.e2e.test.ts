import { spawnSync } from 'child_process';
import { writeFileSync } from 'fs';
import { join } from 'path';
import { accessResourceProperties } from './fixtures/access-resource';
import { handleBrokerUserEvent } from '../../src/access/broker-user-handler';
import { DEAD_LETTER_POLICY, DEAD_LETTER_QUEUE, DEFAULT_DELIVERY_LIMIT } from '../../src/access/celery-dead-letter';
import { RabbitMqEngineVersion } from '../../src/broker/rabbitmq-engine-version';
import { CeleryQueueType } from '../../src/workers/render/celery-queue-type';
import {
  CeleryInstall, eventsFile, inspect, readEvents, runScript, sendTasks, startWorker, stopAllWorkers, TaskEvent, testEachCelery,
} from '../harness/celery';
import { documentedDeadLetterReplay, producerConfigure } from '../harness/client-settings';
import { describeEachRabbitMqProfile, rabbitMqForThisFile } from '../harness/rabbitmq';
import { pollUntil } from '../harness/reaper';
import { fleetWorkerCommand } from '../workers/e2e/fleet-command';

/**
 * A poison task, end to end: `kill_self` SIGKILLs the pool process that runs it, every time. The
 * vhost, the least-privilege user and (on quorum queues) the dead-letter queue and policy are made
 * by the broker-user handler from the properties a synthesized CeleryBrokerAccess gives it; a real
 * worker runs the fleet's generated command (late acks, reject on worker lost) as that user, with
 * normal tasks sent alongside by a producer with the README's settings.
 *
 * - Quorum queues (RabbitMQ 4): the task is delivered 1 + deliveryLimit times, then dead-lettered
 *   into celery.dead-letter with an x-death entry naming the queue; the worker keeps running and
 *   every other task completes. The README's replay script, run as the application user, moves it
 *   back.
 * - Classic queues (RabbitMQ 3): no delivery limit, no dead-letter queue: the task is redelivered
 *   for as long as the worker runs. The test watches it go well past the limit, then stops.
 */

jest.setTimeout(300_000);

const PASSWORD = 'poison-user-password-0123456789';
const NORMAL_TASKS = 10;
const DELIVERY_COUNT_PROBE = join(__dirname, 'fixtures', 'delivery_count_probe.py');

describeEachRabbitMqProfile((profile) => {
  const broker = rabbitMqForThisFile({ profile: profile.name, management: true, beforeStop: stopAllWorkers, startTimeoutMs: 180_000 });
  const quorum = RabbitMqEngineVersion.of(profile.engineVersion).quorumQueuesByDefault === true;
  const secrets: { [arn: string]: string } = { admin: JSON.stringify({ username: 'guest', password: 'guest' }) };
  let run = 0;

  function managementUrl(): string {
    return `http://127.0.0.1:${broker().managementPort}`;
  }

  async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const response = await fetch(`${managementUrl()}${path}`, {
      method,
      headers: { 'authorization': 'Basic ' + Buffer.from('guest:guest').toString('base64'), 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  }

  /**
   * Messages of a queue (ready and unacknowledged). Quorum queues report it every few seconds, so
   * tests poll for the depth they expect.
   */
  async function queueDepth(vhost: string, queue: string): Promise<number> {
    const out = await broker().ctl(['list_queues', '-p', vhost, 'name', 'messages', '-q', '--formatter', 'json']);
    const row = (JSON.parse(out.trim() || '[]') as Array<{ name: string; messages: number }>).find((q) => q.name === queue);
    if (!row) throw new Error(`no queue ${queue} in vhost ${vhost}`);
    return Number(row.messages);
  }

  /** The messages of a queue, read and requeued by the administrator (the management API's "get messages"). */
  async function peek(vhost: string, queue: string): Promise<Array<{ headers: { [key: string]: any } }>> {
    const { status, body } = await admin('POST', `/api/queues/${encodeURIComponent(vhost)}/${encodeURIComponent(queue)}/get`,
      { count: 10, ackmode: 'ack_requeue_true', encoding: 'auto' });
    expect(status).toBe(200);
    return (body as Array<{ properties: { headers?: { [key: string]: any } } }>).map((m) => ({ headers: m.properties.headers ?? {} }));
  }

  /** A fresh vhost and user made by the handler from the construct's properties; the user's AMQP URL. */
  async function applicationUser(): Promise<{ vhost: string; url: string }> {
    const vhost = `poison-${++run}`;
    secrets[vhost] = JSON.stringify({ username: vhost, password: PASSWORD, vhost });
    const properties = accessResourceProperties(profile, { vhost, username: vhost, taskQueues: ['celery'] },
      { managementUrl: managementUrl(), adminSecretArn: 'admin', userSecretArn: vhost });
    expect(properties.DeliveryLimit).toBe(quorum ? String(DEFAULT_DELIVERY_LIMIT) : undefined);
    await handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: properties }, { getSecretString: async (arn) => secrets[arn] });
    return { vhost, url: broker().amqpUrl(vhost, PASSWORD, vhost) };
  }

  async function sendMixedTasks(install: CeleryInstall, url: string, events: string): Promise<{ poison: string; normal: string[] }> {
    const configure = producerConfigure(profile, ['celery']);
    const before = await sendTasks(install, 'harness_tasks.record', { brokerUrl: url, configure, count: NORMAL_TASKS / 2, args: [events, 0.2] });
    const [poison] = await sendTasks(install, 'harness_tasks.kill_self', { brokerUrl: url, configure, args: [events] });
    const after = await sendTasks(install, 'harness_tasks.record', { brokerUrl: url, configure, count: NORMAL_TASKS / 2, args: [events, 0.2] });
    return { poison, normal: [...before, ...after] };
  }

  const starts = (events: TaskEvent[], id: string) => events.filter((e) => e.event === 'start' && e.id === id);
  const done = (events: TaskEvent[]) => events.filter((e) => e.event === 'done').map((e) => e.id);

  test(`what RabbitMQ ${profile.inRoot ? '4.0.5' : '3.10.8'} counts as a delivery on quorum queues: a reject with requeue, and the close of the channel or connection holding the message`, async () => {
    const vhost = 'delivery-count';
    const queues = ['count-reject', 'count-channel-close', 'count-connection-close'];
    secrets[vhost] = JSON.stringify({ username: vhost, password: PASSWORD, vhost });
    // On RabbitMQ 3 with quorum queues chosen: the same policy (apply-to queues on 3.10).
    const properties = accessResourceProperties(profile, { vhost, username: vhost, taskQueues: queues, defaultQueueType: CeleryQueueType.QUORUM },
      { managementUrl: managementUrl(), adminSecretArn: 'admin', userSecretArn: vhost });
    await handleBrokerUserEvent({ RequestType: 'Create', ResourceProperties: properties }, { getSecretString: async (arn) => secrets[arn] });
    const url = broker().amqpUrl(vhost, PASSWORD, vhost);
    const counted: { [mode: string]: { deliveries: number; counts: Array<number | null> } } = {};
    for (const queue of queues) {
      const out = spawnSync('/usr/bin/python3', [DELIVERY_COUNT_PROBE, url, queue, queue.slice('count-'.length)], { encoding: 'utf8', timeout: 120_000 });
      if (out.status !== 0) throw new Error(`${queue}: ${out.stderr}`);
      counted[queue] = JSON.parse(out.stdout);
    }
    // Each way counts: the first delivery, then DEFAULT_DELIVERY_LIMIT redeliveries, then the dead-letter queue.
    for (const queue of queues) {
      expect([queue, counted[queue].deliveries]).toEqual([queue, DEFAULT_DELIVERY_LIMIT + 1]);
      // The header counts the returns (RabbitMQ 3 also sends 0 on the first delivery, 4 leaves it out).
      expect([queue, counted[queue].counts.map((c) => c ?? 0)]).toEqual([queue, [0, 1, 2, 3, 4, 5]]);
    }
    // eslint-disable-next-line no-console
    console.log(`${profile.name} (RabbitMQ ${broker().version}): x-delivery-count per delivery ${JSON.stringify(counted)}`);
    await pollUntil(async () => await queueDepth(vhost, DEAD_LETTER_QUEUE) === queues.length, { timeoutMs: 30_000, what: 'three dead letters' });
    const dead = await peek(vhost, DEAD_LETTER_QUEUE);
    expect(dead.map((m) => m.headers['x-death'][0].queue).sort()).toEqual([...queues].sort());
    expect(dead.every((m) => m.headers['x-death'][0].reason === 'delivery_limit')).toBe(true);
  });

  if (quorum) {
    testEachCelery(`dead-lettered after exactly ${DEFAULT_DELIVERY_LIMIT} redeliveries; the worker runs on, no other task is lost; the README's replay moves it back`, async (install) => {
      const { vhost, url } = await applicationUser();
      const worker = startWorker({ install, brokerUrl: url, command: fleetWorkerCommand({ hostname: `poison-${run}@%h`, concurrency: 2 }, profile) });
      await worker.waitReady();
      const events = eventsFile();
      const { poison, normal } = await sendMixedTasks(install, url, events.path);

      await pollUntil(async () => await queueDepth(vhost, DEAD_LETTER_QUEUE) === 1 && done(readEvents(events.path)).length === normal.length,
        { timeoutMs: 180_000, what: 'the poison task dead-lettered and the normal tasks done', describe: () => worker.log().slice(-3000) });

      const seen = readEvents(events.path);
      // Delivered once, then once per redelivery up to the limit; the broker counts the returns.
      expect(starts(seen, poison).map((e) => e.delivery_count ?? 0)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(starts(seen, poison).map((e) => e.redelivered)).toEqual([false, true, true, true, true, true]);
      expect([...done(seen)].sort()).toEqual([...normal].sort());
      const [dead] = await peek(vhost, DEAD_LETTER_QUEUE);
      expect(dead.headers.id).toBe(poison);
      expect(dead.headers.task).toBe('harness_tasks.kill_self');
      expect(dead.headers['x-death']).toEqual([expect.objectContaining({ queue: 'celery', reason: 'delivery_limit', count: 1 })]);
      expect(dead.headers['x-first-death-reason']).toBe('delivery_limit');
      const times = starts(seen, poison).map((e) => e.at);
      // eslint-disable-next-line no-console
      console.log(`${profile.name} ${install.label}: ${times.length} deliveries of the poison task in ${(times[times.length - 1] - times[0]).toFixed(1)} s, then dead-lettered`);

      // It stays there: the task queue is empty, the worker alive, and a later task runs while the poison task does not.
      await pollUntil(async () => await queueDepth(vhost, 'celery') === 0, { timeoutMs: 30_000, what: 'the task queue empty' });
      expect(worker.hasExited).toBe(false);
      const [later] = await sendTasks(install, 'harness_tasks.record', { brokerUrl: url, configure: producerConfigure(profile, ['celery']), args: [events.path, 0] });
      await pollUntil(() => done(readEvents(events.path)).includes(later), { timeoutMs: 30_000, what: 'a task sent after the dead-lettering' });
      expect(starts(readEvents(events.path), poison)).toHaveLength(DEFAULT_DELIVERY_LIMIT + 1);
      const replies = await inspect(install, 'ping', { brokerUrl: url, configure: producerConfigure(profile, ['celery']), nodes: [worker.nodeName] });
      expect(Object.keys(replies)).toEqual([worker.nodeName]);

      // A task no worker knows: Celery rejects it without requeue, and it is dead-lettered too.
      const [unknown] = await sendTasks(install, 'harness_tasks.no_such_task', { brokerUrl: url, configure: producerConfigure(profile, ['celery']) });
      await pollUntil(async () => await queueDepth(vhost, DEAD_LETTER_QUEUE) === 2, { timeoutMs: 30_000, what: 'the unknown task dead-lettered' });
      const rejected = (await peek(vhost, DEAD_LETTER_QUEUE)).find((m) => m.headers.id === unknown);
      expect(rejected?.headers['x-death']).toEqual([expect.objectContaining({ queue: 'celery', reason: 'rejected', count: 1 })]);
      expect(await worker.stop()).toEqual({ code: 0, signal: null });

      // The README's replay script, as the application user: the tasks are back in their queue, without the death history.
      const replayed = await runScript(install, documentedDeadLetterReplay(), { brokerUrl: url, configure: producerConfigure(profile, ['celery']) });
      expect(replayed.replayed).toBe(2);
      await pollUntil(async () => await queueDepth(vhost, DEAD_LETTER_QUEUE) === 0 && await queueDepth(vhost, 'celery') === 2,
        { timeoutMs: 30_000, what: 'the dead-letter queue empty, both tasks back in celery' });
      const back = await peek(vhost, 'celery');
      expect(back.map((m) => m.headers.id).sort()).toEqual([poison, unknown].sort());
      expect(back.flatMap((m) => Object.keys(m.headers).filter((k) => k.startsWith('x-')))).toEqual([]);
    }, 300_000, { profile });
  } else {
    testEachCelery(`classic queues: no delivery limit and no dead-letter queue, the task is redelivered for as long as the worker runs (watched to ${3 * (DEFAULT_DELIVERY_LIMIT + 1)} deliveries); no other task is lost`, async (install) => {
      const { vhost, url } = await applicationUser();
      expect((await admin('GET', `/api/queues/${vhost}/${DEAD_LETTER_QUEUE}`)).status).toBe(404);
      expect((await admin('GET', `/api/policies/${vhost}/${DEAD_LETTER_POLICY}`)).status).toBe(404);
      const worker = startWorker({ install, brokerUrl: url, command: fleetWorkerCommand({ hostname: `poison-${run}@%h`, concurrency: 2 }, profile) });
      await worker.waitReady();
      const events = eventsFile();
      const { poison, normal } = await sendMixedTasks(install, url, events.path);

      const watched = 3 * (DEFAULT_DELIVERY_LIMIT + 1);
      await pollUntil(() => starts(readEvents(events.path), poison).length >= watched && done(readEvents(events.path)).length === normal.length,
        { timeoutMs: 240_000, what: `${watched} deliveries of the poison task and the normal tasks done`, describe: () => worker.log().slice(-3000) });
      const seen = readEvents(events.path);
      expect([...done(seen)].sort()).toEqual([...normal].sort());
      // Classic queues count nothing: no x-delivery-count, every redelivery just flagged as such.
      expect(starts(seen, poison).every((e) => e.delivery_count === null)).toBe(true);
      expect(starts(seen, poison).slice(1).every((e) => e.redelivered)).toBe(true);
      expect(worker.hasExited).toBe(false);
      // Still there, still going round.
      expect(await queueDepth(vhost, 'celery')).toBe(1);
      const first = starts(seen, poison)[0].at;
      const last = starts(seen, poison)[starts(seen, poison).length - 1].at;
      // eslint-disable-next-line no-console
      console.log(`${profile.name} ${install.label}: ${starts(seen, poison).length} deliveries of the poison task in ${(last - first).toFixed(1)} s, still in its queue`);
      // The README's way out on 3.x: revoke the task id; the worker discards it when it comes round again.
      const revoke = join(events.dir, 'revoke.py');
      writeFileSync(revoke, `app.control.revoke(${JSON.stringify(poison)})\n`);
      await runScript(install, revoke, { brokerUrl: url });
      await pollUntil(async () => await queueDepth(vhost, 'celery') === 0, { timeoutMs: 60_000, what: 'the revoked poison task discarded' });
      const total = starts(readEvents(events.path), poison).length;
      const [later] = await sendTasks(install, 'harness_tasks.record', { brokerUrl: url, args: [events.path, 0] });
      await pollUntil(() => done(readEvents(events.path)).includes(later), { timeoutMs: 30_000, what: 'a task sent after the revoke' });
      expect(starts(readEvents(events.path), poison)).toHaveLength(total);
      expect(await worker.stop()).toEqual({ code: 0, signal: null });
    }, 300_000, { profile });
  }
});
