import { fleetWorkerCommand } from './fleet-command';
import {
  CeleryInstall, CeleryWorker, TaskEvent, eventsFile, queueDepth, readEvents, sendTasks, startWorker, stopAllWorkers, testEachCelery,
} from '../../harness/celery';
import { producerConfigure } from '../../harness/client-settings';
import { describeEachRabbitMqProfile, rabbitMqForThisFile } from '../../harness/rabbitmq';
import { pollUntil } from '../../harness/reaper';

/**
 * Stopping and killing workers that run the command the fleet generates (parsed from its user
 * data), with real Celery against a real RabbitMQ:
 * - TERM to the main process only (what systemd's KillMode=mixed sends) is a warm shutdown: the
 *   running task finishes; TERM to the whole process group (KillMode=control-group) aborts it;
 * - SIGKILL mid-task loses no task under the default delivery settings (acks late, reject on
 *   worker lost); with acksLate: false the tasks that were running are lost.
 */

jest.setTimeout(170_000);

describeEachRabbitMqProfile((profile) => {
  const broker = rabbitMqForThisFile({ profile: profile.name, beforeStop: stopAllWorkers });

  async function vhostUrl(name: string): Promise<string> {
    await broker().addVhost(name);
    return broker().amqpUrl('guest', 'guest', name);
  }

  function eventsOf(path: string, id: string, node?: string): string[] {
    return readEvents(path).filter((e) => e.id === id && (!node || e.node === node)).map((e) => e.event);
  }

  describe('warm shutdown', () => {
    testEachCelery('TERM to the main process only: the running task finishes, then the worker exits 0', async (install) => {
      const brokerUrl = await vhostUrl(`term-${install.version}`);
      const worker = startWorker({ install, brokerUrl, command: fleetWorkerCommand({ hostname: `term-${install.version}@%h`, concurrency: 1 }, profile) });
      await worker.waitReady();
      const events = eventsFile();
      const [id] = await sendTasks(install, 'harness_tasks.record', { brokerUrl, configure: producerConfigure(profile, ['celery']), args: [events.path, 3] });
      await pollUntil(() => eventsOf(events.path, id).includes('start'), { timeoutMs: 30_000, what: 'task started' });
      worker.term();
      expect(await worker.exited).toEqual({ code: 0, signal: null });
      expect(eventsOf(events.path, id)).toEqual(['start', 'done']);
      await worker.stop();
    }, undefined, { profile });

    testEachCelery('control: TERM to the whole process group aborts the running task', async (install) => {
      const brokerUrl = await vhostUrl(`term-group-${install.version}`);
      const worker = startWorker({ install, brokerUrl, command: fleetWorkerCommand({ hostname: `termgroup-${install.version}@%h`, concurrency: 1 }, profile) });
      await worker.waitReady();
      const events = eventsFile();
      const [id] = await sendTasks(install, 'harness_tasks.record', { brokerUrl, configure: producerConfigure(profile, ['celery']), args: [events.path, 3] });
      await pollUntil(() => eventsOf(events.path, id).includes('start'), { timeoutMs: 30_000, what: 'task started' });
      worker.signalGroup('SIGTERM');
      await worker.stop(30_000);
      expect(eventsOf(events.path, id)).toEqual(['start']);
    }, undefined, { profile });
  });

  interface KillOutcome {
    readonly sent: number;
    /** Ids no worker finished. */
    readonly lost: string[];
    /** Ids that were running on the killed worker. */
    readonly inFlight: string[];
    /** Ids finished more than once (at-least-once: the kill came between the end of a task and its ack). */
    readonly duplicates: string[];
    readonly events: TaskEvent[];
    readonly survivor: string;
  }

  /**
   * Send `count` tasks of `seconds` to a worker, SIGKILL its whole process group while tasks run
   * (after `killAfterDone` are done, at a moment a task started between `startedAgo` seconds ago),
   * start a second worker with the same command and wait until the queue is drained.
   */
  async function killMidTask(install: CeleryInstall, name: string, options: {
    acksLate?: boolean; count: number; seconds: number; concurrency: number; killAfterDone: number; startedAgo: [number, number];
  }): Promise<KillOutcome> {
    const brokerUrl = await vhostUrl(`${name}-${install.version}`);
    const command = (node: string) => fleetWorkerCommand({
      hostname: `${node}-${install.version}@%h`, concurrency: options.concurrency, ...(options.acksLate === undefined ? {} : { acksLate: options.acksLate }),
    }, profile);
    const first: CeleryWorker = startWorker({ install, brokerUrl, command: command(`${name}-a`) });
    await first.waitReady();
    const events = eventsFile();
    const ids = await sendTasks(install, 'harness_tasks.record', { brokerUrl, configure: producerConfigure(profile, ['celery']), count: options.count, args: [events.path, options.seconds] });

    const running = () => {
      const all = readEvents(events.path).filter((e) => e.node === first.nodeName);
      const done = new Set(all.filter((e) => e.event === 'done').map((e) => e.id));
      return { done: done.size, running: all.filter((e) => e.event === 'start' && !done.has(e.id)) };
    };
    await pollUntil(() => {
      const { done, running: r } = running();
      const now = Date.now() / 1000;
      return done >= options.killAfterDone && r.some((e) => now - e.at >= options.startedAgo[0] && now - e.at < options.startedAgo[1]);
    }, { timeoutMs: 60_000, intervalMs: 10, what: 'a task running on the first worker' });
    first.kill();
    await first.stop();
    const inFlight = running().running.map((e) => e.id);

    const second = startWorker({ install, brokerUrl, command: command(`${name}-b`) });
    await second.waitReady();
    // Drained: nothing ready in the queue (the queue's own count: quorum queues' list_queues
    // statistics lag), and the second worker has finished everything it started and holds nothing
    // more, twice in a row (what an early ack lost never comes back).
    const configure = producerConfigure(profile, ['celery']);
    let quietSince: string | undefined;
    await pollUntil(async () => {
      const { ready } = await queueDepth(install, 'celery', { brokerUrl, configure });
      const mine = readEvents(events.path).filter((e) => e.node === second.nodeName);
      const unfinished = mine.filter((e) => e.event === 'start' && !mine.some((d) => d.event === 'done' && d.id === e.id)).length;
      const reading = `${ready}/${unfinished}/${mine.length}`;
      const quiet = ready === 0 && unfinished === 0 && reading === quietSince;
      quietSince = ready === 0 && unfinished === 0 ? reading : undefined;
      return quiet;
    }, { timeoutMs: 90_000, intervalMs: 2_000, what: 'queue drained' });
    await second.stop();

    const all = readEvents(events.path);
    const doneCounts = new Map<string, number>();
    for (const e of all.filter((x) => x.event === 'done')) doneCounts.set(e.id, (doneCounts.get(e.id) ?? 0) + 1);
    return {
      sent: ids.length,
      lost: ids.filter((id) => !doneCounts.has(id)),
      inFlight,
      duplicates: [...doneCounts.entries()].filter(([, n]) => n > 1).map(([id]) => id),
      events: all,
      survivor: second.nodeName,
    };
  }

  describe('SIGKILL mid-task', () => {
    testEachCelery('default delivery settings: no task lost out of 120, the running ones are redelivered', async (install) => {
      // Killed while a task has just started: the hardest case for a late ack.
      const outcome = await killMidTask(install, 'kill', { count: 120, seconds: 0.3, concurrency: 4, killAfterDone: 20, startedAgo: [0, 0.15] });
      // eslint-disable-next-line no-console
      console.log(`SIGKILL mid-task, RabbitMQ ${broker().version} (${profile.name}), ${install.label}, acks late: sent ${outcome.sent}, lost ${outcome.lost.length}, `
        + `running at the kill ${outcome.inFlight.length}, run twice ${outcome.duplicates.length}`);
      expect(outcome.sent).toBe(120);
      expect(outcome.inFlight.length).toBeGreaterThan(0);
      expect(outcome.lost).toEqual([]);
      // The interrupted tasks ran again on the second worker, as redeliveries.
      for (const id of outcome.inFlight) {
        expect(outcome.events.some((e) => e.id === id && e.event === 'done' && e.node === outcome.survivor && e.redelivered)).toBe(true);
      }
    }, undefined, { profile });

    testEachCelery('control: with acksLate: false the tasks running at the kill are lost', async (install) => {
      // Killed while a task has run for a while: its early ack has surely reached the broker (a task
      // killed in its first milliseconds may not be acknowledged yet, and comes back).
      const outcome = await killMidTask(install, 'kill-early-ack', {
        acksLate: false, count: 12, seconds: 1, concurrency: 2, killAfterDone: 2, startedAgo: [0.4, 0.7],
      });
      // eslint-disable-next-line no-console
      console.log(`SIGKILL mid-task, RabbitMQ ${broker().version} (${profile.name}), ${install.label}, acks on receipt: sent ${outcome.sent}, lost ${outcome.lost.length}, running at the kill ${outcome.inFlight.length}`);
      expect(outcome.lost.length).toBeGreaterThan(0);
      // What is lost is what was running (acknowledged on receipt), nothing else.
      expect(outcome.lost.every((id) => outcome.inFlight.includes(id))).toBe(true);
    }, undefined, { profile });
  });
});
