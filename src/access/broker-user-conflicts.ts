import { Stack, Token } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, IConstruct } from 'constructs';
import { IRabbitMqBroker } from '../broker/rabbitmq-broker-ref';

/*
 * Broker users that the broker-user custom resource makes (the application user of
 * CeleryBrokerAccess, the read-only user of BrokerMonitoringUser) must not be a user the broker
 * already has a use for: Amazon MQ refuses "guest", the resource would replace the
 * administrator's tags and permissions, and two resources of one username on one broker reset
 * each other's password, tags and permissions on every deployment.
 */

/** Marks a construct that creates a broker user, with what the checks need. */
const BROKER_USER_SYMBOL = Symbol.for('cdk-celery.BrokerUser');
/** Marks CeleryPlatform constructs (defined in patterns, which imports this module's users). */
const PLATFORM_SYMBOL = Symbol.for('cdk-celery.CeleryPlatform');

/** Which user a construct creates. */
export interface BrokerUserMark {
  /** `application` or `monitoring`: platforms report two users of one kind themselves. */
  readonly kind: 'application' | 'monitoring';
  readonly username: string;
  readonly broker: IRabbitMqBroker;
  /** The construct's prop that names the user, for the error. */
  readonly usernameProp: string;
}

/**
 * Refuses a username Amazon MQ refuses or that is the broker's administrator (when the broker
 * knows it: a created broker that generated its secret, and the user's function authenticates
 * with that secret, its default).
 */
export function reservedUsernameError(mark: BrokerUserMark, adminCredentials: secretsmanager.ISecret | undefined): string | undefined {
  const { username, usernameProp, broker } = mark;
  if (Token.isUnresolved(username)) return undefined;
  if (username === 'guest') {
    return `${usernameProp}: "guest" is not allowed; Amazon MQ refuses the name "guest" for RabbitMQ users. Choose another username.`;
  }
  const adminUsername = (broker as { adminUsername?: unknown }).adminUsername;
  const withBrokerSecret = adminCredentials === undefined || adminCredentials === broker.credentials;
  if (withBrokerSecret && typeof adminUsername === 'string' && !Token.isUnresolved(adminUsername) && adminUsername === username) {
    return `${usernameProp}: "${username}" is the administrator of the broker ${broker.node.path}; the ${mark.kind} user must be another user `
      + '(this resource would replace the administrator\'s tags and permissions). Choose another username.';
  }
  return undefined;
}

/** Marks `scope` as creating the user of `mark`, and checks at synth that no other construct of the app creates it on the same broker. */
export function registerBrokerUser(scope: Construct, mark: BrokerUserMark): void {
  Object.defineProperty(scope, BROKER_USER_SYMBOL, { value: mark });
  scope.node.addValidation({ validate: () => duplicateUserErrors(scope, mark) });
}

function duplicateUserErrors(self: Construct, mark: BrokerUserMark): string[] {
  if (Token.isUnresolved(mark.username)) return [];
  const selfPlatform = platformOf(self);
  return self.node.root.node.findAll()
    .filter((c) => c !== self && BROKER_USER_SYMBOL in c)
    .map((c) => ({ construct: c, other: (c as unknown as { [BROKER_USER_SYMBOL]: BrokerUserMark })[BROKER_USER_SYMBOL] }))
    .filter(({ other }) => other.username === mark.username && isSameBroker(mark.broker, other.broker))
    // Two platforms' users of one kind: the platforms say it with their own prop names.
    .filter(({ construct, other }) => !(other.kind === mark.kind && selfPlatform && platformOf(construct) && platformOf(construct) !== selfPlatform))
    .map(({ construct, other }) => `${mark.usernameProp}: "${mark.username}" is also the ${other.kind === mark.kind ? 'user' : `${other.kind} user`} `
      + `of ${construct.node.path} on the same broker ${mark.broker.node.path}; each would reset the other's password`
      + `${other.kind === mark.kind ? '' : ', tags and permissions'} on every deployment. Give each its own username.`);
}

/** The CeleryPlatform `c` is part of, if any. */
function platformOf(c: IConstruct): IConstruct | undefined {
  for (let s: IConstruct | undefined = c.node.scope; s; s = s.node.scope) {
    if (PLATFORM_SYMBOL in s) return s;
  }
  return undefined;
}

/** Whether two brokers are the same: one object, or the same literal name in the same stack or account and Region. */
function isSameBroker(a: IRabbitMqBroker, b: IRabbitMqBroker): boolean {
  if (a === b) return true;
  if (Token.isUnresolved(a.brokerName) || a.brokerName !== b.brokerName) return false;
  const [sa, sb] = [Stack.of(a), Stack.of(b)];
  if (sa === sb) return true;
  const literal = (v: string) => !Token.isUnresolved(v);
  return literal(sa.account) && literal(sa.region) && sa.account === sb.account && sa.region === sb.region;
}
