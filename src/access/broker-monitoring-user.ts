import { Duration, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { registerBrokerUser, reservedUsernameError } from './broker-user-conflicts';
import { usernameError, vhostNameError } from './broker-user-names';
import { addBrokerUserResource } from './broker-user-resource';
import { IRabbitMqBroker } from '../broker/rabbitmq-broker-ref';
import { ValidationError } from '../private/validation-error';

/** Properties of a `BrokerMonitoringUser`. */
export interface BrokerMonitoringUserProps {
  /** The broker on which the user is created. */
  readonly broker: IRabbitMqBroker;

  /** The broker's VPC: the function that calls the management API runs in it. */
  readonly vpc: ec2.IVpc;

  /**
   * Subnets of the function (a route to Secrets Manager and to the broker).
   * @default - the VPC's private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * The vhost whose queues the user may list. It gets a permission entry there with empty
   * regular expressions: RabbitMQ lists a vhost's queues only to users with an entry on it.
   * @default '/'
   */
  readonly vhost?: string;

  /**
   * Name of the user.
   * @default 'cdk-celery-monitoring'
   */
  readonly username?: string;

  /**
   * Credentials of a broker user with the administrator tag (JSON `username`, `password`).
   * @default - the broker's `credentials`
   */
  readonly adminCredentials?: secretsmanager.ISecret;

  /**
   * Timeout of each management API request made by the function that creates the user.
   * @default Duration.seconds(10)
   */
  readonly requestTimeout?: Duration;
}

/**
 * A read-only RabbitMQ user for the management API: the `monitoring` tag (which lets it read
 * the management API, and nothing else of it) and, on one vhost, a permission entry whose
 * configure, write and read regular expressions are empty, so that it may list that vhost's
 * queues but not declare, delete, publish to or consume any of them. Its password is generated
 * into `secret` (JSON `username`, `password`, `vhost`).
 *
 * Made, taken over on replacement and deleted like the application user (`CeleryBrokerAccess`),
 * by the same custom resource.
 */
export class BrokerMonitoringUser extends Construct implements ec2.IConnectable {
  /** Tag of the user. */
  public static readonly TAG = 'monitoring';
  /** Default user name. */
  public static readonly DEFAULT_USERNAME = 'cdk-celery-monitoring';

  /** The user's credentials: JSON `username`, `password`, `vhost`. */
  public readonly secret: secretsmanager.ISecret;
  /** The user's name. */
  public readonly username: string;
  /** The vhost whose queues it may list. */
  public readonly vhost: string;
  /** The security group of the function that creates the user. */
  public readonly connections: ec2.Connections;

  /**
   * @param scope Scope in which the user is defined
   * @param id Construct id, best kept stable (a new id takes the user over with a new password)
   * @param props The broker, its VPC, the vhost and the admin credentials
   */
  constructor(scope: Construct, id: string, props: BrokerMonitoringUserProps) {
    super(scope, id);
    this.vhost = props.vhost ?? '/';
    this.username = props.username ?? BrokerMonitoringUser.DEFAULT_USERNAME;
    // The default vhost "/" is fine to read from; the name rule keeps other vhosts URL-safe.
    if (this.vhost !== '/' && !Token.isUnresolved(this.vhost)) throwIf(this, vhostNameError('vhost', this.vhost));
    if (!Token.isUnresolved(this.username)) throwIf(this, usernameError('username', this.username));
    const userMark = { kind: 'monitoring' as const, username: this.username, broker: props.broker, usernameProp: 'username' };
    throwIf(this, reservedUsernameError(userMark, props.adminCredentials));
    registerBrokerUser(this, userMark);
    const adminCredentials = props.adminCredentials ?? props.broker.credentials;
    if (!adminCredentials) {
      throw new ValidationError(this, 'adminCredentials: not given and the broker has no credentials (it was imported without them); pass the admin credentials secret (JSON "username", "password").');
    }
    const user = addBrokerUserResource(this, {
      broker: props.broker,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      adminCredentials,
      vhost: this.vhost,
      username: this.username,
      // RabbitMQ reads '' as "no resource at all": an entry on the vhost that allows nothing.
      configure: '',
      write: '',
      read: '',
      tags: [BrokerMonitoringUser.TAG],
      removeVhostOnDelete: false,
      requestTimeout: props.requestTimeout ?? Duration.seconds(10),
      purpose: 'Read-only RabbitMQ monitoring user',
      functionDescription: 'cdk-celery: creates the read-only RabbitMQ monitoring user through the RabbitMQ management API',
    });
    this.secret = user.secret;
    this.connections = user.connections;
  }

  /**
   * Grant read access to the user's credentials secret.
   *
   * @param grantee The principal that may read the secret, for example the metrics publisher
   */
  public grantReadCredentials(grantee: iam.IGrantable): iam.Grant {
    return this.secret.grantRead(grantee);
  }
}

function throwIf(scope: Construct, message: string | undefined): void {
  if (message) throw new ValidationError(scope, message);
}
