import { Lazy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct, IConstruct } from 'constructs';
import { CeleryAlarmOverride } from './alarm-overrides';
import { AlarmRoute } from './alarm-route';
import { ValidationError } from '../private/validation-error';

/** Longest alarm name CloudWatch accepts. */
const MAX_ALARM_NAME_LENGTH = 255;
/** Longest evaluation range CloudWatch accepts, in minutes. */
const MAX_EVALUATION_MINUTES = 1440;

/** What `AlarmFactory.metricAlarm()` needs to create one metric alarm. */
export interface AlarmSpec {
  readonly id: string;
  readonly nameSuffix: string;
  readonly metric: cloudwatch.IMetric;
  /** Default threshold (may be lazy); an override's wins. */
  readonly threshold: number;
  readonly comparisonOperator: cloudwatch.ComparisonOperator;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly treatMissingData: cloudwatch.TreatMissingData;
  readonly route: AlarmRoute;
  /** Period of the metric, to check the evaluation range (at most a day). */
  readonly periodMinutes: number;
  /** The description, given the threshold in force (a number, or a string for a lazy one). */
  readonly description: (threshold: string) => string;
}

/** Where the alarms of one `CeleryMonitoring` are named, routed and ordered. */
export interface AlarmFactoryProps {
  /** Prefix of every alarm name. */
  readonly alarmNamePrefix: string;
  readonly pagingActions: cloudwatch.IAlarmAction[];
  readonly ticketingActions: cloudwatch.IAlarmAction[];
  /** Also run an alarm's actions when it returns to OK. */
  readonly notifyOnOk: boolean;
  /**
   * The broker resource every alarm is created after (same stack only), if the broker was
   * created by this library.
   */
  readonly brokerResource?: IConstruct;
}

/**
 * Creates the metric alarms of one `CeleryMonitoring` in its scope, so that construct ids and
 * errors name that construct: the name within CloudWatch's limit, the override applied and
 * checked, the route's actions, and the order after the broker.
 */
export class AlarmFactory {
  constructor(private readonly scope: Construct, private readonly props: AlarmFactoryProps) {}

  /** One metric alarm from its spec and its override; undefined when the override disables it. */
  public metricAlarm(override: CeleryAlarmOverride | undefined, spec: AlarmSpec): cloudwatch.Alarm | undefined {
    if (override?.enabled === false) return undefined;
    const threshold = override?.threshold ?? spec.threshold;
    const evaluationPeriods = override?.evaluationPeriods ?? spec.evaluationPeriods;
    // Overriding only the periods means "all of them", as CloudWatch's own default does.
    const datapointsToAlarm = override?.datapointsToAlarm ?? override?.evaluationPeriods ?? spec.datapointsToAlarm;
    if (!Token.isUnresolved(evaluationPeriods) && !Token.isUnresolved(datapointsToAlarm)) {
      if (datapointsToAlarm > evaluationPeriods) {
        throw new ValidationError(this.scope, `alarms (${spec.nameSuffix}): datapointsToAlarm ${datapointsToAlarm} is more than evaluationPeriods `
          + `${evaluationPeriods}; use at most ${evaluationPeriods}`);
      }
      if (evaluationPeriods * spec.periodMinutes > MAX_EVALUATION_MINUTES) {
        throw new ValidationError(this.scope, `alarms (${spec.nameSuffix}): evaluationPeriods ${evaluationPeriods} of ${spec.periodMinutes} minute(s) `
          + `is more than a day, which CloudWatch refuses; use at most ${Math.floor(MAX_EVALUATION_MINUTES / spec.periodMinutes)}`);
      }
    }
    const alarm = new cloudwatch.Alarm(this.scope, spec.id, {
      alarmName: this.alarmName(spec.nameSuffix),
      alarmDescription: Lazy.string({
        produce: () => spec.description(String(Token.isUnresolved(threshold) ? Stack.of(this.scope).resolve(threshold) : threshold)),
      }),
      metric: spec.metric,
      threshold,
      comparisonOperator: spec.comparisonOperator,
      evaluationPeriods,
      datapointsToAlarm,
      treatMissingData: spec.treatMissingData,
    });
    this.route(alarm, override?.route ?? spec.route);
    this.orderAfterBroker(alarm);
    return alarm;
  }

  /** `<prefix>-<suffix>`, within CloudWatch's 255 characters. */
  public alarmName(suffix: string): string {
    const name = `${this.props.alarmNamePrefix}-${suffix}`;
    if (!Token.isUnresolved(name) && name.length > MAX_ALARM_NAME_LENGTH) {
      throw new ValidationError(this.scope, `alarmNamePrefix: the alarm name ${JSON.stringify(name)} has ${name.length} characters; CloudWatch allows `
        + `${MAX_ALARM_NAME_LENGTH}. Use an alarmNamePrefix of at most ${MAX_ALARM_NAME_LENGTH - 1 - suffix.length} characters for this alarm`
        + ' (or shorter fleet names).');
    }
    return name;
  }

  /** The route's actions on ALARM, and on OK unless `notifyOnOk` is false. */
  public route(alarm: cloudwatch.AlarmBase, route: AlarmRoute): void {
    const actions = route.resolve(this.props.pagingActions, this.props.ticketingActions);
    if (actions.length === 0) return;
    alarm.addAlarmAction(...actions);
    if (this.props.notifyOnOk) {
      alarm.addOkAction(...actions);
    }
  }

  /**
   * Create after a broker of the same stack: an alarm that exists while the broker is being
   * created sees no data, and the broker's own creation is not something to be paged for.
   */
  public orderAfterBroker(construct: IConstruct): void {
    const resource = this.props.brokerResource;
    if (resource && Stack.of(resource) === Stack.of(this.scope)) {
      construct.node.addDependency(resource);
    }
  }
}
