import { Annotations, Duration, Lazy, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { registerBrokerUser, reservedUsernameError } from './broker-user-conflicts';
import { usernameError, vhostNameError } from './broker-user-names';
import { addBrokerUserResource } from './broker-user-resource';
import { DEAD_LETTER_QUEUE, DEFAULT_DELIVERY_LIMIT, deliveryLimitError, exactNamesPattern, reservedQueueNameError } from './celery-dead-letter';
import { CeleryPermissions } from './celery-permissions';
import { IRabbitMqBroker } from '../broker/rabbitmq-broker-ref';
import { RabbitMqEngineVersion } from '../broker/rabbitmq-engine-version';
import { validateIn, ValidationError } from '../private/validation-error';
import { CeleryQueueType } from '../workers/render/celery-queue-type';

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

  /**
   * The vhost's default queue type: what a queue declared without `x-queue-type` becomes there,
   * stated on the vhost so that the broker's node-wide default cannot decide it. RabbitMQ 3 sets
   * it only when it creates the vhost (an existing vhost of another type fails the deployment).
   * @default - `CeleryQueueType.QUORUM` when the broker's engine version makes quorum queues by
   * default (4.x), `CeleryQueueType.CLASSIC` on 3.x; the broker's own default, with a warning,
   * when its engine version is unknown (an imported broker without `engineVersion`)
   */
  readonly defaultQueueType?: CeleryQueueType;

  /**
   * How many times a task of a quorum task queue is delivered again after its first delivery
   * before it is dead-lettered to the `deadLetterQueue`. A task that kills its worker process is
   * requeued every time (late acks, reject on worker lost); each reject, and each close of the
   * channel that held it unacknowledged (a worker stopping with prefetched tasks), counts.
   * Only with quorum queues: classic queues have no delivery limit.
   * @default 5
   */
  readonly deliveryLimit?: number;
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
 * The vhost states its default queue type (`defaultQueueType`: quorum on RabbitMQ 4, classic on
 * 3.x). With quorum task queues, a task that kills its worker every time it runs (late acks and
 * reject-on-worker-lost requeue it) is dead-lettered after `deliveryLimit` redeliveries into the
 * durable quorum queue `deadLetterQueue` (`celery.dead-letter`, through the fanout exchange
 * `celery.dead-letter.exchange`), by a vhost policy on exactly the task queues; the application
 * user may read that queue (to replay tasks) but not declare, delete or publish to it.
 *
 * Deleting the resource deletes the user; the vhost (with the dead-letter queue and policy) is
 * kept unless `removeVhostOnDelete`.
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
  /** The default queue type stated on the vhost, or undefined when the broker's own default is left alone. */
  public readonly defaultQueueType?: CeleryQueueType;
  /**
   * The durable quorum queue poison tasks end in (`celery.dead-letter`), which the application
   * user may read, or undefined when the task queues are not quorum queues (no delivery limit).
   */
  public readonly deadLetterQueue?: string;
  /** Redeliveries before a task is dead-lettered, or undefined without a `deadLetterQueue`. */
  public readonly deliveryLimit?: number;
  /** Whether the user may use Celery remote control and monitoring (`enableRemoteControl`, default true). */
  public readonly enableRemoteControl: boolean;

  private readonly queues: string[] = [];
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
    this.enableRemoteControl = props.enableRemoteControl ?? true;
    this.enableRpcResultBackend = props.enableRpcResultBackend;
    this.defaultQueueType = this.chooseDefaultQueueType(props.broker.engineVersion, props.defaultQueueType);
    if (this.defaultQueueType?.name === CeleryQueueType.QUORUM.name) {
      this.deadLetterQueue = DEAD_LETTER_QUEUE;
      this.deliveryLimit = props.deliveryLimit ?? DEFAULT_DELIVERY_LIMIT;
      if (Token.isUnresolved(this.deliveryLimit)) throw new ValidationError(this, 'deliveryLimit: must be known at synth (it is validated and rendered into a policy); got a token.');
      throwIf(this, deliveryLimitError('deliveryLimit', this.deliveryLimit));
    } else if (props.deliveryLimit !== undefined) {
      throw new ValidationError(this, `deliveryLimit: ${props.deliveryLimit} needs quorum task queues, and the vhost's default queue type is `
        + `${this.defaultQueueType?.name ?? 'the broker\'s own (engine version unknown)'}; classic queues have no delivery limit. `
        + 'Set defaultQueueType: CeleryQueueType.QUORUM, or leave deliveryLimit unset.');
    }
    // Validates the names and the options now; the custom resource renders the final list at synth.
    for (const queue of props.taskQueues ?? []) throwIf(this, reservedQueueNameError('taskQueues', queue));
    validateIn(this, () => CeleryPermissions.forApplication({
      taskQueues: props.taskQueues,
      enableRemoteControl: props.enableRemoteControl,
      enableRpcResultBackend: props.enableRpcResultBackend,
      deadLetterQueue: this.deadLetterQueue,
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
      extraProperties: this.queueTypeProperties(),
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
      deadLetterQueue: this.deadLetterQueue,
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
    for (const queue of queues) throwIf(this, reservedQueueNameError('taskQueues', queue));
    validateIn(this, () => CeleryPermissions.forApplication({ taskQueues: queues }));
    for (const queue of queues) {
      if (!this.queues.includes(queue)) this.queues.push(queue);
    }
  }

  /** The vhost's default queue type for an engine version, or the user's choice, with the warnings they call for. */
  private chooseDefaultQueueType(engine: RabbitMqEngineVersion | undefined, chosen: CeleryQueueType | undefined): CeleryQueueType | undefined {
    const quorumByDefault = engine?.quorumQueuesByDefault;
    if (chosen?.name === CeleryQueueType.CLASSIC.name && quorumByDefault) {
      Annotations.of(this).addWarningV2('cdk-celery:classicQueuesOnRabbitMq4',
        `defaultQueueType is CLASSIC on engine version ${engine!.version}: classic queues have no delivery limit (a task that kills its worker is `
        + 'redelivered forever), no dead-letter queue is set up, and the fleets must declare classic queues too (CeleryWorkerFleet queueType; refused on 4.3).');
    }
    if (chosen) return chosen;
    if (quorumByDefault === undefined) {
      Annotations.of(this).addWarningV2('cdk-celery:unknownDefaultQueueType',
        `The broker's engine version is unknown, so vhost "${this.vhost}" keeps the broker's default queue type and no dead-letter queue is set up `
        + '(on RabbitMQ 4 a task that kills its worker is then dropped after 20 redeliveries). Import the broker with its engineVersion, or set defaultQueueType.');
      return undefined;
    }
    return quorumByDefault ? CeleryQueueType.QUORUM : CeleryQueueType.CLASSIC;
  }

  /** The custom resource's queue-type and dead-letter properties: only those that apply, so others' resources are unchanged. */
  private queueTypeProperties(): { [key: string]: string } {
    return {
      ...(this.defaultQueueType ? { DefaultQueueType: this.defaultQueueType.name } : {}),
      ...(this.deliveryLimit !== undefined ? {
        DeliveryLimit: String(this.deliveryLimit),
        // Rendered at synth, like the permissions: queues added with addTaskQueues count.
        TaskQueuePattern: Lazy.string({ produce: () => exactNamesPattern(this.taskQueues) }),
      } : {}),
    };
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

