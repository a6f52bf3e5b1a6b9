import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { evaluateExpression, evaluateRule, MetricIdentity, nextState, parseAlarms, parseInsightsQuery, replay } from './alarm-evaluator';

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
    ['100 * used / memLimit', { used: [1], memLimit: [4] }, [25]],
    ['IF(consumers == 0 AND ready > 0, 1, 0)', { consumers: [0, 0, 3], ready: [5, 0, 5] }, [1, 0, 0]],
    ['IF(a > 1 || NOT b, 7, -2)', { a: [0], b: [1] }, [-2]],
    ['(a + b) * 2 - 1', { a: [1], b: [2] }, [5]],
  ])('%s with %j = %j', (expression, series, expected) => {
    expect(evaluateExpression(expression, series)).toEqual(expected);
  });

  test('an operation on a missing datapoint is missing', () => {
    expect(evaluateExpression('a + b', { a: [1, undefined, 3], b: [1, 1, undefined] })).toEqual([2, undefined, undefined]);
    expect(evaluateExpression('IF(a > 0, b, 0)', { a: [1, 0, undefined], b: [undefined, undefined, 5] })).toEqual([undefined, 0, undefined]);
  });

  test('MAX, MIN, SUM and AVG of an array take the members that have a datapoint', () => {
    const series = { a: [1, undefined, 5, undefined], b: [3, 2, undefined, undefined] };
    expect(evaluateExpression('MAX([a, b])', series)).toEqual([3, 2, 5, undefined]);
    expect(evaluateExpression('MIN([a, b])', series)).toEqual([1, 2, 5, undefined]);
    expect(evaluateExpression('SUM([a, b])', series)).toEqual([4, 2, 5, undefined]);
    expect(evaluateExpression('AVG([a, b])', series)).toEqual([2, 2, 5, undefined]);
    expect(() => evaluateExpression('MAX(a)', series)).toThrow(/over an array/);
  });

  test('FILL fills where another metric of the expression has a datapoint, never from nothing', () => {
    const series = { a: [1, undefined, undefined], b: [undefined, 7, undefined] };
    expect(evaluateExpression('MAX([FILL(a, 0), FILL(b, 0)])', series)).toEqual([1, 7, undefined]);
    expect(evaluateExpression('FILL(a, 0) + FILL(b, 0)', series)).toEqual([1, 7, undefined]);
    expect(evaluateExpression('FILL(a, 0)', { a: [undefined, undefined] })).toEqual([undefined, undefined]);
  });

  test('RATE and DIFF compare with the previous datapoint of the window; RATE is per second', () => {
    const series = { c: [10, 70, undefined, 190, 100] };
    expect(evaluateExpression('DIFF(c)', series)).toEqual([undefined, 60, undefined, 120, -90]);
    expect(evaluateExpression('RATE(c)', series)).toEqual([undefined, 1, undefined, 1, -1.5]);
    expect(evaluateExpression('RATE(c)', series, 300)).toEqual([undefined, 0.2, undefined, 0.2, -0.3]);
  });

  test('reports what it does not implement', () => {
    expect(() => evaluateExpression('ANOMALY_DETECTION_BAND(m1, 2)', { m1: [1] })).toThrow(/unsupported metric math function ANOMALY_DETECTION_BAND/);
    expect(() => evaluateExpression('a ^ 2', { a: [1] })).toThrow(/cannot tokenize/);
    expect(() => evaluateExpression('a + z', { a: [1] })).toThrow(/unknown id z/);
  });
});

describe('Metrics Insights subset', () => {
  test('parses SELECT FUNC(metric) FROM SCHEMA(...) WHERE k = v AND ...', () => {
    expect(parseInsightsQuery('SELECT MAX(SystemCpuUtilization) FROM SCHEMA("AWS/AmazonMQ", Broker, Node) WHERE Broker = \'b-1\'')).toEqual({
      func: 'MAX', metricName: 'SystemCpuUtilization', namespace: 'AWS/AmazonMQ', schemaKeys: ['Broker', 'Node'], where: [['Broker', 'b-1']],
    });
    expect(() => parseInsightsQuery('SELECT MAX(x) FROM SCHEMA("N") GROUP BY y')).toThrow(/unsupported WHERE clause|unsupported Metrics Insights/);
  });

  test('aggregates every series of exactly the schema\'s keys that matches WHERE', () => {
    const stack = new Stack(new App(), 'S');
    const query = new cloudwatch.MathExpression({
      expression: 'SELECT MAX(Cpu) FROM SCHEMA("N", Broker, Node) WHERE Broker = \'b\'',
      period: Duration.minutes(1),
    });
    new cloudwatch.Alarm(stack, 'A', { metric: query, threshold: 80, evaluationPeriods: 2, datapointsToAlarm: 2 });
    const parsed = parseAlarms(Template.fromStack(stack).toJSON() as any);
    const series: Array<[MetricIdentity, number[]]> = [
      [{ namespace: 'N', metricName: 'Cpu', dimensions: { Broker: 'b', Node: 'n1' } }, [10, 90, 90, 10]],
      [{ namespace: 'N', metricName: 'Cpu', dimensions: { Broker: 'b', Node: 'n2' } }, [10, 10, 85, 10]],
      // Another broker's node and the broker-level aggregate do not count.
      [{ namespace: 'N', metricName: 'Cpu', dimensions: { Broker: 'other', Node: 'n1' } }, [99, 99, 99, 99]],
      [{ namespace: 'N', metricName: 'Cpu', dimensions: { Broker: 'b' } }, [99, 99, 99, 99]],
    ];
    const source = (id: MetricIdentity) => series.find(([s]) => JSON.stringify(s) === JSON.stringify(id))?.[1];
    const r = replay(parsed, source, 4, { catalog: () => series.map(([id]) => id) });
    expect(r.states[parsed.metricAlarms[0].logicalId]).toEqual(['INSUFFICIENT_DATA', 'OK', 'ALARM', 'OK']);
    expect(() => replay(parsed, source, 4)).toThrow(/pass ReplayOptions.catalog/);
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

describe('actions and the actions suppressor of a composite', () => {
  /** A metric alarm on N/M (1-minute Maximum > 0, missing = not breaching), a suppressor on N/S, and a page. */
  function build(suppressed: boolean) {
    const stack = new Stack(new App(), 'S');
    const metric = (name: string) => new cloudwatch.Metric({ namespace: 'N', metricName: name, period: Duration.minutes(1), statistic: 'Maximum' });
    const page = { bind: () => ({ alarmActionArn: 'arn:aws:sns:eu-west-1:111111111111:page' }) };
    const ticket = { bind: () => ({ alarmActionArn: 'arn:aws:sns:eu-west-1:111111111111:ticket' }) };
    const down = new cloudwatch.Alarm(stack, 'Down', {
      metric: metric('Down'), threshold: 0, evaluationPeriods: 1, comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD, treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    down.addAlarmAction(ticket);
    const restarting = new cloudwatch.Alarm(stack, 'Restarting', {
      metric: metric('Restarting'), threshold: 0, evaluationPeriods: 1, comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD, treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const composite = new cloudwatch.CompositeAlarm(stack, 'Page', {
      alarmRule: cloudwatch.AlarmRule.fromAlarm(down, cloudwatch.AlarmState.ALARM),
      ...(suppressed ? {
        actionsSuppressor: restarting,
        actionsSuppressorWaitPeriod: Duration.minutes(3),
        actionsSuppressorExtensionPeriod: Duration.minutes(4),
      } : {}),
    });
    composite.addAlarmAction(page);
    composite.addOkAction(page);
    const t = Template.fromStack(stack);
    const id = (r: string) => Object.keys(t.findResources(r === 'Page' ? 'AWS::CloudWatch::CompositeAlarm' : 'AWS::CloudWatch::Alarm'))
      .find(k => k.startsWith(r))!;
    return { parsed: parseAlarms(t.toJSON() as any), page: id('Page'), down: id('Down') };
  }
  const PAGE = 'arn:aws:sns:eu-west-1:111111111111:page';
  const series = (down: number[], restarting: number[]) => (id: MetricIdentity) => (id.metricName === 'Down' ? down : id.metricName === 'Restarting' ? restarting : undefined);
  const at = (length: number, ones: number[]) => Array.from({ length }, (_, m) => (ones.includes(m) ? 1 : 0));

  test('without a suppressor a composite acts when it enters ALARM, and resolves on OK', () => {
    const { parsed, page, down } = build(false);
    const r = replay(parsed, series(at(10, [3, 4]), at(10, [])), 10);
    expect(r.alarmsSentTo(PAGE).map(n => n.minute)).toEqual([4]);
    expect(r.notifications.filter(n => n.alarm === page).map(n => [n.minute, n.state])).toEqual([[1, 'OK'], [4, 'ALARM'], [6, 'OK']]);
    expect(r.alarmsSentTo('arn:aws:sns:eu-west-1:111111111111:ticket').map(n => n.alarm)).toEqual([down]);
  });

  test('held while the suppressor is in ALARM and during the extension; nothing to resolve after', () => {
    const { parsed } = build(true);
    // Down from minute 3 to 9; the suppressor in ALARM over minutes 2 to 6, so it leaves ALARM at minute 8.
    const r = replay(parsed, series(at(20, [3, 4, 5, 6, 7, 8, 9]), at(20, [2, 3, 4, 5, 6])), 20);
    expect(r.alarmsSentTo(PAGE)).toEqual([]);
    // Only the OK of its creation (INSUFFICIENT_DATA to OK): the held-back ALARM has nothing to resolve.
    expect(r.notifications.filter(n => n.actions.includes(PAGE)).map(n => [n.minute, n.state])).toEqual([[1, 'OK']]);
  });

  test('acts after the extension when the composite is still in ALARM', () => {
    const { parsed } = build(true);
    // Down for good from minute 3; the suppressor leaves ALARM at minute 8: held until 8 + 4.
    const r = replay(parsed, series(at(20, Array.from({ length: 17 }, (_, i) => i + 3)), at(20, [2, 3, 4, 5, 6])), 20);
    expect(r.alarmsSentTo(PAGE).map(n => n.minute)).toEqual([12]);
  });

  test('waits for a suppressor that goes to ALARM late (within the wait period), else acts when it ends', () => {
    const { parsed } = build(true);
    const downFrom4 = at(20, Array.from({ length: 16 }, (_, i) => i + 4));
    // The composite enters ALARM at minute 5; the suppressor follows at minute 7 (within 3 minutes).
    expect(replay(parsed, series(downFrom4, at(20, Array.from({ length: 14 }, (_, i) => i + 6))), 20).alarmsSentTo(PAGE)).toEqual([]);
    // No suppressor at all: the actions run when the wait ends, at minute 5 + 3.
    expect(replay(parsed, series(downFrom4, at(20, [])), 20).alarmsSentTo(PAGE).map(n => n.minute)).toEqual([8]);
  });

  test('alarms created late look back, and run no action before they exist', () => {
    const { parsed, down } = build(false);
    const r = replay(parsed, series(at(10, [2, 3, 4, 5, 6, 7, 8, 9]), at(10, [])), 10, { createdAt: 5 });
    expect(r.states[down].slice(0, 5)).toEqual(Array(5).fill('INSUFFICIENT_DATA'));
    expect(r.firstAlarm(down)).toBe(6);
    expect(r.alarmsSentTo(PAGE).map(n => n.minute)).toEqual([6]);
  });
});
