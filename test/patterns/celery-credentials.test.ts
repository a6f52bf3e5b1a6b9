import { Stack } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { CeleryCredentials } from '../../src/patterns';

// The one choice of who the platform's fleets connect as; how the platform applies each choice is
// tested in celery-platform.test.ts and its errors in celery-platform-validation.test.ts.

describe('CeleryCredentials', () => {
  test('applicationUser() carries its options, or none, and no secret', () => {
    const withOptions = CeleryCredentials.applicationUser({ vhost: 'shop', username: 'shop-worker', enableRpcResultBackend: true });
    expect(withOptions.applicationUserOptions).toEqual({ vhost: 'shop', username: 'shop-worker', enableRpcResultBackend: true });
    expect(withOptions.secret).toBeUndefined();
    expect(withOptions.isBrokerAdministrator).toBe(false);

    const bare = CeleryCredentials.applicationUser();
    expect(bare.applicationUserOptions).toEqual({});
    expect(bare.isBrokerAdministrator).toBe(false);
  });

  test('fromSecret() carries the secret and creates no user', () => {
    const secret = secretsmanager.Secret.fromSecretNameV2(new Stack(), 'Existing', 'shop/celery');
    const credentials = CeleryCredentials.fromSecret(secret);
    expect(credentials.secret).toBe(secret);
    expect(credentials.applicationUserOptions).toBeUndefined();
    expect(credentials.isBrokerAdministrator).toBe(false);
  });

  test('brokerAdministrator() carries neither', () => {
    const credentials = CeleryCredentials.brokerAdministrator();
    expect(credentials.secret).toBeUndefined();
    expect(credentials.applicationUserOptions).toBeUndefined();
    expect(credentials.isBrokerAdministrator).toBe(true);
  });
});
