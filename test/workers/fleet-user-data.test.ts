import { Duration, Token } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { WorkerCode } from '../../src/workers';
import { DRAIN_LIFECYCLE_HOOK_NAME } from '../../src/workers/fleet-drain-hook';
import {
  estimateUserDataBytes, fleetBootOptions, USER_DATA_LIMIT_BYTES, USER_DATA_TOKEN_ESTIMATE_BYTES, validateUserDataSize,
} from '../../src/workers/fleet-user-data';
import { stackWithBroker } from '../broker/broker-fixture';

jest.setTimeout(60_000);

test('estimateUserDataBytes counts each CloudFormation value as the estimate, and UTF-8 bytes', () => {
  expect(estimateUserDataBytes('abc')).toBe(3);
  expect(estimateUserDataBytes('é')).toBe(2);
  expect(estimateUserDataBytes(`a${Token.asString({ Ref: 'X' })}b${Token.asString({ Ref: 'Y' })}`)).toBe(2 + 2 * USER_DATA_TOKEN_ESTIMATE_BYTES);
});

test('validateUserDataSize refuses more than the launch template limit', () => {
  expect(() => validateUserDataSize(USER_DATA_LIMIT_BYTES)).not.toThrow();
  expect(() => validateUserDataSize(USER_DATA_LIMIT_BYTES + 1)).toThrow(/^user data: the rendered boot script is about 16385 bytes, over the 16384-byte launch template limit/);
});

describe('fleetBootOptions', () => {
  const { stack, vpc, broker } = stackWithBroker('S');
  const credentials = new secretsmanager.Secret(stack, 'Secret');
  const code = { celeryExecutable: '/opt/app/bin/celery', workingDirectory: '/opt/app' };
  const props = { vpc, broker, app: 'proj', code: WorkerCode.preinstalled(code), concurrency: 3, minCapacity: 2 };

  test('the worker options as given, the executable from the code, no fleet-only prop', () => {
    const options = fleetBootOptions(props, code, credentials, Duration.minutes(7));
    expect(options.worker).toEqual({ app: 'proj', concurrency: 3, celeryExecutable: '/opt/app/bin/celery' });
    expect(options.workingDirectory).toBe('/opt/app');
    expect(options.code).toBeUndefined();
    expect(options.stopTimeout?.toMinutes()).toBe(7);
    expect(options.lifecycleHookName).toBe(DRAIN_LIFECYCLE_HOOK_NAME);
    expect(options.credentialsSecretId).toBe(credentials.secretArn);
  });

  test('supervision defaults, and the given values', () => {
    expect(fleetBootOptions(props, code, credentials, Duration.minutes(7))).toMatchObject({
      user: 'celery', markUnhealthyOnCrashLoop: true, startLimitBurst: 5,
    });
    const given = fleetBootOptions({ ...props, user: 'svc', replaceOnCrashLoop: false, startLimitBurst: 9, restartJitter: Duration.seconds(3) },
      { ...code, bucketName: 'b', objectKey: 'k.zip', virtualEnvDirectory: '/opt/app/.venv' }, credentials, Duration.minutes(7));
    expect(given).toMatchObject({ user: 'svc', markUnhealthyOnCrashLoop: false, startLimitBurst: 9, code: { bucketName: 'b', objectKey: 'k.zip' }, virtualEnvDirectory: '/opt/app/.venv' });
    expect(given.restartJitter?.toSeconds()).toBe(3);
  });
});
