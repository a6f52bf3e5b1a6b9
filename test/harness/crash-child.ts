// Started by harness.e2e.test.ts and then SIGKILLed: shows that a test process that dies without
// its afterAll leaves no broker, epmd or worker behind.
import { celeryInstalls, startWorker } from './celery';
import { startRabbitMq } from './rabbitmq';
import { renderCeleryWorkerCommand } from '../../src/workers/render';

void (async () => {
  const broker = await startRabbitMq();
  const install = celeryInstalls().find((i) => !i.absent)!;
  const worker = startWorker({ install, command: renderCeleryWorkerCommand({ app: 'harness_tasks', hostname: `crash-${process.pid}@%h`, concurrency: 2 }), brokerUrl: broker.amqpUrl() });
  await worker.waitReady();
  process.stdout.write(JSON.stringify({
    broker: broker.harnessId, brokerPids: broker.processIds(), dir: broker.dir, worker: worker.harnessId, workerPids: worker.processIds(),
  }) + '\n');
  setInterval(() => undefined, 60_000);
})().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
