import { fleetWorkerCommand } from './fleet-command';
import { celeryVersionAtLeast } from '../../../src/workers/render';
import {
  celeryInstalls, celeryRunsOn, eventsFile, queueDepth, readEvents, sendTasks, startWorker, stopAllWorkers, testEachCelery,
} from '../../harness/celery';
import { producerConfigure } from '../../harness/client-settings';
import { describeEachRabbitMqProfile, rabbitMqForThisFile } from '../../harness/rabbitmq';
import { pollUntil } from '../../harness/reaper';

/**
 * A web app that sends tasks to a fleet's queue, on every broker profile, with every Celery
 * installation as the producer (producers often run an older Celery than the workers):
 * - with the settings the README documents, tasks and countdown tasks reach the fleet (on
 *   RabbitMQ 4, countdown tasks wait in the broker when the producer runs Celery >= 5.5);
 * - with Celery's defaults, tasks reach the fleet on RabbitMQ 3; on RabbitMQ 4 `apply_async` raises
 *   PRECONDITION_FAILED (the fleet's exchange is a topic exchange), and nothing is enqueued: a
 *   clear failure, never a silent loss;
 * - a producer with Celery's defaults that declares the queue before any worker did makes the
 *   workers fail to start with the broker's error naming the exchange (README: what to do).
 */

jest.setTimeout(170_000);

const QUEUE = 'orders';
/**
 * Seconds of countdown: long enough that an older producer's tasks, which reach the worker as soon as
 * they are sent, arrive well before they are due even when the machine is loaded (a 3-second
 * countdown was not: sending the first tasks alone took that long on two busy cores).
 */
const COUNTDOWN = 10;

describeEachRabbitMqProfile((profile) => {
  const broker = rabbitMqForThisFile({ profile: profile.name, management: true, beforeStop: stopAllWorkers });
  const quorum = profile.engineVersion !== '3.13';
  // The fleet's workers: the newest Celery that runs on the profile.
  const fleetInstall = () => celeryInstalls().filter((i) => !i.absent && celeryRunsOn(i, profile)).slice(-1)[0];

  async function fleetOn(vhost: string) {
    await broker().addVhost(vhost);
    const brokerUrl = broker().amqpUrl('guest', 'guest', vhost);
    const install = fleetInstall();
    const worker = startWorker({ install, brokerUrl, command: fleetWorkerCommand({ hostname: `${vhost}@%h`, concurrency: 2, queues: [QUEUE] }, profile) });
    await worker.waitReady();
    return { brokerUrl, worker, install };
  }

  testEachCelery('a producer with the README\'s settings: tasks and countdown tasks reach the fleet', async (producer) => {
    const { brokerUrl, worker } = await fleetOn(`documented-${producer.version}`);
    const events = eventsFile();
    const configure = producerConfigure(profile, [QUEUE]);
    const sentAt = Date.now() / 1000;
    const now = await sendTasks(producer, 'harness_tasks.record', { brokerUrl, configure, queue: QUEUE, count: 5, args: [events.path, 0] });
    const later = await sendTasks(producer, 'harness_tasks.record', { brokerUrl, configure, queue: QUEUE, count: 2, countdown: COUNTDOWN, args: [events.path, 0] });
    await pollUntil(() => readEvents(events.path).filter((e) => e.event === 'done').length === 7, { timeoutMs: 60_000, what: '7 tasks done', describe: () => worker.log().slice(-3000) });
    const done = readEvents(events.path).filter((e) => e.event === 'done');
    expect(done.map((e) => e.id).sort()).toEqual([...now, ...later].sort());
    // The countdown tasks ran after their countdown (a second of clock slack between the processes).
    for (const id of later) expect(done.find((e) => e.id === id)!.at).toBeGreaterThanOrEqual(sentAt + COUNTDOWN - 1);
    if (quorum) {
      // From Celery 5.5 a producer routes them through the broker's delay queues: the worker receives
      // them only when they are due. An older producer publishes them straight to the queue: the
      // worker receives them at once and holds them (a prefetch slot each) until they are due.
      const delayedInBroker = celeryVersionAtLeast(producer.version!, '5.5');
      for (const id of later) {
        const match = new RegExp(`\\[(\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d),\\d+: INFO/MainProcess\\] Task harness_tasks\\.record\\[${id}\\] received`).exec(worker.log());
        expect(match).not.toBeNull();
        const receivedAt = Date.parse(`${match![1].replace(' ', 'T')}Z`) / 1000;
        if (delayedInBroker) expect(receivedAt).toBeGreaterThanOrEqual(Math.floor(sentAt) + COUNTDOWN - 1);
        else expect(receivedAt).toBeLessThan(sentAt + COUNTDOWN - 1);
      }
    }
    await worker.stop();
  });

  testEachCelery('a producer with Celery\'s defaults: delivered on RabbitMQ 3; refused on RabbitMQ 4, nothing enqueued', async (producer) => {
    const { brokerUrl, worker, install } = await fleetOn(`defaults-${producer.version}`);
    const events = eventsFile();
    const send = sendTasks(producer, 'harness_tasks.record', { brokerUrl, queue: QUEUE, count: 3, args: [events.path, 0] });
    if (!quorum) {
      const ids = await send;
      await pollUntil(() => readEvents(events.path).filter((e) => e.event === 'done').length === 3, { timeoutMs: 60_000, what: '3 tasks done' });
      expect(readEvents(events.path).filter((e) => e.event === 'done').map((e) => e.id).sort()).toEqual([...ids].sort());
    } else {
      // apply_async raises: the web request fails visibly.
      await expect(send).rejects.toThrow(new RegExp(`PreconditionFailed[\\s\\S]*PRECONDITION_FAILED - inequivalent arg 'type' for exchange '${QUEUE}'[\\s\\S]*received 'direct' but current is 'topic'`));
      // Nothing half-sent: the queue is empty and the worker ran nothing.
      const configure = producerConfigure(profile, [QUEUE]);
      expect(await queueDepth(install, QUEUE, { brokerUrl, configure })).toEqual({ ready: 0, consumers: 1 });
      expect(readEvents(events.path)).toEqual([]);
      expect(worker.log()).not.toMatch(/Task harness_tasks\.record\[[^\]]+\] received/);
    }
    await worker.stop();
  });

  if (quorum) {
    test('a producer with Celery\'s defaults that declares the queue first: the fleet\'s workers do not start, and say why', async () => {
      const vhost = 'producer-first';
      await broker().addVhost(vhost);
      const brokerUrl = broker().amqpUrl('guest', 'guest', vhost);
      const install = fleetInstall();
      const events = eventsFile();
      await sendTasks(install, 'harness_tasks.record', { brokerUrl, queue: QUEUE, count: 1, args: [events.path, 0] });
      const worker = startWorker({ install, brokerUrl, command: fleetWorkerCommand({ hostname: `${vhost}@%h`, concurrency: 1, queues: [QUEUE] }, profile) });
      await expect(worker.waitReady(60_000)).rejects.toThrow(/exited|not reached/);
      expect(worker.log()).toMatch(new RegExp(`PRECONDITION_FAILED - inequivalent arg 'type' for exchange '${QUEUE}' in vhost '${vhost}': received 'topic' but current is 'direct'`));
      await worker.stop();
      // The README's fix: delete the producer's exchange (the queue and its message stay); the workers then declare theirs.
      const deleted = await fetch(`http://127.0.0.1:${broker().managementPort}/api/exchanges/${encodeURIComponent(vhost)}/${QUEUE}`, {
        method: 'DELETE', headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
      });
      expect(deleted.status).toBe(204);
      const retry = startWorker({ install, brokerUrl, command: fleetWorkerCommand({ hostname: `${vhost}-retry@%h`, concurrency: 1, queues: [QUEUE] }, profile) });
      await retry.waitReady();
      await pollUntil(() => readEvents(events.path).some((e) => e.event === 'done'), { timeoutMs: 30_000, what: 'the early task done' });
      await retry.stop();
    });
  }
});
