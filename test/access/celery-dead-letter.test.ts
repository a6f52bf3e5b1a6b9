import {
  DEAD_LETTER_EXCHANGE, DEAD_LETTER_QUEUE, deadLetterPolicy, deadLetterQueueArguments, deliveryLimitError, exactNamesPattern,
  reservedQueueNameError,
} from '../../src/access/celery-dead-letter';

// The pure rules both the construct and the broker-user handler use. What RabbitMQ does with them
// is shown against real brokers in broker-user-rabbitmq.e2e.test.ts and poison-task-rabbitmq.e2e.test.ts.

describe('dead-letter rules', () => {
  test('the policy: delivery limit, dead-letter exchange, at-least-once, on quorum queues only', () => {
    expect(deadLetterPolicy('^(orders)$', 5)).toEqual({
      'pattern': '^(orders)$',
      'apply-to': 'quorum_queues',
      'priority': 10,
      'definition': {
        'dead-letter-exchange': DEAD_LETTER_EXCHANGE,
        'delivery-limit': 5,
        'dead-letter-strategy': 'at-least-once',
        'overflow': 'reject-publish',
      },
    });
    expect(deadLetterPolicy('^(orders)$', 3, 'queues')['apply-to']).toBe('queues');
  });

  test('the dead-letter exchange is not the queue (read permission on an exchange allows binding from it)', () => {
    expect(DEAD_LETTER_EXCHANGE).not.toBe(DEAD_LETTER_QUEUE);
  });

  test.each([
    ['4.0.5', { 'x-queue-type': 'quorum', 'x-delivery-limit': -1 }],
    ['4.2.1', { 'x-queue-type': 'quorum', 'x-delivery-limit': -1 }],
    ['10.0.0', { 'x-queue-type': 'quorum', 'x-delivery-limit': -1 }],
    // RabbitMQ 3 drops a message on its first return with -1 (measured on 3.10.8); it has no default limit.
    ['3.13.7', { 'x-queue-type': 'quorum' }],
    ['3.10.8', { 'x-queue-type': 'quorum' }],
    [undefined, { 'x-queue-type': 'quorum' }],
    ['', { 'x-queue-type': 'quorum' }],
    ['garbage', { 'x-queue-type': 'quorum' }],
  ])('dead-letter queue arguments on RabbitMQ %j', (version, args) => {
    expect(deadLetterQueueArguments(version)).toEqual(args);
  });

  test('the pattern matches exactly the names, dots literal', () => {
    const pattern = new RegExp(exactNamesPattern(['orders', 'low.io']));
    expect(['orders', 'low.io'].map((n) => pattern.test(n))).toEqual([true, true]);
    expect(['orders2', 'xorders', 'lowxio', 'celery.dead-letter', ''].map((n) => pattern.test(n))).toEqual([false, false, false, false, false]);
  });

  test.each([1, 5, 1000])('delivery limit %j is allowed', (limit) => {
    expect(deliveryLimitError('deliveryLimit', limit)).toBeUndefined();
  });

  test.each([0, -1, 1001, 2.5, NaN, Infinity])('delivery limit %j is refused, naming the prop and the range', (limit) => {
    expect(deliveryLimitError('deliveryLimit', limit)).toMatch(/^deliveryLimit: .* is not allowed; use a whole number of redeliveries from 1 to 1000/);
  });

  test('the dead-letter names are reserved', () => {
    expect(reservedQueueNameError('taskQueues', 'celery.dead-letter')).toMatch(/^taskQueues: "celery.dead-letter" is reserved for the dead-letter queue/);
    expect(reservedQueueNameError('taskQueues', 'celery.dead-letter.exchange')).toMatch(/is reserved for the dead-letter exchange/);
    expect(reservedQueueNameError('taskQueues', 'celery')).toBeUndefined();
  });
});
