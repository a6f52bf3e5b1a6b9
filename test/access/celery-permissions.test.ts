import { CeleryPermissions } from '../../src/access';

// RabbitMQ matches permissions with Erlang's PCRE-based `re`; these patterns use only syntax
// that behaves the same in JavaScript. The real-broker tests check them against RabbitMQ itself.
function allows(regex: string, name: string): boolean {
  return new RegExp(regex).test(name);
}

describe('CeleryPermissions.forApplication', () => {
  const defaults = CeleryPermissions.forApplication();

  test.each([
    ['celery', 'the default task queue and its exchange'],
    ['celery.pidbox', 'remote control exchange'],
    ['reply.celery.pidbox', 'remote control reply exchange'],
    ['celery@ip-10-0-1-5.eu-west-1.compute.internal.celery.pidbox', 'a worker node queue'],
    ['3f2c1b7e-8d1a-4c3e-9b1f-0a2b3c4d5e6f.reply.celery.pidbox', 'a reply queue'],
    ['celeryev', 'event exchange'],
    ['celeryev.3f2c1b7e-8d1a-4c3e-9b1f-0a2b3c4d5e6f', 'an event receiver queue'],
    ['celery_delayed_27', 'quorum delayed delivery level'],
    ['celery_delayed_delivery', 'quorum delayed delivery exchange'],
  ])('configure, write and read allow %s (%s)', (name) => {
    expect(allows(defaults.configure, name)).toBe(true);
    expect(allows(defaults.write, name)).toBe(true);
    expect(allows(defaults.read, name)).toBe(true);
  });

  test.each([
    'amq.default', 'amq.direct', 'amq.topic', 'amq.gen-abc', 'other', 'xcelery', 'celeryx', 'celery.pidboxes',
    'c.rep', '',
  ])('configure and read refuse %j', (name) => {
    expect(allows(defaults.configure, name)).toBe(false);
    expect(allows(defaults.read, name)).toBe(false);
  });

  test('write adds only the default exchange (publishing straight to a queue)', () => {
    expect(allows(defaults.write, 'amq.default')).toBe(true);
    expect(allows(defaults.write, 'amq.direct')).toBe(false);
    expect(allows(defaults.write, 'other')).toBe(false);
  });

  test('remote control off: no pidbox or event resources', () => {
    const p = CeleryPermissions.forApplication({ enableRemoteControl: false, taskQueues: ['high', 'low.io'] });
    for (const name of ['celery.pidbox', 'reply.celery.pidbox', 'celeryev', 'w@h.celery.pidbox', 'celeryev.x', 'celery']) {
      expect([name, allows(p.configure, name), allows(p.read, name)]).toEqual([name, false, false]);
    }
    expect(allows(p.configure, 'high')).toBe(true);
    expect(allows(p.read, 'low.io')).toBe(true);
    // The dot in a queue name is literal.
    expect(allows(p.read, 'lowxio')).toBe(false);
    expect(p.configure).toBe('^(high|low\\.io|celery_delayed_[0-9]+|celery_delayed_delivery)$');
  });

  test('rpc result backend: UUID reply queues only when asked for', () => {
    const uuid = '3f2c1b7e-8d1a-4c3e-9b1f-0a2b3c4d5e6f';
    expect(allows(defaults.configure, uuid)).toBe(false);
    const rpc = CeleryPermissions.forApplication({ enableRpcResultBackend: true });
    expect(allows(rpc.configure, uuid)).toBe(true);
    expect(allows(rpc.read, uuid)).toBe(true);
    expect(allows(rpc.read, `${uuid}x`)).toBe(false);
  });

  test('deadLetterQueue: read only (consume and purge), never configure or write', () => {
    const p = CeleryPermissions.forApplication({ deadLetterQueue: 'celery.dead-letter' });
    expect(allows(p.read, 'celery.dead-letter')).toBe(true);
    expect(allows(p.configure, 'celery.dead-letter')).toBe(false);
    expect(allows(p.write, 'celery.dead-letter')).toBe(false);
    // Nothing else changes, and the name is literal.
    expect(p.configure).toBe(defaults.configure);
    expect(p.write).toBe(defaults.write);
    expect(p.read).toBe(defaults.read.replace(/\)\$$/, '|celery\\.dead-letter)$'));
    expect(allows(p.read, 'celeryxdead-letter')).toBe(false);
    expect(allows(p.read, 'celery.dead-letter.exchange')).toBe(false);
  });

  test.each([
    [{ deadLetterQueue: 'celery' }, 'deadLetterQueue: "celery" is one of Celery\'s own names, which the application may declare and delete'],
    [{ deadLetterQueue: 'orders', taskQueues: ['orders'] }, 'deadLetterQueue: "orders" is one of Celery\'s own names'],
    [{ deadLetterQueue: 'celeryev.dead' }, 'deadLetterQueue: "celeryev.dead" is one of Celery\'s own names'],
    [{ deadLetterQueue: 'dead letters' }, 'deadLetterQueue: "dead letters" is not a queue name this library accepts'],
    [{ deadLetterQueue: 'amq.dead' }, 'deadLetterQueue: "amq.dead" is not a queue name this library accepts'],
  ])('invalid dead-letter queue %j', (options, message) => {
    expect(() => CeleryPermissions.forApplication(options)).toThrow(message);
  });

  test.each([
    [{ taskQueues: [] }, 'taskQueues: [] is not allowed'],
    [{ taskQueues: ['a b'] }, 'taskQueues: "a b" is not a queue name this library accepts'],
    [{ taskQueues: ['amq.x'] }, 'taskQueues: "amq.x" is not a queue name this library accepts'],
    [{ taskQueues: ['q(1)'] }, 'taskQueues: "q(1)" is not a queue name'],
  ])('invalid %j', (options, message) => {
    expect(() => CeleryPermissions.forApplication(options)).toThrow(message);
  });
});
