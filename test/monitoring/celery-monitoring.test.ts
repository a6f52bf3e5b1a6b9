import { App, Fn, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cw_actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { buildMonitoring, groupNameIn, monitoringResources, MonitoredStackOptions, nagFindings, workerFleet } from './monitoring-fixture';
import { CeleryMonitoring, CeleryMonitoringProps } from '../../src/monitoring';
import { importedBroker, stackWithBroker } from '../broker/broker-fixture';

jest.setTimeout(60_000);

const BROKER = 'prod-broker';

/** A created broker named BROKER and real fleets (`[construct id, maxCapacity]`) in an environment-agnostic stack `Prod`. */
function build(props: Partial<CeleryMonitoringProps> = {}, fleets: Array<[string, number]> = [['Workers', 30]], options: MonitoredStackOptions = {}) {
  return buildMonitoring({ env: null, brokerName: BROKER, fleets, props, ...options });
}

const brokerDimension = [{ Name: 'Broker', Value: BROKER }];

/** An alarm description as text, with any CloudFormation value in it (a fleet's group name) at the longest a group name can be. */
function descriptionText(description: string | { 'Fn::Join': [string, unknown[]] }): string {
  if (typeof description === 'string') return description;
  const [separator, parts] = description['Fn::Join'];
  return parts.map(p => (typeof p === 'string' ? p : 'g'.repeat(255))).join(separator);
}

function metricStat(metricName: string, stat: string) {
  return Match.objectLike({
    MetricStat: {
      Metric: { Namespace: 'AWS/AmazonMQ', MetricName: metricName, Dimensions: brokerDimension },
      Period: 60,
      Stat: stat,
    },
    ReturnData: false,
  });
}

describe('alarms (one fleet of 30, default thresholds)', () => {
  const { stack, fleets: [workers], template } = build();
  const t = template();
  const asgRef = groupNameIn(stack, workers);
  const asgDimension = [{ Name: 'AutoScalingGroupName', Value: asgRef }];

  test('broker ingress: NetworkIn Sum per minute above 30 workers x 4.9 MB, missing = breaching', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${BROKER}-celery-broker-ingress`,
      AlarmDescription: Match.stringLikeRegexp('more than 147000000 bytes in one minute \\(30 workers x 4900000 bytes, at least 98000000\\).*Runbook'),
      Namespace: 'AWS/AmazonMQ',
      MetricName: 'NetworkIn',
      Dimensions: brokerDimension,
      Statistic: 'Sum',
      Period: 60,
      Threshold: 147_000_000,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: 'breaching',
    });
  });

  test('memory: metric math of used over limit, percent', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${BROKER}-celery-broker-memory`,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: '100 * used / memLimit', ReturnData: true }),
      ]),
      Threshold: 80,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      TreatMissingData: 'breaching',
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${BROKER}-celery-broker-memory`,
      Metrics: Match.arrayWith([metricStat('RabbitMQMemUsed', 'Maximum'), metricStat('RabbitMQMemLimit', 'Maximum')]),
    });
  });

  test('CPU: SystemCpuUtilization Maximum, 5 of 5 minutes', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${BROKER}-celery-broker-cpu`,
      Namespace: 'AWS/AmazonMQ',
      MetricName: 'SystemCpuUtilization',
      Dimensions: brokerDimension,
      Statistic: 'Maximum',
      Period: 60,
      Threshold: 85,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 5,
      DatapointsToAlarm: 5,
      TreatMissingData: 'breaching',
    });
  });

  test('disk free: free over limit below 2', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${BROKER}-celery-broker-disk-free`,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'diskFree / diskLimit', ReturnData: true }),
        metricStat('RabbitMQDiskFree', 'Minimum'),
        metricStat('RabbitMQDiskFreeLimit', 'Maximum'),
      ]),
      Threshold: 2,
      ComparisonOperator: 'LessThanThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      TreatMissingData: 'breaching',
    });
  });

  test('connection storm: more than 30 x 10 + 100', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${BROKER}-celery-connection-storm`,
      Namespace: 'AWS/AmazonMQ',
      MetricName: 'ConnectionCount',
      Dimensions: brokerDimension,
      Statistic: 'Maximum',
      Period: 60,
      Threshold: 400,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      TreatMissingData: 'breaching',
    });
  });

  test('channel storm: more than 30 x 30 + 300', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${BROKER}-celery-channel-storm`,
      MetricName: 'ChannelCount',
      Dimensions: brokerDimension,
      Statistic: 'Maximum',
      Period: 60,
      Threshold: 1200,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      TreatMissingData: 'breaching',
    });
  });

  test('no consumers while work waits: consumers == 0 AND ready > 0 for 3 minutes', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${BROKER}-celery-no-consumers`,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'IF(consumers == 0 AND ready > 0, 1, 0)', ReturnData: true }),
        metricStat('ConsumerCount', 'Minimum'),
        metricStat('MessageReadyCount', 'Maximum'),
      ]),
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: 'breaching',
    });
  });

  test('backlog: ready (Minimum) above 100,000 for 15 minutes, missing = not breaching', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${BROKER}-celery-backlog`,
      MetricName: 'MessageReadyCount',
      Dimensions: brokerDimension,
      Statistic: 'Minimum',
      Period: 60,
      Threshold: 100_000,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 15,
      DatapointsToAlarm: 15,
      TreatMissingData: 'notBreaching',
    });
  });

  test('fleet ingress source: AWS/EC2 NetworkOut by the ASG name, 5-minute Sum', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${BROKER}-celery-Workers-network-out`,
      AlarmDescription: { 'Fn::Join': ['', [Match.stringLikeRegexp('\\(Auto Scaling group $'), asgRef, Match.stringLikeRegexp('^\\) ')]] },
      Namespace: 'AWS/EC2',
      MetricName: 'NetworkOut',
      Dimensions: asgDimension,
      Statistic: 'Sum',
      Period: 300,
      Threshold: 30 * 4_900_000 * 5,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  test('worker restarts: CdkCelery WorkerRestarts by the ASG name, 3 or more per minute', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${BROKER}-celery-Workers-worker-restarts`,
      Namespace: 'CdkCelery',
      MetricName: 'WorkerRestarts',
      Dimensions: asgDimension,
      Statistic: 'Sum',
      Period: 60,
      Threshold: 3,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  test('the composite page: ingress AND (restarts OR connections)', () => {
    const composites = t.findResources('AWS::CloudWatch::CompositeAlarm');
    expect(Object.keys(composites)).toHaveLength(1);
    const [composite] = Object.values(composites) as any[];
    expect(composite.Properties.AlarmName).toBe(`${BROKER}-celery-ingress-storm-page`);
    expect(composite.Properties.AlarmDescription).toMatch(/^PAGE\..*Runbook/);
    const rule = composite.Properties.AlarmRule['Fn::Join'][1]
      .map((p: any) => (typeof p === 'string' ? p : `<${p['Fn::GetAtt'][0]}>`)).join('');
    expect(rule).toMatch(/^\(ALARM\("<MonitoringBrokerIngressAlarm\w+>"\) AND \(ALARM\("<MonitoringWorkersWorkerRestartsAlarm\w+>"\) OR ALARM\("<MonitoringConnectionStormAlarm\w+>"\)\)\)$/);
  });

  test('no anomaly-detection alarm unless asked for', () => {
    expect(JSON.stringify(t.toJSON())).not.toContain('ANOMALY_DETECTION_BAND');
  });

  test('every alarm notifies the created topic on ALARM and OK, and has a runbook hint', () => {
    const all = { ...t.findResources('AWS::CloudWatch::Alarm'), ...t.findResources('AWS::CloudWatch::CompositeAlarm') };
    expect(Object.keys(all)).toHaveLength(11);
    const topic = Object.keys(t.findResources('AWS::SNS::Topic'))[0];
    for (const alarm of Object.values(all) as any[]) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topic }]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: topic }]);
      const description = descriptionText(alarm.Properties.AlarmDescription);
      expect(description).toMatch(/Runbook/);
      expect(description.length).toBeLessThanOrEqual(1024);
    }
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: [Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })] },
    });
  });

  test('the dashboard shows the alarm states, the broker and the fleet', () => {
    const dashboards = t.findResources('AWS::CloudWatch::Dashboard');
    const [dashboard] = Object.values(dashboards) as any[];
    expect(dashboard.Properties.DashboardName).toBe(`${BROKER}-celery`);
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    expect(body).toContain('Fleet Workers');
    // Every alarm is on the dashboard (alarm status widgets and alarm graphs).
    for (const id of [...Object.keys(t.findResources('AWS::CloudWatch::Alarm')), ...Object.keys(t.findResources('AWS::CloudWatch::CompositeAlarm'))]) {
      expect(body).toContain(`"Fn::GetAtt":["${id}","Arn"]`);
    }
    // Raw graphs of the broker's traffic, queues and consumers, and of the fleet's network.
    for (const graph of [
      '\\"AWS/AmazonMQ\\",\\"NetworkIn\\",\\"Broker\\",\\"prod-broker\\"',
      '\\"AWS/AmazonMQ\\",\\"MessageReadyCount\\",\\"Broker\\",\\"prod-broker\\"',
      '\\"AWS/AmazonMQ\\",\\"ConsumerCount\\",\\"Broker\\",\\"prod-broker\\"',
      `\\"AWS/EC2\\",\\"NetworkOut\\",\\"AutoScalingGroupName\\",\\"",${JSON.stringify(asgRef)},"\\"`,
    ]) {
      expect(body).toContain(graph);
    }
  });
});

describe('construction variants', () => {
  test('two environments in one app get distinct alarm and dashboard names', () => {
    const app = new App();
    const names: string[] = [];
    const stacks = ['staging', 'prod'].map(env => {
      const { stack, vpc, broker } = stackWithBroker(env, { app, env: null, broker: { brokerName: `${env}-broker` } });
      new CeleryMonitoring(stack, 'Monitoring', { broker, fleets: [workerFleet(stack, 'Workers', { vpc, broker }, 4)] });
      return stack;
    });
    for (const stack of stacks) {
      const t = Template.fromStack(stack);
      for (const type of ['AWS::CloudWatch::Alarm', 'AWS::CloudWatch::CompositeAlarm', 'AWS::CloudWatch::Dashboard']) {
        for (const r of Object.values(t.findResources(type)) as any[]) {
          names.push(r.Properties.AlarmName ?? r.Properties.DashboardName);
        }
      }
    }
    expect(names).toHaveLength(24);
    expect(new Set(names).size).toBe(names.length);
    expect(names.filter(n => n.startsWith('staging-broker-celery'))).toHaveLength(12);
  });

  test('a broker whose name is only known at deploy time (imported by token)', () => {
    const stack = new Stack(new App(), 'S');
    const broker = importedBroker(stack, { brokerName: Fn.importValue('shared-broker-name') });
    new CeleryMonitoring(stack, 'M', { broker });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: { 'Fn::Join': ['', [{ 'Fn::ImportValue': 'shared-broker-name' }, '-celery-broker-ingress']] },
      Dimensions: [{ Name: 'Broker', Value: { 'Fn::ImportValue': 'shared-broker-name' } }],
    });
    t.hasResourceProperties('AWS::CloudWatch::Dashboard', {
      DashboardName: { 'Fn::Join': ['', [{ 'Fn::ImportValue': 'shared-broker-name' }, '-celery']] },
    });
  });

  // The broker created in the same stack, or an existing one imported (issue 5).
  test.each(['created', 'imported'] as const)('without a fleet (%s broker): floors, a warning, and the page on ingress AND connections', (broker) => {
    const { stack, template } = build({}, [], { broker });
    const t = template();
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: `${BROKER}-celery-broker-ingress`, Threshold: 98_000_000 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: `${BROKER}-celery-connection-storm`, Threshold: 100 });
    t.resourceCountIs('AWS::CloudWatch::Alarm', 8);
    const [composite] = Object.values(t.findResources('AWS::CloudWatch::CompositeAlarm')) as any[];
    const refs = composite.Properties.AlarmRule['Fn::Join'][1].filter((p: unknown) => typeof p !== 'string');
    expect(refs).toHaveLength(2);
    Annotations.fromStack(stack).hasWarning('/Prod/Monitoring', Match.stringLikeRegexp('No worker fleet given'));
  });

  test('no fleet warning once a fleet is added later', () => {
    const { stack, vpc, broker, monitoring } = build({}, []);
    monitoring.addFleet(workerFleet(stack, 'Late', { vpc: vpc!, broker }, 3));
    Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('No worker fleet given'));
  });

  test('no warning when the thresholds are explicit', () => {
    const { stack } = build({ thresholds: { brokerIngressBytesPerMinute: 50_000_000, maxConnections: 40 } }, []);
    Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('No worker fleet given'));
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: `${BROKER}-celery-broker-ingress`, Threshold: 50_000_000 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: `${BROKER}-celery-connection-storm`, Threshold: 40 });
  });

  test('addFleet after construction raises the derived thresholds and joins the page', () => {
    const { stack, vpc, broker, monitoring, template } = build();
    const extra = workerFleet(stack, 'Priority', { vpc: vpc!, broker }, 10);
    const added = monitoring.addFleet(extra);
    expect(monitoring.fleetAlarms.map(f => f.fleet)).toContain(extra);
    expect(monitoring.alarms).toContain(added.workerRestartsAlarm);
    const t = template();
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: `${BROKER}-celery-broker-ingress`, Threshold: 40 * 4_900_000 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: `${BROKER}-celery-connection-storm`, Threshold: 40 * 10 + 100 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${BROKER}-celery-Priority-worker-restarts`,
      Dimensions: [{ Name: 'AutoScalingGroupName', Value: groupNameIn(stack, extra) }],
    });
    const [composite] = Object.values(t.findResources('AWS::CloudWatch::CompositeAlarm')) as any[];
    expect(JSON.stringify(composite.Properties.AlarmRule)).toContain(stack.getLogicalId(added.workerRestartsAlarm.node.defaultChild as any));
    expect(() => monitoring.addFleet(extra)).toThrow(/already monitored/);
  });

  test('two fleets with the same construct id get distinct alarm names and ids', () => {
    const { stack, vpc, broker } = stackWithBroker('S', { env: null, broker: { brokerName: BROKER } });
    const blue = workerFleet(new Construct(stack, 'Blue'), 'Workers', { vpc, broker }, 2);
    const green = workerFleet(new Construct(stack, 'Green'), 'Workers', { vpc, broker }, 2);
    const monitoring = new CeleryMonitoring(stack, 'M', { broker, fleets: [blue, green] });
    const names = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm')).map((r: any) => r.Properties.AlarmName);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain(`${BROKER}-celery-Workers-worker-restarts`);
    expect(monitoring.fleetAlarms).toHaveLength(2);
  });

  test('alarm actions: a given topic, or any IAlarmAction, but not both', () => {
    const withTopic = build({}, []);
    const topic = new sns.Topic(withTopic.stack, 'Pager');
    const m2 = new CeleryMonitoring(withTopic.stack, 'M2', { broker: withTopic.broker, alarmTopic: topic, alarmNamePrefix: 'other' });
    expect(m2.alarmTopic).toBe(topic);
    const t = withTopic.template();
    t.hasResourceProperties('AWS::CloudWatch::CompositeAlarm', {
      AlarmName: 'other-ingress-storm-page',
      AlarmActions: [{ Ref: withTopic.stack.getLogicalId(topic.node.defaultChild as any) }],
    });

    const { stack, broker } = build({}, []);
    const action: cloudwatch.IAlarmAction = { bind: () => ({ alarmActionArn: 'arn:aws:sns:eu-west-1:111111111111:pager' }) };
    const m3 = new CeleryMonitoring(stack, 'M3', { broker, alarmActions: [action], notifyOnOk: false, alarmNamePrefix: 'third', createDashboard: false });
    expect(m3.alarmTopic).toBeUndefined();
    expect(m3.dashboard).toBeUndefined();
    const t3 = Template.fromStack(stack);
    t3.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'third-broker-ingress',
      AlarmActions: ['arn:aws:sns:eu-west-1:111111111111:pager'],
      OKActions: Match.absent(),
    });
    expect(() => new CeleryMonitoring(stack, 'M4', {
      broker, alarmActions: [action], alarmTopic: new sns.Topic(stack, 'T'),
    })).toThrow(/alarmActions and alarmTopic are both set/);
  });

  test('optional anomaly-detection band on ingress', () => {
    const { monitoring, template } = build({ ingressAnomalyDetection: true, thresholds: { ingressAnomalyStdDevs: 3 } });
    expect(monitoring.brokerIngressAnomalyAlarm).toBeDefined();
    expect(monitoring.brokerAlarms).toContain(monitoring.brokerIngressAnomalyAlarm);
    template().hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${BROKER}-celery-broker-ingress-anomaly`,
      ComparisonOperator: 'GreaterThanUpperThreshold',
      ThresholdMetricId: Match.anyValue(),
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: Match.stringLikeRegexp('ANOMALY_DETECTION_BAND\\(\\w+,\\s*3\\)') }),
        Match.objectLike({ MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'NetworkIn', Dimensions: brokerDimension }), Stat: 'Sum' }) }),
      ]),
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
    });
  });

  test('alarms are public and customisable', () => {
    const { monitoring, template } = build();
    monitoring.incidentAlarm.addAlarmAction(new cw_actions.SnsAction(new sns.Topic(monitoring, 'OnCall')));
    expect(monitoring.alarms).toHaveLength(11);
    const [composite] = Object.values(template().findResources('AWS::CloudWatch::CompositeAlarm')) as any[];
    expect(composite.Properties.AlarmActions).toHaveLength(2);
  });
});

describe('cdk-nag and snapshot', () => {
  test('AwsSolutions: no unacknowledged findings', () => {
    expect(nagFindings(build())).toEqual([]);
  });

  test('snapshot', () => {
    // The monitoring resources only: the broker's and the fleets' snapshots live with their own tests.
    const { template } = build({}, [['Workers', 30], ['Priority', 6]]);
    expect(monitoringResources(template())).toMatchSnapshot();
  });
});
