import { Annotations, Duration, Lazy, Stack } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ICeleryWorkerFleet } from './celery-worker-fleet-ref';
import { addBacklogScalingPolicy, backlogMetric, resolveBacklogScaling } from './fleet-backlog-scaling';
import { resolveFleetCapacity } from './fleet-capacity';
import { addDrainHook, drainHookHeartbeat } from './fleet-drain-hook';
import { createInstanceRole, grantInstancePermissions } from './fleet-instance-role';
import { createFleetLaunchTemplate, DEFAULT_INSTANCE_TYPE } from './fleet-launch-template';
import { addFleetNagAcknowledgements } from './fleet-nag';
import { allowFleetEgress, createWorkerSecurityGroup } from './fleet-security-group';
import { estimateUserDataBytes, fleetBootOptions, validateUserDataSize } from './fleet-user-data';
import {
  fleetCredentials, instanceTagKeyErrors, validateCeleryVersion, validateFleetProps, validateImageArchitecture,
} from './fleet-validation';
import { fleetWarnings } from './fleet-warnings';
import { CeleryWorkerOptions, PeriodicRestartOptions, renderBootScript, renderCeleryWorkerCommand, workerStopTimeout } from './render';
import { WorkerCode } from './worker-code';
import { defaultWorkerImage } from './worker-image';
import { WorkerMetricNames } from './worker-metrics';
import { IRabbitMqBroker } from '../broker/rabbitmq-broker-ref';
import { validateIn } from '../private/validation-error';

// Kept exported from here, where they always were.
export { USER_DATA_LIMIT_BYTES, USER_DATA_TOKEN_ESTIMATE_BYTES } from './fleet-user-data';
export { DRAIN_LIFECYCLE_HOOK_NAME, LIFECYCLE_HEARTBEAT_MARGIN } from './fleet-drain-hook';
export { LARGE_FLEET_WARNING_CAPACITY } from './fleet-warnings';
export { DEFAULT_INSTANCE_TYPE } from './fleet-launch-template';
export { MAX_ONE_MINUTE_EVALUATION_PERIODS } from './fleet-backlog-scaling';

/**
 * Everything a user chooses for a `CeleryWorkerFleet` except its VPC and broker: the code, the
 * sizing, the supervision and the inherited `celery worker` options (the executable comes from the
 * code). `CeleryPlatform` takes one of
 * these per fleet and supplies the VPC and the broker itself.
 */
export interface CeleryWorkerFleetOptions extends CeleryWorkerOptions {
  /**
   * Subnets of the workers.
   * @default - private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * Credentials secret (JSON `username`, `password`, optional `vhost`), read at boot to build the
   * broker URL on the instance.
   * @default - the broker's own credentials; in a `CeleryPlatform`, the platform's credentials
   * (its application user unless configured otherwise)
   */
  readonly credentials?: secretsmanager.ISecret;

  /** The application code. */
  readonly code: WorkerCode;

  /**
   * Instance type. Its architecture selects the Amazon Linux 2023 image (arm64 or x86_64).
   * @default m7g.large (Graviton: about 20 % cheaper than m7i.large for the same vCPUs and memory)
   */
  readonly instanceType?: ec2.InstanceType;

  /**
   * Machine image. Must match the instance type's architecture, and have `python3`, `curl`, the
   * AWS CLI and systemd (Amazon Linux 2023 derivatives do).
   * @default - Amazon Linux 2023 for the instance type's architecture, resolved so that a new AL2023
   * release does not replace every instance on the next deployment: looked up once and cached in
   * `cdk.context.json` in a stack with a concrete account and Region (reset the context entry to
   * move on), or resolved by EC2 at each launch (`resolve:ssm:`) in an environment-agnostic stack
   */
  readonly machineImage?: ec2.IMachineImage;

  /**
   * SSH key pair. Session Manager works without one.
   * @default - no key pair
   */
  readonly keyPair?: ec2.IKeyPair;

  /**
   * Instance role. The fleet adds to it what the instances need: read the credentials and the
   * code, put the `CdkCelery` metrics, complete the drain lifecycle action and set instance health
   * on this group, and with `periodicRestart` describe Auto Scaling groups (so an imported role
   * must be mutable). It does not add `AmazonSSMManagedInstanceCore`: add it for Session Manager.
   * @default - a new role with `AmazonSSMManagedInstanceCore` and those permissions
   */
  readonly role?: iam.IRole;

  /**
   * Security group of the instances. The fleet adds HTTPS egress to anywhere (AWS APIs and
   * package repositories; a no-op when the group allows all outbound traffic) and opens the
   * broker to it on AMQPS (so an imported group must be mutable for the egress rules).
   * @default - a new security group with no ingress and only that egress
   */
  readonly securityGroup?: ec2.ISecurityGroup;

  /**
   * Fewest instances.
   * @default 1
   */
  readonly minCapacity?: number;

  /**
   * Most instances.
   * @default 4
   */
  readonly maxCapacity?: number;

  /**
   * Root volume size (encrypted gp3).
   * @default 20
   */
  readonly rootVolumeSizeGib?: number;

  /**
   * Unprivileged user that runs the worker (created at boot when missing).
   * @default 'celery'
   */
  readonly user?: string;

  /**
   * How long a warm shutdown may take before the pool is killed (`TimeoutStopSec`).
   * @default - `timeLimit` + 60 s, or 30 minutes when tasks have no time limit
   */
  readonly stopTimeout?: Duration;

  /**
   * Longest random wait before a crash restart.
   * @default Duration.seconds(60)
   */
  readonly restartJitter?: Duration;

  /**
   * Starts within `startLimitInterval` after which the worker counts as crash-looping.
   * @default 5
   */
  readonly startLimitBurst?: number;

  /**
   * Window of `startLimitBurst`.
   * @default Duration.minutes(15)
   */
  readonly startLimitInterval?: Duration;

  /**
   * Mark the instance Unhealthy (so Auto Scaling replaces it) when the worker crash-loops.
   * @default true
   */
  readonly replaceOnCrashLoop?: boolean;

  /**
   * Instances replaced at a time by a rolling update.
   * @default - 20 % of maxCapacity, at least 1
   */
  readonly maxBatchSize?: number;

  /**
   * Instances kept in service during a rolling update.
   * @default - minCapacity, but at most maxCapacity - maxBatchSize
   */
  readonly minInstancesInService?: number;

  /**
   * How long an instance may take from launch to a ready worker (cfn-signal).
   * @default Duration.minutes(15)
   */
  readonly bootTimeout?: Duration;

  /**
   * How long the boot script waits for the started worker to answer.
   * @default Duration.minutes(5)
   */
  readonly readinessTimeout?: Duration;

  /**
   * Planned warm restarts, spread over a window: at the window start each instance lists the
   * group's InService instances and restarts at its own slot, `window / n` apart in the order of
   * the instance ids (one restart per minute while n <= window / 60 s), or at a stable
   * pseudo-random offset when it cannot list the group. Adds `autoscaling:DescribeAutoScalingGroups`
   * to the instance role. Not counted as crashes. See `PeriodicRestartOptions` for the limits.
   * @default - no planned restarts
   */
  readonly periodicRestart?: PeriodicRestartOptions;
}

/** Properties of a `CeleryWorkerFleet`: its options, plus the VPC and the broker. */
export interface CeleryWorkerFleetProps extends CeleryWorkerFleetOptions {
  /** VPC of the workers (the broker's VPC or one routed to it). */
  readonly vpc: ec2.IVpc;

  /** The broker the workers consume from; its security group is opened to the workers on AMQPS. */
  readonly broker: IRabbitMqBroker;
}

/** Options of `CeleryWorkerFleet.scaleOnQueueBacklog`. */
export interface QueueBacklogScalingProps {
  /**
   * Queue whose ready messages drive scaling (`MessageReadyCount` by `Queue`). RabbitMQ 4.x
   * brokers publish no queue metrics: leave it unset there.
   * @default - the broker-wide `MessageReadyCount`
   */
  readonly queue?: string;

  /**
   * Several queues whose ready messages, summed (metric math), drive scaling: for a fleet that
   * consumes more than one queue. Same availability as `queue` (RabbitMQ 3.x only); not together
   * with `queue`.
   * @default - `queue`, or the broker-wide `MessageReadyCount`
   */
  readonly queues?: string[];

  /**
   * Virtual host of `queue` or `queues`.
   * @default '/'
   */
  readonly virtualHost?: string;

  /**
   * The ready-messages metric to scale on instead of the broker's, for example
   * `CeleryMonitoring.metricReadyMessages(queues)`, which reads the metrics publisher's queue
   * metrics on RabbitMQ 4. Not with `queue`, `queues` or `virtualHost`.
   * @default - from `queue`, `queues`, or the broker-wide `MessageReadyCount`
   */
  readonly metric?: cloudwatch.IMetric;

  /**
   * Ready messages at which one instance is added.
   * @default 100
   */
  readonly scaleOutThreshold?: number;

  /**
   * Instances added when the backlog reaches 10 x `scaleOutThreshold`.
   * @default - 20 % of maxCapacity, at least 2
   */
  readonly largeBacklogStep?: number;

  /**
   * Minutes the backlog must stay beyond a threshold before scaling (1-minute periods).
   * @default 3
   */
  readonly evaluationPeriods?: number;

  /**
   * How long a new instance takes until its workers consume (Auto Scaling's estimated instance
   * warm-up). Until then, further scale-out steps count it as already serving, so a backlog that
   * persists while instances boot does not add instance after instance. Step scaling policies
   * have no cooldown (Auto Scaling ignores one), which is why this is a warm-up.
   * @default Duration.minutes(5)
   */
  readonly instanceWarmup?: Duration;
}

/**
 * Celery workers in an EC2 Auto Scaling group, run so that a worker joining or restarting costs the
 * broker a constant few kilobytes: mingle, gossip and heartbeat events off; restarts jittered and
 * counted; rolling updates in small signalled batches; warm drains on scale-in.
 */
export class CeleryWorkerFleet extends Construct implements ICeleryWorkerFleet, ec2.IConnectable, iam.IGrantable {
  public readonly autoScalingGroup: autoscaling.IAutoScalingGroup;
  public readonly autoScalingGroupName: string;
  /** Fewest instances (`minCapacity`, default applied). */
  public readonly minCapacity: number;
  public readonly maxCapacity: number;
  /** Instances a rolling update replaces at a time (`maxBatchSize`, default applied). */
  public readonly maxBatchSize: number;
  /** Instances a rolling update keeps in service (`minInstancesInService`, default applied). */
  public readonly minInstancesInService: number;
  public readonly queues: string[];
  public readonly connections: ec2.Connections;
  /** The instance role: the one given, or the one the fleet created. */
  public readonly role: iam.IRole;
  /** The instance role, to grant the workers access to other resources. */
  public readonly grantPrincipal: iam.IPrincipal;
  /** The security group of the instances: the one given, or the one the fleet created. */
  public readonly securityGroup: ec2.ISecurityGroup;
  /** The launch template. */
  public readonly launchTemplate: ec2.LaunchTemplate;
  /** Size of the rendered user data, in bytes, with each CloudFormation value counted as `USER_DATA_TOKEN_ESTIMATE_BYTES`. */
  public readonly userDataSizeBytes: number;
  /** `TimeoutStopSec` of the worker unit. */
  public readonly stopTimeout: Duration;

  private readonly broker: IRabbitMqBroker;

  /**
   * @param scope Scope in which this fleet is defined
   * @param id Construct id: it names the fleet's alarms in `CeleryMonitoring`, and changing it
   * replaces the Auto Scaling group and its instances
   * @param props The VPC, the broker, the code, and the sizing, supervision and `celery worker`
   * options
   */
  constructor(scope: Construct, id: string, props: CeleryWorkerFleetProps) {
    super(scope, id);
    this.broker = props.broker;
    const capacity = resolveFleetCapacity(props);
    validateIn(this, () => validateFleetProps(props, capacity));
    this.minCapacity = capacity.minCapacity;
    this.maxCapacity = capacity.maxCapacity;
    this.maxBatchSize = capacity.maxBatchSize;
    this.minInstancesInService = capacity.minInstancesInService;

    const instanceType = props.instanceType ?? new ec2.InstanceType(DEFAULT_INSTANCE_TYPE);
    const machineImage = props.machineImage ?? defaultWorkerImage(this, instanceType.architecture);
    validateIn(this, () => validateImageArchitecture(machineImage, instanceType));
    const credentials = validateIn(this, () => fleetCredentials(props));
    this.stopTimeout = props.stopTimeout ?? workerStopTimeout(props.timeLimit);
    const heartbeat = validateIn(this, () => drainHookHeartbeat(this.stopTimeout, props.stopTimeout ? 'stopTimeout' : 'timeLimit'));

    this.role = props.role ?? createInstanceRole(this, 'InstanceRole');
    this.grantPrincipal = this.role;
    grantInstancePermissions(this.role, { credentials, periodicRestart: props.periodicRestart !== undefined });
    const code = props.code.bind(this, this.role);
    const bootOptions = fleetBootOptions(props, code, credentials, this.stopTimeout);
    const { celeryRequirement } = renderCeleryWorkerCommand(bootOptions.worker, bootOptions.broker);
    validateCeleryVersion(this.node.path, code, celeryRequirement, props);

    this.securityGroup = props.securityGroup ?? createWorkerSecurityGroup(this, 'SecurityGroup', props.vpc);
    allowFleetEgress(this.securityGroup);
    this.connections = new ec2.Connections({ securityGroups: [this.securityGroup] });
    props.broker.allowAmqpsAccessFrom(this, 'Celery workers (AMQPS)');
    this.queues = props.queues && props.queues.length > 0 ? [...props.queues] : ['celery'];

    // The script names the group's logical id, known only once the group exists: rendered lazily.
    let script = '';
    this.launchTemplate = createFleetLaunchTemplate(this, 'LaunchTemplate', {
      instanceType,
      machineImage,
      userData: ec2.UserData.custom(Lazy.string({ produce: () => script })),
      role: this.role,
      securityGroup: this.securityGroup,
      keyPair: props.keyPair,
      rootVolumeSizeGib: props.rootVolumeSizeGib,
    });

    const group = new autoscaling.AutoScalingGroup(this, 'Group', {
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      launchTemplate: this.launchTemplate,
      minCapacity: this.minCapacity,
      maxCapacity: this.maxCapacity,
      signals: autoscaling.Signals.waitForMinCapacity({ timeout: capacity.bootTimeout }),
      updatePolicy: autoscaling.UpdatePolicy.rollingUpdate({
        maxBatchSize: this.maxBatchSize,
        minInstancesInService: this.minInstancesInService,
        waitOnResourceSignals: true,
        pauseTime: capacity.bootTimeout,
      }),
      healthChecks: autoscaling.HealthChecks.ec2({ gracePeriod: capacity.bootTimeout }),
      groupMetrics: [autoscaling.GroupMetrics.all()],
    });
    this.autoScalingGroup = group;
    this.autoScalingGroupName = group.autoScalingGroupName;
    // Instances read the secret and the code at boot: the grants must exist before the first launch.
    group.node.addDependency(this.role);
    addDrainHook(this, group, this.role, heartbeat);

    script = validateIn(this, () => renderBootScript({
      ...bootOptions,
      signal: {
        stackName: Stack.of(this).stackName,
        logicalId: Stack.of(this).getLogicalId(group.node.defaultChild as autoscaling.CfnAutoScalingGroup),
      },
    }));
    this.userDataSizeBytes = estimateUserDataBytes(script);
    validateIn(this, () => validateUserDataSize(this.userDataSizeBytes));

    for (const warning of fleetWarnings(props, { maxCapacity: this.maxCapacity, stopTimeout: this.stopTimeout })) {
      Annotations.of(this).addWarningV2(`cdk-celery:${warning.id}`, warning.message);
    }
    addFleetNagAcknowledgements(this, { periodicRestart: props.periodicRestart !== undefined });
    // Tags in instance metadata (how instances learn their group name without a wider IAM
    // permission) make EC2 refuse launches whose instance tag keys have spaces or '/'.
    this.node.addValidation({ validate: () => instanceTagKeyErrors(group, this.launchTemplate) });
  }

  /**
   * Worker process starts after the first, per instance (`CdkCelery` `WorkerRestarts`, Sum).
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  public metricWorkerRestarts(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: WorkerMetricNames.NAMESPACE,
      metricName: WorkerMetricNames.WORKER_RESTARTS,
      dimensionsMap: { [WorkerMetricNames.AUTO_SCALING_GROUP_DIMENSION]: this.autoScalingGroupName },
      statistic: 'Sum',
      period: Duration.minutes(1),
      ...props,
    });
  }

  /**
   * Instances whose boot found a Celery older than the broker needs, and started no worker
   * (`CdkCelery` `IncompatibleCelery`, Maximum: 1 while such an instance boots).
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  public metricIncompatibleCelery(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: WorkerMetricNames.NAMESPACE,
      metricName: WorkerMetricNames.INCOMPATIBLE_CELERY,
      dimensionsMap: { [WorkerMetricNames.AUTO_SCALING_GROUP_DIMENSION]: this.autoScalingGroupName },
      statistic: 'Maximum',
      period: Duration.minutes(1),
      ...props,
    });
  }

  /**
   * Bytes the instances send (`AWS/EC2` `NetworkOut` by `AutoScalingGroupName`, Sum, 1-minute detailed monitoring).
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  public metricNetworkOut(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.ec2Metric('NetworkOut', props);
  }

  /**
   * Bytes the instances receive (`AWS/EC2` `NetworkIn` by `AutoScalingGroupName`, Sum).
   *
   * @param props Options that override the metric's defaults (statistic, period, label, ...)
   */
  public metricNetworkIn(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.ec2Metric('NetworkIn', props);
  }

  /**
   * Scale on the broker's ready messages: +1 instance at `scaleOutThreshold`, +`largeBacklogStep`
   * at 10 x that, -1 when nothing is waiting; each after `evaluationPeriods` minutes, with
   * `instanceWarmup` for new instances. Scale-in drains workers warm (lifecycle hook), so it is safe.
   *
   * @param id Construct id of the scaling policy, created under `autoScalingGroup`
   * (`CeleryPlatform` uses `BacklogScaling`)
   * @param props The queue or queues to watch, the thresholds and the timing
   */
  public scaleOnQueueBacklog(id: string, props: QueueBacklogScalingProps = {}): autoscaling.StepScalingPolicy {
    const scaling = validateIn(this, () => resolveBacklogScaling(props, this.maxCapacity));
    return addBacklogScalingPolicy(this.autoScalingGroup, id, backlogMetric(this.broker, props), scaling);
  }

  private ec2Metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/EC2',
      metricName,
      dimensionsMap: { AutoScalingGroupName: this.autoScalingGroupName },
      statistic: 'Sum',
      period: Duration.minutes(1),
      ...props,
    });
  }
}
