import { Duration, Stack, TagManager, Token } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { CeleryWorkerFleetProps } from './celery-worker-fleet';
import { FleetCapacity } from './fleet-capacity';
import { workerOptionsOf } from './fleet-worker-options';
import { CeleryRequirement, celeryVersionAtLeast, DEFAULT_READINESS_TIMEOUT, renderCeleryWorkerCommand, validatePeriodicRestart } from './render';
import { WorkerCodeConfig } from './worker-code';

/** Tag keys EC2 accepts on instances that expose tags in instance metadata. */
const INSTANCE_METADATA_TAG_KEY = /^[A-Za-z0-9+\-=.,_:@]+$/;

/**
 * Checks a fleet's props at synth; throws a plain error naming the prop, the value and what is
 * allowed (the fleet rethrows it naming itself). `capacity` is what the props resolve to.
 */
export function validateFleetProps(props: CeleryWorkerFleetProps, capacity: FleetCapacity): void {
  // Not in the props type; refused for plain JavaScript callers, whom no type check stops.
  const celeryExecutable = (props as { celeryExecutable?: unknown }).celeryExecutable;
  if (celeryExecutable !== undefined) {
    throw new Error(`celeryExecutable: "${celeryExecutable}" cannot be set on the fleet; the code decides it (WorkerCode.preinstalled({ celeryExecutable, workingDirectory }) for a custom image).`);
  }
  // The renderer validates every command option (and the queue type against the broker) and names the prop.
  renderCeleryWorkerCommand({ ...workerOptionsOf(props), celeryExecutable: '/bin/celery' }, { engineVersion: props.broker.engineVersion });
  wholeNumber('minCapacity', props.minCapacity, 0);
  wholeNumber('maxCapacity', props.maxCapacity, 1);
  if (capacity.minCapacity > capacity.maxCapacity) {
    throw new Error(`minCapacity: ${capacity.minCapacity} is more than maxCapacity (${capacity.maxCapacity}).`);
  }
  wholeNumber('maxBatchSize', props.maxBatchSize, 1, capacity.maxCapacity);
  if (props.minInstancesInService !== undefined) {
    wholeNumber('minInstancesInService', props.minInstancesInService, 0, capacity.maxCapacity - 1);
  }
  wholeNumber('rootVolumeSizeGib', props.rootVolumeSizeGib, 8, 16384, true);
  wholeNumber('startLimitBurst', props.startLimitBurst, 2, 100);
  if (props.user !== undefined && (Token.isUnresolved(props.user) || !/^[a-z_][a-z0-9_-]{0,30}$/.test(props.user))) {
    throw new Error(`user: ${JSON.stringify(props.user)} is not a Linux user name; use lowercase letters, digits, _ and - (at most 31), starting with a letter or _.`);
  }
  if (props.user === 'root') {
    throw new Error('user: "root" is not allowed; the worker runs unprivileged (tasks run arbitrary code from the broker).');
  }
  const level = (props.logLevel ?? 'INFO').toUpperCase();
  if (props.enableRemoteControl === false && !['DEBUG', 'INFO'].includes(level)) {
    throw new Error(`logLevel: "${props.logLevel}" hides the worker's "ready." line, which boot readiness needs when enableRemoteControl is false; use INFO or DEBUG, or keep remote control on.`);
  }
  positiveSeconds('stopTimeout', props.stopTimeout, 1);
  positiveSeconds('restartJitter', props.restartJitter, 0, 3600);
  positiveSeconds('startLimitInterval', props.startLimitInterval, 60);
  positiveSeconds('bootTimeout', props.bootTimeout, 60, 43200);
  positiveSeconds('readinessTimeout', props.readinessTimeout, 5);
  // The effective values: a readiness wait of 20 minutes alone is as wrong as with a boot timeout given.
  const readiness = props.readinessTimeout ?? DEFAULT_READINESS_TIMEOUT;
  const boot = capacity.bootTimeout;
  if (readiness.toSeconds() >= boot.toSeconds()) {
    throw new Error(`readinessTimeout: ${readiness.toHumanString()}${props.readinessTimeout ? '' : ' (the default)'} must be shorter than bootTimeout `
      + `(${boot.toHumanString()}${props.bootTimeout ? '' : ', the default'}), or CloudFormation gives up before the instance can signal.`);
  }
  if (props.periodicRestart) validatePeriodicRestart(props.periodicRestart);
}

/** Refuses an image whose architecture (when it can be told) differs from the instance type's. */
export function validateImageArchitecture(machineImage: ec2.IMachineImage, instanceType: ec2.InstanceType): void {
  const imageArchitecture = knownImageArchitecture(machineImage);
  if (imageArchitecture && imageArchitecture !== instanceType.architecture) {
    throw new Error(`machineImage: the image is built for ${imageArchitecture} but instanceType ${instanceType} is ${instanceType.architecture}; pick an image and an instance type of the same architecture.`);
  }
}

/** The secret the instances read the broker credentials from: the fleet's, else the broker's. */
export function fleetCredentials(props: Pick<CeleryWorkerFleetProps, 'credentials' | 'broker'>): secretsmanager.ISecret {
  const credentials = props.credentials ?? props.broker.credentials;
  if (!credentials) {
    throw new Error(`credentials: the broker ${props.broker.node.path} has no credentials secret; pass credentials (a secret with JSON "username", "password" and optional "vhost").`);
  }
  return credentials;
}

/**
 * Refuses code whose Celery (when the code says which) is older than the broker needs; `fleetPath`
 * starts the message, as the version comes from the code rather than a prop of the fleet.
 */
export function validateCeleryVersion(fleetPath: string, code: WorkerCodeConfig, requirement: CeleryRequirement, props: Pick<CeleryWorkerFleetProps, 'broker'>): void {
  if (code.celeryVersion && !celeryVersionAtLeast(code.celeryVersion, requirement.version)) {
    throw new Error(`${fleetPath}: code: the application's Celery is ${code.celeryVersion} (${code.celeryVersionSource ?? 'from the worker code'}), `
      + `but on this broker (engine version ${props.broker.engineVersion?.version ?? 'unknown'}) ${requirement.reason}: use Celery ${requirement.version} or later.`);
  }
}

/**
 * Errors for the instance tag keys (the group's propagated tags and the launch template's) that
 * EC2 refuses with tags in instance metadata, which is how instances learn their group name
 * without a wider IAM permission. For `node.addValidation`: tags are final only at synth.
 */
export function instanceTagKeyErrors(group: autoscaling.AutoScalingGroup, launchTemplate: ec2.LaunchTemplate): string[] {
  const stack = Stack.of(group);
  const cfnGroup = group.node.defaultChild as autoscaling.CfnAutoScalingGroup;
  const groupTags: Array<{ key: string; propagateAtLaunch?: boolean }> = stack.resolve(cfnGroup.tags.renderTags()) ?? [];
  const templateTags: Array<{ key: string }> = stack.resolve(TagManager.of(launchTemplate)?.renderTags()) ?? [];
  const keys = [...groupTags.filter((t) => t.propagateAtLaunch !== false), ...templateTags].map((t) => t.key);
  return invalidInstanceTagKeyErrors(keys);
}

/** Errors for the keys that cannot be instance tags with tags in instance metadata (each key once). */
export function invalidInstanceTagKeyErrors(keys: string[]): string[] {
  return [...new Set(keys)]
    .filter((key) => typeof key === 'string' && (!INSTANCE_METADATA_TAG_KEY.test(key) || ['.', '..', '_index'].includes(key)))
    .map((key) => `tags: instance tag key ${JSON.stringify(key)} cannot be used with tags in instance metadata (which the fleet needs to find its group name); keys may only hold letters, digits and + - = . , _ : @ (no spaces or /). Remove the tag from the fleet or stop it from propagating to instances.`);
}

/**
 * A whole number in range. CloudFormation values are refused unless `tokenAllowed` (the value only
 * goes into the template): the fleet derives scripts, batches, steps and alarm thresholds from its
 * numbers at synth, and arithmetic on a token gives nonsense.
 */
export function wholeNumber(prop: string, value: number | undefined, min: number, max?: number, tokenAllowed = false): void {
  if (value === undefined) return;
  if (Token.isUnresolved(value)) {
    if (tokenAllowed) return;
    throw new Error(`${prop}: a CloudFormation value (token) is not accepted; the fleet derives its user data, rolling-update batches, scaling steps and alarm thresholds from it at synth. Use a number.`);
  }
  if (!Number.isInteger(value) || value < min || (max !== undefined && value > max)) {
    throw new Error(`${prop}: ${value} is not allowed; use a whole number ${max !== undefined ? `from ${min} to ${max}` : `of at least ${min}`}.`);
  }
}

function positiveSeconds(prop: string, value: Duration | undefined, min: number, max?: number): void {
  if (value === undefined) return;
  if (value.isUnresolved()) {
    throw new Error(`${prop}: a CloudFormation value (token) is not accepted; it is written into the instances' units and scripts, or derives other timeouts, at synth. Use a Duration.`);
  }
  const seconds = value.toSeconds({ integral: false });
  if (!Number.isInteger(seconds) || seconds < min || (max !== undefined && seconds > max)) {
    throw new Error(`${prop}: ${value.toHumanString()} is not allowed; use whole seconds ${max !== undefined ? `from ${min} to ${max}` : `of at least ${min}`}.`);
  }
}

/**
 * The architecture of an image when it can be told from its SSM parameter name
 * (`MachineImage.fromSsmParameter`, `resolveSsmParameterAtLaunch`, `latestAmazonLinux2023`...).
 * Best effort: other images are not checked.
 */
export function knownImageArchitecture(image: ec2.IMachineImage): ec2.InstanceArchitecture | undefined {
  const candidate = image as { parameterName?: unknown; props?: { parameterName?: unknown } };
  const parameterName = candidate.parameterName ?? candidate.props?.parameterName;
  if (typeof parameterName !== 'string' || Token.isUnresolved(parameterName)) return undefined;
  if (/arm64|aarch64/.test(parameterName)) return ec2.InstanceArchitecture.ARM_64;
  if (/x86_64|amd64/.test(parameterName)) return ec2.InstanceArchitecture.X86_64;
  return undefined;
}
