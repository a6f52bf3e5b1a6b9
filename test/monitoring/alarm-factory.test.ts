import { App, Lazy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cw_actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { AlarmFactory, AlarmFactoryProps, AlarmSpec } from '../../src/monitoring/alarm-factory';
import { AlarmRoute } from '../../src/monitoring/alarm-route';

/* The alarm factory alone: names, overrides, routes and ordering, without a broker or a fleet. */

function setup(props: Partial<AlarmFactoryProps> = {}) {
  const stack = new Stack(new App(), 'Stack');
  const scope = new Construct(stack, 'Monitoring');
  const paging = new sns.Topic(stack, 'Paging');
  const ticketing = new sns.Topic(stack, 'Ticketing');
  const factory = new AlarmFactory(scope, {
    alarmNamePrefix: 'prod-celery',
    pagingActions: [new cw_actions.SnsAction(paging)],
    ticketingActions: [new cw_actions.SnsAction(ticketing)],
    notifyOnOk: true,
    ...props,
  });
  return { stack, scope, factory, paging, ticketing };
}

function spec(overrides: Partial<AlarmSpec> = {}): AlarmSpec {
  return {
    id: 'TestAlarm',
    nameSuffix: 'test',
    metric: new cloudwatch.Metric({ namespace: 'Test', metricName: 'Things' }),
    threshold: 10,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 3,
    datapointsToAlarm: 2,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    route: AlarmRoute.TICKET,
    periodMinutes: 1,
    description: (threshold) => `more than ${threshold} things`,
    ...overrides,
  };
}

describe('AlarmFactory.metricAlarm', () => {
  test('the spec as given: name <prefix>-<suffix>, its periods, the description with the threshold, ticket actions on ALARM and OK', () => {
    const { stack, factory, ticketing } = setup();
    factory.metricAlarm(undefined, spec());
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'prod-celery-test',
      AlarmDescription: 'more than 10 things',
      Threshold: 10,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
      AlarmActions: [stack.resolve(ticketing.topicArn)],
      OKActions: [stack.resolve(ticketing.topicArn)],
    });
  });

  test('a lazy threshold is resolved into the description', () => {
    const { stack, factory } = setup();
    factory.metricAlarm(undefined, spec({ threshold: Lazy.number({ produce: () => 42 }) }));
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', { Threshold: 42, AlarmDescription: 'more than 42 things' });
  });

  test('an override wins: threshold, route; periods alone mean all of them', () => {
    const { stack, factory, paging } = setup();
    factory.metricAlarm({ threshold: 5, evaluationPeriods: 4, route: AlarmRoute.PAGE }, spec());
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 5,
      AlarmDescription: 'more than 5 things',
      EvaluationPeriods: 4,
      DatapointsToAlarm: 4,
      AlarmActions: [stack.resolve(paging.topicArn)],
    });
  });

  test('a disabled override creates nothing', () => {
    const { stack, factory } = setup();
    expect(factory.metricAlarm({ enabled: false }, spec())).toBeUndefined();
    Template.fromStack(stack).resourceCountIs('AWS::CloudWatch::Alarm', 0);
  });

  test('route NONE: no actions; notifyOnOk false: ALARM actions only', () => {
    const quiet = setup();
    quiet.factory.metricAlarm(undefined, spec({ route: AlarmRoute.NONE }));
    const none = Template.fromStack(quiet.stack).findResources('AWS::CloudWatch::Alarm');
    expect(Object.values(none)[0].Properties.AlarmActions).toBeUndefined();
    expect(Object.values(none)[0].Properties.OKActions).toBeUndefined();

    const noOk = setup({ notifyOnOk: false });
    noOk.factory.metricAlarm(undefined, spec());
    const alarm = Object.values(Template.fromStack(noOk.stack).findResources('AWS::CloudWatch::Alarm'))[0];
    expect(alarm.Properties.AlarmActions).toHaveLength(1);
    expect(alarm.Properties.OKActions).toBeUndefined();
  });

  test.each([
    [{ datapointsToAlarm: 4 }, 'alarms (test): datapointsToAlarm 4 is more than evaluationPeriods 3; use at most 3 [construct: Stack/Monitoring]'],
    [{ evaluationPeriods: 1441 }, 'alarms (test): evaluationPeriods 1441 of 1 minute(s) is more than a day, which CloudWatch refuses; use at most 1440 [construct: Stack/Monitoring]'],
  ])('refused: override %j', (override, message) => {
    const { factory } = setup();
    expect(() => factory.metricAlarm(override, spec())).toThrow(message);
  });

  test('the day is counted in the metric\'s periods: 289 periods of 5 minutes are refused, 288 are not', () => {
    const { factory } = setup();
    expect(() => factory.metricAlarm({ evaluationPeriods: 289 }, spec({ id: 'A', periodMinutes: 5 }))).toThrow(/use at most 288/);
    expect(factory.metricAlarm({ evaluationPeriods: 288 }, spec({ id: 'B', periodMinutes: 5 }))).toBeDefined();
  });

  test('token periods are left to CloudFormation', () => {
    const { factory } = setup();
    expect(factory.metricAlarm({ evaluationPeriods: Lazy.number({ produce: () => 5000 }) }, spec())).toBeDefined();
  });
});

describe('AlarmFactory.alarmName', () => {
  test('at most 255 characters, with the longest prefix this alarm allows', () => {
    const { factory } = setup({ alarmNamePrefix: 'p'.repeat(250) });
    expect(factory.alarmName('abcd')).toHaveLength(255);
    expect(() => factory.alarmName('abcde')).toThrow('alarmNamePrefix: the alarm name "' + 'p'.repeat(250) + '-abcde" has 256 characters; '
      + 'CloudWatch allows 255. Use an alarmNamePrefix of at most 249 characters for this alarm (or shorter fleet names). [construct: Stack/Monitoring]');
  });

  test('a token prefix is not measured', () => {
    const { factory } = setup({ alarmNamePrefix: Lazy.string({ produce: () => 'x'.repeat(300) }) });
    expect(() => factory.alarmName('test')).not.toThrow();
  });
});

describe('AlarmFactory.orderAfterBroker', () => {
  test('after the broker resource of the same stack; nothing across stacks', () => {
    const app = new App();
    const brokerStack = new Stack(app, 'Broker');
    const broker = new sns.Topic(brokerStack, 'StandsForTheBroker');
    const same = new Stack(app, 'Same');
    const sameBroker = new sns.Topic(same, 'StandsForTheBroker');
    const sameFactory = new AlarmFactory(new Construct(same, 'Monitoring'), {
      alarmNamePrefix: 'p', pagingActions: [], ticketingActions: [], notifyOnOk: true, brokerResource: sameBroker.node.defaultChild,
    });
    sameFactory.metricAlarm(undefined, spec());

    const other = new Stack(app, 'Other');
    const otherFactory = new AlarmFactory(new Construct(other, 'Monitoring'), {
      alarmNamePrefix: 'p', pagingActions: [], ticketingActions: [], notifyOnOk: true, brokerResource: broker.node.defaultChild,
    });
    otherFactory.metricAlarm(undefined, spec());
    Template.fromStack(same).hasResource('AWS::CloudWatch::Alarm', { DependsOn: [Match.stringLikeRegexp('^StandsForTheBroker')] });
    Template.fromStack(other).hasResource('AWS::CloudWatch::Alarm', { DependsOn: Match.absent() });
    // Not even a stack dependency: the broker's stack may already depend on this one.
    expect(other.dependencies).not.toContain(brokerStack);
  });
});
