import { Duration, Token, Tokenization } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { CeleryWorkerFleetProps } from './celery-worker-fleet';
import { DRAIN_LIFECYCLE_HOOK_NAME } from './fleet-drain-hook';
import { workerOptionsOf } from './fleet-worker-options';
import {
  BootScriptOptions, DEFAULT_READINESS_TIMEOUT, DEFAULT_RESTART_JITTER, DEFAULT_START_LIMIT_BURST, DEFAULT_START_LIMIT_INTERVAL,
} from './render';
import { WorkerCodeConfig } from './worker-code';

/** Launch template user data limit (bytes, before base64). */
export const USER_DATA_LIMIT_BYTES = 16 * 1024;
/** Bytes assumed for each CloudFormation value (stack name, ARNs, asset key) in the user data size check. */
export const USER_DATA_TOKEN_ESTIMATE_BYTES = 128;

/**
 * The boot script options of a fleet, all but the signal (which names the group, known later):
 * the worker options of the props as they are, the executable and paths from the code, and the
 * supervision defaults.
 */
export function fleetBootOptions(props: CeleryWorkerFleetProps, code: WorkerCodeConfig, credentials: secretsmanager.ISecret,
  stopTimeout: Duration): Omit<BootScriptOptions, 'signal'> {
  return {
    worker: { ...workerOptionsOf(props), celeryExecutable: code.celeryExecutable },
    broker: { engineVersion: props.broker.engineVersion },
    user: props.user ?? 'celery',
    workingDirectory: code.workingDirectory,
    code: code.bucketName && code.objectKey ? { bucketName: code.bucketName, objectKey: code.objectKey } : undefined,
    virtualEnvDirectory: code.virtualEnvDirectory,
    brokerHost: props.broker.endpointHost,
    brokerPort: Token.isUnresolved(props.broker.amqpsPort) ? Token.asString(props.broker.amqpsPort) : String(props.broker.amqpsPort),
    credentialsSecretId: credentials.secretArn,
    lifecycleHookName: DRAIN_LIFECYCLE_HOOK_NAME,
    readinessTimeout: props.readinessTimeout ?? DEFAULT_READINESS_TIMEOUT,
    stopTimeout,
    restartJitter: props.restartJitter ?? DEFAULT_RESTART_JITTER,
    startLimitBurst: props.startLimitBurst ?? DEFAULT_START_LIMIT_BURST,
    startLimitInterval: props.startLimitInterval ?? DEFAULT_START_LIMIT_INTERVAL,
    markUnhealthyOnCrashLoop: props.replaceOnCrashLoop ?? true,
    periodicRestart: props.periodicRestart,
  };
}

/** Bytes of a script, counting each unresolved CloudFormation value as `USER_DATA_TOKEN_ESTIMATE_BYTES`. */
export function estimateUserDataBytes(script: string): number {
  const placeholder = 'x'.repeat(USER_DATA_TOKEN_ESTIMATE_BYTES);
  const estimated = Tokenization.reverseString(script)
    .mapTokens({ mapToken: () => placeholder })
    .join({ join: (left: unknown, right: unknown) => `${left}${right}` });
  return Buffer.byteLength(String(estimated), 'utf8');
}

/** Refuses user data of `bytes` (as estimated) over the launch template limit. */
export function validateUserDataSize(bytes: number): void {
  if (bytes > USER_DATA_LIMIT_BYTES) {
    throw new Error(`user data: the rendered boot script is about ${bytes} bytes, over the ${USER_DATA_LIMIT_BYTES}-byte launch template limit; shorten settings, extraArguments or queues.`);
  }
}
