import { Template } from 'aws-cdk-lib/assertions';
import { CeleryBrokerAccess, CeleryBrokerAccessProps, CeleryPermissions } from '../../src/access';
import { stackWithBroker } from '../broker/broker-fixture';

// Task queues added after construction (CeleryPlatform.addFleet does this) reach the custom
// resource, because its permissions are rendered at synth. The broker is RabbitMQ 4.2 (the
// default), so the user may also read the dead-letter queue.

const DEAD_LETTER = { deadLetterQueue: 'celery.dead-letter' };

function build(props: Partial<CeleryBrokerAccessProps> = {}) {
  const { stack, vpc, broker } = stackWithBroker('Stack');
  const access = new CeleryBrokerAccess(stack, 'Access', { broker, vpc, ...props });
  const rendered = () => Template.fromStack(stack).findResources('Custom::CeleryBrokerUser');
  const properties = () => (Object.values(rendered())[0] as any).Properties;
  return { access, properties };
}

describe('CeleryBrokerAccess task queues', () => {
  test('without taskQueues the user gets the default "celery" queue', () => {
    const { access, properties } = build();
    expect(access.taskQueues).toEqual(['celery']);
    expect(properties().Read).toBe(CeleryPermissions.forApplication({ taskQueues: ['celery'], ...DEAD_LETTER }).read);
  });

  test('addTaskQueues replaces the default and reaches the rendered permissions', () => {
    const { access, properties } = build();
    access.addTaskQueues('orders', 'reports');
    expect(access.taskQueues).toEqual(['orders', 'reports']);
    const expected = CeleryPermissions.forApplication({ taskQueues: ['orders', 'reports'], ...DEAD_LETTER });
    expect(properties()).toMatchObject({ Configure: expected.configure, Write: expected.write, Read: expected.read });
    expect(properties().Read).not.toMatch(/\bcelery\|/);
  });

  test('addTaskQueues appends to taskQueues, ignores names already there, and keeps the other options', () => {
    const { access, properties } = build({ taskQueues: ['orders'], enableRpcResultBackend: true, enableRemoteControl: false });
    access.addTaskQueues('orders', 'late');
    access.addTaskQueues();
    expect(access.taskQueues).toEqual(['orders', 'late']);
    const expected = CeleryPermissions.forApplication({ taskQueues: ['orders', 'late'], enableRpcResultBackend: true, enableRemoteControl: false, ...DEAD_LETTER });
    expect(access.permissions).toEqual(expected);
    expect(properties().Configure).toBe(expected.configure);
  });

  test('addTaskQueues refuses names taskQueues refuses, with the same message', () => {
    const { access } = build();
    expect(() => access.addTaskQueues('amq.orders')).toThrow('taskQueues: "amq.orders" is not a queue name this library accepts');
    expect(() => access.addTaskQueues('has space')).toThrow('taskQueues: "has space" is not a queue name');
    expect(access.taskQueues).toEqual(['celery']);
  });
});
