import { Duration } from 'aws-cdk-lib';
import type { CeleryWorkerFleetProps } from './celery-worker-fleet';
import { CeleryPool } from './render';
import { celerySettingWarnings } from './render/celery-settings';

/** Fleets larger than this get a warning: each worker holds connections and channels on the broker. */
export const LARGE_FLEET_WARNING_CAPACITY = 50;

/** A legal but risky choice of a fleet: `id` (without the `cdk-celery:` prefix) and the message. */
export interface FleetWarning {
  readonly id: string;
  readonly message: string;
}

/** What a fleet resolved, which its warnings quote. */
export interface FleetWarningContext {
  readonly maxCapacity: number;
  /** `TimeoutStopSec` of the worker. */
  readonly stopTimeout: Duration;
}

/**
 * The warnings a fleet's props deserve, in a fixed order. Pure: the fleet turns each into
 * `Annotations.addWarningV2('cdk-celery:<id>', message)`.
 */
export function fleetWarnings(props: CeleryWorkerFleetProps, context: FleetWarningContext): FleetWarning[] {
  const warnings: FleetWarning[] = [];
  const warn = (id: string, message: string) => warnings.push({ id, message });
  const { maxCapacity, stopTimeout } = context;
  if (!props.broker.engineVersion && !props.queueType) {
    warn('engineVersionUnknown', 'The broker\'s engine version is unknown (an imported broker without engineVersion), so the workers declare no queue type. On RabbitMQ 4, where Amazon MQ makes untyped queues quorum queues, they would crash-loop (global QoS on a quorum queue). Pass engineVersion to RabbitMqBroker.fromRabbitMqBrokerAttributes, or set queueType.');
  }
  if (props.nativeDelayedDelivery === false) {
    warn('nativeDelayedDeliveryOff', 'nativeDelayedDelivery is false: ETA and countdown tasks (and retries with a countdown) are held by the workers until due, each taking a prefetch slot of a quorum queue consumer, so a worker holding as many of them as its prefetch limit takes no other task meanwhile.');
  }
  if (props.enableRemoteControl === false) {
    warn('remoteControlOff', 'enableRemoteControl is false: revoke, inspect, ping and Flower\'s inspect pages stop working, and boot readiness falls back to the worker\'s "ready." log line.');
  }
  if (props.enableHeartbeatEvents) {
    warn('heartbeatEvents', `enableHeartbeatEvents is true: each worker sends an event every 2 s (about 200 B/s into the broker; ${maxCapacity} workers at most).`);
  }
  if (props.enableGossip) {
    warn('gossip', `enableGossip is true: every worker consumes every worker's events, N squared deliveries every 2 s (${maxCapacity * maxCapacity} at maxCapacity).`);
  }
  if (props.enableMingle) {
    warn('mingle', `enableMingle is true: each worker start pulls (workers - 1) x (revoked set size) through the broker, up to ${maxCapacity - 1} replies per start at maxCapacity; this is what took the broker down in the incident.`);
  }
  const consumerTimeout = props.broker.consumerTimeout;
  const knownConsumerTimeout = consumerTimeout && !consumerTimeout.isUnresolved() ? consumerTimeout : undefined;
  const consumerTimeoutText = knownConsumerTimeout
    ? `${knownConsumerTimeout.toHumanString()} on this broker`
    : 'Amazon MQ\'s default is 30 minutes';
  if (!props.timeLimit && !props.stopTimeout) {
    warn('noTimeLimit', `No timeLimit: a warm stop waits up to ${stopTimeout.toMinutes()} minutes for running tasks and then kills them, and a task that holds its message longer than the broker's consumer_timeout (${consumerTimeoutText}) gets its channel closed. Set timeLimit to the longest task.`);
  }
  // Late acknowledgement keeps a running task's message unacked: past consumer_timeout RabbitMQ
  // closes the channel and redelivers the task, which then runs twice.
  if (props.acksLate !== false && knownConsumerTimeout && props.timeLimit && !props.timeLimit.isUnresolved()
    && props.timeLimit.toSeconds() >= knownConsumerTimeout.toSeconds()) {
    warn('timeLimitOverConsumerTimeout', `timeLimit ${props.timeLimit.toHumanString()} is not shorter than the broker's consumer_timeout (${consumerTimeoutText}): with late acknowledgement a task that runs that long holds its message past the timeout, so RabbitMQ closes the worker's channel (PRECONDITION_FAILED) and redelivers the task. Raise the broker's configuration.consumerTimeout above the longest task plus the longest ETA/countdown wait.`);
  }
  if (maxCapacity > LARGE_FLEET_WARNING_CAPACITY) {
    warn('largeFleet', `maxCapacity ${maxCapacity} is large: each worker holds 2 or more connections and several channels; make sure the broker instance type handles ${maxCapacity * 3} connections (mq.m7g.medium and mq.m5.large are small).`);
  }
  if (props.pool?.name === CeleryPool.THREADS.name && props.acksLate !== false) {
    warn('threadsWithAcksLate', 'pool threads with acksLate (the default): Celery 5.2 to 5.6 sends a thread\'s late acknowledgement only when its event loop wakes, which holds the next task back for seconds (celery/celery#6941). Use the prefork pool, a larger prefetchMultiplier, or acksLate: false.');
  }
  for (const warning of celerySettingWarnings(props.settings ?? {})) {
    warn(`settingNewerCelery:${warning.slice('settings.'.length, warning.indexOf(' '))}`, warning);
  }
  if (props.keyPair) {
    warn('sshKeyPair', 'keyPair is set: Session Manager (already allowed) gives shell access without SSH keys or an open port 22.');
  }
  return warnings;
}
