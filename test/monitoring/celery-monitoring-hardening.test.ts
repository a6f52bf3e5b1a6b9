import { CfnParameter, Errors } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { CeleryMonitoring } from '../../src/monitoring';
import { stackWithBroker } from '../broker/broker-fixture';

/* Issue 11, monitoring: names CloudWatch refuses, and thresholds derived from CloudFormation values. */

function monitoringError(props: Partial<ConstructorParameters<typeof CeleryMonitoring>[2]>, build?: (s: any) => any): any {
  const { stack, broker } = stackWithBroker('Mon');
  try {
    new CeleryMonitoring(stack, 'Monitoring', { broker, ...props, ...(build ? build(stack) : {}) });
  } catch (e) {
    return e;
  }
  return undefined;
}

test('an alarm name over 255 characters fails at synth, naming the prefix and the room left', () => {
  const error = monitoringError({ alarmNamePrefix: 'p'.repeat(250) });
  expect(error?.message).toMatch(/^alarmNamePrefix: the alarm name "p{250}-broker-[a-z-]+" has \d+ characters; CloudWatch allows 255\. Use an alarmNamePrefix of at most \d+ characters/);
  expect(Errors.isValidationError(error)).toBe(true);
  expect(error.constructPath).toBe('Mon/Monitoring');
});

test('a dashboard name CloudWatch refuses fails at synth', () => {
  expect(monitoringError({ dashboardName: 'my dashboard' })?.message).toMatch(/^dashboardName: "my dashboard" is not a dashboard name CloudWatch accepts/);
  expect(monitoringError({ alarmNamePrefix: 'prod celery' })?.message).toMatch(/^alarmNamePrefix \(the default dashboardName\): "prod celery" is not a dashboard name/);
  expect(monitoringError({ alarmNamePrefix: 'prod celery', createDashboard: false })).toBeUndefined();
});

test.each(['ingressBytesPerWorkerPerMinute', 'connectionsPerWorker', 'nonWorkerChannels', 'fleetNetworkOutBytesPerWorkerPerMinute'])(
  'a token %s is refused: other thresholds are computed from it', (name) => {
    const error = monitoringError({}, (s) => ({ thresholds: { [name]: new CfnParameter(s, 'T', { type: 'Number' }).valueAsNumber } }));
    expect(error?.message).toMatch(new RegExp(`^thresholds\\.${name}: a CloudFormation value \\(token\\) is not accepted`));
  });

test.each([['maxConnections', 'maxConnectionsOpenedPerSecond'], ['maxChannels', 'maxChannelsOpenedPerSecond']])(
  'a token %s is refused without %s (the churn threshold is computed from it), and accepted with it', (storm, churn) => {
    const error = monitoringError({}, (s) => ({ thresholds: { [storm]: new CfnParameter(s, 'T', { type: 'Number' }).valueAsNumber } }));
    expect(error?.message).toMatch(new RegExp(`^thresholds\\.${storm}: a CloudFormation value \\(token\\) is only accepted with thresholds\\.${churn}`));
    expect(Errors.isValidationError(error)).toBe(true);
    expect(monitoringError({}, (s) => ({
      thresholds: { [storm]: new CfnParameter(s, 'T', { type: 'Number' }).valueAsNumber, [churn]: new CfnParameter(s, 'C', { type: 'Number' }).valueAsNumber },
    }))).toBeUndefined();
  });

test('a token threshold used as it is stays a token in the alarm', () => {
  const { stack, broker } = stackWithBroker('Mon');
  const memory = new CfnParameter(stack, 'Memory', { type: 'Number' });
  new CeleryMonitoring(stack, 'Monitoring', { broker, thresholds: { memoryUsedPercent: memory.valueAsNumber } });
  Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', Match.objectLike({ Threshold: { Ref: 'Memory' } }));
});
