import { Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cw_actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { ValidationError } from '../private/validation-error';

/** SNS display names are at most 100 characters. */
const MAX_TOPIC_DISPLAY_NAME_LENGTH = 100;

/** One destination of `CeleryMonitoring`'s alarms (paging or ticketing), as the user gave it. */
export interface AlarmDestinationProps {
  /** `paging` or `ticketing`: the props are `<kind>Topic` and `<kind>Actions`. */
  readonly kind: string;
  readonly topic?: sns.ITopic;
  readonly actions?: cloudwatch.IAlarmAction[];
  /** Construct id of the topic created when neither is given. */
  readonly topicId: string;
  /** What the created topic is for, shown in its notifications. */
  readonly label: string;
  readonly alarmNamePrefix: string;
}

/** Where one kind of alarm goes: the actions, and the topic they notify if they notify one. */
export interface AlarmDestination {
  readonly topic?: sns.ITopic;
  readonly actions: cloudwatch.IAlarmAction[];
}

/** The user's actions, or an SnsAction on the user's topic, or on a topic created in `scope`. */
export function alarmDestination(scope: Construct, props: AlarmDestinationProps): AlarmDestination {
  const { kind, topic, actions } = props;
  if (topic && actions) {
    throw new ValidationError(scope, `${kind}Actions and ${kind}Topic are both set; set one: ${kind}Topic is notified through an SnsAction, `
      + `${kind}Actions replace it`);
  }
  if (actions) return { topic: undefined, actions: [...actions] };
  const created = topic ?? new sns.Topic(scope, props.topicId, {
    displayName: topicDisplayName(props.label, props.alarmNamePrefix),
    enforceSSL: true,
  });
  return { topic: created, actions: [new cw_actions.SnsAction(created)] };
}

/** `<label> (<prefix>)`; a long prefix is shortened there (it is only shown in notifications). */
export function topicDisplayName(label: string, prefix: string): string {
  const name = `${label} (${prefix})`;
  return Token.isUnresolved(name) || name.length <= MAX_TOPIC_DISPLAY_NAME_LENGTH
    ? name : `${name.slice(0, MAX_TOPIC_DISPLAY_NAME_LENGTH - 4)}...)`;
}
