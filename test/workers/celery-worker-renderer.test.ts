import { Duration } from 'aws-cdk-lib';
import * as publicApi from '../../src';
import { RabbitMqEngineVersion } from '../../src/broker';
import { CeleryWorkerRenderer } from '../../src/workers';
import { renderCeleryWorkerCommand } from '../../src/workers/render';

const OPTIONS = {
  app: 'shop',
  celeryExecutable: '/opt/celery-app/.venv/bin/celery',
  queues: ['orders'],
  timeLimit: Duration.minutes(1),
};

test('renders the command the README shows, as the fleet renders it', () => {
  const command = CeleryWorkerRenderer.command(OPTIONS, { engineVersion: RabbitMqEngineVersion.V3_13 });
  expect(command.argv.join(' ')).toBe('/opt/celery-app/.venv/bin/celery -A shop worker --loglevel INFO --hostname celery@%h'
    + ' --pool prefork --queues orders --prefetch-multiplier 1 --time-limit 60 --without-mingle'
    + ' --without-gossip --without-heartbeat -- task_acks_late=True task_reject_on_worker_lost=True');
  expect(command.environment).toEqual({ CELERY_WORKER_REVOKES_MAX: '10000', CELERY_WORKER_REVOKE_EXPIRES: '3600' });
  expect(command).toEqual(renderCeleryWorkerCommand(OPTIONS, { engineVersion: RabbitMqEngineVersion.V3_13 }));
});

test("passes the broker's engine version on: RabbitMQ 4.2 gets quorum queues and the Celery they need", () => {
  const command = CeleryWorkerRenderer.command(OPTIONS, { engineVersion: RabbitMqEngineVersion.V4_2 });
  expect(command.argv).toContain('worker_detect_quorum_queues=(bool)True');
  expect(command.celeryRequirement.version).toBe('5.5');
  expect(CeleryWorkerRenderer.command(OPTIONS).argv).not.toContain('worker_detect_quorum_queues=(bool)True');
});

test('refuses what a fleet refuses', () => {
  expect(() => CeleryWorkerRenderer.command({ ...OPTIONS, enableMingle: true })).toThrow(/acknowledgeMingleBrokerTraffic/);
  expect(() => CeleryWorkerRenderer.command({ ...OPTIONS, extraArguments: ['--purge'] })).toThrow(/--purge/);
});

test('stop timeout: the time limit plus 60 seconds, or 30 minutes without one', () => {
  expect(CeleryWorkerRenderer.stopTimeout(Duration.minutes(1)).toSeconds()).toBe(120);
  expect(CeleryWorkerRenderer.stopTimeout().toSeconds()).toBe(1800);
});

test('the package exports classes and enums only: no function, constant or table outside jsii', () => {
  const values = Object.entries(publicApi);
  expect(values.length).toBeGreaterThan(0);
  for (const [name, value] of values) {
    const isClass = typeof value === 'function' && /^class\b/.test(Function.prototype.toString.call(value));
    const isEnum = typeof value === 'object' && value !== null && Object.values(value).every((v) => typeof v === 'string' || typeof v === 'number');
    expect({ name, classOrEnum: isClass || isEnum }).toEqual({ name, classOrEnum: true });
  }
  expect(Object.keys(publicApi)).toContain('CeleryWorkerRenderer');
  expect(Object.keys(publicApi)).not.toContain('renderCeleryWorkerCommand');
  expect(Object.keys(publicApi)).not.toContain('shellQuote');
});
