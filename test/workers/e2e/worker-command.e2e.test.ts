import { connect } from 'amqplib';
import { Duration } from 'aws-cdk-lib';
import { fleetWorkerCommand, renderedWorkerCommand } from './fleet-command';
import { CeleryPool } from '../../../src/workers/render';
import { celeryVersionAtLeast } from '../../../src/workers/render/broker-settings';
import { CeleryWorkerCommandOptions } from '../../../src/workers/render/celery-worker-command';
import {
  CeleryInstall, WorkerCommandLine, eventsFile, inspect, ping, readEvents, revokeRandomIds, sendTasks, startWorker, stopAllWorkers, testEachCelery,
} from '../../harness/celery';
import { producerConfigure } from '../../harness/client-settings';
import { describeEachRabbitMqProfile, rabbitMqForThisFile } from '../../harness/rabbitmq';
import { pollUntil } from '../../harness/reaper';

/**
 * Every flag and setting the construct generates, run by real Celery workers of both installations
 * against a real RabbitMQ. The commands are parsed from the synthesized fleet's user data (the
 * worker unit's ExecStart and Environment=), and first shown to equal renderCeleryWorkerCommand's.
 */

jest.setTimeout(150_000);

interface Variant {
  readonly name: string;
  readonly options: Partial<CeleryWorkerCommandOptions>;
  /** What the worker must report for the task delivery settings. */
  readonly acksLate: boolean;
}

const VARIANTS: Variant[] = [
  {
    name: 'prefork, remote control on, every typed option and settings',
    acksLate: true,
    options: {
      queues: ['e2e.high', 'e2e.low'],
      concurrency: 2,
      pool: CeleryPool.PREFORK,
      prefetchMultiplier: 2,
      maxTasksPerChild: 50,
      maxMemoryPerChildKib: 512_000,
      timeLimit: Duration.seconds(120),
      softTimeLimit: Duration.seconds(100),
      enableRemoteControl: true,
      revokesMax: 20_000,
      revokeExpires: Duration.minutes(30),
      logLevel: 'INFO',
      settings: { broker_heartbeat: '(int)30', worker_lost_wait: '(int)20' },
    },
  },
  {
    name: 'threads pool, remote control off',
    acksLate: true,
    options: { queues: ['e2e.threads'], concurrency: 2, pool: CeleryPool.THREADS, enableRemoteControl: false, settings: { broker_heartbeat: '(int)30' } },
  },
  {
    name: 'solo pool, mingle/gossip/heartbeat events on (acknowledged), acks on receipt',
    acksLate: false,
    options: {
      // Concurrency 1: without it Celery sizes the prefetch by the CPU count even for solo.
      pool: CeleryPool.SOLO,
      concurrency: 1,
      enableMingle: true,
      acknowledgeMingleBrokerTraffic: true,
      enableGossip: true,
      enableHeartbeatEvents: true,
      acksLate: false,
    },
  },
];

describeEachRabbitMqProfile((profile) => {
  const broker = rabbitMqForThisFile({ profile: profile.name, beforeStop: stopAllWorkers });

  describe('the fleet runs exactly the rendered command', () => {
    test.each(VARIANTS.map((v) => [v.name, v] as const))('%s', (_name, variant) => {
      const fromUserData = fleetWorkerCommand(variant.options, profile);
      expect(fromUserData).toEqual(renderedWorkerCommand(variant.options, profile));
      // The checks below would be vacuous if the rendering lost options on the way.
      expect(fromUserData.argv.length).toBeGreaterThan(8);
    });
  });

  /**
   * Start `command` (as parsed from the fleet's user data) with `install`, wait until it is ready,
   * run a task on each of its queues and have a task report the delivery settings it runs with.
   * Rejects on any usage error, crash or timeout.
   */
  async function runAndCheck(install: CeleryInstall, command: WorkerCommandLine, variant: Variant, vhost: string) {
    const brokerUrl = broker().amqpUrl('guest', 'guest', vhost);
    const configure = producerConfigure(profile, variant.options.queues ?? ['celery']);
    const worker = startWorker({ install, command, brokerUrl });
    try {
      await worker.waitReady(60_000);
      const events = eventsFile();
      const queues = variant.options.queues ?? ['celery'];
      const sent: string[] = [];
      // One task per queue plus the report: within one prefetch window of every variant, because the
      // threads pool holds late acks until its loop wakes (seconds; celery/celery#6941).
      for (const queue of queues) {
        sent.push(...await sendTasks(install, 'harness_tasks.record', { brokerUrl, configure, queue, count: 1, args: [events.path, 0] }));
      }
      const [reportId] = await sendTasks(install, 'harness_tasks.report', {
        brokerUrl,
        configure,
        queue: queues[0],
        args: [events.path, ['task_acks_late', 'task_reject_on_worker_lost', 'broker_heartbeat', 'worker_enable_remote_control', 'worker_lost_wait']],
      });
      await pollUntil(() => readEvents(events.path).filter((e) => e.event !== 'start').length === sent.length + 1,
        { timeoutMs: 30_000, what: `${sent.length} tasks and a report done`, describe: () => worker.log().slice(-3000) });
      const done = readEvents(events.path).filter((e) => e.event === 'done');
      expect(done.map((e) => e.id).sort()).toEqual([...sent].sort());
      expect(new Set(done.map((e) => e.node))).toEqual(new Set([worker.nodeName]));
      const report = readEvents(events.path).find((e) => e.id === reportId)!;
      return { worker, brokerUrl, report, configure };
    } catch (error) {
      await worker.stop();
      throw error;
    }
  }

  describe('real workers accept every generated flag and honour it', () => {
    for (const [index, variant] of VARIANTS.entries()) {
      testEachCelery(variant.name, async (install) => {
        const vhost = `cmd-${index}-${install.version}`;
        await broker().addVhost(vhost);
        const command = fleetWorkerCommand({ ...variant.options, hostname: `cmd${index}-${install.version}@%h` }, profile);
        const { worker, brokerUrl, report, configure } = await runAndCheck(install, command, variant, vhost);

        // Settings after `--` reach the task's own attributes (what the worker acks by), not only app.conf.
        expect(report).toMatchObject({ acks_late: variant.acksLate, reject_on_worker_lost: variant.acksLate });
        if (variant.options.settings?.broker_heartbeat) expect((report.conf as { broker_heartbeat: unknown }).broker_heartbeat).toBe(30);
        if (variant.options.settings?.worker_lost_wait) expect((report.conf as { worker_lost_wait: unknown }).worker_lost_wait).toBe(20);

        if (variant.options.enableRemoteControl === false) {
          expect((report.conf as { worker_enable_remote_control: unknown }).worker_enable_remote_control).toBe(false);
          // Nobody answers: the pidbox is gone.
          const { exclusiveControlQueues } = renderedWorkerCommand(variant.options, profile);
          expect(await ping(install, { brokerUrl, nodeName: worker.nodeName, exclusiveControlQueues })).toBe(false);
        } else {
          const stats = (await inspect<{ prefetch_count: number; pool: { [k: string]: unknown } }>(install, 'stats', { brokerUrl, configure, nodes: [worker.nodeName] }))[worker.nodeName];
          const concurrency = variant.options.concurrency ?? stats.pool['max-concurrency'];
          expect(stats.pool['max-concurrency']).toBe(concurrency);
          expect(stats.prefetch_count).toBe((variant.options.prefetchMultiplier ?? 1) * (concurrency as number));
          if (variant.options.maxTasksPerChild) expect(stats.pool['max-tasks-per-child']).toBe(variant.options.maxTasksPerChild);
          if (variant.options.timeLimit) {
            expect(stats.pool.timeouts).toEqual([variant.options.softTimeLimit!.toSeconds(), variant.options.timeLimit.toSeconds()]);
          }
          const queues = (await inspect<Array<{ name: string }>>(install, 'active_queues', { brokerUrl, configure, nodes: [worker.nodeName] }))[worker.nodeName];
          expect(queues.map((q) => q.name).sort()).toEqual([...(variant.options.queues ?? ['celery'])].sort());
        }
        expect(await worker.stop()).toEqual({ code: 0, signal: null });
      }, undefined, { profile });
    }

    // Gossip consumes every other worker's events through a queue of its own (`celeryev.<uuid>`);
    // with --without-gossip the worker declares none.
    testEachCelery('gossip off: no event queue; gossip on: one', async (install) => {
      for (const [index, enableGossip] of [[0, false], [1, true]] as const) {
        const vhost = `gossip-${index}-${install.version}`;
        await broker().addVhost(vhost);
        const options: Partial<CeleryWorkerCommandOptions> = { pool: CeleryPool.SOLO, enableGossip, queues: [`gossip${index}`] };
        const command = fleetWorkerCommand({ ...options, hostname: `gossip${index}-${install.version}@%h` }, profile);
        expect(command.argv.includes('--without-gossip')).toBe(!enableGossip);
        const worker = startWorker({ install, command, brokerUrl: broker().amqpUrl('guest', 'guest', vhost) });
        try {
          await worker.waitReady(60_000);
          const queues = (await broker().ctl(['list_queues', '-q', '-p', vhost, 'name'])).split('\n').map((l) => l.trim()).filter((l) => l.startsWith('celeryev.'));
          expect({ enableGossip, eventQueues: queues.length }).toEqual({ enableGossip, eventQueues: enableGossip ? 1 : 0 });
        } finally {
          await worker.stop();
        }
      }
    }, undefined, { profile });

    // The revoked-set bounds are environment variables Celery >= 5.3 reads at import
    // (celery.worker.state); 5.2 keeps its built-in 50,000, which the README states.
    testEachCelery('the revoked set keeps at most revokesMax ids (Celery >= 5.3)', async (install) => {
      const vhost = `revokes-${install.version}`;
      await broker().addVhost(vhost);
      const brokerUrl = broker().amqpUrl('guest', 'guest', vhost);
      const command = fleetWorkerCommand({ queues: ['revokes'], revokesMax: 25, revokeExpires: Duration.hours(1), hostname: `revokes-${install.version}@%h` }, profile);
      expect(command.environment).toEqual({ CELERY_WORKER_REVOKES_MAX: '25', CELERY_WORKER_REVOKE_EXPIRES: '3600' });
      const worker = startWorker({ install, command, brokerUrl });
      try {
        await worker.waitReady(60_000);
        const configure = producerConfigure(profile, ['revokes']);
        await revokeRandomIds(install, 100, { brokerUrl, configure, chunk: 50 });
        const sizes = await inspect<number>(install, 'revoked', { brokerUrl, configure, nodes: [worker.nodeName], timeoutSeconds: 30 });
        const honoursEnvironment = celeryVersionAtLeast(install.version!, '5.3');
        expect({ version: install.version, kept: sizes[worker.nodeName] }).toEqual({ version: install.version, kept: honoursEnvironment ? 25 : 100 });
      } finally {
        await worker.stop();
      }
    }, undefined, { profile });

    // --max-memory-per-child replaces a pool process once a task leaves it above the limit: with a
    // limit every process exceeds (1 KiB), each task runs in a new process; without it, one process
    // runs them all.
    testEachCelery('maxMemoryPerChildKib: a process over the limit is replaced after its task', async (install) => {
      for (const [index, maxMemoryPerChildKib] of [[0, undefined], [1, 1]] as const) {
        const vhost = `memory-${index}-${install.version}`;
        await broker().addVhost(vhost);
        const brokerUrl = broker().amqpUrl('guest', 'guest', vhost);
        const queue = `memory${index}`;
        const command = fleetWorkerCommand({
          pool: CeleryPool.PREFORK, concurrency: 1, maxMemoryPerChildKib, queues: [queue], hostname: `memory${index}-${install.version}@%h`,
        }, profile);
        expect(command.argv.includes('--max-memory-per-child')).toBe(maxMemoryPerChildKib !== undefined);
        const worker = startWorker({ install, command, brokerUrl });
        try {
          await worker.waitReady(60_000);
          const events = eventsFile();
          const configure = producerConfigure(profile, [queue]);
          await sendTasks(install, 'harness_tasks.record', { brokerUrl, configure, queue, count: 4, args: [events.path, 0] });
          await pollUntil(() => readEvents(events.path).filter((e) => e.event === 'done').length === 4,
            { timeoutMs: 60_000, what: '4 tasks done', describe: () => worker.log().slice(-3000) });
          const processes = new Set(readEvents(events.path).filter((e) => e.event === 'done').map((e) => e.pid));
          expect({ maxMemoryPerChildKib, processes: processes.size }).toEqual({ maxMemoryPerChildKib, processes: maxMemoryPerChildKib ? 4 : 1 });
        } finally {
          await worker.stop();
        }
      }
    }, undefined, { profile });

    // The worker's heartbeat events (`worker-heartbeat` on the celeryev exchange, every 2 s) feed
    // only monitors such as Flower; the generated worker sends none unless enableHeartbeatEvents.
    testEachCelery('heartbeat events off: none published; on: one every 2 seconds', async (install) => {
      for (const [index, enableHeartbeatEvents] of [[0, false], [1, true]] as const) {
        const vhost = `heartbeat-${index}-${install.version}`;
        await broker().addVhost(vhost);
        const brokerUrl = broker().amqpUrl('guest', 'guest', vhost);
        const command = fleetWorkerCommand({
          pool: CeleryPool.SOLO, enableHeartbeatEvents, queues: [`heartbeat${index}`], hostname: `heartbeat${index}-${install.version}@%h`,
        }, profile);
        expect(command.argv.includes('--without-heartbeat')).toBe(!enableHeartbeatEvents);
        // Listen before the worker starts: its first heartbeat is sent as soon as it is ready.
        const connection = await connect(brokerUrl);
        const heartbeats: string[] = [];
        try {
          const channel = await connection.createChannel();
          await channel.assertExchange('celeryev', 'topic', { durable: true, autoDelete: false });
          const { queue } = await channel.assertQueue('', { exclusive: true });
          await channel.bindQueue(queue, 'celeryev', 'worker.#');
          await channel.consume(queue, (message) => {
            if (message) heartbeats.push(String((JSON.parse(message.content.toString('utf8')) as { type?: string }).type));
          }, { noAck: true });
          const worker = startWorker({ install, command, brokerUrl });
          try {
            await worker.waitReady(60_000);
            await new Promise((resolve) => setTimeout(resolve, 7_000));
          } finally {
            await worker.stop();
          }
        } finally {
          await connection.close();
        }
        const sent = heartbeats.filter((type) => type === 'worker-heartbeat').length;
        if (enableHeartbeatEvents) expect(sent).toBeGreaterThanOrEqual(2);
        else expect({ enableHeartbeatEvents, sent }).toEqual({ enableHeartbeatEvents, sent: 0 });
      }
    }, undefined, { profile });

    // Negative control: the same check fails when one generated flag is misspelt.
    testEachCelery('a misspelt flag fails the check', async (install) => {
      const variant = VARIANTS[0];
      const vhost = `cmd-misspelt-${install.version}`;
      await broker().addVhost(vhost);
      const command = fleetWorkerCommand({ ...variant.options, hostname: `misspelt-${install.version}@%h` }, profile);
      const misspelt = { ...command, argv: command.argv.map((a) => (a === '--max-tasks-per-child' ? '--max-task-per-child' : a)) };
      expect(misspelt.argv).not.toEqual(command.argv);
      await expect(runAndCheck(install, misspelt, variant, vhost)).rejects.toThrow(/No such option: --max-task-per-child/);
    }, undefined, { profile });
  });
});
