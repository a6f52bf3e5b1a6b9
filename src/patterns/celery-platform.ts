import { Annotations, Stack, Token } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, IConstruct } from 'constructs';
import { CeleryCredentials } from './celery-credentials';
import { CeleryBrokerAccess } from '../access/celery-broker-access';
import { RabbitMqBroker, RabbitMqBrokerOptions } from '../broker/rabbitmq-broker';
import { IRabbitMqBroker } from '../broker/rabbitmq-broker-ref';
import { CeleryMonitoring } from '../monitoring/celery-monitoring';
import { CeleryFleetAlarms, CeleryMonitoringOptions } from '../monitoring/celery-monitoring-props';
import { QueueMetricsSource } from '../monitoring/queue-metrics';
import { ValidationError } from '../private/validation-error';
import { CeleryWorkerFleet, CeleryWorkerFleetOptions, QueueBacklogScalingProps } from '../workers/celery-worker-fleet';

/** Fleet names: construct ids and parts of alarm names, so short and plain. */
const FLEET_NAME_FORMAT = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;
/** Construct id of the scope that holds the fleets (its children are named after the fleets). */
const FLEETS_SCOPE_ID = 'Fleets';
/** Construct id of each fleet's backlog scaling policy (a child of the fleet's Auto Scaling group). */
const BACKLOG_SCALING_ID = 'BacklogScaling';
/** Marks platforms so that platforms sharing a broker can find each other at synth. */
const PLATFORM_SYMBOL = Symbol.for('cdk-celery.CeleryPlatform');

/**
 * A worker fleet of a `CeleryPlatform`: everything `CeleryWorkerFleet` takes except the VPC and
 * the broker (the platform supplies both, and the credentials), plus how the fleet scales.
 */
export interface CeleryPlatformFleetOptions extends CeleryWorkerFleetOptions {
  /**
   * Scale the fleet between `minCapacity` and `maxCapacity` on its backlog of ready messages
   * (`CeleryWorkerFleet.scaleOnQueueBacklog`). A fleet whose `minCapacity` equals its
   * `maxCapacity` never gets a scaling policy.
   *
   * Which backlog: with queue-level metrics (`CeleryPlatformProps.scaleOnQueueMetrics`: Amazon
   * MQ's on RabbitMQ 3.x, the metrics publisher's on 4.x) the sum of the ready messages of the
   * fleet's own queues; without them the broker-wide ready count, so that every fleet of the
   * broker scales out on a backlog in any queue, and scales in only when the broker holds no
   * ready message.
   * @default true
   */
  readonly enableBacklogScaling?: boolean;

  /**
   * Thresholds and timing of the backlog scaling. `queue`, `queues` and `virtualHost` are left to
   * the platform (see `enableBacklogScaling`) unless set here.
   * @default - the defaults of `QueueBacklogScalingProps`: one instance more at 100 ready
   * messages, 20 % of `maxCapacity` more at 1,000, one less when nothing waits, after 3 minutes,
   * 5 minutes apart
   */
  readonly backlogScaling?: QueueBacklogScalingProps;
}

/**
 * Properties of a `CeleryPlatform`.
 */
export interface CeleryPlatformProps {
  /**
   * The VPC of the worker fleets and of the function that manages the application user; the
   * broker is created in it too (unless `broker` is given or the broker is publicly accessible).
   * Nothing in the platform creates a VPC: pass your own, for example `ec2.Vpc.fromLookup`.
   */
  readonly vpc: ec2.IVpc;

  /**
   * An existing broker to use instead of creating one: `RabbitMqBroker.fromRabbitMqBrokerAttributes`
   * (for a broker of another stack or app), or a `RabbitMqBroker` of another stack of this app.
   * Give its admin credentials (the `credentials` attribute) for the application user, and its
   * security groups so that the platform can open the broker's ports to its clients. Security
   * groups of another stack are imported by id into the platform's stack, where the rules for the
   * fleets and the application user are then created: the broker's stack never refers to the
   * platform's (which would be a dependency cycle). Open the broker to other clients with
   * `allowAmqpsFrom` for the same reason.
   * @default - a `RabbitMqBroker` is created with `brokerOptions`
   */
  readonly broker?: IRabbitMqBroker;

  /**
   * Options of the broker the platform creates (not allowed with `broker`).
   * @default - the `RabbitMqBroker` defaults: a private single-instance RabbitMQ 4.2 broker on
   * mq.m7g.large in `vpc`, generated admin credentials, general logs kept one month,
   * `consumer_timeout` of 24 hours
   */
  readonly brokerOptions?: RabbitMqBrokerOptions;

  /**
   * The worker fleets, by name: one per queue or group of queues, each with its own code, sizing
   * and `celery worker` options. More can be added with `addFleet`.
   *
   * A name is 1 to 32 letters, digits, `_` and `-`, starting with a letter. It is the fleet's
   * construct id (so changing it replaces the fleet's Auto Scaling group) and part of its alarm
   * names and dashboard titles. Give each fleet its `queues`: the application user is allowed
   * exactly the fleets' queues (plus the `taskQueues` of `CeleryCredentials.applicationUser`), and a fleet without
   * queues is taken to consume `celery` (with a warning). A queue consumed by two fleets gets a
   * warning too.
   * @default - no fleet: add them with `addFleet`
   */
  readonly fleets?: { [name: string]: CeleryPlatformFleetOptions };

  /**
   * Who every fleet connects as:
   * - `CeleryCredentials.applicationUser(options)`: a Celery vhost and a least-privilege
   *   application user that the platform creates (`CeleryBrokerAccess`). The user may only use the
   *   queues of the fleets (those added later too), their exchanges and Celery's control
   *   resources, and cannot use the management API.
   * - `CeleryCredentials.fromSecret(secret)`: a user that already exists on the broker.
   * - `CeleryCredentials.brokerAdministrator()`: the broker's administrator (a warning is added).
   * @default CeleryCredentials.applicationUser() - vhost `celery`, user `celery`, remote control
   * allowed, no `rpc://` result backend, the vhost kept when the platform is deleted
   */
  readonly credentials?: CeleryCredentials;

  /**
   * Scale each fleet on the ready messages of its own queues (queue-level CloudWatch metrics,
   * dimensions `Broker`, `VirtualHost`, `Queue`) rather than on the broker-wide count. The queue
   * metrics come from `CeleryMonitoring.queueMetrics`: Amazon MQ's own on a created RabbitMQ 3.x
   * broker (the first 500 queues, names without spaces or non-ASCII characters), the metrics
   * publisher's on RabbitMQ 4.x (Amazon MQ publishes none there) and on imported brokers. `true`
   * with no queue metrics (`monitoringOptions.enableMetricsPublisher: false` on a 4.x broker) is
   * refused; on an imported RabbitMQ 3.x broker without the publisher it reads Amazon MQ's.
   * @default - true when the monitoring has queue metrics (`QueueMetricsSource` not NONE)
   */
  readonly scaleOnQueueMetrics?: boolean;

  /**
   * Options of the alarms and the dashboard (`CeleryMonitoring`): thresholds, per-alarm
   * overrides, the paging and ticketing topics or actions, names, the metrics publisher (which
   * runs in `vpc` with the platform's admin credentials and the application user's subnets).
   * @default - the `CeleryMonitoring` defaults: a new paging and a new ticketing SNS topic
   * notified on ALARM and OK, alarm and dashboard names starting with `<brokerName>-celery`,
   * derived thresholds, the metrics publisher on
   */
  readonly monitoringOptions?: CeleryMonitoringOptions;
}

/**
 * Celery on Amazon MQ for RabbitMQ in one construct: a broker (created, or an existing one), one
 * or more named worker fleets, a least-privilege application user the fleets connect with,
 * backlog scaling per fleet, and CloudWatch alarms and a dashboard covering the broker and every
 * fleet.
 *
 * It is placed in a stack and VPC of yours and creates neither. Every part is reachable:
 * `broker` (and `createdBroker`), `fleet(name)` (or `fleets`), `access` and `credentials`,
 * `monitoring` (every alarm, `fleetAlarms(name)`), `backlogScalingPolicy(name)`. Fleets can be
 * added after construction with `addFleet`; they get alarms, scaling and permissions for their
 * queues like the others.
 *
 * Defaults, and why:
 * - Workers run with mingle, gossip and heartbeat events off, restarts jittered and counted,
 *   rolling updates in small signalled batches and warm drains (`CeleryWorkerFleet`): a worker
 *   joining or restarting costs the broker a few kilobytes whatever the fleet size.
 * - Workers connect as an application user limited to the Celery vhost and the fleets' queues,
 *   never as the broker administrator (`CeleryBrokerAccess`); the fleets' instances start only
 *   once that user exists.
 * - The security groups open the broker's AMQPS port (5671) to each fleet and its management port
 *   (443) to the application user's function only.
 * - Each fleet scales on its backlog (see `CeleryPlatformFleetOptions.enableBacklogScaling` for
 *   what it scales on per RabbitMQ version).
 * - Broker ingress, memory, CPU, disk, connection and channel storms and churn, stranded work,
 *   backlog (per fleet too) and worker restarts raise tickets; two pages, the mingle incident's
 *   signature and a broker that stopped reporting, stay quiet while the broker is created or
 *   rebooted (`CeleryMonitoring`). A metrics publisher reads the fleets' queues on RabbitMQ 4,
 *   as a read-only user, for the per-fleet alarms and scaling.
 *
 * Construct ids are part of your infrastructure's identity: the broker is `Broker`, the
 * application user `ApplicationUser`, the alarms `Monitoring`, each fleet `Fleets/<name>` and its
 * scaling policy `Fleets/<name>/Group/BacklogScaling`. Keep the platform's own id and the fleet
 * names stable: a new id replaces the broker (losing every queued message; its default name is
 * derived from the stack name and the construct path, and the alarm and dashboard names from the
 * broker name) or a fleet's Auto Scaling group. A new vhost or username creates a new user (and
 * vhost) before the old user is removed.
 *
 * Physical names: the broker name is unique per stack and construct path, and every alarm and the
 * dashboard start with `<brokerName>-celery` (or `monitoringOptions.alarmNamePrefix`), so the same
 * stack deployed twice (Dev and Prod) or two platforms in one stack never collide. Platforms of
 * one app that share a broker must differ in application username and alarm name prefix; synth
 * fails otherwise.
 *
 * @example
 * import { Stack } from 'aws-cdk-lib';
 * import * as ec2 from 'aws-cdk-lib/aws-ec2';
 * import { CeleryPlatform, WorkerCode } from 'cdk-celery';
 *
 * declare const stack: Stack;
 * declare const vpc: ec2.IVpc;
 * const code = WorkerCode.fromAsset('worker');
 * const platform = new CeleryPlatform(stack, 'Celery', {
 *   vpc,
 *   fleets: {
 *     orders: { app: 'shop', code, queues: ['orders'] },
 *     reports: { app: 'shop', code, queues: ['reports'], concurrency: 2, maxCapacity: 2 },
 *   },
 * });
 * platform.addFleet('emails', { app: 'shop', code, queues: ['emails'] });
 */
export class CeleryPlatform extends Construct {
  /**
   * Whether `x` is a `CeleryPlatform` (also across copies of this library).
   *
   * @param x Any value
   */
  public static isCeleryPlatform(x: any): x is CeleryPlatform {
    return typeof x === 'object' && x !== null && PLATFORM_SYMBOL in x;
  }

  /** The VPC of the fleets. */
  public readonly vpc: ec2.IVpc;
  /**
   * The broker: the one created by the platform, or the one given. Open it to other clients with
   * `allowAmqpsFrom` (which also works when the broker belongs to another stack).
   */
  public readonly broker: IRabbitMqBroker;
  /** The broker the platform created, with its full API; undefined when `broker` was given. */
  public readonly createdBroker?: RabbitMqBroker;
  /** The vhost and application user; undefined without the application user. */
  public readonly access?: CeleryBrokerAccess;
  /**
   * The credentials the fleets connect with (the application user's secret by default). Grant
   * producers read access with `grantReadCredentials`.
   */
  public readonly credentials: secretsmanager.ISecret;
  /** The alarms and the dashboard; fleets are added to it as they are created. */
  public readonly monitoring: CeleryMonitoring;
  /** Whether the fleets scale on queue-level metrics (see `CeleryPlatformProps.scaleOnQueueMetrics`). */
  public readonly scaleOnQueueMetrics: boolean;
  /**
   * The virtual host of the fleets' queues, as the queue-level metrics name it: the application
   * user's vhost, or `/` with `credentials` or the administrator (set
   * `backlogScaling.virtualHost` when a given secret names another vhost).
   */
  public readonly virtualHost: string;

  /**
   * The broker the platform opens ports on: `broker`, or a reference to it in this stack when its
   * security groups belong to another stack.
   */
  private readonly connectedBroker: IRabbitMqBroker;
  private readonly fleetScope: Construct;
  private readonly fleetEntries = new Map<string, { fleet: CeleryWorkerFleet; scalingPolicy?: autoscaling.StepScalingPolicy }>();

  /**
   * @param scope Scope in which the platform is defined (a stack, or a construct in one)
   * @param id Construct id, to keep stable: a new id replaces every fleet's Auto Scaling group and
   * a created broker (whose default name derives from the construct path), losing its queued
   * messages
   * @param props The VPC, the broker or its options, the fleets, the credentials and the
   * monitoring options
   */
  constructor(scope: Construct, id: string, props: CeleryPlatformProps) {
    super(scope, id);
    Object.defineProperty(this, PLATFORM_SYMBOL, { value: true });
    this.vpc = props.vpc;

    // The broker.
    if (props.broker && props.brokerOptions) {
      throw new ValidationError(this, `brokerOptions: ${describeKeys(props.brokerOptions)} is not allowed with broker (${props.broker.node.path}); `
        + 'brokerOptions configure a broker the platform creates. Configure the existing broker where it is defined, or omit broker.');
    }
    if (props.broker) {
      this.broker = props.broker;
      this.connectedBroker = this.brokerInThisStack(props.broker);
    } else {
      const options = props.brokerOptions ?? {};
      this.createdBroker = new RabbitMqBroker(this, 'Broker', {
        ...options,
        // A public broker takes no VPC (Amazon MQ places it outside the VPC).
        vpc: options.publiclyAccessible ? undefined : props.vpc,
      });
      this.broker = this.createdBroker;
      this.connectedBroker = this.createdBroker;
    }

    // Credentials.
    const credentials = props.credentials ?? CeleryCredentials.applicationUser();
    const userOptions = credentials.applicationUserOptions ?? {};
    if (credentials.applicationUserOptions) {
      if (!userOptions.adminCredentials && !this.broker.credentials) {
        throw new ValidationError(this, `credentials: CeleryCredentials.applicationUser() without adminCredentials is not allowed when the broker (${this.broker.node.path}) `
          + 'has no credentials; the application user is created with the admin credentials. Import the broker with its credentials, '
          + 'pass CeleryCredentials.applicationUser({ adminCredentials }), or use CeleryCredentials.fromSecret with the secret of an existing user.');
      }
      this.access = new CeleryBrokerAccess(this, 'ApplicationUser', { ...userOptions, broker: this.connectedBroker, vpc: props.vpc });
      this.credentials = this.access.secret;
      this.virtualHost = this.access.vhost;
    } else if (credentials.secret) {
      this.credentials = credentials.secret;
      this.virtualHost = '/';
    } else {
      if (!this.broker.credentials) {
        throw new ValidationError(this, `credentials: CeleryCredentials.brokerAdministrator() is not allowed when the broker (${this.broker.node.path}) has no credentials; `
          + 'there is no administrator secret to connect with. Import the broker with its credentials, or use CeleryCredentials.fromSecret.');
      }
      this.credentials = this.broker.credentials;
      this.virtualHost = '/';
      Annotations.of(this).addWarningV2('cdk-celery:platformWorkersUseAdmin',
        'credentials is CeleryCredentials.brokerAdministrator(): every worker connects as the broker administrator, which can read and delete any queue '
        + 'and use the management API. Prefer CeleryCredentials.applicationUser() (the default) or the secret of a least-privilege user.');
    }

    // Alarms, dashboard and the metrics publisher (which reads the fleets' queues in the VPC).
    const monitoringOptions = props.monitoringOptions ?? {};
    this.monitoring = new CeleryMonitoring(this, 'Monitoring', {
      ...monitoringOptions,
      metricsPublisherOptions: {
        adminCredentials: userOptions.adminCredentials,
        vpcSubnets: userOptions.vpcSubnets,
        ...monitoringOptions.metricsPublisherOptions,
      },
      broker: this.connectedBroker,
      vpc: props.vpc,
      queueVirtualHost: this.virtualHost,
    });
    const monitoringUser = this.monitoring.metricsPublisher?.monitoringUser;
    // Its permission entry goes on the application's vhost, which the application user creates (and,
    // with removeVhostOnDelete, deletes once no other user has an entry there). The custom resources
    // only: the constructs hold security groups that the broker's ingress rules name.
    if (monitoringUser && this.access) monitoringUser.node.defaultChild!.node.addDependency(this.access.node.defaultChild!);

    // Scaling metrics.
    const createdEngine = this.createdBroker?.engineVersion;
    const createdMajor = createdEngine?.majorVersion;
    const hasQueueMetrics = this.monitoring.queueMetrics !== QueueMetricsSource.NONE;
    if (props.scaleOnQueueMetrics === true && !hasQueueMetrics && createdMajor !== undefined && createdMajor >= 4) {
      throw new ValidationError(this, `scaleOnQueueMetrics: true is not allowed with engine version ${createdEngine?.version} and no queue metrics; `
        + 'RabbitMQ 4.x brokers publish none, and monitoringOptions turn the metrics publisher\'s off. Enable the metrics publisher, or omit scaleOnQueueMetrics.');
    }
    this.scaleOnQueueMetrics = props.scaleOnQueueMetrics ?? hasQueueMetrics;

    // Fleets.
    this.fleetScope = new Construct(this, FLEETS_SCOPE_ID);
    for (const [name, options] of Object.entries(props.fleets ?? {})) {
      this.addFleet(name, options);
    }

    this.node.addValidation({ validate: () => this.validateSharedBroker() });
  }

  /** The names of the fleets, in the order they were added. */
  public get fleetNames(): string[] {
    return [...this.fleetEntries.keys()];
  }

  /** The fleets, by name. */
  public get fleets(): { [name: string]: CeleryWorkerFleet } {
    const result: { [name: string]: CeleryWorkerFleet } = {};
    for (const [name, entry] of this.fleetEntries) result[name] = entry.fleet;
    return result;
  }

  /**
   * Add a worker fleet after construction. It gets what the fleets given in `fleets` get: the
   * platform's credentials (and its queues added to the application user's permissions), AMQPS
   * to the broker, backlog scaling, its alarms, its place in the ingress-storm page and the
   * dashboard, its queues in the metrics publisher, and a start that waits for the application
   * user.
   *
   * @param name The fleet's name, 1 to 32 letters, digits, `_` and `-`, starting with a letter and
   * unique in the platform: its construct id (`Fleets/<name>`) and part of its alarm names
   * @param options The fleet's code, sizing, `celery worker` options and scaling
   */
  public addFleet(name: string, options: CeleryPlatformFleetOptions): CeleryWorkerFleet {
    this.validateFleetName(name);
    this.validateFleetOptions(name, options);

    const { enableBacklogScaling, backlogScaling, ...fleetOptions } = options;
    const fleet = new CeleryWorkerFleet(this.fleetScope, name, {
      ...fleetOptions,
      credentials: options.credentials ?? this.credentials,
      vpc: this.vpc,
      broker: this.connectedBroker,
    });

    if (!options.queues || options.queues.length === 0) {
      Annotations.of(fleet).addWarningV2('cdk-celery:fleetWithoutQueues',
        `fleets.${name} has no queues: its workers consume the application's task_default_queue, which the platform takes to be `
        + `"${fleet.queues.join(',')}" (for the application user's permissions and backlog scaling). Set queues to the queues the fleet consumes.`);
    }
    for (const [otherName, other] of this.fleetEntries) {
      const shared = fleet.queues.filter((q) => other.fleet.queues.includes(q));
      if (shared.length > 0) {
        Annotations.of(fleet).addWarningV2('cdk-celery:queueSharedByFleets',
          `fleets.${name} and fleets.${otherName} both consume ${shared.map((q) => JSON.stringify(q)).join(', ')}: they compete for its messages `
          + 'and scale on the same backlog. Give each queue to one fleet unless that is intended.');
      }
    }

    if (this.access) {
      this.access.addTaskQueues(...fleet.queues);
      // Workers connect as the application user at boot: it must exist (and allow the fleet's
      // queues) before the first instance starts, or the boot fails and the group rolls back.
      fleet.autoScalingGroup.node.addDependency(this.access);
    }

    let scalingPolicy: autoscaling.StepScalingPolicy | undefined;
    if ((enableBacklogScaling ?? true) && fleet.minCapacity !== fleet.maxCapacity) {
      const userChoseQueues = backlogScaling?.queue !== undefined || backlogScaling?.queues !== undefined || backlogScaling?.metric !== undefined;
      let platformChoice: QueueBacklogScalingProps = {};
      if (this.scaleOnQueueMetrics && !userChoseQueues) {
        platformChoice = this.monitoring.queueMetrics !== QueueMetricsSource.NONE
          ? { metric: this.monitoring.metricReadyMessages(fleet.queues) }
          // An imported RabbitMQ 3.x broker without the publisher: Amazon MQ's queue metrics.
          : { queues: fleet.queues, virtualHost: this.virtualHost };
      }
      scalingPolicy = fleet.scaleOnQueueBacklog(BACKLOG_SCALING_ID, { ...platformChoice, ...backlogScaling });
    }

    this.monitoring.addFleet(fleet);
    this.fleetEntries.set(name, { fleet, scalingPolicy });
    return fleet;
  }

  /**
   * The fleet with this name. Throws, listing the names, when there is none.
   *
   * @param name The fleet's name, as given in `fleets` or to `addFleet`
   */
  public fleet(name: string): CeleryWorkerFleet {
    return this.entry(name).fleet;
  }

  /**
   * The alarms of the fleet with this name (ingress source and worker restarts).
   *
   * @param name The fleet's name, as given in `fleets` or to `addFleet`
   */
  public fleetAlarms(name: string): CeleryFleetAlarms {
    const fleet = this.entry(name).fleet;
    return this.monitoring.fleetAlarms.find((a) => a.fleet === fleet)!;
  }

  /**
   * The backlog scaling policy of the fleet with this name; undefined when the fleet does not
   * scale on its backlog (`enableBacklogScaling: false`, or `minCapacity` equal to `maxCapacity`).
   *
   * @param name The fleet's name, as given in `fleets` or to `addFleet`
   */
  public backlogScalingPolicy(name: string): autoscaling.StepScalingPolicy | undefined {
    return this.entry(name).scalingPolicy;
  }

  /**
   * Let a client (a web application that sends tasks, Flower, celery beat) reach the broker's
   * AMQPS port. Give it the credentials with `grantReadCredentials`.
   *
   * @param client The client to allow, for example the security group or the construct of a
   * service that sends tasks
   * @param description Description of the ingress rule (default `Celery clients (AMQPS)`)
   */
  public allowAmqpsFrom(client: ec2.IConnectable, description?: string): void {
    this.connectedBroker.allowAmqpsAccessFrom(client, description);
  }

  /**
   * Grant read access to the credentials the fleets connect with (`credentials`), for a client
   * that sends tasks as the same user.
   *
   * @param grantee The principal that may read the secret, for example the role of a service
   * that sends tasks
   */
  public grantReadCredentials(grantee: iam.IGrantable): iam.Grant {
    return this.credentials.grantRead(grantee);
  }

  /**
   * A broker whose security groups belong to another stack gets a reference in this stack, with
   * the groups imported by id: the ingress rules for the fleets and the user function are then
   * created in this stack. Rules added to the other stack's groups would make that stack refer
   * to this one's security groups while this one refers to the broker: a dependency cycle.
   */
  private brokerInThisStack(broker: IRabbitMqBroker): IRabbitMqBroker {
    const stack = Stack.of(this);
    const groups = broker.connections.securityGroups;
    if (groups.every((sg) => Stack.of(sg) === stack)) return broker;
    return RabbitMqBroker.fromRabbitMqBrokerAttributes(this, 'BrokerReference', {
      brokerId: broker.brokerId,
      brokerName: broker.brokerName,
      brokerArn: broker.brokerArn,
      endpointHost: broker.endpointHost,
      credentials: broker.credentials,
      consumerTimeout: broker.consumerTimeout,
      engineVersion: broker.engineVersion,
      securityGroups: groups.map((sg, i) => Stack.of(sg) === stack ? sg
        : ec2.SecurityGroup.fromSecurityGroupId(this, `BrokerSecurityGroup${i}`, sg.securityGroupId, { allowAllOutbound: false })),
    });
  }

  private entry(name: string) {
    const entry = this.fleetEntries.get(name);
    if (!entry) {
      const names = this.fleetNames;
      throw new ValidationError(this, `fleet: no fleet named ${JSON.stringify(name)} in ${this.node.path}; `
        + (names.length > 0 ? `its fleets are ${names.map((n) => JSON.stringify(n)).join(', ')}.` : 'it has no fleet yet (addFleet).'));
    }
    return entry;
  }

  private validateFleetName(name: string): void {
    if (Token.isUnresolved(name) || !FLEET_NAME_FORMAT.test(name)) {
      throw new ValidationError(this, `fleets: the name ${JSON.stringify(name)} is not allowed; use 1 to 32 letters, digits, _ and -, starting with a letter `
        + '(it becomes the fleet\'s construct id and part of its alarm names).');
    }
    for (const existing of this.fleetEntries.keys()) {
      if (existing.toLowerCase() === name.toLowerCase()) {
        throw new ValidationError(this, `fleets: the name ${JSON.stringify(name)} is not allowed; ${this.node.path} already has a fleet named `
          + `${JSON.stringify(existing)}. Fleet names must be unique (case-insensitively): they are construct ids and parts of alarm names.`);
      }
    }
  }

  private validateFleetOptions(name: string, options: CeleryPlatformFleetOptions): void {
    if (options.enableBacklogScaling === false && options.backlogScaling) {
      throw new ValidationError(this, `fleets.${name}.backlogScaling: ${describeKeys(options.backlogScaling)} is not allowed with enableBacklogScaling: false; `
        + 'omit one of them.');
    }
    if (this.access && !this.access.enableRemoteControl && options.enableRemoteControl !== false && !options.credentials) {
      throw new ValidationError(this, `fleets.${name}.enableRemoteControl: ${options.enableRemoteControl ?? 'undefined (true)'} is not allowed with `
        + 'CeleryCredentials.applicationUser({ enableRemoteControl: false }); the application user could not use celery.pidbox and the workers would fail to start. '
        + `Set enableRemoteControl: false on fleets.${name}, or allow remote control for the application user.`);
    }
  }

  /**
   * Platforms of this app on the same broker must not create the same application or monitoring
   * user (the second would change the first one's password) or the same alarm and dashboard names.
   */
  private validateSharedBroker(): string[] {
    const errors: string[] = [];
    const others = this.node.root.node.findAll()
      .filter((c: IConstruct): c is CeleryPlatform => c !== this && CeleryPlatform.isCeleryPlatform(c))
      .filter((other) => sameBroker(this.broker, other.broker));
    for (const other of others) {
      if (this.access && other.access && sameName(this.access.username, other.access.username)) {
        errors.push(`credentials: the application user "${this.access.username}" is also the application user of ${other.node.path}, on the same broker `
          + `${this.broker.node.path}; each would reset the other's password. Give each platform its own username (and vhost): `
          + 'CeleryCredentials.applicationUser({ username, vhost }).');
      }
      const mine = this.monitoring.metricsPublisher?.monitoringUser;
      const theirs = other.monitoring.metricsPublisher?.monitoringUser;
      if (mine && theirs && sameName(mine.username, theirs.username)) {
        errors.push(`monitoringOptions.metricsPublisherOptions.monitoringUsername: "${mine.username}" is also the monitoring user of ${other.node.path}, `
          + `on the same broker ${this.broker.node.path}; each would reset the other's password. Give each platform its own monitoringUsername.`);
      }
      if (sameName(this.monitoring.alarmNamePrefix, other.monitoring.alarmNamePrefix)) {
        errors.push(`monitoringOptions.alarmNamePrefix: "${this.monitoring.alarmNamePrefix}" is also used by ${other.node.path}, on the same broker; `
          + 'alarm and dashboard names would collide. Give each platform its own alarmNamePrefix.');
      }
    }
    return errors;
  }
}

function sameBroker(a: IRabbitMqBroker, b: IRabbitMqBroker): boolean {
  if (a === b) return true;
  return !Token.isUnresolved(a.brokerName) && a.brokerName === b.brokerName && Stack.of(a) === Stack.of(b);
}

function sameName(a: string, b: string): boolean {
  return !Token.isUnresolved(a) && a === b;
}

/** `{ a, b }` for an error message: the keys that are set, never the values (they may hold secrets). */
function describeKeys(options: object): string {
  const keys = Object.entries(options).filter(([, v]) => v !== undefined).map(([k]) => k);
  return `{ ${keys.join(', ')} }`;
}
