import { App, Errors, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { BrokerMonitoringUser, CeleryBrokerAccess } from '../../src/access';
import { RabbitMqBroker } from '../../src/broker';
import { CeleryCredentials, CeleryPlatform } from '../../src/patterns';
import { WorkerCode } from '../../src/workers';
import { ENV, importedBroker, stackWithBroker } from '../broker/broker-fixture';

/* Issue 11, the application user: names Amazon MQ or the handler would refuse at deploy, refused at synth. */

describe('application usernames', () => {
  test.each([
    ['guest (Amazon MQ refuses it)', 'guest', /^username: "guest" is not allowed; Amazon MQ refuses the name "guest"/],
    ['the broker\'s administrator', 'admin', /^username: "admin" is the administrator of the broker WorkerStack\/Broker; the application user must be another user/],
  ])('%s', (_name, username, message) => {
    const { stack, vpc, broker } = stackWithBroker('WorkerStack');
    let error: any;
    try {
      new CeleryBrokerAccess(stack, 'Access', { broker, vpc, username });
    } catch (e) {
      error = e;
    }
    expect(error?.message).toMatch(message);
    expect(Errors.isValidationError(error)).toBe(true);
    expect(error.constructPath).toBe('WorkerStack/Access');
  });

  test('the administrator\'s name is only known when the broker generated the secret', () => {
    const { stack, vpc } = stackWithBroker('WorkerStack');
    const broker = new RabbitMqBroker(stack, 'Given', { vpc, credentials: secretsmanager.Secret.fromSecretNameV2(stack, 'S', 'admin-secret') });
    expect(broker.adminUsername).toBeUndefined();
    // The handler checks it at deploy time instead.
    expect(() => new CeleryBrokerAccess(stack, 'Access', { broker, vpc, username: 'admin' })).not.toThrow();
  });

  test('two CeleryBrokerAccess with one username on one broker fail at synth (each would reset the other\'s password)', () => {
    const { app, stack, vpc, broker } = stackWithBroker('WorkerStack');
    new CeleryBrokerAccess(stack, 'First', { broker, vpc, vhost: 'a' });
    new CeleryBrokerAccess(stack, 'Second', { broker, vpc, vhost: 'b' });
    expect(() => app.synth()).toThrow(/username: "celery" is also the user of WorkerStack\/First on the same broker WorkerStack\/Broker; each would reset the other's password/);
  });

  test('the same broker imported twice, in two stacks of one environment, is the same broker', () => {
    const app = new App();
    const [a, b] = ['A', 'B'].map((id) => {
      const stack = new Stack(app, id, { env: ENV });
      const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
      const adminCredentials = secretsmanager.Secret.fromSecretNameV2(stack, 'Admin', 'admin');
      return new CeleryBrokerAccess(stack, 'Access', { broker: importedBroker(stack), vpc, adminCredentials });
    });
    expect(a.username).toBe(b.username);
    expect(() => app.synth()).toThrow(/username: "celery" is also the user of (A|B)\/Access on the same broker/);
  });

  test('distinct usernames, or brokers in other accounts, pass', () => {
    const { app, stack, vpc, broker } = stackWithBroker('WorkerStack');
    new CeleryBrokerAccess(stack, 'First', { broker, vpc });
    new CeleryBrokerAccess(stack, 'Second', { broker, vpc, username: 'billing', vhost: 'billing' });
    const other = new Stack(app, 'Other', { env: { account: '210987654321', region: ENV.region } });
    new CeleryBrokerAccess(other, 'Access', {
      broker: importedBroker(other),
      vpc: new ec2.Vpc(other, 'Vpc', { maxAzs: 2, natGateways: 1 }),
      adminCredentials: secretsmanager.Secret.fromSecretNameV2(other, 'Admin', 'admin'),
    });
    expect(() => app.synth()).not.toThrow();
  });
});

describe('the read-only monitoring user (BrokerMonitoringUser, made by the metrics publisher)', () => {
  function monitoringUserError(username: string, withBrokerSecret: boolean): any {
    const { stack, vpc, broker } = stackWithBroker('WorkerStack');
    try {
      // The metrics publisher passes the broker's own secret explicitly.
      new BrokerMonitoringUser(stack, 'Monitoring', { broker, vpc, username, adminCredentials: withBrokerSecret ? broker.credentials : undefined });
    } catch (e) {
      return e;
    }
    return undefined;
  }

  test.each([true, false])('may not be the broker\'s administrator (its tags would become "monitoring"), admin secret given: %s', (withBrokerSecret) => {
    const error = monitoringUserError('admin', withBrokerSecret);
    expect(error?.message).toMatch(/^username: "admin" is the administrator of the broker WorkerStack\/Broker; the monitoring user must be another user/);
    expect(error.constructPath).toBe('WorkerStack/Monitoring');
  });

  test('may not be guest', () => {
    expect(monitoringUserError('guest', false)?.message).toMatch(/^username: "guest" is not allowed; Amazon MQ refuses/);
  });

  test('may not be the application user of the same broker (each resource would reset the other\'s password, tags and permissions)', () => {
    const { app, stack, vpc, broker } = stackWithBroker('WorkerStack');
    new CeleryBrokerAccess(stack, 'Access', { broker, vpc, username: 'celery' });
    new BrokerMonitoringUser(stack, 'Monitoring', { broker, vpc, username: 'celery', vhost: 'celery' });
    expect(() => app.synth()).toThrow(/username: "celery" is also the monitoring user of WorkerStack\/Monitoring on the same broker WorkerStack\/Broker; each would reset the other's password, tags and permissions/);
  });

  test('in a platform: an application username equal to the monitoring username fails at synth', () => {
    const { app, stack, vpc, broker } = stackWithBroker('WorkerStack');
    new CeleryPlatform(stack, 'Celery', {
      vpc,
      broker,
      credentials: CeleryCredentials.applicationUser({ username: BrokerMonitoringUser.DEFAULT_USERNAME }),
      fleets: { workers: { app: 'proj', code: WorkerCode.preinstalled({ celeryExecutable: '/opt/app/bin/celery', workingDirectory: '/opt/app' }), queues: ['q'] } },
    });
    expect(() => app.synth()).toThrow(/username: "cdk-celery-monitoring" is also the (monitoring|application) user of WorkerStack\/Celery\//);
  });
});
