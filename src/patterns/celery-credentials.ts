import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { CeleryBrokerAccessOptions } from '../access/celery-broker-access';

/**
 * Who the fleets of a `CeleryPlatform` connect to the broker as (`CeleryPlatformProps.credentials`):
 * an application user the platform creates (the default), an existing user's secret, or the
 * broker's administrator. One choice, made with one of the static methods.
 *
 * @example
 * import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
 * import { CeleryCredentials } from 'cdk-celery';
 *
 * declare const existing: secretsmanager.ISecret;
 * CeleryCredentials.applicationUser({ username: 'shop', vhost: 'shop', enableRpcResultBackend: true });
 * CeleryCredentials.fromSecret(existing);
 */
export class CeleryCredentials {
  /**
   * A Celery vhost and a least-privilege application user, created on the broker by the platform
   * (`CeleryBrokerAccess`) with a generated password in a new secret. The user may only use the
   * fleets' queues, their exchanges and Celery's control resources, and cannot use the management
   * API. Needs admin credentials: the broker's, or `options.adminCredentials`.
   *
   * @param options The vhost and user names, remote control and `rpc://` result permissions,
   * extra task queues, the function's subnets and the admin credentials
   */
  public static applicationUser(options: CeleryBrokerAccessOptions = {}): CeleryCredentials {
    return new CeleryCredentials(options, undefined);
  }

  /**
   * The secret of a user that already exists on the broker: JSON `username`, `password` and
   * optional `vhost` (default `/`). The platform creates no user.
   *
   * @param secret The user's credentials secret
   */
  public static fromSecret(secret: secretsmanager.ISecret): CeleryCredentials {
    return new CeleryCredentials(undefined, secret);
  }

  /**
   * The broker's administrator credentials (its `credentials` secret), on vhost `/`. Every
   * worker can then read and delete any queue and use the management API, so the platform adds
   * a warning; the broker must have its credentials (an imported broker, its `credentials`).
   */
  public static brokerAdministrator(): CeleryCredentials {
    return new CeleryCredentials(undefined, undefined);
  }

  /** Options of the application user the platform creates; undefined when it creates none. */
  public readonly applicationUserOptions?: CeleryBrokerAccessOptions;

  /** The given secret of an existing user (`fromSecret`); undefined otherwise. */
  public readonly secret?: secretsmanager.ISecret;

  private constructor(applicationUserOptions: CeleryBrokerAccessOptions | undefined, secret: secretsmanager.ISecret | undefined) {
    this.applicationUserOptions = applicationUserOptions;
    this.secret = secret;
  }

  /** Whether these are the broker's administrator credentials (`brokerAdministrator`). */
  public get isBrokerAdministrator(): boolean {
    return this.applicationUserOptions === undefined && this.secret === undefined;
  }
}
