import { Annotations, Duration, Lazy, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { registerBrokerUser, reservedUsernameError } from './broker-user-conflicts';
import { usernameError, vhostNameError } from './broker-user-names';
import { addBrokerUserResource } from './broker-user-resource';
import { CeleryPermissions } from './celery-permissions';
import { IRabbitMqBroker } from '../broker/rabbitmq-broker-ref';
import { validateIn, ValidationError } from '../private/validation-error';

/**
 * Everything a user chooses for a `CeleryBrokerAccess` except the broker and the VPC.
 * `CeleryPlatform` takes these for its application user and supplies the broker and VPC itself.
 */
export interface CeleryBrokerAccessOptions {
  /**
   * Subnets of the function. They need a route to Secrets Manager (a NAT gateway or a
   * Secrets Manager interface endpoint, see `WorkerVpcEndpoints`) and to the broker.
   * @default - the VPC's private subnets with egress (Lambda's default selection)
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * Name of the vhost dedicated to Celery.
   * @default 'celery'
   */
  readonly vhost?: string;

  /**
   * Name of the application user the workers connect as.
   * @default 'celery'
   */
  readonly username?: string;

  /**
   * Delete the vhost, with every queue and message in it, when this resource is deleted.
   * @default false - the vhost is kept: its queues may hold work
   */
  readonly removeVhostOnDelete?: boolean;

  /**
   * Credentials of a broker user with the administrator tag (JSON `username`, `password`).
   * @default - the broker's `credentials`
   */
  readonly adminCredentials?: secretsmanager.ISecret;

  /**
   * Task queues the application uses; the user may declare, publish to and consume only these
   * (and their same-named exchanges) besides Celery's own control resources. More can be added
   * with `addTaskQueues`.
   * @default ['celery'] - when no queue is given here or through `addTaskQueues`
   */
  readonly taskQueues?: string[];

  /**
   * Allow Celery remote control and monitoring (`celery.pidbox`, `reply.celery.pidbox`,
   * `celeryev` and their queues): `celery inspect ping`, `revoke`, Flower.
   * @default true
   */
  readonly enableRemoteControl?: boolean;

  /**
   * Allow the `rpc://` result backend (UUID-named reply queues).
   * @default false
   */
  readonly enableRpcResultBackend?: boolean;

  /**
   * Timeout of each management API request made by the function.
   * @default Duration.seconds(10)
   */
  readonly requestTimeout?: Duration;
}

/**
 * Properties of a `CeleryBrokerAccess`: its options, plus the broker and the VPC.
 */
export interface CeleryBrokerAccessProps extends CeleryBrokerAccessOptions {
  /**
   * The broker on which the vhost and user are created.
   */
  readonly broker: IRabbitMqBroker;

  /**
   * The broker's VPC: the function that calls the management API runs in it.
   */
  readonly vpc: ec2.IVpc;
}

/**
 * A Celery vhost and a least-privilege application user on an Amazon MQ for RabbitMQ broker.
 *
 * CloudFormation can only create a RabbitMQ broker's admin user, so a custom resource, running
 * in the broker's VPC and allowed to reach only the broker's management port and HTTPS AWS APIs,
 * creates the vhost and the user through the RabbitMQ management API with the admin
 * credentials. The user has no tags (it cannot use the management UI or API) and permissions on
 * its vhost only, limited to Celery's queues and exchanges. Its password is generated into
 * `secret` (JSON `username`, `password`, `vhost`), the secret a worker fleet connects with.
 *
 * Deleting the resource deletes the user; the vhost is kept unless `removeVhostOnDelete`.
 *
 * Replacing the construct (a new id or path) is safe: CloudFormation creates the new resource
 * first, which takes the user of the same name over with the password of its own new secret (so
 * the workers must use the new `secret`), then deletes the old resource, which sees that the user's
 * password is no longer its secret's and leaves the user, its permissions and the vhost alone.
 */
export class CeleryBrokerAccess extends Construct implements ec2.IConnectable {
  /** The application user's credentials: JSON `username`, `password`, `vhost`. */
  public readonly secret: secretsmanager.ISecret;
  /** The vhost name. */
  public readonly vhost: string;
  /** The application user's name. */
  public readonly username: string;
  /** The security group of the function that calls the management API. */
  public readonly connections: ec2.Connections;

  private readonly queues: string[] = [];
  private readonly enableRemoteControl?: boolean;
  private readonly enableRpcResultBackend?: boolean;

  /**
   * @param scope Scope in which the vhost and user are defined
   * @param id Construct id, best kept stable: under a new id the new resource and secret take
   * the user over with a new password, and deleting the old resource leaves the user alone
   * @param props The broker, its VPC, and the vhost, user and permissions to create
   */
  constructor(scope: Construct, id: string, props: CeleryBrokerAccessProps) {
    super(scope, id);

    this.vhost = props.vhost ?? 'celery';
    this.username = props.username ?? 'celery';
    if (!Token.isUnresolved(this.vhost)) throwIf(this, vhostNameError('vhost', this.vhost));
    if (!Token.isUnresolved(this.username)) throwIf(this, usernameError('username', this.username));
    const requestTimeout = props.requestTimeout ?? Duration.seconds(10);
    if (!requestTimeout.isUnresolved() && (requestTimeout.toMilliseconds() < 1000 || requestTimeout.toMilliseconds() > 60_000)) {
      throw new ValidationError(this, `requestTimeout: ${requestTimeout.toHumanString()} is not allowed; use 1 to 60 seconds (the function has 5 minutes for all its requests and retries).`);
    }
    const adminCredentials = props.adminCredentials ?? props.broker.credentials;
    if (!adminCredentials) {
      throw new ValidationError(this, 'adminCredentials: not given and the broker has no credentials (it was imported without them); pass the admin credentials secret (JSON "username", "password").');
    }
    this.enableRemoteControl = props.enableRemoteControl;
    this.enableRpcResultBackend = props.enableRpcResultBackend;
    // Validates the names and the options now; the custom resource renders the final list at synth.
    validateIn(this, () => CeleryPermissions.forApplication({
      taskQueues: props.taskQueues,
      enableRemoteControl: props.enableRemoteControl,
      enableRpcResultBackend: props.enableRpcResultBackend,
    }));
    if (props.taskQueues) this.addTaskQueues(...props.taskQueues);
    const userMark = { kind: 'application' as const, username: this.username, broker: props.broker, usernameProp: 'username' };
    throwIf(this, reservedUsernameError(userMark, props.adminCredentials));
    registerBrokerUser(this, userMark);
    if (props.removeVhostOnDelete) {
      Annotations.of(this).addWarningV2('cdk-celery:removeVhostOnDelete',
        `removeVhostOnDelete is on: deleting this resource (or the stack) deletes vhost "${this.vhost}" with every queued task in it.`);
    }

    const user = addBrokerUserResource(this, {
      broker: props.broker,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      adminCredentials,
      vhost: this.vhost,
      username: this.username,
      // Rendered at synth, so that queues added with addTaskQueues after construction count.
      configure: Lazy.string({ produce: () => this.permissions.configure }),
      write: Lazy.string({ produce: () => this.permissions.write }),
      read: Lazy.string({ produce: () => this.permissions.read }),
      removeVhostOnDelete: props.removeVhostOnDelete,
      requestTimeout,
      purpose: 'Celery application user',
      functionDescription: 'cdk-celery: creates the Celery vhost and application user through the RabbitMQ management API',
    });
    this.secret = user.secret;
    this.connections = user.connections;
  }

  /**
   * The task queues the user may use: those given in `taskQueues` and through `addTaskQueues`,
   * in that order, or `['celery']` when none was given.
   */
  public get taskQueues(): string[] {
    return this.queues.length > 0 ? [...this.queues] : [...DEFAULT_TASK_QUEUES];
  }

  /**
   * The permissions the user has on the vhost, from the current `taskQueues`. The custom resource
   * renders them at synth, so they include queues added after construction.
   */
  public get permissions(): CeleryPermissions {
    return CeleryPermissions.forApplication({
      taskQueues: this.taskQueues,
      enableRemoteControl: this.enableRemoteControl,
      enableRpcResultBackend: this.enableRpcResultBackend,
    });
  }

  /**
   * Allow the user to use more task queues (for example those of a worker fleet added later).
   * Names already allowed are ignored. Replaces the default `['celery']` when `taskQueues` was
   * not given.
   *
   * @param queues Queue names, with the same rules as `taskQueues` (invalid names throw)
   */
  public addTaskQueues(...queues: string[]): void {
    if (queues.length === 0) return;
    // Same name rules as taskQueues, with the same error messages.
    validateIn(this, () => CeleryPermissions.forApplication({ taskQueues: queues }));
    for (const queue of queues) {
      if (!this.queues.includes(queue)) this.queues.push(queue);
    }
  }

  /**
   * Grant read access to the application user's credentials secret.
   *
   * @param grantee The principal that may read the secret, for example the role of a service
   * that sends tasks
   */
  public grantReadCredentials(grantee: iam.IGrantable): iam.Grant {
    return this.secret.grantRead(grantee);
  }
}

/** Celery's `task_default_queue`, allowed when no queue is given. */
const DEFAULT_TASK_QUEUES = ['celery'];

function throwIf(scope: Construct, message: string | undefined): void {
  if (message) throw new ValidationError(scope, message);
}

