import { Annotations, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { IConstruct } from 'constructs';
import { RabbitMqDeploymentMode } from './rabbitmq-deployment-mode';
import { ENGINE_VERSION_FORMAT, RabbitMqEngineVersion, SUPPORTED_NEW_BROKER_ENGINE_VERSIONS } from './rabbitmq-engine-version';
import { INSTANCE_TYPE_FORMAT, REFUSED_INSTANCE_TYPES, RabbitMqInstanceType } from './rabbitmq-instance-type';
import { MaintenanceDay, RabbitMqMaintenanceWindow } from './rabbitmq-maintenance-window';

// Synth-time rules of Amazon MQ for RabbitMQ. Not re-exported: the constants a user may need are
// on the public classes. Every rule skips values that are unresolved tokens.

/**
 * Instance families each engine major version runs on. RabbitMQ 4.x: m7g only; 3.13: m7g and m5.
 * Majors missing here (a future 5.x) are not checked.
 */
export const ENGINE_INSTANCE_FAMILIES: { readonly [major: string]: readonly string[] } = Object.freeze({
  3: Object.freeze(['m7g', 'm5']),
  4: Object.freeze(['m7g']),
});

/** Families this library knows; another family (through `RabbitMqInstanceType.of`) gets a warning. */
export const KNOWN_INSTANCE_FAMILIES: readonly string[] = Object.freeze(['m7g', 'm5']);

/** Instance types meant for evaluation; they get a warning. */
export const EVALUATION_INSTANCE_TYPES: readonly string[] = Object.freeze(['mq.m7g.medium']);

/** Broker names: 1 to 50 letters, digits, `-` and `_`. */
export const BROKER_NAME_FORMAT = /^[A-Za-z0-9_-]{1,50}$/;

/**
 * Usernames Amazon MQ accepts for RabbitMQ brokers: 2 to 100 letters, digits, `-`, `.` and `_` (no
 * `~`, which ActiveMQ brokers allow), and never `guest`.
 */
export const USERNAME_FORMAT = /^[A-Za-z0-9._-]{2,100}$/;

/** Usernames Amazon MQ refuses for RabbitMQ brokers. */
export const REFUSED_USERNAMES: readonly string[] = Object.freeze(['guest']);

/** Amazon MQ accepts at most 5 security groups per broker. */
export const MAX_SECURITY_GROUPS = 5;

const TIME_OF_DAY_FORMAT = /^([01]\d|2[0-3]):[0-5]\d$/;
/** A UTC offset the way Amazon MQ documents it (`UTC+01:00`), at most 14 hours. */
const UTC_OFFSET_FORMAT = /^UTC[+-](0\d|1[0-4]):[0-5]\d$/;

/**
 * Why Amazon MQ would refuse `timeZone`, or undefined: it takes `UTC`, a UTC offset (`UTC+01:00`)
 * or an IANA time zone name (`Europe/Paris`, the canonical name, as in the IANA database that
 * Node.js's ICU carries; an alias such as `US/Pacific` is refused with its canonical name).
 */
export function timeZoneError(timeZone: string): string | undefined {
  if (timeZone === 'UTC' || UTC_OFFSET_FORMAT.test(timeZone) || IANA_TIME_ZONES.has(timeZone)) return undefined;
  let canonical: string | undefined;
  try {
    canonical = new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
  } catch {
    canonical = undefined;
  }
  return canonical && canonical !== timeZone ? `use its canonical name ${canonical}` : 'use UTC, an IANA time zone name such as Europe/Paris, or a UTC offset such as UTC+01:00';
}

// Intl.supportedValuesOf (Node.js 18+) is not in the compiler's ES2020 library typings.
const IANA_TIME_ZONES = new Set((Intl as unknown as { supportedValuesOf(key: string): string[] }).supportedValuesOf('timeZone'));

/** Host names: DNS labels of letters, digits and `-` separated by dots (no scheme, port or path). */
const HOST_NAME_FORMAT = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * Checks an endpoint host given to `fromRabbitMqBrokerAttributes`: the host name only. A pasted
 * endpoint (`amqps://HOST:5671`) gets the host it holds as the suggestion. Tokens are checked on the
 * instance at boot instead.
 */
export function validateEndpointHost(host: string): void {
  if (Token.isUnresolved(host) || HOST_NAME_FORMAT.test(host)) return;
  const pasted = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/(?:[^@/]*@)?([^:/?#]+)/.exec(host);
  const hint = pasted && HOST_NAME_FORMAT.test(pasted[1]) ? `; use the host alone: ${JSON.stringify(pasted[1])}` : '; use the host name alone, for example b-1234....mq.eu-west-1.on.aws';
  throw new Error(`endpointHost: ${JSON.stringify(host)} is not a host name (no scheme, port, path or credentials)${hint}`);
}

/**
 * A new broker needs a supported version; an existing (imported) broker may run any version
 * Amazon MQ ever had, so only the format is checked there.
 */
export function validateEngineVersion(engineVersion: RabbitMqEngineVersion, options: { existingBroker?: boolean } = {}): void {
  const version = engineVersion.version;
  if (Token.isUnresolved(version)) return;
  const allowed = options.existingBroker
    ? 'use the version the broker runs, for example 3.13 or 4.2'
    : `use ${SUPPORTED_NEW_BROKER_ENGINE_VERSIONS.join(' or ')} (RabbitMqEngineVersion.V3_13, RabbitMqEngineVersion.V4_2)`;
  const match = ENGINE_VERSION_FORMAT.exec(version);
  if (!match) {
    throw new Error(`engineVersion: ${JSON.stringify(version)} is not allowed; ${allowed}, in the MAJOR.MINOR format`);
  }
  if (options.existingBroker) return;
  const major = Number(match[1]);
  const minor = Number(match[2]);
  if (major < 3 || (major === 3 && minor < 13)) {
    throw new Error(`engineVersion: ${version} is not allowed; ${allowed}. RabbitMQ 3.12 and older are end of support on Amazon MQ.`);
  }
}

export function validateInstanceType(instanceType: RabbitMqInstanceType): void {
  const name = instanceType.name;
  if (Token.isUnresolved(name)) return;
  const refused = REFUSED_INSTANCE_TYPES[name];
  if (refused) {
    throw new Error(`instanceType: ${name} is not allowed; use an mq.m7g.* type such as mq.m7g.large (${refused}; mq.m7g.medium is the evaluation size)`);
  }
  if (!INSTANCE_TYPE_FORMAT.test(name)) {
    throw new Error(`instanceType: ${JSON.stringify(name)} is not allowed; use the full name mq.FAMILY.SIZE, for example mq.m7g.large (RabbitMqInstanceType.M7G_LARGE)`);
  }
}

/** Engine/instance compatibility, auto minor version upgrades, and warnings for unusual pairs. */
export function validateEngineAndInstance(scope: IConstruct, engineVersion: RabbitMqEngineVersion,
  instanceType: RabbitMqInstanceType, autoMinorVersionUpgrade: boolean): void {
  const major = engineVersion.majorVersion;
  const family = instanceType.family;
  const families = major === undefined ? undefined : ENGINE_INSTANCE_FAMILIES[String(major)];
  if (families && family && KNOWN_INSTANCE_FAMILIES.includes(family) && !families.includes(family)) {
    throw new Error(`instanceType: ${instanceType.name} is not allowed with engineVersion ${engineVersion.version}; `
      + `use an ${families.map(f => `mq.${f}.*`).join(' or ')} type (RabbitMQ ${major}.x runs only on ${families.join(', ')})`);
  }
  if (!autoMinorVersionUpgrade && major !== undefined) {
    // Every version a new broker may use (3.13 and later) requires it.
    throw new Error(`autoMinorVersionUpgrade: false is not allowed with engineVersion ${engineVersion.version}; use true `
      + '(Amazon MQ requires automatic minor version upgrades for RabbitMQ 3.13 and later; they happen in the maintenance window)');
  }
  if (family && !KNOWN_INSTANCE_FAMILIES.includes(family)) {
    Annotations.of(scope).addWarningV2('cdk-celery:brokerUnknownInstanceFamily',
      `instanceType ${instanceType.name}: the ${family} family is not one this library knows (${KNOWN_INSTANCE_FAMILIES.join(', ')}); `
      + 'its compatibility with the engine version was not checked.');
  }
  if (EVALUATION_INSTANCE_TYPES.includes(instanceType.name)) {
    Annotations.of(scope).addWarningV2('cdk-celery:brokerEvaluationInstanceType',
      `instanceType ${instanceType.name} is meant for evaluation; use mq.m7g.large or larger for production Celery workloads.`);
  }
  if (engineVersion.isUpgradeOnly) {
    Annotations.of(scope).addWarningV2('cdk-celery:brokerEngineUpgradeOnly',
      `engineVersion ${engineVersion.version} can only be reached by upgrading an existing 4.2 broker; creating a new broker with it fails. `
      + 'RabbitMQ 4.3 also refuses transient non-exclusive queues (worker fleets then need Celery 5.6 or later), and consumer_timeout no longer applies to classic queues.');
  }
}

export function validateBrokerName(brokerName: string): void {
  if (Token.isUnresolved(brokerName)) return;
  if (!BROKER_NAME_FORMAT.test(brokerName)) {
    throw new Error(`brokerName: ${JSON.stringify(brokerName)} is not allowed; use 1 to 50 letters, digits, '-' and '_' `
      + '(the name is the Broker dimension of the metrics; changing it replaces the broker)');
  }
}

export function validateUsername(prop: string, username: string): void {
  if (Token.isUnresolved(username)) return;
  if (!USERNAME_FORMAT.test(username)) {
    throw new Error(`${prop}: ${JSON.stringify(username)} is not allowed; use 2 to 100 letters, digits, '-', '.' and '_' (Amazon MQ for RabbitMQ refuses '~')`);
  }
  if (REFUSED_USERNAMES.includes(username)) {
    throw new Error(`${prop}: ${JSON.stringify(username)} is not allowed; Amazon MQ refuses the name "guest" for RabbitMQ users`);
  }
}

export function validateMaintenanceWindow(window: RabbitMqMaintenanceWindow): void {
  const days = Object.values(MaintenanceDay) as string[];
  if (!Token.isUnresolved(window.dayOfWeek) && !days.includes(window.dayOfWeek)) {
    throw new Error(`maintenanceWindow.dayOfWeek: ${JSON.stringify(window.dayOfWeek)} is not allowed; use one of ${days.join(', ')} (MaintenanceDay)`);
  }
  if (!Token.isUnresolved(window.timeOfDay) && !TIME_OF_DAY_FORMAT.test(window.timeOfDay)) {
    throw new Error(`maintenanceWindow.timeOfDay: ${JSON.stringify(window.timeOfDay)} is not allowed; use HH:MM in 24-hour format, for example 03:00`);
  }
  const timeZone = window.timeZone;
  const zoneError = timeZone === undefined || Token.isUnresolved(timeZone) ? undefined : timeZoneError(timeZone);
  if (zoneError) {
    throw new Error(`maintenanceWindow.timeZone: ${JSON.stringify(timeZone)} is not allowed; ${zoneError}`);
  }
}

export function validateSecurityGroupCount(securityGroups: ec2.ISecurityGroup[]): void {
  if (securityGroups.length === 0 || securityGroups.length > MAX_SECURITY_GROUPS) {
    throw new Error(`securityGroups: ${securityGroups.length} security groups is not allowed; use 1 to ${MAX_SECURITY_GROUPS}`);
  }
}

/**
 * The subnets of a private broker: exactly one for a single instance (default: the first subnet
 * of the default selection, which prefers private subnets); for a cluster, subnets in distinct
 * Availability Zones, at least one (default: one per AZ). Amazon MQ cannot create its VPC
 * endpoints with two subnets in the same AZ.
 */
export function selectBrokerSubnets(scope: IConstruct, vpc: ec2.IVpc, deploymentMode: RabbitMqDeploymentMode,
  vpcSubnets: ec2.SubnetSelection | undefined): ec2.ISubnet[] {
  if (deploymentMode === RabbitMqDeploymentMode.SINGLE_INSTANCE) {
    const subnets = vpc.selectSubnets(vpcSubnets ?? { onePerAz: true }).subnets;
    if (vpcSubnets === undefined) {
      if (subnets.length === 0) throw new Error('vpc: the VPC has no subnets; pass a VPC with at least one private subnet');
      return subnets.slice(0, 1);
    }
    if (subnets.length !== 1) {
      throw new Error(`vpcSubnets: a selection of ${describeSubnets(subnets)} is not allowed; use a selection of exactly one subnet `
        + 'for a SINGLE_INSTANCE broker, for example { subnets: [vpc.privateSubnets[0]] }');
    }
    return subnets;
  }

  const subnets = vpc.selectSubnets(vpcSubnets ?? { onePerAz: true }).subnets;
  if (subnets.length === 0) {
    throw new Error(`vpcSubnets: a selection of ${describeSubnets(subnets)} is not allowed; use at least one subnet for a private CLUSTER_MULTI_AZ broker`);
  }
  const seen = new Map<string, number>();
  for (const subnet of subnets) {
    const az = subnet.availabilityZone;
    if (Token.isUnresolved(az)) continue;
    seen.set(az, (seen.get(az) ?? 0) + 1);
  }
  const repeated = [...seen.entries()].filter(([, n]) => n > 1).map(([az]) => az);
  if (repeated.length > 0) {
    throw new Error(`vpcSubnets: a selection of ${describeSubnets(subnets)} is not allowed; use subnets in distinct Availability Zones `
      + `for a CLUSTER_MULTI_AZ broker (${repeated.join(', ')} has more than one), for example { subnetType: ..., onePerAz: true }`);
  }
  if (subnets.length === 1) {
    Annotations.of(scope).addWarningV2('cdk-celery:brokerClusterOneSubnet',
      'vpcSubnets selects one subnet: the cluster\'s nodes still span Availability Zones, but clients reach it through endpoints in one AZ only. '
      + 'Select one subnet in each of several AZs (the default selects one per AZ).');
  }
  return subnets;
}

function describeSubnets(subnets: ec2.ISubnet[]): string {
  const where = subnets.map(s => (Token.isUnresolved(s.availabilityZone) ? s.node.path : s.availabilityZone));
  return `${subnets.length} subnet${subnets.length === 1 ? '' : 's'}${where.length ? ` (${where.join(', ')})` : ''}`;
}
