import { App, Fn, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cw_actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { buildMonitoring, groupNameIn, monitoringResources, MonitoredStackOptions, nagFindings, workerFleet } from './monitoring-fixture';
import { RabbitMqDeploymentMode, RabbitMqEngineVersion } from '../../src/broker';
import { CeleryMonitoring, CeleryMonitoringProps } from '../../src/monitoring';
import { importedBroker, stackWithBroker } from '../broker/broker-fixture';

jest.setTimeout(60_000);

const BROKER = 'prod-broker';

/** A created 4.2 broker named BROKER and real fleets (`[construct id, maxCapacity]`) in an environment-agnostic stack `Prod`. */
function build(props: Partial<CeleryMonitoringProps> = {}, fleets: MonitoredStackOptions['fleets'] = [['Workers', 30]], options: MonitoredStackOptions = {}) {
  return buildMonitoring({ env: null, brokerName: BROKER, fleets, props, ...options });
}

const brokerDimension = [{ Name: 'Broker', Value: BROKER }];

/** An alarm description as text, with any CloudFormation value in it (a fleet's group name) at the longest a group name can be. */
function descriptionText(description: string | { 'Fn::Join': [string, unknown[]] }): string {
  if (typeof description === 'string') return description;
  const [separator, parts] = description['Fn::Join'];
  return parts.map(p => (typeof p === 'string' ? p : 'g'.repeat(255))).join(separator);
}

function metricStat(metricName: string, stat: string, dimensions: unknown = brokerDimension, namespace = 'AWS/AmazonMQ') {
  return Match.objectLike({
    MetricStat: {
      Metric: { Namespace: namespace, MetricName: metricName, Dimensions: dimensions },
      Period: 60,
      Stat: stat,
    },
    ReturnData: false,
  });
}

/** A composite rule with `Fn::GetAtt`s rendered as `<LogicalId>`. */
function ruleText(rule: unknown): string {
  if (typeof rule === 'string') return rule;
  return (rule as any)['Fn::Join'][1].map((p: any) => (typeof p === 'string' ? p : `<${p['Fn::GetAtt'][0]}>`)).join('');
}

function alarmNamed(t: Template, name: string): { id: string; props: any; resource: any } {
  const all = { ...t.findResources('AWS::CloudWatch::Alarm'), ...t.findResources('AWS::CloudWatch::CompositeAlarm') };
  const found = Object.entries(all).filter(([, r]: [string, any]) => r.Properties.AlarmName === name);
  if (found.length !== 1) throw new Error(`expected one alarm named ${name}, found ${found.length}`);
  const [id, resource] = found[0] as [string, any];
  return { id, props: resource.Properties, resource };
}

describe('alarms (a RabbitMQ 4.2 broker, one fleet of 30, default thresholds)', () => {
  const { stack, broker, monitoring, fleets: [workers], template } = build();
  const t = template();
  const asgRef = groupNameIn(stack, workers);
  const asgDimension = [{ Name: 'AutoScalingGroupName', Value: asgRef }];
  const topic = (x: sns.ITopic | undefined) => ({ Ref: stack.getLogicalId(x!.node.defaultChild as any) });
  const paging = topic(monitoring.pagingTopic);
  const ticketing = topic(monitoring.ticketingTopic);
  const brokerLogicalId = stack.getLogicalId(broker.node.defaultChild as any);

  test('broker ingress: NetworkIn Sum per minute by Broker and by BrokerId, the larger; above 30 workers x 4.9 MB; missing = not breaching', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${BROKER}-celery-broker-ingress`,
      AlarmDescription: Match.stringLikeRegexp('more than 147000000 bytes in one minute \\(30 workers x 4900000 bytes, at least 98000000\\).*by Broker \\(name\\) and by BrokerId.*Runbook'),
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'MAX([FILL(inByName, 0), FILL(inById, 0)])', ReturnData: true }),
      ]),
      Threshold: 147_000_000,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [ticketing],
    });
    const { props } = alarmNamed(t, `${BROKER}-celery-broker-ingress`);
    const byId = (id: string) => props.Metrics.find((m: any) => m.Id === id).MetricStat;
    expect(byId('inByName')).toEqual({ Metric: { Namespace: 'AWS/AmazonMQ', MetricName: 'NetworkIn', Dimensions: brokerDimension }, Period: 60, Stat: 'Sum' });
    expect(byId('inById')).toEqual({
      Metric: { Namespace: 'AWS/AmazonMQ', MetricName: 'NetworkIn', Dimensions: [{ Name: 'BrokerId', Value: { Ref: brokerLogicalId } }] }, Period: 60, Stat: 'Sum',
    });
  });

  test('broker not reporting: neither SystemCpuUtilization nor ExchangeCount for 5 minutes; the only alarm on missing data; no action of its own', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${BROKER}-celery-broker-not-reporting`,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'MAX([cpuSamples, exchangeSamples])', ReturnData: true }),
        metricStat('SystemCpuUtilization', 'SampleCount'),
        metricStat('ExchangeCount', 'SampleCount'),
      ]),
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      EvaluationPeriods: 5,
      DatapointsToAlarm: 5,
      TreatMissingData: 'breaching',
      AlarmActions: Match.absent(),
    });
    const breaching = Object.values(t.findResources('AWS::CloudWatch::Alarm')).filter((a: any) => a.Properties.TreatMissingData === 'breaching');
    expect(breaching.map((a: any) => a.Properties.AlarmName)).toEqual([`${BROKER}-celery-broker-not-reporting`]);
  });

  test('broker restarting: the publisher\'s signal now, not for more than 120 minutes, combined into the suppressor', () => {
    const dims = [{ Name: 'Broker', Value: BROKER }];
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${BROKER}-celery-broker-restarting`,
      Namespace: 'CdkCelery',
      MetricName: 'BrokerRestarting',
      Dimensions: dims,
      Statistic: 'Maximum',
      Period: 60,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: Match.absent(),
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${BROKER}-celery-broker-restarting-too-long`,
      Namespace: 'CdkCelery',
      MetricName: 'BrokerRestarting',
      Statistic: 'Minimum',
      EvaluationPeriods: 120,
      DatapointsToAlarm: 120,
      AlarmActions: Match.absent(),
    });
    const suppressor = alarmNamed(t, `${BROKER}-celery-broker-restarting-suppressor`);
    expect(ruleText(suppressor.props.AlarmRule)).toMatch(/^\(ALARM\("<MonitoringBrokerRestartingAlarm\w+>"\) AND \(NOT \(ALARM\("<MonitoringBrokerRestartingTooLongAlarm\w+>"\)\)\)\)$/);
    expect(suppressor.props.AlarmActions).toBeUndefined();
  });

  test('memory: metric math of used over limit, percent; missing = not breaching', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${BROKER}-celery-broker-memory`,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: '100 * used / memLimit', ReturnData: true }),
        metricStat('RabbitMQMemUsed', 'Maximum'),
        metricStat('RabbitMQMemLimit', 'Maximum'),
      ]),
      Threshold: 80,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
    });
  });

  test('CPU on a single instance: SystemCpuUtilization Maximum, 5 of 5 minutes', () => {
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
      TreatMissingData: 'notBreaching',
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
      TreatMissingData: 'notBreaching',
    });
  });

  test.each([
    ['connection-storm', 'ConnectionCount', 400],
    ['channel-storm', 'ChannelCount', 1200],
  ])('%s: %s above 30 workers\' budget', (name, metricName, threshold) => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${BROKER}-celery-${name}`,
      Namespace: 'AWS/AmazonMQ',
      MetricName: metricName,
      Dimensions: brokerDimension,
      Statistic: 'Maximum',
      Period: 60,
      Threshold: threshold,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
    });
  });

  test.each([
    ['connection-churn', 'connections', 'ConnectionCount', 400 / 60],
    ['channel-churn', 'channels', 'ChannelCount', 1200 / 60],
  ])('%s: RATE of %s per second above the storm budget / 60 s, 2 of 3 minutes', (name, id, metricName, threshold) => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${BROKER}-celery-${name}`,
      Metrics: Match.arrayWith([Match.objectLike({ Expression: `RATE(${id})`, ReturnData: true }), metricStat(metricName, 'Maximum')]),
      Threshold: Math.round(threshold * 1000) / 1000,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
      AlarmDescription: Match.stringLikeRegexp('CloudWatch has no open/close counters'),
    });
  });

  test('no consumers while work waits, and backlog: broker-wide, missing = not breaching', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${BROKER}-celery-no-consumers`,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'IF(consumers == 0 AND ready > 0, 1, 0)', ReturnData: true }),
        metricStat('ConsumerCount', 'Minimum'),
        metricStat('MessageReadyCount', 'Maximum'),
      ]),
      Threshold: 1,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: 'notBreaching',
    });
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

  test('fleet ingress source: AWS/EC2 NetworkOut by the ASG name, Sum per minute (the fleet has detailed monitoring)', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${BROKER}-celery-Workers-network-out`,
      AlarmDescription: { 'Fn::Join': ['', [Match.stringLikeRegexp('\\(Auto Scaling group $'), asgRef, Match.stringLikeRegexp('^\\) ')]] },
      Namespace: 'AWS/EC2',
      MetricName: 'NetworkOut',
      Dimensions: asgDimension,
      Statistic: 'Sum',
      Period: 60,
      Threshold: 30 * 4_900_000,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: 'notBreaching',
    });
    t.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: Match.objectLike({ Monitoring: { Enabled: true } }) });
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

  test('the ingress-storm page: (ingress OR a fleet\'s NetworkOut) AND (restarts OR connections), no suppressor', () => {
    const page = alarmNamed(t, `${BROKER}-celery-ingress-storm-page`);
    expect(page.props.AlarmDescription).toMatch(/^PAGE\..*Runbook/);
    expect(ruleText(page.props.AlarmRule)).toMatch(/^\(\(ALARM\("<MonitoringBrokerIngressAlarm\w+>"\) OR ALARM\("<MonitoringWorkersNetworkOutAlarm\w+>"\)\) AND \(ALARM\("<MonitoringWorkersWorkerRestartsAlarm\w+>"\) OR ALARM\("<MonitoringConnectionStormAlarm\w+>"\)\)\)$/);
    expect(page.props.ActionsSuppressor).toBeUndefined();
    expect(page.props.AlarmActions).toEqual([paging]);
  });

  test('the broker-down page: broker-not-reporting, held back by the suppressor (3 minutes wait, 10 minutes extension), created after the publisher', () => {
    const page = alarmNamed(t, `${BROKER}-celery-broker-down-page`);
    expect(ruleText(page.props.AlarmRule)).toMatch(/^ALARM\("<MonitoringBrokerNotReportingAlarm\w+>"\)$/);
    expect(page.props.ActionsSuppressor).toEqual({ 'Fn::GetAtt': [alarmNamed(t, `${BROKER}-celery-broker-restarting-suppressor`).id, 'Arn'] });
    expect(page.props.ActionsSuppressorWaitPeriod).toBe(180);
    expect(page.props.ActionsSuppressorExtensionPeriod).toBe(600);
    expect(page.props.AlarmActions).toEqual([paging]);
    const publisherFunction = stack.getLogicalId(monitoring.metricsPublisher!.function.node.defaultChild as any);
    expect(page.resource.DependsOn).toEqual(expect.arrayContaining([publisherFunction]));
  });

  test('every alarm is created after the broker (an alarm cannot see a broker being created)', () => {
    const all = { ...t.findResources('AWS::CloudWatch::Alarm'), ...t.findResources('AWS::CloudWatch::CompositeAlarm') };
    for (const [id, alarm] of Object.entries(all) as Array<[string, any]>) {
      expect({ id, dependsOnBroker: (alarm.DependsOn ?? []).includes(brokerLogicalId) }).toEqual({ id, dependsOnBroker: true });
    }
  });

  test('routes: pages to the paging topic, signals nowhere, every other alarm to the ticketing topic; all with a runbook', () => {
    const all = { ...t.findResources('AWS::CloudWatch::Alarm'), ...t.findResources('AWS::CloudWatch::CompositeAlarm') };
    expect(Object.keys(all)).toHaveLength(17 + 3); // 14 broker + 3 fleet metric alarms; the suppressor and the two pages
    const silent = ['broker-not-reporting', 'broker-restarting', 'broker-restarting-too-long', 'broker-restarting-suppressor'].map(n => `${BROKER}-celery-${n}`);
    const pages = ['ingress-storm-page', 'broker-down-page'].map(n => `${BROKER}-celery-${n}`);
    for (const alarm of Object.values(all) as any[]) {
      const name = alarm.Properties.AlarmName;
      const expected = silent.includes(name) ? undefined : pages.includes(name) ? [paging] : [ticketing];
      expect({ name, actions: alarm.Properties.AlarmActions, ok: alarm.Properties.OKActions }).toEqual({ name, actions: expected, ok: expected });
      const description = descriptionText(alarm.Properties.AlarmDescription);
      expect(description).toMatch(/Runbook/);
      expect(description.length).toBeLessThanOrEqual(1024);
    }
    t.resourceCountIs('AWS::SNS::Topic', 2);
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: [Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })] },
    });
  });

  test('the metrics publisher without the VPC: broker state only, least privilege, once a minute', () => {
    const publisher = monitoring.metricsPublisher!;
    expect(publisher.monitoringUser).toBeUndefined();
    const fnId = stack.getLogicalId(publisher.function.node.defaultChild as any);
    const fn = t.toJSON().Resources[fnId];
    expect(fn.Properties.VpcConfig).toBeUndefined();
    expect(fn.Properties.Architectures).toEqual(['arm64']);
    expect(fn.Properties.Environment.Variables).toEqual({
      AWS_NODEJS_CONNECTION_REUSE_ENABLED: '1',
      BROKER_ID: { Ref: brokerLogicalId },
      BROKER_NAME: BROKER,
      REQUEST_TIMEOUT_MS: '10000',
      CREATION_GRACE_MINUTES: '30',
    });
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          { Action: 'mq:DescribeBroker', Effect: 'Allow', Resource: { 'Fn::GetAtt': [brokerLogicalId, 'Arn'] } },
          { Action: 'cloudwatch:PutMetricData', Effect: 'Allow', Resource: '*', Condition: { StringEquals: { 'cloudwatch:namespace': 'CdkCelery' } } },
        ],
      },
      Roles: [{ Ref: Match.stringLikeRegexp('^MonitoringMetricsPublisherFunctionServiceRole') }],
    });
    t.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 } })],
    });
  });

  test('the dashboard shows every alarm, both NetworkIn dimensions, the restart signal and the churn', () => {
    const [dashboard] = Object.values(t.findResources('AWS::CloudWatch::Dashboard')) as any[];
    expect(dashboard.Properties.DashboardName).toBe(`${BROKER}-celery`);
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    expect(body).toContain('Fleet Workers');
    for (const id of [...Object.keys(t.findResources('AWS::CloudWatch::Alarm')), ...Object.keys(t.findResources('AWS::CloudWatch::CompositeAlarm'))]) {
      if (id.startsWith('MonitoringRestartSuppressor')) continue; // a signal of the page, not an alarm to look at
      expect(body).toContain(`"Fn::GetAtt":["${id}","Arn"]`);
    }
    for (const graph of [
      '\\"AWS/AmazonMQ\\",\\"NetworkIn\\",\\"Broker\\",\\"prod-broker\\"',
      '\\"AWS/AmazonMQ\\",\\"NetworkIn\\",\\"BrokerId\\"',
      '\\"CdkCelery\\",\\"BrokerRestarting\\",\\"Broker\\",\\"prod-broker\\"',
      'RATE(connections)',
      'RATE(channels)',
      '\\"AWS/AmazonMQ\\",\\"ConsumerCount\\",\\"Broker\\",\\"prod-broker\\"',
      `\\"AWS/EC2\\",\\"NetworkOut\\",\\"AutoScalingGroupName\\",\\"",${JSON.stringify(asgRef)},"\\"`,
    ]) {
      expect(body).toContain(graph);
    }
  });
});

describe('queue metrics', () => {
  test('RabbitMQ 4.x in the VPC: the publisher reads the fleets\' queues as a read-only user and each fleet gets backlog and no-consumer alarms on them', () => {
    const { stack, broker, monitoring, template } = build({}, [['Workers', 30, ['orders', 'emails']], ['Reports', 4, ['reports']]], { monitorInVpc: true });
    expect(monitoring.queueMetrics).toBe('PUBLISHER');
    const t = template();
    const publisher = monitoring.metricsPublisher!;
    const fn = t.toJSON().Resources[stack.getLogicalId(publisher.function.node.defaultChild as any)];
    expect(fn.Properties.VpcConfig).toBeDefined();
    expect(JSON.parse(stack.resolve(fn.Properties.Environment.Variables.QUEUES))).toEqual([
      { vhost: 'celery', queue: 'orders' }, { vhost: 'celery', queue: 'emails' }, { vhost: 'celery', queue: 'reports' },
    ]);
    // The monitoring user: the monitoring tag, an entry on the vhost that allows nothing.
    t.hasResourceProperties('Custom::CeleryBrokerUser', {
      Username: 'cdk-celery-monitoring', Vhost: 'celery', Tags: 'monitoring', Configure: '', Write: '', Read: '', RemoveVhostOnDelete: 'false',
    });
    // The broker's management port is open to the publisher (and the user's function).
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 443,
      ToPort: 443,
      GroupId: { 'Fn::GetAtt': [stack.getLogicalId(broker.connections.securityGroups[0].node.defaultChild as any), 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [stack.getLogicalId(publisher.connections.securityGroups[0].node.defaultChild as any), 'GroupId'] },
    });
    const queueDims = (queue: string) => [{ Name: 'Broker', Value: BROKER }, { Name: 'Queue', Value: queue }, { Name: 'VirtualHost', Value: 'celery' }];
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${BROKER}-celery-Workers-backlog`,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'FILL(ready0, 0) + FILL(ready1, 0)', ReturnData: true }),
        metricStat('MessageReadyCount', 'Maximum', queueDims('orders'), 'CdkCelery'),
        metricStat('MessageReadyCount', 'Maximum', queueDims('emails'), 'CdkCelery'),
      ]),
      Threshold: 100_000,
      EvaluationPeriods: 15,
      TreatMissingData: 'notBreaching',
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${BROKER}-celery-Workers-no-consumers`,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'MAX([IF(consumers0 == 0 AND ready0 > 0, 1, 0), IF(consumers1 == 0 AND ready1 > 0, 1, 0)])', ReturnData: true }),
        metricStat('ConsumerCount', 'Minimum', queueDims('emails'), 'CdkCelery'),
      ]),
      Threshold: 1,
      EvaluationPeriods: 3,
      TreatMissingData: 'notBreaching',
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${BROKER}-celery-Reports-backlog`, MetricName: 'MessageReadyCount', Namespace: 'CdkCelery', Dimensions: queueDims('reports'),
    });
    // What CeleryPlatform scales a fleet on.
    expect(stack.resolve((monitoring.metricReadyMessages(['orders', 'emails']) as cloudwatch.MathExpression).expression)).toBe('FILL(ready0, 0) + FILL(ready1, 0)');
  });

  test('RabbitMQ 3.x: Amazon MQ\'s own queue metrics, and the publisher stays out of the VPC', () => {
    const { monitoring, template } = build({}, [['Workers', 30, ['orders']]], { monitorInVpc: true, brokerOptions: { engineVersion: RabbitMqEngineVersion.V3_13 } });
    expect(monitoring.queueMetrics).toBe('AMAZON_MQ');
    expect(monitoring.metricsPublisher!.monitoringUser).toBeUndefined();
    template().hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${BROKER}-celery-Workers-backlog`,
      Namespace: 'AWS/AmazonMQ',
      MetricName: 'MessageReadyCount',
      Dimensions: [{ Name: 'Broker', Value: BROKER }, { Name: 'Queue', Value: 'orders' }, { Name: 'VirtualHost', Value: 'celery' }],
    });
    template().resourceCountIs('Custom::CeleryBrokerUser', 0);
  });

  test('an imported broker without credentials, or no VPC: no queue metrics, broker-wide alarms only', () => {
    const stack = new Stack(new App(), 'S');
    const m = new CeleryMonitoring(stack, 'M', { broker: importedBroker(stack) });
    expect(m.queueMetrics).toBe('NONE');
    expect(m.metricsPublisher!.monitoringUser).toBeUndefined();
    expect(stack.resolve((m.metricReadyMessages(['orders']) as cloudwatch.Metric).dimensions)).toEqual({ Broker: 'celery' });
  });

  test('an imported broker that says it runs 3.13 uses Amazon MQ\'s queue metrics; one on 4.2 refuses them', () => {
    const stack = new Stack(new App(), 'S');
    const old = new CeleryMonitoring(stack, 'Old', { broker: importedBroker(stack, { engineVersion: RabbitMqEngineVersion.V3_13 }, 'OldBroker') });
    expect(old.queueMetrics).toBe('AMAZON_MQ');
    expect(() => new CeleryMonitoring(stack, 'New', {
      broker: importedBroker(stack, { brokerName: 'new', engineVersion: RabbitMqEngineVersion.V4_2 }, 'NewBroker'), queueMetrics: 'AMAZON_MQ' as any,
    })).toThrow(/QueueMetricsSource.AMAZON_MQ is not allowed with engine version 4.2/);
  });

  test('impossible sources are refused', () => {
    expect(() => build({ queueMetrics: 'PUBLISHER' as any }, [])).toThrow(/QueueMetricsSource.PUBLISHER is not allowed without vpc/);
    expect(() => build({ queueMetrics: 'AMAZON_MQ' as any }, [])).toThrow(/QueueMetricsSource.AMAZON_MQ is not allowed with engine version 4.2/);
    expect(() => build({ queueMetrics: 'PUBLISHER' as any, enableMetricsPublisher: false }, [], { monitorInVpc: true }))
      .toThrow(/not allowed with enableMetricsPublisher: false/);
  });

  test('a fleet with more queues than an alarm can read: a warning naming the queues watched broker-wide only', () => {
    const queues = Array.from({ length: 12 }, (_, i) => `q${i}`);
    const { stack, template } = build({}, [['Many', 4, queues]], { monitorInVpc: true });
    Annotations.fromStack(stack).hasWarning('/Prod/Monitoring', Match.stringLikeRegexp('backlog alarm covers the first 10.*q10, q11 are watched broker-wide only'));
    Annotations.fromStack(stack).hasWarning('/Prod/Monitoring', Match.stringLikeRegexp('no-consumers alarm covers the first 5.*q5, q6'));
    const { props } = alarmNamed(template(), `${BROKER}-celery-Many-backlog`);
    expect(props.Metrics.filter((m: any) => m.MetricStat)).toHaveLength(10);
  });
});

describe('a three-node cluster', () => {
  test('CPU watches the busiest node (Metrics Insights over the Node metrics); memory and disk stay ratios', () => {
    const { template } = build({}, [['Workers', 30]], { brokerOptions: { deploymentMode: RabbitMqDeploymentMode.CLUSTER_MULTI_AZ } });
    template().hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${BROKER}-celery-broker-cpu`,
      Metrics: [{ Expression: `SELECT MAX(SystemCpuUtilization) FROM SCHEMA("AWS/AmazonMQ", Broker, Node) WHERE Broker = '${BROKER}'`, Id: 'expr_1', Label: Match.anyValue(), Period: 60, ReturnData: true }],
      Threshold: 85,
      AlarmDescription: Match.stringLikeRegexp('^The busiest node of broker'),
    });
    template().hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${BROKER}-celery-broker-memory`,
      Threshold: 80,
      AlarmDescription: Match.stringLikeRegexp('whether AWS sums or averages them'),
    });
  });

  test('an imported cluster says so with deploymentMode', () => {
    const stack = new Stack(new App(), 'S');
    new CeleryMonitoring(stack, 'M', { broker: importedBroker(stack), deploymentMode: RabbitMqDeploymentMode.CLUSTER_MULTI_AZ });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: [Match.objectLike({ Expression: Match.stringLikeRegexp('^SELECT MAX\\(SystemCpuUtilization\\)') })],
    });
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
    expect(names).toHaveLength(2 * 21);
    expect(new Set(names).size).toBe(names.length);
    expect(names.filter(n => n.startsWith('staging-broker-celery'))).toHaveLength(21);
  });

  test('a broker whose name is only known at deploy time (imported by token)', () => {
    const stack = new Stack(new App(), 'S');
    const broker = importedBroker(stack, { brokerName: Fn.importValue('shared-broker-name') });
    new CeleryMonitoring(stack, 'M', { broker });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: { 'Fn::Join': ['', [{ 'Fn::ImportValue': 'shared-broker-name' }, '-celery-broker-cpu']] },
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
    t.resourceCountIs('AWS::CloudWatch::Alarm', 14);
    const page = alarmNamed(t, `${BROKER}-celery-ingress-storm-page`);
    expect(ruleText(page.props.AlarmRule)).toMatch(/^\(\(ALARM\("<MonitoringBrokerIngressAlarm\w+>"\)\) AND \(ALARM\("<MonitoringConnectionStormAlarm\w+>"\)\)\)$/);
    Annotations.fromStack(stack).hasWarning('/Prod/Monitoring', Match.stringLikeRegexp('No worker fleet given'));
  });

  test('no fleet warning once a fleet is added later, nor when the thresholds are explicit', () => {
    const late = build({}, []);
    late.monitoring.addFleet(workerFleet(late.stack, 'Late', { vpc: late.vpc!, broker: late.broker }, 3));
    Annotations.fromStack(late.stack).hasNoWarning('*', Match.stringLikeRegexp('No worker fleet given'));
    const { stack } = build({ thresholds: { brokerIngressBytesPerMinute: 50_000_000, maxConnections: 40 } }, []);
    Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('No worker fleet given'));
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: `${BROKER}-celery-broker-ingress`, Threshold: 50_000_000 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: `${BROKER}-celery-connection-storm`, Threshold: 40 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: `${BROKER}-celery-connection-churn`, Threshold: 0.667 });
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
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: `${BROKER}-celery-connection-churn`, Threshold: 8.333 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${BROKER}-celery-Priority-worker-restarts`,
      Dimensions: [{ Name: 'AutoScalingGroupName', Value: groupNameIn(stack, extra) }],
    });
    const page = alarmNamed(t, `${BROKER}-celery-ingress-storm-page`);
    expect(ruleText(page.props.AlarmRule)).toContain(stack.getLogicalId(added.workerRestartsAlarm!.node.defaultChild as any));
    expect(ruleText(page.props.AlarmRule)).toContain(stack.getLogicalId(added.networkOutAlarm!.node.defaultChild as any));
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

  test('optional anomaly-detection band on ingress, routed like the others', () => {
    const { monitoring, template } = build({ ingressAnomalyDetection: true, thresholds: { ingressAnomalyStdDevs: 3 } });
    expect(monitoring.brokerIngressAnomalyAlarm).toBeDefined();
    expect(monitoring.brokerAlarms).toContain(monitoring.brokerIngressAnomalyAlarm);
    template().hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${BROKER}-celery-broker-ingress-anomaly`,
      ComparisonOperator: 'GreaterThanUpperThreshold',
      ThresholdMetricId: Match.anyValue(),
      Metrics: Match.arrayWith([Match.objectLike({ Expression: Match.stringLikeRegexp('ANOMALY_DETECTION_BAND\\(\\w+,\\s*3\\)') })]),
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^MonitoringTicketingTopic') }],
    });
    expect(JSON.stringify(build().template().toJSON())).not.toContain('ANOMALY_DETECTION_BAND');
  });

  test('without the metrics publisher: no restart signal, no suppressor, and the broker-down page notifies as soon as it is in ALARM', () => {
    const { monitoring, template } = build({ enableMetricsPublisher: false });
    expect(monitoring.metricsPublisher).toBeUndefined();
    expect(monitoring.restartSuppressor).toBeUndefined();
    const t = template();
    expect(Object.keys(t.findResources('AWS::Lambda::Function')).filter(id => id.startsWith('Monitoring'))).toEqual([]);
    const page = alarmNamed(t, `${BROKER}-celery-broker-down-page`);
    expect(page.props.ActionsSuppressor).toBeUndefined();
    expect(monitoring.alarms.map(a => a.alarmName)).not.toContain(`${BROKER}-celery-metrics-publisher-errors`);
  });
});

describe('cdk-nag and snapshot', () => {
  test('AwsSolutions: no unacknowledged findings, with the publisher in the VPC and its monitoring user', () => {
    expect(nagFindings(build({}, [['Workers', 30, ['orders']]], { monitorInVpc: true }))).toEqual([]);
    expect(nagFindings(build())).toEqual([]);
  });

  test('snapshot', () => {
    // The monitoring resources only: the broker's and the fleets' snapshots live with their own tests.
    const { template } = build({}, [['Workers', 30, ['orders']], ['Priority', 6, ['priority']]], { monitorInVpc: true });
    expect(monitoringResources(template())).toMatchSnapshot();
  });
});

describe('notifications of an alarm of your own', () => {
  test('alarms are public: more actions can be added to any of them', () => {
    const { monitoring, template } = build();
    monitoring.incidentAlarm!.addAlarmAction(new cw_actions.SnsAction(new sns.Topic(monitoring, 'OnCall')));
    expect(monitoring.alarms).toHaveLength(20);
    expect(alarmNamed(template(), `${BROKER}-celery-ingress-storm-page`).props.AlarmActions).toHaveLength(2);
  });
});
