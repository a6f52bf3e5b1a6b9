import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { buildPlatform, ENV, fleetOptions } from './platform-fixture';
import { RabbitMqBroker, RabbitMqEngineVersion, RabbitMqInstanceType } from '../../src/broker';
import { CeleryCredentials, CeleryPlatform, CeleryPlatformProps } from '../../src/patterns';
import { importedBroker as importBroker } from '../broker/broker-fixture';

/** Props built in the stack (for imported brokers and secrets), merged over the two default fleets. */
type PropsOf = (stack: Stack, vpc: ec2.Vpc) => Partial<CeleryPlatformProps>;

const importedBroker = (withCredentials: boolean): PropsOf => (stack) => ({
  broker: importBroker(stack, {
    brokerName: 'shared',
    credentials: withCredentials ? secretsmanager.Secret.fromSecretNameV2(stack, 'Admin', 'mq/admin') : undefined,
  }, 'Imported'),
});

describe('invalid input fails at synth, naming the prop, the value and what is allowed', () => {
  const cases: Array<[string, PropsOf, string | RegExp]> = [
    ['broker with brokerOptions', (stack) => ({ ...importedBroker(true)(stack, undefined as never), brokerOptions: { instanceType: RabbitMqInstanceType.M7G_XLARGE } }),
      'brokerOptions: { instanceType } is not allowed with broker (Stack/Imported)'],
    ['fleet name starting with a digit', () => ({ fleets: { '1st': fleetOptions('a') } }), 'fleets: the name "1st" is not allowed; use 1 to 32 letters, digits, _ and -, starting with a letter'],
    ['empty fleet name', () => ({ fleets: { '': fleetOptions('a') } }), 'fleets: the name "" is not allowed'],
    ['fleet name with a slash', () => ({ fleets: { 'a/b': fleetOptions('a') } }), 'fleets: the name "a/b" is not allowed'],
    ['fleet name with a space', () => ({ fleets: { 'long tasks': fleetOptions('a') } }), 'fleets: the name "long tasks" is not allowed'],
    ['fleet name of 33 characters', () => ({ fleets: { ['f'.repeat(33)]: fleetOptions('a') } }), `fleets: the name "${'f'.repeat(33)}" is not allowed`],
    ['fleet names differing in case only', () => ({ fleets: { orders: fleetOptions('a'), Orders: fleetOptions('b') } }),
      'fleets: the name "Orders" is not allowed; Stack/Celery already has a fleet named "orders"'],
    ['backlogScaling with enableBacklogScaling: false', () => ({ fleets: { a: fleetOptions('a', { enableBacklogScaling: false, backlogScaling: { scaleOutThreshold: 5 } }) } }),
      'fleets.a.backlogScaling: { scaleOutThreshold } is not allowed with enableBacklogScaling: false'],
    ['scaleOnQueueMetrics on RabbitMQ 4.2 without the metrics publisher', () => ({ scaleOnQueueMetrics: true, monitoringOptions: { enableMetricsPublisher: false } }),
      'scaleOnQueueMetrics: true is not allowed with engine version 4.2 and no queue metrics; RabbitMQ 4.x brokers publish none'],
    ['imported broker without admin credentials, application user by default', importedBroker(false),
      'credentials: CeleryCredentials.applicationUser() without adminCredentials is not allowed when the broker (Stack/Imported) has no credentials'],
    ['imported broker without admin credentials, application user given', (stack, vpc) => ({ ...importedBroker(false)(stack, vpc), credentials: CeleryCredentials.applicationUser({ vhost: 'shop' }) }),
      'credentials: CeleryCredentials.applicationUser() without adminCredentials is not allowed when the broker (Stack/Imported) has no credentials'],
    ['imported broker without admin credentials, broker administrator', (stack, vpc) => ({ ...importedBroker(false)(stack, vpc), credentials: CeleryCredentials.brokerAdministrator() }),
      'credentials: CeleryCredentials.brokerAdministrator() is not allowed when the broker (Stack/Imported) has no credentials'],
    ['remote control on in a fleet, off for the user', () => ({ credentials: CeleryCredentials.applicationUser({ enableRemoteControl: false }) }),
      'fleets.orders.enableRemoteControl: undefined (true) is not allowed with CeleryCredentials.applicationUser({ enableRemoteControl: false })'],
    ['a fleet option the fleet refuses (named by the fleet)', () => ({ fleets: { a: fleetOptions('a', { minCapacity: 5, maxCapacity: 2 }) } }),
      'minCapacity: 5 is more than maxCapacity (2)'],
    ['a queue name the user permissions refuse', () => ({ fleets: { a: fleetOptions('amq.tasks') } }),
      'taskQueues: "amq.tasks" is not a queue name this library accepts'],
    ['a broker option the broker refuses (named by the broker)', () => ({ brokerOptions: { instanceType: RabbitMqInstanceType.of('mq.t3.micro') } }),
      /^instanceType: mq\.t3\.micro is not allowed/],
  ];

  test.each(cases)('%s', (_name, props, message) => {
    expect(() => buildPlatform(props)).toThrow(message);
  });

  test('the table covers each platform rule', () => {
    expect(cases).toHaveLength(16);
  });
});

describe('addFleet and lookups', () => {
  test('addFleet refuses a name already used, listing nothing secret', () => {
    const { platform } = buildPlatform();
    expect(() => platform.addFleet('orders', fleetOptions('x'))).toThrow('fleets: the name "orders" is not allowed; Stack/Celery already has a fleet named "orders"');
    expect(() => platform.addFleet('REPORTS', fleetOptions('x'))).toThrow('already has a fleet named "reports"');
    expect(platform.fleetNames).toEqual(['orders', 'reports']);
  });

  test('fleet(), fleetAlarms() and backlogScalingPolicy() of an unknown name list the fleets', () => {
    const { platform } = buildPlatform();
    for (const lookup of [() => platform.fleet('emails'), () => platform.fleetAlarms('emails'), () => platform.backlogScalingPolicy('emails')]) {
      expect(lookup).toThrow('fleet: no fleet named "emails" in Stack/Celery; its fleets are "orders", "reports".');
    }
    const empty = buildPlatform({ fleets: {} }).platform;
    expect(() => empty.fleet('x')).toThrow('it has no fleet yet (addFleet)');
  });

  test('remote control off in both the fleet and the user is fine', () => {
    expect(() => buildPlatform({
      credentials: CeleryCredentials.applicationUser({ enableRemoteControl: false }),
      fleets: { quiet: fleetOptions('quiet', { enableRemoteControl: false }) },
    })).not.toThrow();
  });

  test('an imported RabbitMQ 3.x broker may opt in to queue metrics', () => {
    const f = buildPlatform((stack, vpc) => ({ ...importedBroker(true)(stack, vpc), scaleOnQueueMetrics: true }));
    expect(f.platform.scaleOnQueueMetrics).toBe(true);
  });

  test('a created RabbitMQ 3.13 broker scales on queue metrics by default', () => {
    expect(buildPlatform({ brokerOptions: { engineVersion: RabbitMqEngineVersion.V3_13 } }).platform.scaleOnQueueMetrics).toBe(true);
  });
});

describe('warnings', () => {
  const warnings = (stack: Stack) => Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('cdk-celery:'))
    .map((w) => `${w.id}: ${w.entry.data}`);

  test('a queue consumed by two fleets', () => {
    const f = buildPlatform({ fleets: { a: fleetOptions('shared'), b: fleetOptions('x', { queues: ['x', 'shared'] }) } });
    expect(warnings(f.stack)).toEqual([expect.stringMatching(
      /^\/Stack\/Celery\/Fleets\/b: fleets\.b and fleets\.a both consume "shared": they compete for its messages.*cdk-celery:queueSharedByFleets/)]);
  });

  test('a fleet without queues (the platform assumes "celery")', () => {
    const f = buildPlatform({ fleets: { default: fleetOptions('x', { queues: undefined }) } });
    expect(warnings(f.stack)).toEqual([expect.stringMatching(
      /^\/Stack\/Celery\/Fleets\/default: fleets\.default has no queues: .* "celery" .*cdk-celery:fleetWithoutQueues/)]);
    expect(f.platform.access!.taskQueues).toEqual(['celery']);
  });

  test('fleet warnings are the fleet\'s own (for example no timeLimit), under Fleets/<name>', () => {
    const f = buildPlatform({ fleets: { slow: fleetOptions('slow', { timeLimit: undefined }) } });
    expect(warnings(f.stack)).toEqual([expect.stringMatching(/^\/Stack\/Celery\/Fleets\/slow: No timeLimit/)]);
  });
});

describe('platforms sharing one broker', () => {
  function twoOnOneBroker(second: Partial<CeleryPlatformProps> = {}) {
    const app = new App();
    const stack = new Stack(app, 'Stack', { env: ENV });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    const broker = new RabbitMqBroker(stack, 'SharedBroker', { vpc });
    new CeleryPlatform(stack, 'Shop', { vpc, broker, fleets: { orders: fleetOptions('orders') } });
    new CeleryPlatform(stack, 'Billing', { vpc, broker, fleets: { invoices: fleetOptions('invoices') }, ...second });
    return app;
  }

  test('the same application user or alarm names on one broker fail at synth', () => {
    expect(() => twoOnOneBroker().synth()).toThrow(
      /credentials: the application user "celery" is also the application user of Stack\/Shop, on the same broker Stack\/SharedBroker; each would reset the other's password[\s\S]*monitoringUsername: "cdk-celery-monitoring" is also the monitoring user of Stack\/Shop[\s\S]*monitoringOptions\.alarmNamePrefix: "[^"]+-celery" is also used by Stack\/Shop/);
  });

  test('distinct users, vhosts and alarm prefixes pass', () => {
    const app = twoOnOneBroker({
      credentials: CeleryCredentials.applicationUser({ username: 'billing', vhost: 'billing' }),
      monitoringOptions: { alarmNamePrefix: 'billing-celery', metricsPublisherOptions: { monitoringUsername: 'billing-monitoring' } },
    });
    expect(() => app.synth()).not.toThrow();
  });
});
