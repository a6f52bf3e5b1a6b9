import { App, Lazy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { alarmDestination, topicDisplayName } from '../../src/monitoring/alarm-destination';

/* Where one kind of alarm goes, alone: the user's actions, the user's topic, or a created topic. */

function scope() {
  const stack = new Stack(new App(), 'Stack');
  return { stack, scope: new Construct(stack, 'Monitoring') };
}

const base = { kind: 'paging', topicId: 'PagingTopic', label: 'Celery broker pages', alarmNamePrefix: 'prod-celery' };

test('neither given: a topic is created (TLS only, named after the prefix) and notified', () => {
  const s = scope();
  const destination = alarmDestination(s.scope, base);
  expect(destination.topic).toBeDefined();
  expect(destination.actions).toHaveLength(1);
  Template.fromStack(s.stack).hasResourceProperties('AWS::SNS::Topic', { DisplayName: 'Celery broker pages (prod-celery)' });
  Template.fromStack(s.stack).hasResourceProperties('AWS::SNS::TopicPolicy', {
    PolicyDocument: { Statement: [{ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }] },
  });
});

test('the user\'s topic: notified, nothing created', () => {
  const s = scope();
  const topic = new sns.Topic(s.stack, 'Mine');
  const destination = alarmDestination(s.scope, { ...base, topic });
  expect(destination.topic).toBe(topic);
  Template.fromStack(s.stack).resourceCountIs('AWS::SNS::Topic', 1);
});

test('the user\'s actions: used as given (a copy), no topic', () => {
  const s = scope();
  const action: cloudwatch.IAlarmAction = { bind: () => ({ alarmActionArn: 'arn:aws:ssm-incidents::123456789012:response-plan/x' }) };
  const actions = [action];
  const destination = alarmDestination(s.scope, { ...base, actions });
  expect(destination.topic).toBeUndefined();
  expect(destination.actions).toEqual([action]);
  expect(destination.actions).not.toBe(actions);
  // Nothing created (the stack would be empty, which CloudFormation refuses, so it is not synthesized).
  expect(s.scope.node.children).toHaveLength(0);
});

test('both refused, naming the two props', () => {
  const s = scope();
  const topic = new sns.Topic(s.stack, 'Mine');
  expect(() => alarmDestination(s.scope, { ...base, kind: 'ticketing', topic, actions: [] })).toThrow(
    'ticketingActions and ticketingTopic are both set; set one: ticketingTopic is notified through an SnsAction, ticketingActions replace it '
    + '[construct: Stack/Monitoring]');
});

test('display names stay within SNS\'s 100 characters; a token prefix is left alone', () => {
  expect(topicDisplayName('Celery broker pages', 'p'.repeat(79))).toHaveLength(100);
  const long = topicDisplayName('Celery broker pages', 'p'.repeat(80));
  expect(long).toHaveLength(100);
  expect(long.endsWith('p...)')).toBe(true);
  const token = Lazy.string({ produce: () => 'p'.repeat(200) });
  expect(topicDisplayName('Celery broker pages', token)).toBe(`Celery broker pages (${token})`);
});
