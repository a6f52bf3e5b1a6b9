import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { compileExpression, evaluateRule, nextState, parseAlarms, replay } from './alarm-evaluator';

const base = { comparison: 'GreaterThanThreshold', threshold: 10, datapointsToAlarm: 2 };

describe('nextState: M out of N with missing-data treatment', () => {
  test.each([
    // window (oldest first), treatment, current, expected
    [[11, 5, 12], 'missing', 'OK', 'ALARM'],
    [[11, 5, 9], 'missing', 'ALARM', 'OK'],
    [[undefined, 11, undefined], 'breaching', 'OK', 'ALARM'],
    [[undefined, 11, undefined], 'notBreaching', 'OK', 'OK'],
    [[undefined, 11, undefined], 'missing', 'OK', 'OK'],
    [[undefined, undefined, undefined], 'missing', 'ALARM', 'INSUFFICIENT_DATA'],
    [[undefined, undefined, undefined], 'ignore', 'ALARM', 'ALARM'],
    [[undefined, undefined, undefined], 'breaching', 'OK', 'ALARM'],
    [[undefined, undefined, undefined], 'notBreaching', 'ALARM', 'OK'],
    [[10, 10, 10], 'missing', 'OK', 'OK'], // GreaterThan: equal does not breach
  ] as const)('%j %s (was %s) -> %s', (window, treatMissingData, current, expected) => {
    expect(nextState({ ...base, treatMissingData }, [...window], current)).toBe(expected);
  });

  test('GreaterThanOrEqual and LessThan comparisons', () => {
    expect(nextState({ ...base, comparison: 'GreaterThanOrEqualToThreshold', datapointsToAlarm: 1, treatMissingData: 'missing' }, [10], 'OK')).toBe('ALARM');
    expect(nextState({ ...base, comparison: 'LessThanThreshold', datapointsToAlarm: 1, treatMissingData: 'missing' }, [9], 'OK')).toBe('ALARM');
    expect(nextState({ ...base, comparison: 'LessThanThreshold', datapointsToAlarm: 1, treatMissingData: 'missing' }, [10], 'ALARM')).toBe('OK');
  });
});

describe('metric math subset', () => {
  test.each([
    ['100 * used / memLimit', { used: 1, memLimit: 4 }, 25],
    ['IF(consumers == 0 AND ready > 0, 1, 0)', { consumers: 0, ready: 5 }, 1],
    ['IF(consumers == 0 AND ready > 0, 1, 0)', { consumers: 0, ready: 0 }, 0],
    ['IF(consumers == 0 AND ready > 0, 1, 0)', { consumers: 3, ready: 5 }, 0],
    ['IF(a > 1 || NOT b, 7, -2)', { a: 0, b: 1 }, -2],
    ['(a + b) * 2 - 1', { a: 1, b: 2 }, 5],
  ])('%s with %j = %d', (expression, vars, expected) => {
    expect(compileExpression(expression).evaluate(vars)).toBe(expected);
  });

  test('reports what it does not implement', () => {
    expect(() => compileExpression('ANOMALY_DETECTION_BAND(m1, 2)')).toThrow(/unsupported metric math function ANOMALY_DETECTION_BAND/);
    expect(() => compileExpression('a ^ 2')).toThrow(/cannot tokenize/);
  });
});

describe('composite rules', () => {
  const states = { A: 'ALARM', B: 'OK', C: 'INSUFFICIENT_DATA' } as const;
  test.each([
    ['(ALARM("A") AND (ALARM("B") OR ALARM("C")))', false],
    ['(ALARM("A") AND (ALARM("B") OR INSUFFICIENT_DATA("C")))', true],
    ['NOT ALARM("B") AND OK("B")', true],
    ['FALSE OR ALARM("A")', true],
  ])('%s = %s', (rule, expected) => {
    expect(evaluateRule(rule, { ...states })).toBe(expected);
  });
  test('unknown alarm names are an error, not false', () => {
    expect(() => evaluateRule('ALARM("Z")', { ...states })).toThrow(/unknown alarm Z/);
  });
});

describe('replay of a synthesized alarm', () => {
  function template() {
    const stack = new Stack(new App(), 'S');
    const metric = new cloudwatch.Metric({ namespace: 'N', metricName: 'M', dimensionsMap: { D: 'x' }, period: Duration.minutes(5), statistic: 'Sum' });
    const a = new cloudwatch.Alarm(stack, 'A', { metric, threshold: 100, evaluationPeriods: 2, datapointsToAlarm: 2, treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING });
    new cloudwatch.CompositeAlarm(stack, 'C', { alarmRule: cloudwatch.AlarmRule.fromAlarm(a, cloudwatch.AlarmState.ALARM) });
    return Template.fromStack(stack).toJSON() as any;
  }

  test('aggregates minutes into periods with the statistic, and fires after M of N periods', () => {
    const parsed = parseAlarms(template());
    // 30 per minute = 150 per 5-minute period (over 100) from minute 10 on.
    const series = Array.from({ length: 30 }, (_, m) => (m >= 10 ? 30 : 1));
    const r = replay(parsed, id => (id.metricName === 'M' && id.dimensions.D === 'x' ? series : undefined), 30);
    const alarmId = parsed.metricAlarms[0].logicalId;
    // Periods [10,15) and [15,20) breach: ALARM when the second ends, at minute 20.
    expect(r.firstAlarm(alarmId)).toBe(20);
    expect(r.firstAlarm(parsed.compositeAlarms[0].logicalId)).toBe(20);
    expect(r.states[alarmId][9]).toBe('OK');
  });

  test('a metric with no data at all is missing (here not breaching)', () => {
    const parsed = parseAlarms(template());
    const r = replay(parsed, () => undefined, 30);
    expect(r.fired()).toEqual([]);
  });

  test('anomaly-detection alarms are reported as unsupported', () => {
    const stack = new Stack(new App(), 'S');
    new cloudwatch.AnomalyDetectionAlarm(stack, 'Band', {
      metric: new cloudwatch.Metric({ namespace: 'N', metricName: 'M' }),
      evaluationPeriods: 1,
    });
    const parsed = parseAlarms(Template.fromStack(stack).toJSON() as any);
    expect(parsed.metricAlarms).toEqual([]);
    expect(Object.values(parsed.unsupported)).toEqual([expect.stringMatching(/anomaly-detection band/)]);
  });
});
