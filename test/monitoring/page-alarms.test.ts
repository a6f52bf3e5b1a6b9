import { App, Lazy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { dashboardName } from '../../src/monitoring/monitoring-dashboard';
import { incidentRule } from '../../src/monitoring/page-alarms';

/* The incident page's rule alone: the mingle incident's signature, never half of it. */

function alarms(...ids: string[]) {
  const stack = new Stack(new App(), 'Stack');
  const metric = new cloudwatch.Metric({ namespace: 'Test', metricName: 'Things' });
  const made = ids.map(id => new cloudwatch.Alarm(stack, id, { alarmName: id, metric, threshold: 1, evaluationPeriods: 1 }));
  // The rule with each alarm's ARN written as its logical id.
  const rule = (r: cloudwatch.IAlarmRule): string => {
    const resolved = stack.resolve(r.renderAlarmRule());
    if (typeof resolved === 'string') return resolved;
    return (resolved['Fn::Join'][1] as Array<string | { 'Fn::GetAtt': [string, string] }>)
      .map(part => typeof part === 'string' ? part : part['Fn::GetAtt'][0].replace(/[0-9A-F]{8}$/, ''))
      .join('');
  };
  return { made, rule };
}

test('(ingress OR any network-out) AND (any restarts OR connection storm)', () => {
  const { made: [ingress, outA, outB, restartsA, storm], rule } = alarms('ingress', 'outA', 'outB', 'restartsA', 'storm');
  expect(rule(incidentRule({
    brokerIngressAlarm: ingress,
    fleetNetworkOutAlarms: [outA, outB],
    fleetWorkerRestartsAlarms: [restartsA, undefined],
    connectionStormAlarm: storm,
  }))).toBe('((ALARM("ingress") OR ALARM("outA") OR ALARM("outB")) AND (ALARM("restartsA") OR ALARM("storm")))');
});

test('a side with every alarm switched off is FALSE, so the page cannot fire on the other side alone', () => {
  const { made: [storm], rule } = alarms('storm');
  expect(rule(incidentRule({ fleetNetworkOutAlarms: [undefined], fleetWorkerRestartsAlarms: [], connectionStormAlarm: storm })))
    .toBe('(FALSE AND (ALARM("storm")))');
});

describe('dashboardName', () => {
  test('the given name, else the alarm name prefix', () => {
    expect(dashboardName('ops_board-1', 'prefix')).toBe('ops_board-1');
    expect(dashboardName(undefined, 'prod-celery')).toBe('prod-celery');
    expect(dashboardName(undefined, 'p'.repeat(255))).toHaveLength(255);
  });

  test('refused: spaces, dots, more than 255 characters; the message says which prop', () => {
    expect(() => dashboardName('my dashboard', 'x')).toThrow('dashboardName: "my dashboard" is not a dashboard name CloudWatch accepts; use 1 to 255 letters, digits, - and _.');
    expect(() => dashboardName(undefined, 'prod.celery')).toThrow(/^alarmNamePrefix \(the default dashboardName\): "prod.celery"/);
    expect(() => dashboardName('d'.repeat(256), 'x')).toThrow(/is not a dashboard name/);
  });

  test('a token is left to CloudFormation', () => {
    const token = Lazy.string({ produce: () => 'not valid' });
    expect(dashboardName(token, 'x')).toBe(token);
  });
});
