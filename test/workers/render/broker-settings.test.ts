import { RabbitMqEngineVersion } from '../../../src/broker';
import {
  CeleryQueueType, celeryVersionAtLeast, renderBrokerSettings, renderCeleryWorkerCommand,
} from '../../../src/workers/render';

const V3_13 = RabbitMqEngineVersion.V3_13;
const V4_2 = RabbitMqEngineVersion.V4_2;
const V4_3 = RabbitMqEngineVersion.of('4.3');

/** The `key=value` settings after `--` of a rendered command. */
function settingsOf(argv: string[]): { [key: string]: string } {
  const settings: { [key: string]: string } = {};
  for (const arg of argv.slice(argv.indexOf('--') + 1)) {
    const eq = arg.indexOf('=');
    settings[arg.slice(0, eq)] = arg.slice(eq + 1);
  }
  return settings;
}

const QUORUM_TOPIC_ORDERS = '(json){"orders":{"exchange":"orders","exchange_type":"topic","routing_key":"orders","queue_arguments":{"x-queue-type":"quorum"}}}';

describe('renderBrokerSettings', () => {
  test('RabbitMQ 3.13: nothing (classic queues, global QoS and transient queues allowed); any Celery 5', () => {
    const rendered = renderBrokerSettings({ engineVersion: V3_13 }, { queues: ['orders'] });
    expect(rendered).toEqual({
      settings: {},
      queueType: undefined,
      nativeDelayedDelivery: false,
      exclusiveControlQueues: false,
      requirement: { version: '5.0', reason: expect.any(String) },
    });
  });

  test('unknown engine (an imported broker without engineVersion): nothing, the broker decides', () => {
    expect(renderBrokerSettings({}, { queues: ['orders'] }).settings).toEqual({});
  });

  test('RabbitMQ 4.2: quorum queues behind topic exchanges, declared in Celery\'s own configuration; Celery >= 5.5', () => {
    const rendered = renderBrokerSettings({ engineVersion: V4_2 }, { queues: ['orders'] });
    expect(rendered.settings).toEqual({
      task_queues: QUORUM_TOPIC_ORDERS,
      task_create_missing_queue_type: '(string)quorum',
      task_create_missing_queue_exchange_type: '(string)topic',
      worker_detect_quorum_queues: '(bool)True',
    });
    expect(rendered.queueType).toBe(CeleryQueueType.QUORUM);
    expect(rendered.nativeDelayedDelivery).toBe(true);
    expect(rendered.exclusiveControlQueues).toBe(false);
    expect(rendered.requirement.version).toBe('5.5');
    expect(rendered.requirement.reason).toMatch(/worker_detect_quorum_queues/);
  });

  test('RabbitMQ 4.3: also exclusive control and event queues; Celery >= 5.6', () => {
    const rendered = renderBrokerSettings({ engineVersion: V4_3 }, { queues: ['orders'] });
    expect(rendered.settings).toMatchObject({ control_queue_exclusive: '(bool)True', event_queue_exclusive: '(bool)True', task_queues: QUORUM_TOPIC_ORDERS });
    expect(rendered.exclusiveControlQueues).toBe(true);
    expect(rendered.requirement.version).toBe('5.6');
    expect(rendered.requirement.reason).toMatch(/control_queue_exclusive/);
  });

  test('every queue is declared, each with its own exchange; no queues: only the default queue\'s type', () => {
    const two = JSON.parse(renderBrokerSettings({ engineVersion: V4_2 }, { queues: ['a.high', 'b:low'] }).settings.task_queues.slice('(json)'.length));
    expect(Object.keys(two)).toEqual(['a.high', 'b:low']);
    expect(two['b:low']).toEqual({ exchange: 'b:low', exchange_type: 'topic', routing_key: 'b:low', queue_arguments: { 'x-queue-type': 'quorum' } });
    const none = renderBrokerSettings({ engineVersion: V4_2 }, { queues: [] }).settings;
    expect(none.task_queues).toBeUndefined();
    expect(none).toMatchObject({ task_default_queue_type: '(string)quorum', task_default_exchange_type: 'topic' });
    expect(renderBrokerSettings({ engineVersion: V4_2 }, { queues: ['orders'] }).settings.task_default_queue_type).toBeUndefined();
  });

  test('nativeDelayedDelivery: false keeps direct exchanges (producers with default settings work)', () => {
    const rendered = renderBrokerSettings({ engineVersion: V4_2 }, { queues: ['orders'], nativeDelayedDelivery: false });
    expect(rendered.nativeDelayedDelivery).toBe(false);
    expect(rendered.settings.task_queues).toContain('"exchange_type":"direct"');
    expect(rendered.settings).toMatchObject({ task_create_missing_queue_exchange_type: '(string)direct' });
    expect(rendered.requirement.version).toBe('5.5');
  });

  test('queueType CLASSIC on 4.2: declared classic explicitly (the broker would make them quorum), direct exchanges, any Celery 5', () => {
    const rendered = renderBrokerSettings({ engineVersion: V4_2 }, { queues: ['orders'], queueType: CeleryQueueType.CLASSIC });
    expect(rendered.settings).toEqual({
      task_queues: '(json){"orders":{"exchange":"orders","exchange_type":"direct","routing_key":"orders","queue_arguments":{"x-queue-type":"classic"}}}',
      task_create_missing_queue_type: '(string)classic',
      task_create_missing_queue_exchange_type: '(string)direct',
    });
    expect(rendered.requirement.version).toBe('5.0');
  });

  test('queueType QUORUM on 3.13 declares quorum queues there too', () => {
    const rendered = renderBrokerSettings({ engineVersion: V3_13 }, { queues: ['orders'], queueType: CeleryQueueType.QUORUM });
    expect(rendered.settings.task_queues).toBe(QUORUM_TOPIC_ORDERS);
    expect(rendered.requirement.version).toBe('5.5');
  });

  test('queueType CLASSIC on 4.3: classic declarations plus exclusive control queues; Celery >= 5.6', () => {
    const rendered = renderBrokerSettings({ engineVersion: V4_3 }, { queues: ['orders'], queueType: CeleryQueueType.CLASSIC });
    expect(rendered.settings).toMatchObject({ task_create_missing_queue_type: '(string)classic', control_queue_exclusive: '(bool)True' });
    expect(rendered.requirement.version).toBe('5.6');
  });

  test('refused: native delayed delivery without quorum queues', () => {
    expect(() => renderBrokerSettings({ engineVersion: V3_13 }, { queues: [], nativeDelayedDelivery: true }))
      .toThrow(/^nativeDelayedDelivery: true needs quorum task queues \(queueType unset, engine version 3.13\)/);
    expect(() => renderBrokerSettings({ engineVersion: V4_2 }, { queues: [], queueType: CeleryQueueType.CLASSIC, nativeDelayedDelivery: true }))
      .toThrow(/^nativeDelayedDelivery: true needs quorum task queues \(queueType classic/);
  });
});

describe('renderCeleryWorkerCommand on a broker', () => {
  test('the broker\'s settings follow the worker\'s own; the command says which Celery it needs and whether clients need exclusive reply queues', () => {
    const command = renderCeleryWorkerCommand({ app: 'proj', queues: ['orders'] }, { engineVersion: V4_3 });
    expect(command.argv.slice(0, 4)).toEqual(['celery', '-A', 'proj', 'worker']);
    expect(command.argv).toContain('--queues');
    expect(settingsOf(command.argv)).toMatchObject({ task_acks_late: 'True', task_queues: QUORUM_TOPIC_ORDERS, control_queue_exclusive: '(bool)True' });
    expect(command.celeryRequirement.version).toBe('5.6');
    expect(command.exclusiveControlQueues).toBe(true);
  });

  test('the user\'s settings win over the broker\'s (an escape hatch: their own task_queues)', () => {
    const command = renderCeleryWorkerCommand({ app: 'proj', queues: ['orders'], settings: { task_queues: '(json){}', worker_detect_quorum_queues: 'False' } },
      { engineVersion: V4_2 });
    expect(settingsOf(command.argv)).toMatchObject({ task_queues: '(json){}', worker_detect_quorum_queues: 'False' });
  });

  test('no broker: the command of a RabbitMQ 3 broker (backwards compatible)', () => {
    const command = renderCeleryWorkerCommand({ app: 'proj', queues: ['orders'] });
    expect(settingsOf(command.argv)).toEqual({ task_acks_late: 'True', task_reject_on_worker_lost: 'True' });
    expect(command.celeryRequirement.version).toBe('5.0');
    expect(command.exclusiveControlQueues).toBe(false);
  });
});

describe('celeryVersionAtLeast', () => {
  test.each([
    ['5.2.6', '5.5', false], ['5.5.0rc1', '5.5', true], ['5.5.2', '5.5', true], ['5.5.2', '5.6', false], ['5.6.3', '5.6', true],
    ['5.10.0', '5.6', true], ['6.0', '5.6', true], ['4.4.7', '5.0', false], ['5', '5.0', true],
  ])('%s >= %s: %s', (version, minimum, expected) => {
    expect(celeryVersionAtLeast(version, minimum)).toBe(expected);
  });
});

describe('RabbitMqEngineVersion facts', () => {
  test.each([
    ['3.13', false, false], ['4.2', true, false], ['4.3', true, true], ['4.10', true, true], ['5.0', true, true],
  ])('%s: quorum by default %s, refuses transient non-exclusive queues %s', (version, quorum, refuses) => {
    const engine = RabbitMqEngineVersion.of(version);
    expect(engine.quorumQueuesByDefault).toBe(quorum);
    expect(engine.refusesTransientNonExclusiveQueues).toBe(refuses);
  });
});
