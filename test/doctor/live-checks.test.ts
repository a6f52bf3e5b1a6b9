import { BrokerFacts, BrokerQueue, LiveFacts } from '../../src/doctor/facts';
import { liveChecks } from '../../src/doctor/live-checks';

/**
 * Judgements of the live checks against the engine, on facts as the live reader gives them (the
 * reading itself is proved against real brokers in live-workers.test.ts).
 */

const queue = (name: string, extra: Partial<BrokerQueue> = {}): BrokerQueue => ({
  name, vhost: '/', type: 'classic', durable: false, exclusive: false, autoDelete: true, consumers: 1, ...extra,
});

function live(rabbitmqVersion: string, queues: BrokerQueue[]): LiveFacts {
  return {
    amqpHost: 'b-1.mq.example:5671',
    vhost: '/',
    rabbitmqVersion,
    remoteControlExchange: true,
    workers: [{ node: 'w1@host', conf: { task_acks_late: true }, queues: [{ name: 'celery', declaredType: undefined }], prefetchCount: 1, concurrency: 1 }],
    queues,
    heartbeatSampleSeconds: 5,
    requests: [],
    partial: [],
  };
}

const PIDBOX = queue('w1@host.celery.pidbox');
const TASKS = queue('celery', { durable: true, autoDelete: false });

function transientFinding(rabbitmqVersion: string, queues: BrokerQueue[], broker?: Partial<BrokerFacts>) {
  const findings = liveChecks({ live: live(rabbitmqVersion, queues), broker: broker as BrokerFacts | undefined }).filter((f) => f.check === 'live.transient-queues');
  expect(findings).toHaveLength(1);
  return findings[0];
}

describe('live.transient-queues: transient non-exclusive queues, which RabbitMQ 4.3 refuses', () => {
  test('on RabbitMQ 3: low, a later upgrade\'s problem', () => {
    const f = transientFinding('3.13.7', [PIDBOX, TASKS]);
    expect(f).toMatchObject({ severity: 'low', title: '1 transient non-exclusive queue(s): RabbitMQ 4.3 refuses them' });
    expect(f.evidence[0]).toBe('w1@host.celery.pidbox');
    expect(f.evidence.join('\n')).not.toMatch(/next one/);
  });

  test.each(['4.0.5', '4.2.1'])('on RabbitMQ %s: medium, since 4.3 is the next upgrade and the workers would not start there', (version) => {
    const f = transientFinding(version, [PIDBOX, TASKS]);
    expect(f).toMatchObject({ severity: 'medium', title: '1 transient non-exclusive queue(s): RabbitMQ 4.3 refuses them' });
    expect(f.evidence).toContain(`on RabbitMQ ${version.split('.').slice(0, 2).join('.')}, the upgrade to 4.3 is the next one: workers that declare them would not start there`);
    expect(f.fix).toMatch(/control_queue_exclusive = True and event_queue_exclusive = True \(Celery >= 5\.6\.0\)/);
  });

  test('on RabbitMQ 4.3: critical', () => {
    expect(transientFinding('4.3.0', [PIDBOX])).toMatchObject({ severity: 'critical', title: '1 transient non-exclusive queue(s)' });
  });

  test('Amazon MQ\'s engine version wins over the management API\'s', () => {
    expect(transientFinding('3.13.7', [PIDBOX], { engineVersion: '4.2' }).severity).toBe('medium');
  });

  test('exclusive and durable queues pass, on every engine', () => {
    for (const version of ['3.13.7', '4.2.1', '4.3.0']) {
      const f = transientFinding(version, [queue('w1@host.celery.pidbox', { exclusive: true }), TASKS]);
      expect(f).toMatchObject({ severity: 'ok', title: 'no transient non-exclusive queue' });
    }
  });
});
