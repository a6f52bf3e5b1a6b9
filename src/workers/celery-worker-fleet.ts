import { Annotations, ArnFormat, Duration, Lazy, Stack, TagManager, Token, Tokenization } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ICeleryWorkerFleet } from './celery-worker-fleet-ref';
import {
  BootScriptOptions, CeleryPool, CeleryWorkerCommandOptions, celeryVersionAtLeast,
  DEFAULT_READINESS_TIMEOUT, DEFAULT_RESTART_JITTER, DEFAULT_START_LIMIT_BURST,
  DEFAULT_START_LIMIT_INTERVAL, PeriodicRestartOptions, renderBootScript, renderCeleryWorkerCommand, validatePeriodicRestart,
  workerStopTimeout,
} from './render';
import { celerySettingWarnings } from './render/celery-settings';
import { WorkerCode } from './worker-code';
import { defaultWorkerImage } from './worker-image';
import { WorkerMetricNames } from './worker-metrics';
import { IRabbitMqBroker } from '../broker/rabbitmq-broker-ref';
import { addNagSuppressions } from '../private/nag-suppressions';
import { validateIn, ValidationError } from '../private/validation-error';

/** Launch template user data limit (bytes, before base64). */
export const USER_DATA_LIMIT_BYTES = 16 * 1024;
/** Bytes assumed for each CloudFormation value (stack name, ARNs, asset key) in the user data size check. */
export const USER_DATA_TOKEN_ESTIMATE_BYTES = 128;
/** Name of the termination lifecycle hook (fixed: the user data names it, and a Ref would make a cycle). */
export const DRAIN_LIFECYCLE_HOOK_NAME = 'cdk-celery-drain';
/** Time the lifecycle hook waits beyond the worker's `TimeoutStopSec` (drain poll, API calls). */
export const LIFECYCLE_HEARTBEAT_MARGIN = Duration.minutes(5);
/** Fleets larger than this get a warning: each worker holds connections and channels on the broker. */
export const LARGE_FLEET_WARNING_CAPACITY = 50;
/** Tag keys EC2 accepts on instances that expose tags in instance metadata. */
const INSTANCE_METADATA_TAG_KEY = /^[A-Za-z0-9+\-=.,_:@]+$/;
/** Default instance type: Graviton (arm64), 2 vCPUs, 8 GiB, no CPU credits. */
export const DEFAULT_INSTANCE_TYPE = 'm7g.large';

/**
 * Everything a user chooses for a `CeleryWorkerFleet` except its VPC and broker: the code, the
 * sizing, the supervision and the inherited `celery worker` options. `CeleryPlatform` takes one of
 * these per fleet and supplies the VPC and the broker itself.
 */
export interface CeleryWorkerFleetOptions extends CeleryWorkerCommandOptions {
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
export class CeleryWorkerFleet extends Construct implements ICeleryWorkerFleet, ec2.IConnectable {
  public readonly autoScalingGroup: autoscaling.IAutoScalingGroup;
  public readonly autoScalingGroupName: string;
  public readonly maxCapacity: number;
  public readonly queues: string[];
  public readonly connections: ec2.Connections;
  /** The instance role. */
  public readonly role: iam.IRole;
  /** The launch template. */
  public readonly launchTemplate: ec2.LaunchTemplate;
  /** Size of the rendered user data, in bytes, with each CloudFormation value counted as `USER_DATA_TOKEN_ESTIMATE_BYTES`. */
  public readonly userDataSizeBytes: number;
  /** `TimeoutStopSec` of the worker unit. */
  public readonly stopTimeout: Duration;

  private readonly broker: IRabbitMqBroker;
  /** Fewest instances the group runs (`minCapacity`, default 1). */
  public readonly minCapacity: number;

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
    this.minCapacity = props.minCapacity ?? 1;
    this.maxCapacity = props.maxCapacity ?? 4;
    validateIn(this, () => validateFleetProps(props, this.minCapacity, this.maxCapacity));

    const instanceType = props.instanceType ?? new ec2.InstanceType(DEFAULT_INSTANCE_TYPE);
    const architecture = instanceType.architecture;
    const machineImage = props.machineImage ?? defaultWorkerImage(this, architecture);
    const imageArchitecture = knownImageArchitecture(machineImage);
    if (imageArchitecture && imageArchitecture !== architecture) {
      throw new ValidationError(this, `machineImage: the image is built for ${imageArchitecture} but instanceType ${instanceType} is ${architecture}; pick an image and an instance type of the same architecture.`);
    }

    const credentials = props.credentials ?? props.broker.credentials;
    if (!credentials) {
      throw new ValidationError(this, `credentials: the broker ${props.broker.node.path} has no credentials secret; pass credentials (a secret with JSON "username", "password" and optional "vhost").`);
    }

    this.stopTimeout = props.stopTimeout ?? workerStopTimeout(props.timeLimit);
    const heartbeat = Duration.seconds(this.stopTimeout.toSeconds() + LIFECYCLE_HEARTBEAT_MARGIN.toSeconds());
    if (heartbeat.toSeconds() > 7200) {
      throw new ValidationError(this, `stopTimeout: ${this.stopTimeout.toSeconds()} s (from ${props.stopTimeout ? 'stopTimeout' : 'timeLimit'}) is too long; the termination lifecycle hook waits at most 7200 s, ${LIFECYCLE_HEARTBEAT_MARGIN.toSeconds()} s of which the drain needs. Use at most ${7200 - LIFECYCLE_HEARTBEAT_MARGIN.toSeconds()} s.`);
    }

    this.role = new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'Celery worker instances (cdk-celery)',
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
    });
    credentials.grantRead(this.role);
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': WorkerMetricNames.NAMESPACE } },
    }));
    if (props.periodicRestart) {
      // The periodic-restart script lists the group's InService instances to find its slot. Describe
      // actions support no resource-level permissions.
      this.role.addToPrincipalPolicy(new iam.PolicyStatement({
        actions: ['autoscaling:DescribeAutoScalingGroups'],
        resources: ['*'],
      }));
    }
    const code = props.code.bind(this, this.role);
    const brokerOptions = { engineVersion: props.broker.engineVersion };
    const { celeryRequirement } = renderCeleryWorkerCommand({ ...props, celeryExecutable: '/bin/celery' }, brokerOptions);
    if (code.celeryVersion && !celeryVersionAtLeast(code.celeryVersion, celeryRequirement.version)) {
      throw new Error(`${this.node.path}: code: the application's Celery is ${code.celeryVersion} (${code.celeryVersionSource ?? 'from the worker code'}), `
        + `but on this broker (engine version ${props.broker.engineVersion?.version ?? 'unknown'}) ${celeryRequirement.reason}: use Celery ${celeryRequirement.version} or later.`);
    }

    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      allowAllOutbound: false,
      description: 'Celery workers: AMQPS to the broker, HTTPS to AWS APIs and package repositories',
    });
    // AWS APIs (Secrets Manager, S3, CloudWatch, Auto Scaling, SSM, CloudFormation) and dnf/pip
    // repositories are HTTPS endpoints with changing addresses. IMDS, DNS and NTP are link-local
    // and not filtered by security groups.
    securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs and package repositories');
    this.connections = new ec2.Connections({ securityGroups: [securityGroup] });
    props.broker.allowAmqpsAccessFrom(this, 'Celery workers (AMQPS)');

    const { celeryExecutable: _ignored, ...workerOptions } = pickWorkerOptions(props);
    const worker: CeleryWorkerCommandOptions = { ...workerOptions, celeryExecutable: code.celeryExecutable };
    this.queues = props.queues && props.queues.length > 0 ? [...props.queues] : ['celery'];

    const bootOptions: Omit<BootScriptOptions, 'signal'> = {
      worker,
      broker: brokerOptions,
      user: props.user ?? 'celery',
      workingDirectory: code.workingDirectory,
      code: code.bucketName && code.objectKey ? { bucketName: code.bucketName, objectKey: code.objectKey } : undefined,
      virtualEnvDirectory: code.virtualEnvDirectory,
      brokerHost: props.broker.endpointHost,
      brokerPort: Token.isUnresolved(props.broker.amqpsPort) ? Token.asString(props.broker.amqpsPort) : String(props.broker.amqpsPort),
      credentialsSecretId: credentials.secretArn,
      lifecycleHookName: DRAIN_LIFECYCLE_HOOK_NAME,
      readinessTimeout: props.readinessTimeout ?? DEFAULT_READINESS_TIMEOUT,
      stopTimeout: this.stopTimeout,
      restartJitter: props.restartJitter ?? DEFAULT_RESTART_JITTER,
      startLimitBurst: props.startLimitBurst ?? DEFAULT_START_LIMIT_BURST,
      startLimitInterval: props.startLimitInterval ?? DEFAULT_START_LIMIT_INTERVAL,
      markUnhealthyOnCrashLoop: props.replaceOnCrashLoop ?? true,
      periodicRestart: props.periodicRestart,
    };

    // The script names the group's logical id, known only once the group exists: rendered lazily.
    let script = '';
    const userData = ec2.UserData.custom(Lazy.string({ produce: () => script }));
    this.launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      instanceType,
      machineImage,
      userData,
      role: this.role,
      securityGroup,
      keyPair: props.keyPair,
      requireImdsv2: true,
      httpPutResponseHopLimit: 1,
      instanceMetadataTags: true,
      detailedMonitoring: true,
      blockDevices: [{
        deviceName: '/dev/xvda',
        volume: ec2.BlockDeviceVolume.ebs(props.rootVolumeSizeGib ?? 20, {
          encrypted: true,
          volumeType: ec2.EbsDeviceVolumeType.GP3,
          deleteOnTermination: true,
        }),
      }],
    });

    const maxBatchSize = props.maxBatchSize ?? Math.max(1, Math.floor(this.maxCapacity * 0.2));
    const minInstancesInService = props.minInstancesInService ?? Math.max(0, Math.min(this.minCapacity, this.maxCapacity - maxBatchSize));
    const bootTimeout = props.bootTimeout ?? DEFAULT_BOOT_TIMEOUT;
    const group = new autoscaling.AutoScalingGroup(this, 'Group', {
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      launchTemplate: this.launchTemplate,
      minCapacity: this.minCapacity,
      maxCapacity: this.maxCapacity,
      signals: autoscaling.Signals.waitForMinCapacity({ timeout: bootTimeout }),
      updatePolicy: autoscaling.UpdatePolicy.rollingUpdate({
        maxBatchSize,
        minInstancesInService,
        waitOnResourceSignals: true,
        pauseTime: bootTimeout,
      }),
      healthChecks: autoscaling.HealthChecks.ec2({ gracePeriod: bootTimeout }),
      groupMetrics: [autoscaling.GroupMetrics.all()],
    });
    this.autoScalingGroup = group;
    this.autoScalingGroupName = group.autoScalingGroupName;
    // Instances read the secret and the code at boot: the grants must exist before the first launch.
    group.node.addDependency(this.role);

    group.addLifecycleHook('Drain', {
      lifecycleHookName: DRAIN_LIFECYCLE_HOOK_NAME,
      lifecycleTransition: autoscaling.LifecycleTransition.INSTANCE_TERMINATING,
      heartbeatTimeout: heartbeat,
      defaultResult: autoscaling.DefaultResult.CONTINUE,
    });

    // Scoped to this group; a separate policy because it names the group, which depends on the role.
    new iam.Policy(this, 'LifecyclePolicy', {
      roles: [this.role],
      statements: [new iam.PolicyStatement({
        actions: ['autoscaling:CompleteLifecycleAction', 'autoscaling:SetInstanceHealth'],
        resources: [Stack.of(this).formatArn({
          service: 'autoscaling',
          resource: 'autoScalingGroup',
          resourceName: `*:autoScalingGroupName/${this.autoScalingGroupName}`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        })],
      })],
    });

    script = validateIn(this, () => renderBootScript({
      ...bootOptions,
      signal: {
        stackName: Stack.of(this).stackName,
        logicalId: Stack.of(this).getLogicalId(group.node.defaultChild as autoscaling.CfnAutoScalingGroup),
      },
    }));
    this.userDataSizeBytes = estimateUserDataBytes(script);
    if (this.userDataSizeBytes > USER_DATA_LIMIT_BYTES) {
      throw new ValidationError(this, `user data: the rendered boot script is about ${this.userDataSizeBytes} bytes, over the ${USER_DATA_LIMIT_BYTES}-byte launch template limit; shorten settings, extraArguments or queues.`);
    }

    this.addWarnings(props);
    this.addNagAcknowledgements(props);
    // Tags in instance metadata (how instances learn their group name without a wider IAM
    // permission) make EC2 refuse launches whose instance tag keys have spaces or '/'.
    this.node.addValidation({ validate: () => this.validateInstanceTagKeys(group) });
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
    const threshold = props.scaleOutThreshold ?? 100;
    const evaluationPeriods = props.evaluationPeriods ?? 3;
    const largeStep = props.largeBacklogStep ?? Math.max(2, Math.floor(this.maxCapacity * 0.2));
    validateIn(this, () => {
      wholeNumber('scaleOnQueueBacklog.scaleOutThreshold', threshold, 1);
      // 1-minute periods: CloudWatch allows at most one day of them in an alarm.
      wholeNumber('scaleOnQueueBacklog.evaluationPeriods', evaluationPeriods, 1, MAX_ONE_MINUTE_EVALUATION_PERIODS);
      wholeNumber('scaleOnQueueBacklog.largeBacklogStep', largeStep, 1);
      if (props.instanceWarmup?.isUnresolved()) {
        throw new Error('scaleOnQueueBacklog.instanceWarmup: a CloudFormation value (token) is not accepted; use a Duration.');
      }
      if (props.queue !== undefined && props.queues !== undefined) {
        throw new Error(`scaleOnQueueBacklog.queues: ${JSON.stringify(props.queues)} is not allowed with queue ("${props.queue}"); set one of them.`);
      }
      if (props.queues !== undefined && props.queues.length === 0) {
        throw new Error('scaleOnQueueBacklog.queues: [] is not allowed; give at least one queue, or omit it to scale on the broker-wide count.');
      }
      const listed = props.queues ?? [];
      const repeated = listed.find((q, i) => listed.indexOf(q) !== i);
      if (repeated !== undefined) {
        throw new Error(`scaleOnQueueBacklog.queues: ${JSON.stringify(repeated)} is listed twice; list each queue once (its backlog would count twice).`);
      }
      if (props.queue === undefined && props.queues === undefined && props.virtualHost) {
        throw new Error(`scaleOnQueueBacklog.virtualHost: "${props.virtualHost}" needs queue; the broker-wide count has no virtual host dimension.`);
      }
    });
    const queues = props.queues ?? (props.queue !== undefined ? [props.queue] : []);
    const metricOptions = { period: Duration.minutes(1), statistic: 'Maximum' };
    const queueMetric = (queue: string) => this.broker.metricQueueMessageReadyCount(queue, props.virtualHost ?? '/', metricOptions);
    let metric: cloudwatch.IMetric;
    if (props.metric) {
      if (queues.length > 0 || props.virtualHost) {
        throw new Error('scaleOnQueueBacklog.metric: a metric is not allowed with queue, queues or virtualHost; the metric already says what it reads.');
      }
      metric = props.metric;
    } else if (queues.length === 0) {
      metric = this.broker.metricMessageReadyCount(metricOptions);
    } else if (queues.length === 1) {
      metric = queueMetric(queues[0]);
    } else {
      // FILL: a queue without data points (not declared yet, or idle and dropped) counts as empty
      // instead of blanking the sum.
      const usingMetrics: { [id: string]: cloudwatch.IMetric } = {};
      queues.forEach((queue, i) => { usingMetrics[`q${i}`] = queueMetric(queue); });
      metric = new cloudwatch.MathExpression({
        expression: Object.keys(usingMetrics).map((metricId) => `FILL(${metricId}, 0)`).join(' + '),
        usingMetrics,
        label: `Ready messages in ${queues.join(', ')}`,
        period: Duration.minutes(1),
      });
    }
    return this.autoScalingGroup.scaleOnMetric(id, {
      metric,
      adjustmentType: autoscaling.AdjustmentType.CHANGE_IN_CAPACITY,
      scalingSteps: [
        { upper: 0, change: -1 },
        { lower: threshold, change: +1 },
        { lower: threshold * 10, change: +largeStep },
      ],
      evaluationPeriods,
      estimatedInstanceWarmup: props.instanceWarmup ?? Duration.minutes(5),
    });
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

  private validateInstanceTagKeys(group: autoscaling.AutoScalingGroup): string[] {
    const stack = Stack.of(this);
    const cfnGroup = group.node.defaultChild as autoscaling.CfnAutoScalingGroup;
    const groupTags: Array<{ key: string; propagateAtLaunch?: boolean }> = stack.resolve(cfnGroup.tags.renderTags()) ?? [];
    const templateTags: Array<{ key: string }> = stack.resolve(TagManager.of(this.launchTemplate)?.renderTags()) ?? [];
    const keys = [...groupTags.filter((t) => t.propagateAtLaunch !== false), ...templateTags].map((t) => t.key);
    return [...new Set(keys)]
      .filter((key) => typeof key === 'string' && (!INSTANCE_METADATA_TAG_KEY.test(key) || ['.', '..', '_index'].includes(key)))
      .map((key) => `tags: instance tag key ${JSON.stringify(key)} cannot be used with tags in instance metadata (which the fleet needs to find its group name); keys may only hold letters, digits and + - = . , _ : @ (no spaces or /). Remove the tag from the fleet or stop it from propagating to instances.`);
  }

  private addWarnings(props: CeleryWorkerFleetProps): void {
    const warn = (id: string, message: string) => Annotations.of(this).addWarningV2(`cdk-celery:${id}`, message);
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
      warn('heartbeatEvents', `enableHeartbeatEvents is true: each worker sends an event every 2 s (about 200 B/s into the broker; ${this.maxCapacity} workers at most).`);
    }
    if (props.enableGossip) {
      warn('gossip', `enableGossip is true: every worker consumes every worker's events, N squared deliveries every 2 s (${this.maxCapacity * this.maxCapacity} at maxCapacity).`);
    }
    if (props.enableMingle) {
      warn('mingle', `enableMingle is true: each worker start pulls (workers - 1) x (revoked set size) through the broker, up to ${this.maxCapacity - 1} replies per start at maxCapacity; this is what took the broker down in the incident.`);
    }
    const consumerTimeout = props.broker.consumerTimeout;
    const knownConsumerTimeout = consumerTimeout && !consumerTimeout.isUnresolved() ? consumerTimeout : undefined;
    const consumerTimeoutText = knownConsumerTimeout
      ? `${knownConsumerTimeout.toHumanString()} on this broker`
      : 'Amazon MQ\'s default is 30 minutes';
    if (!props.timeLimit && !props.stopTimeout) {
      warn('noTimeLimit', `No timeLimit: a warm stop waits up to ${this.stopTimeout.toMinutes()} minutes for running tasks and then kills them, and a task that holds its message longer than the broker's consumer_timeout (${consumerTimeoutText}) gets its channel closed. Set timeLimit to the longest task.`);
    }
    // Late acknowledgement keeps a running task's message unacked: past consumer_timeout RabbitMQ
    // closes the channel and redelivers the task, which then runs twice.
    if (props.acksLate !== false && knownConsumerTimeout && props.timeLimit && !props.timeLimit.isUnresolved()
      && props.timeLimit.toSeconds() >= knownConsumerTimeout.toSeconds()) {
      warn('timeLimitOverConsumerTimeout', `timeLimit ${props.timeLimit.toHumanString()} is not shorter than the broker's consumer_timeout (${consumerTimeoutText}): with late acknowledgement a task that runs that long holds its message past the timeout, so RabbitMQ closes the worker's channel (PRECONDITION_FAILED) and redelivers the task. Raise the broker's configuration.consumerTimeout above the longest task plus the longest ETA/countdown wait.`);
    }
    if (this.maxCapacity > LARGE_FLEET_WARNING_CAPACITY) {
      warn('largeFleet', `maxCapacity ${this.maxCapacity} is large: each worker holds 2 or more connections and several channels; make sure the broker instance type handles ${this.maxCapacity * 3} connections (mq.m7g.medium and mq.m5.large are small).`);
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
  }

  private addNagAcknowledgements(props: CeleryWorkerFleetProps): void {
    // Each acknowledgement only on the resource type its rule checks, so none is left unused
    // (the security group needs none: EC23 is about open ingress, and the fleet has no ingress).
    addNagSuppressions(this, [
      { id: 'AwsSolutions-IAM4', reason: 'AmazonSSMManagedInstanceCore is the AWS-maintained policy for Session Manager access (no SSH key, no open port).' },
    ], ['AWS::IAM::Role']);
    addNagSuppressions(this, [
      {
        id: 'AwsSolutions-IAM5',
        reason: 'Wildcards: cloudwatch:PutMetricData has no resource ARN (it is conditioned on the CdkCelery namespace); '
          + (props.periodicRestart ? 'autoscaling:DescribeAutoScalingGroups (periodicRestart: each instance lists its group to find its restart slot) has no resource ARN (read-only); ' : '')
          + 'the Auto Scaling group ARN has a generated id segment (scoped by group name); S3 asset read grants cover the object key only; Secrets Manager grants end in the generated suffix.',
      },
    ], ['AWS::IAM::Policy']);
    addNagSuppressions(this, [
      { id: 'AwsSolutions-AS3', reason: 'Scaling events are visible in the group metrics (collected) and the activity history; fleets that want notifications add them to autoScalingGroup.' },
    ], ['AWS::AutoScaling::AutoScalingGroup']);
  }
}

function pickWorkerOptions(props: CeleryWorkerFleetProps): CeleryWorkerCommandOptions {
  return {
    app: props.app,
    celeryExecutable: props.celeryExecutable,
    queues: props.queues,
    concurrency: props.concurrency,
    pool: props.pool,
    hostname: props.hostname,
    prefetchMultiplier: props.prefetchMultiplier,
    maxTasksPerChild: props.maxTasksPerChild,
    maxMemoryPerChildKib: props.maxMemoryPerChildKib,
    timeLimit: props.timeLimit,
    softTimeLimit: props.softTimeLimit,
    enableRemoteControl: props.enableRemoteControl,
    acksLate: props.acksLate,
    revokesMax: props.revokesMax,
    revokeExpires: props.revokeExpires,
    logLevel: props.logLevel,
    enableMingle: props.enableMingle,
    acknowledgeMingleBrokerTraffic: props.acknowledgeMingleBrokerTraffic,
    enableGossip: props.enableGossip,
    enableHeartbeatEvents: props.enableHeartbeatEvents,
    settings: props.settings,
    extraArguments: props.extraArguments,
    queueType: props.queueType,
    nativeDelayedDelivery: props.nativeDelayedDelivery,
  };
}

/** Most 1-minute evaluation periods of a CloudWatch alarm (period x periods at most one day). */
export const MAX_ONE_MINUTE_EVALUATION_PERIODS = 1440;

/**
 * A whole number in range. CloudFormation values are refused unless `tokenAllowed` (the value only
 * goes into the template): the fleet derives scripts, batches, steps and alarm thresholds from its
 * numbers at synth, and arithmetic on a token gives nonsense.
 */
function wholeNumber(prop: string, value: number | undefined, min: number, max?: number, tokenAllowed = false): void {
  if (value === undefined) return;
  if (Token.isUnresolved(value)) {
    if (tokenAllowed) return;
    throw new Error(`${prop}: a CloudFormation value (token) is not accepted; the fleet derives its user data, rolling-update batches, scaling steps and alarm thresholds from it at synth. Use a number.`);
  }
  if (!Number.isInteger(value) || value < min || (max !== undefined && value > max)) {
    throw new Error(`${prop}: ${value} is not allowed; use a whole number ${max !== undefined ? `from ${min} to ${max}` : `of at least ${min}`}.`);
  }
}

/** Default of `bootTimeout`. */
const DEFAULT_BOOT_TIMEOUT = Duration.minutes(15);

function validateFleetProps(props: CeleryWorkerFleetProps, minCapacity: number, maxCapacity: number): void {
  if (props.celeryExecutable !== undefined) {
    throw new Error(`celeryExecutable: "${props.celeryExecutable}" cannot be set on the fleet; the code decides it (WorkerCode.preinstalled({ celeryExecutable, workingDirectory }) for a custom image).`);
  }
  // The renderer validates every command option (and the queue type against the broker) and names the prop.
  renderCeleryWorkerCommand({ ...props, celeryExecutable: '/bin/celery' }, { engineVersion: props.broker.engineVersion });
  wholeNumber('minCapacity', props.minCapacity, 0);
  wholeNumber('maxCapacity', props.maxCapacity, 1);
  if (minCapacity > maxCapacity) {
    throw new Error(`minCapacity: ${minCapacity} is more than maxCapacity (${maxCapacity}).`);
  }
  wholeNumber('maxBatchSize', props.maxBatchSize, 1, maxCapacity);
  if (props.minInstancesInService !== undefined) {
    wholeNumber('minInstancesInService', props.minInstancesInService, 0, maxCapacity - 1);
  }
  wholeNumber('rootVolumeSizeGib', props.rootVolumeSizeGib, 8, 16384, true);
  wholeNumber('startLimitBurst', props.startLimitBurst, 2, 100);
  if (props.user !== undefined && (Token.isUnresolved(props.user) || !/^[a-z_][a-z0-9_-]{0,30}$/.test(props.user))) {
    throw new Error(`user: ${JSON.stringify(props.user)} is not a Linux user name; use lowercase letters, digits, _ and - (at most 31), starting with a letter or _.`);
  }
  if (props.user === 'root') {
    throw new Error('user: "root" is not allowed; the worker runs unprivileged (tasks run arbitrary code from the broker).');
  }
  const level = (props.logLevel ?? 'INFO').toUpperCase();
  if (props.enableRemoteControl === false && !['DEBUG', 'INFO'].includes(level)) {
    throw new Error(`logLevel: "${props.logLevel}" hides the worker's "ready." line, which boot readiness needs when enableRemoteControl is false; use INFO or DEBUG, or keep remote control on.`);
  }
  positiveSeconds('stopTimeout', props.stopTimeout, 1);
  positiveSeconds('restartJitter', props.restartJitter, 0, 3600);
  positiveSeconds('startLimitInterval', props.startLimitInterval, 60);
  positiveSeconds('bootTimeout', props.bootTimeout, 60, 43200);
  positiveSeconds('readinessTimeout', props.readinessTimeout, 5);
  // The effective values: a readiness wait of 20 minutes alone is as wrong as with a boot timeout given.
  const readiness = props.readinessTimeout ?? DEFAULT_READINESS_TIMEOUT;
  const boot = props.bootTimeout ?? DEFAULT_BOOT_TIMEOUT;
  if (readiness.toSeconds() >= boot.toSeconds()) {
    throw new Error(`readinessTimeout: ${readiness.toHumanString()}${props.readinessTimeout ? '' : ' (the default)'} must be shorter than bootTimeout `
      + `(${boot.toHumanString()}${props.bootTimeout ? '' : ', the default'}), or CloudFormation gives up before the instance can signal.`);
  }
  if (props.periodicRestart) validatePeriodicRestart(props.periodicRestart);
}

function positiveSeconds(prop: string, value: Duration | undefined, min: number, max?: number): void {
  if (value === undefined) return;
  if (value.isUnresolved()) {
    throw new Error(`${prop}: a CloudFormation value (token) is not accepted; it is written into the instances' units and scripts, or derives other timeouts, at synth. Use a Duration.`);
  }
  const seconds = value.toSeconds({ integral: false });
  if (!Number.isInteger(seconds) || seconds < min || (max !== undefined && seconds > max)) {
    throw new Error(`${prop}: ${value.toHumanString()} is not allowed; use whole seconds ${max !== undefined ? `from ${min} to ${max}` : `of at least ${min}`}.`);
  }
}

/**
 * The architecture of an image when it can be told from its SSM parameter name
 * (`MachineImage.fromSsmParameter`, `resolveSsmParameterAtLaunch`, `latestAmazonLinux2023`...).
 * Best effort: other images are not checked.
 */
function knownImageArchitecture(image: ec2.IMachineImage): ec2.InstanceArchitecture | undefined {
  const candidate = image as { parameterName?: unknown; props?: { parameterName?: unknown } };
  const parameterName = candidate.parameterName ?? candidate.props?.parameterName;
  if (typeof parameterName !== 'string' || Token.isUnresolved(parameterName)) return undefined;
  if (/arm64|aarch64/.test(parameterName)) return ec2.InstanceArchitecture.ARM_64;
  if (/x86_64|amd64/.test(parameterName)) return ec2.InstanceArchitecture.X86_64;
  return undefined;
}

/** Bytes of a script, counting each unresolved CloudFormation value as `USER_DATA_TOKEN_ESTIMATE_BYTES`. */
function estimateUserDataBytes(script: string): number {
  const placeholder = 'x'.repeat(USER_DATA_TOKEN_ESTIMATE_BYTES);
  const estimated = Tokenization.reverseString(script)
    .mapTokens({ mapToken: () => placeholder })
    .join({ join: (left: unknown, right: unknown) => `${left}${right}` });
  return Buffer.byteLength(String(estimated), 'utf8');
}
