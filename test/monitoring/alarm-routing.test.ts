/**
 * Where pages and tickets go, and every alarm switched off, re-thresholded, re-timed or re-routed
 * on its own (`alarms`, `addFleet(fleet, overrides)`), in the style of cdk-monitoring-constructs.
 */
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sns from 'aws-cdk-lib/aws-sns';
import { buildMonitoring, MonitoredStackOptions, workerFleet } from './monitoring-fixture';
import { AlarmRoute, CeleryMonitoring, CeleryMonitoringProps } from '../../src/monitoring';

const BROKER = 'prod-broker';

function build(props: Partial<CeleryMonitoringProps> = {}, options: MonitoredStackOptions = {}) {
  return buildMonitoring({ env: null, brokerName: BROKER, fleets: [['Workers', 30]], props, ...options });
}

function alarmsByName(t: Template): { [name: string]: any } {
  const all = { ...t.findResources('AWS::CloudWatch::Alarm'), ...t.findResources('AWS::CloudWatch::CompositeAlarm') };
  return Object.fromEntries(Object.values(all).map((r: any) => [r.Properties.AlarmName.replace(`${BROKER}-celery-`, ''), r.Properties]));
}

function ruleText(rule: any): string {
  return rule['Fn::Join'][1].map((p: any) => (typeof p === 'string' ? p : `<${p['Fn::GetAtt'][0]}>`)).join('');
}

const action = (arn: string): cloudwatch.IAlarmAction => ({ bind: () => ({ alarmActionArn: arn }) });
const PAGER = 'arn:aws:sns:eu-west-1:111111111111:pager';
const TICKETS = 'arn:aws:sns:eu-west-1:111111111111:tickets';
const TEAM = 'arn:aws:sns:eu-west-1:111111111111:team';

describe('paging and ticketing destinations', () => {
  test('given topics: pages to one, tickets to the other, nothing created', () => {
    const built = build();
    const stack = built.stack;
    const pager = new sns.Topic(stack, 'Pager');
    const tickets = new sns.Topic(stack, 'Tickets');
    const m = new CeleryMonitoring(stack, 'Second', { broker: built.broker, pagingTopic: pager, ticketingTopic: tickets, alarmNamePrefix: 'second' });
    expect(m.pagingTopic).toBe(pager);
    expect(m.ticketingTopic).toBe(tickets);
    const t = Template.fromStack(stack);
    const ref = (topic: sns.Topic) => [{ Ref: stack.getLogicalId(topic.node.defaultChild as any) }];
    t.hasResourceProperties('AWS::CloudWatch::CompositeAlarm', { AlarmName: 'second-ingress-storm-page', AlarmActions: ref(pager) });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'second-broker-memory', AlarmActions: ref(tickets), OKActions: ref(tickets) });
    expect(Object.keys(t.findResources('AWS::SNS::Topic')).filter(id => id.startsWith('Second'))).toEqual([]);
  });

  test('actions instead of topics, without OK notifications; a topic and actions for the same destination are refused', () => {
    const { stack, broker } = build({}, { fleets: [] });
    const m = new CeleryMonitoring(stack, 'M', {
      broker, pagingActions: [action(PAGER)], ticketingActions: [action(TICKETS)], notifyOnOk: false, alarmNamePrefix: 'other', createDashboard: false,
    });
    expect(m.pagingTopic).toBeUndefined();
    expect(m.dashboard).toBeUndefined();
    const all = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::CompositeAlarm')).map((r: any) => r.Properties)
      .filter(p => p.AlarmName === 'other-ingress-storm-page');
    expect(all[0].AlarmActions).toEqual([PAGER]);
    expect(all[0].OKActions).toBeUndefined();
    expect(() => new CeleryMonitoring(stack, 'M2', { broker, pagingActions: [action(PAGER)], pagingTopic: new sns.Topic(stack, 'T') }))
      .toThrow('pagingActions and pagingTopic are both set; set one');
    expect(() => new CeleryMonitoring(stack, 'M3', { broker, ticketingActions: [action(TICKETS)], ticketingTopic: new sns.Topic(stack, 'T2') }))
      .toThrow('ticketingActions and ticketingTopic are both set; set one');
  });
});

describe('per-alarm overrides', () => {
  test('route: any alarm to paging, both, nowhere or actions of its own', () => {
    const { template } = build({
      pagingActions: [action(PAGER)],
      ticketingActions: [action(TICKETS)],
      alarms: {
        memory: { route: AlarmRoute.PAGE },
        diskFree: { route: AlarmRoute.PAGE_AND_TICKET },
        channelChurn: { route: AlarmRoute.NONE },
        cpu: { route: AlarmRoute.of(action(TEAM)) },
        brokerNotReporting: { route: AlarmRoute.TICKET },
        incidentPage: { route: AlarmRoute.TICKET },
        fleets: { workerRestarts: { route: AlarmRoute.PAGE } },
      },
    });
    const a = alarmsByName(template());
    expect(a['broker-memory'].AlarmActions).toEqual([PAGER]);
    expect(a['broker-disk-free'].AlarmActions).toEqual([PAGER, TICKETS]);
    expect(a['channel-churn'].AlarmActions).toBeUndefined();
    expect(a['broker-cpu'].AlarmActions).toEqual([TEAM]);
    expect(a['broker-not-reporting'].AlarmActions).toEqual([TICKETS]);
    expect(a['ingress-storm-page'].AlarmActions).toEqual([TICKETS]);
    expect(a['Workers-worker-restarts'].AlarmActions).toEqual([PAGER]);
    // Untouched alarms keep their routes.
    expect(a['broker-down-page'].AlarmActions).toEqual([PAGER]);
    expect(a['connection-churn'].AlarmActions).toEqual([TICKETS]);
    expect(() => AlarmRoute.of()).toThrow(/at least one action/);
    expect(AlarmRoute.PAGE_AND_TICKET.toString()).toBe('page and ticket');
  });

  test('threshold and periods: on their own, winning over thresholds; datapoints follow the periods', () => {
    const { template } = build({
      thresholds: { memoryUsedPercent: 75 },
      alarms: {
        memory: { threshold: 70 },
        cpu: { evaluationPeriods: 10 },
        connectionStorm: { evaluationPeriods: 5, datapointsToAlarm: 3 },
        connectionChurn: { threshold: 50 },
        brokerNotReporting: { evaluationPeriods: 10 },
        fleets: { networkOut: { threshold: 1_000_000_000 } },
      },
    });
    const a = alarmsByName(template());
    expect(a['broker-memory'].Threshold).toBe(70);
    expect(a['broker-memory'].AlarmDescription).toMatch(/uses 70 % or more/);
    expect([a['broker-cpu'].EvaluationPeriods, a['broker-cpu'].DatapointsToAlarm]).toEqual([10, 10]);
    expect([a['connection-storm'].EvaluationPeriods, a['connection-storm'].DatapointsToAlarm]).toEqual([5, 3]);
    expect(a['connection-churn'].Threshold).toBe(50);
    expect(a['connection-churn'].AlarmDescription).toMatch(/more than 50 connections per second .*set explicitly/);
    expect([a['broker-not-reporting'].EvaluationPeriods, a['broker-not-reporting'].DatapointsToAlarm]).toEqual([10, 10]);
    expect(a['Workers-network-out'].Threshold).toBe(1_000_000_000);
    // The rest keep their defaults.
    expect(a['broker-disk-free'].Threshold).toBe(2);
  });

  test('disable: the alarm is not created, and drops out of its page', () => {
    const { monitoring, template } = build({
      alarms: { brokerIngress: { enabled: false }, cpu: { enabled: false }, fleets: { queueBacklog: { enabled: false } } },
    }, { monitorInVpc: true, fleets: [['Workers', 30, ['orders']]] });
    expect(monitoring.brokerIngressAlarm).toBeUndefined();
    expect(monitoring.cpuAlarm).toBeUndefined();
    expect(monitoring.fleetAlarms[0].queueBacklogAlarm).toBeUndefined();
    expect(monitoring.fleetAlarms[0].queueNoConsumersAlarm).toBeDefined();
    const a = alarmsByName(template());
    expect(a['broker-ingress']).toBeUndefined();
    expect(a['broker-cpu']).toBeUndefined();
    expect(a['Workers-backlog']).toBeUndefined();
    expect(ruleText(a['ingress-storm-page'].AlarmRule)).toMatch(/^\(\(ALARM\("<MonitoringWorkersNetworkOutAlarm\w+>"\)\) AND/);
  });

  test('a page can be switched off; a page with no component left is not created', () => {
    const off = build({ alarms: { incidentPage: { enabled: false } } });
    expect(off.monitoring.incidentAlarm).toBeUndefined();
    expect(alarmsByName(off.template())['ingress-storm-page']).toBeUndefined();
    const noComponent = build({ alarms: { brokerNotReporting: { enabled: false } } });
    expect(noComponent.monitoring.brokerDownAlarm).toBeUndefined();
    // With neither ingress nor any NetworkOut, the incident page's first clause is FALSE: it never fires.
    const blind = build({ alarms: { brokerIngress: { enabled: false }, fleets: { networkOut: { enabled: false } } } });
    expect(ruleText(alarmsByName(blind.template())['ingress-storm-page'].AlarmRule)).toMatch(/^\(FALSE AND/);
  });

  test('switching the restart signal off removes the suppressor: the broker-down page then notifies at once', () => {
    const { monitoring, template } = build({ alarms: { brokerRestarting: { enabled: false } } });
    expect(monitoring.restartSuppressor).toBeUndefined();
    expect(alarmsByName(template())['broker-down-page'].ActionsSuppressor).toBeUndefined();
  });

  test('addFleet overrides win over alarms.fleets for that fleet only', () => {
    const { stack, vpc, broker, monitoring, template } = build({ alarms: { fleets: { workerRestarts: { threshold: 5 } } } });
    const reports = monitoring.addFleet(workerFleet(stack, 'Reports', { vpc: vpc!, broker }, 2), {
      workerRestarts: { threshold: 10, route: AlarmRoute.NONE }, networkOut: { enabled: false },
    });
    expect(reports.networkOutAlarm).toBeUndefined();
    const a = alarmsByName(template());
    expect(a['Workers-worker-restarts'].Threshold).toBe(5);
    expect(a['Reports-worker-restarts'].Threshold).toBe(10);
    expect(a['Reports-worker-restarts'].AlarmActions).toBeUndefined();
    expect(a['Reports-network-out']).toBeUndefined();
  });

  test.each<[Partial<CeleryMonitoringProps>, string]>([
    [{ alarms: { memory: { threshold: Number.NaN } } }, 'alarms.memory.threshold: NaN is not allowed; use a finite number'],
    [{ alarms: { cpu: { evaluationPeriods: 0 } } }, 'alarms.cpu.evaluationPeriods: 0 is not allowed; use a whole number, 1 or more'],
    [{ alarms: { cpu: { datapointsToAlarm: 2.5 } } }, 'alarms.cpu.datapointsToAlarm: 2.5 is not allowed'],
    [{ alarms: { cpu: { evaluationPeriods: 3, datapointsToAlarm: 4 } } }, 'alarms (broker-cpu): datapointsToAlarm 4 is more than evaluationPeriods 3'],
    [{ alarms: { backlog: { evaluationPeriods: 1441 } } }, 'alarms (backlog): evaluationPeriods 1441 of 1 minute(s) is more than a day'],
    [{ alarms: { incidentPage: { threshold: 1 } } }, 'alarms.incidentPage.threshold: 1 is not allowed on a page'],
    [{ alarms: { brokerDownPage: { evaluationPeriods: 2 } } }, 'alarms.brokerDownPage.evaluationPeriods: 2 is not allowed on a page'],
    [{ alarms: { brokerRestarting: { threshold: 2 } } }, 'alarms.brokerRestarting: only enabled and route apply'],
    [{ alarms: { fleets: { networkOut: { evaluationPeriods: -1 } } } }, 'alarms.fleets.networkOut.evaluationPeriods: -1 is not allowed'],
  ])('refused: %j', (props, message) => {
    expect(() => build(props)).toThrow(message);
  });
});
