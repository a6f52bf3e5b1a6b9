import { fleetWorkerCommand } from './fleet-command';
import {
  eventsFile, inspect, readEvents, sendTasks, startWorker, stopAllWorkers, testEachCelery,
} from '../../harness/celery';
import { producerConfigure } from '../../harness/client-settings';
import { describeEachRabbitMqProfile, rabbitMqForThisFile } from '../../harness/rabbitmq';
import { pollUntil } from '../../harness/reaper';

/**
 * The application's own Celery configuration still applies to a worker that runs the generated
 * command, on every broker profile: its task_routes (the producer routes by them, the worker
 * consumes the routed queue), its own settings (task time limit, max tasks per child), and the
 * fleet's `settings` prop; only what the broker needs is set on the command line.
 */

jest.setTimeout(170_000);

/** What a user's app sets in its own code (the harness app reads it from HARNESS_APP_CONFIG). */
const APP_CONFIG = {
  task_routes: { 'harness_tasks.record': { queue: 'reports' } },
  task_time_limit: 321,
  worker_max_tasks_per_child: 7,
};

describeEachRabbitMqProfile((profile) => {
  const broker = rabbitMqForThisFile({ profile: profile.name, beforeStop: stopAllWorkers });

  testEachCelery('the app\'s task_routes and settings, and the fleet\'s settings prop, apply', async (install) => {
    const vhost = `userconf-${install.version}`;
    await broker().addVhost(vhost);
    const brokerUrl = broker().amqpUrl('guest', 'guest', vhost);
    const env = { HARNESS_APP_CONFIG: JSON.stringify(APP_CONFIG) };
    const command = fleetWorkerCommand({
      hostname: `userconf-${install.version}@%h`, concurrency: 1, queues: ['orders', 'reports'], settings: { worker_lost_wait: '(int)25' },
    }, profile);
    const worker = startWorker({ install, brokerUrl, command, env });
    await worker.waitReady();
    const configure = producerConfigure(profile, ['orders', 'reports']);
    const events = eventsFile();

    // No queue given: the app's task_routes send it to reports, where the worker takes it.
    const [routed] = await sendTasks(install, 'harness_tasks.record', { brokerUrl, configure, env, args: [events.path, 0] });
    const [reportId] = await sendTasks(install, 'harness_tasks.report', {
      brokerUrl, configure, env, queue: 'orders', args: [events.path, ['task_time_limit', 'worker_max_tasks_per_child', 'worker_lost_wait', 'task_acks_late']],
    });
    await pollUntil(() => readEvents(events.path).some((e) => e.id === routed && e.event === 'done') && readEvents(events.path).some((e) => e.id === reportId),
      { timeoutMs: 30_000, what: 'routed task and report', describe: () => worker.log().slice(-3000) });
    expect(readEvents(events.path).find((e) => e.id === routed && e.event === 'done')).toMatchObject({ routing_key: 'reports', node: worker.nodeName });
    expect(readEvents(events.path).find((e) => e.id === reportId)).toMatchObject({
      routing_key: 'orders',
      conf: { task_time_limit: 321, worker_max_tasks_per_child: 7, worker_lost_wait: 25, task_acks_late: true },
    });
    // The pool follows the app's own setting.
    const stats = (await inspect<{ pool: { [k: string]: unknown } }>(install, 'stats', { brokerUrl, configure, env, nodes: [worker.nodeName] }))[worker.nodeName];
    expect(stats.pool['max-tasks-per-child']).toBe(7);
    expect(await worker.stop()).toEqual({ code: 0, signal: null });
  }, undefined, { profile });
});
