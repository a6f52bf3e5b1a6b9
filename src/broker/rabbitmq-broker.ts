import { Annotations, Duration, Fn, Names, Stack, Token } from 'aws-cdk-lib';
import * as amazonmq from 'aws-cdk-lib/aws-amazonmq';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, IConstruct } from 'constructs';
import { ConfigurationApplier } from './configuration-applier';
import { ConfigurationChangePolicy } from './configuration-change-policy';
import { ImportedRabbitMqBroker } from './imported-rabbitmq-broker';
import { RabbitMqBrokerAttributes } from './rabbitmq-broker-attributes';
import { RabbitMqBrokerBase } from './rabbitmq-broker-base';
import { IRabbitMqBroker } from './rabbitmq-broker-ref';
import {
  selectBrokerSubnets, validateBrokerName, validateEngineAndInstance, validateEngineVersion, validateInstanceType,
  validateMaintenanceWindow, validateSecurityGroupCount, validateUsername,
} from './rabbitmq-broker-rules';
import { DEFAULT_CONSUMER_TIMEOUT, effectiveConsumerTimeout, RabbitMqConfigurationOptions, renderRabbitMqConfiguration } from './rabbitmq-configuration';
import { RabbitMqDeploymentMode } from './rabbitmq-deployment-mode';
import { RabbitMqEngineVersion } from './rabbitmq-engine-version';
import { RabbitMqInstanceType } from './rabbitmq-instance-type';
import { RabbitMqMaintenanceWindow } from './rabbitmq-maintenance-window';
import { addNagSuppressions } from '../private/nag-suppressions';
import { validateIn, ValidationError } from '../private/validation-error';

/**
 * Everything a user chooses for a `RabbitMqBroker` except its VPC. `CeleryPlatform` takes these
 * and places the broker in the platform's VPC.
 */
export interface RabbitMqBrokerOptions {
  /**
   * Subnets of the broker's endpoints. SINGLE_INSTANCE: a selection of exactly one subnet.
   * CLUSTER_MULTI_AZ: subnets in distinct Availability Zones. Changing them replaces the broker.
   * @default - SINGLE_INSTANCE: the first subnet of the VPC's default selection (private subnets
   * first); CLUSTER_MULTI_AZ: one subnet per Availability Zone of that selection
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * Security groups of the broker (1 to 5). Amazon MQ refuses to change the security groups of
   * an existing RabbitMQ broker: add rules to these groups (through `connections`) rather than
   * swapping groups.
   * @default - a new security group with no ingress and no egress; open it with `connections`
   * (the worker fleet opens AMQPS) and `allowManagementAccessFrom`
   */
  readonly securityGroups?: ec2.ISecurityGroup[];

  /**
   * Give the broker a public endpoint, reachable from the internet with the credentials only.
   * Amazon MQ accepts no subnets or security groups for it. A warning is added.
   * Changing it replaces the broker.
   * @default false
   */
  readonly publiclyAccessible?: boolean;

  /**
   * Single instance or three-node cluster. Changing it replaces the broker, so decide up front:
   * a cluster keeps serving through node reboots and AZ failures, at three times the cost.
   * @default RabbitMqDeploymentMode.SINGLE_INSTANCE - the cheapest way to run Celery; choose
   * CLUSTER_MULTI_AZ for production workloads that cannot pause during broker reboots
   */
  readonly deploymentMode?: RabbitMqDeploymentMode;

  /**
   * RabbitMQ engine version.
   * @default RabbitMqEngineVersion.V4_2 - the version Amazon MQ recommends; it declares quorum
   * queues by default, which needs Celery 5.5 or later (`worker_detect_quorum_queues`). Use V3_13
   * for older Celery.
   */
  readonly engineVersion?: RabbitMqEngineVersion;

  /**
   * Host instance type. RabbitMQ 4.x runs only on mq.m7g.*; mq.t3.micro is refused.
   * @default RabbitMqInstanceType.M7G_LARGE - the smallest type not meant for evaluation only
   */
  readonly instanceType?: RabbitMqInstanceType;

  /**
   * Automatic minor version upgrades in the maintenance window. Amazon MQ requires them for
   * RabbitMQ 3.13 and later, so `false` is refused.
   * @default true
   */
  readonly autoMinorVersionUpgrade?: boolean;

  /**
   * The broker name: 1 to 50 letters, digits, `-` and `_`, unique in the account and Region. It
   * is the `Broker` dimension of every metric, and changing it replaces the broker.
   * @default - derived from the stack name and the construct path, at most 50 characters (stable
   * while they stay the same)
   */
  readonly brokerName?: string;

  /**
   * The administrator credentials: a secret with JSON keys `username` and `password`. The password
   * must have at least 12 characters, at least 4 distinct ones, and no `,`, `:` or `=`.
   * The template reads both only through dynamic references.
   * @default - a generated secret: `adminUsername` and a 32-character alphanumeric password
   */
  readonly credentials?: secretsmanager.ISecret;

  /**
   * Username of the generated administrator secret (only without `credentials`).
   * @default 'admin'
   */
  readonly adminUsername?: string;

  /**
   * Publish the broker's general log to CloudWatch Logs (`/aws/amazonmq/broker/ID/general`).
   * RabbitMQ has no audit log.
   * @default true
   */
  readonly generalLogs?: boolean;

  /**
   * Retention of the general log group (only with `generalLogs`).
   * @default logs.RetentionDays.ONE_MONTH - long enough to investigate an incident, bounded cost
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Start of the weekly maintenance window, when Amazon MQ patches the engine and applies pending
   * changes with a reboot.
   * @default - a window chosen by Amazon MQ
   */
  readonly maintenanceWindow?: RabbitMqMaintenanceWindow;

  /**
   * Settings rendered into the broker's `rabbitmq.conf`.
   * @default - `consumer_timeout` of 24 hours, other settings at Amazon MQ's defaults
   */
  readonly configuration?: RabbitMqConfigurationOptions;

  /**
   * When a change of `configuration` takes effect on an existing broker.
   * @default ConfigurationChangePolicy.maintenanceWindow() - a deployment never reboots the
   * broker by itself; a reboot interrupts every Celery worker, so it is opt-in
   */
  readonly configurationChangePolicy?: ConfigurationChangePolicy;
}

/** Properties of a `RabbitMqBroker`: its options, plus the VPC. */
export interface RabbitMqBrokerProps extends RabbitMqBrokerOptions {
  /**
   * The VPC the broker's endpoints are placed in (the workers' VPC or one routed to it).
   * Required for a private broker; a publicly accessible broker takes none.
   * @default - none; required unless `publiclyAccessible` is true
   */
  readonly vpc?: ec2.IVpc;
}

/**
 * An Amazon MQ for RabbitMQ broker for Celery: private by default, credentials in Secrets Manager,
 * general logs with a retention, a typed `rabbitmq.conf` applied from the first boot, and metric
 * helpers keyed on a deterministic broker name.
 *
 * Keep the construct id and the props that replace the broker (`brokerName`, `deploymentMode`,
 * `publiclyAccessible`, subnets) stable: a replaced broker loses its queued messages.
 */
export class RabbitMqBroker extends RabbitMqBrokerBase {
  /** Default engine version. */
  public static readonly DEFAULT_ENGINE_VERSION = RabbitMqEngineVersion.V4_2;
  /** Default instance type. */
  public static readonly DEFAULT_INSTANCE_TYPE = RabbitMqInstanceType.M7G_LARGE;
  /** Default retention of the general log. */
  public static readonly DEFAULT_LOG_RETENTION = logs.RetentionDays.ONE_MONTH;
  /** Default `consumer_timeout` (24 hours). */
  public static readonly DEFAULT_CONSUMER_TIMEOUT = DEFAULT_CONSUMER_TIMEOUT;
  /** Default username of the generated administrator secret. */
  public static readonly DEFAULT_ADMIN_USERNAME = 'admin';

  /**
   * Import an existing broker, for the other constructs of this library.
   *
   * @param scope Scope in which the imported broker is defined
   * @param id Construct id of the imported broker, unique within `scope` (it creates no AWS
   * resource)
   * @param attrs The existing broker's id and name, and what else is known of it (ARN, endpoint,
   * security groups, credentials, `consumer_timeout`)
   */
  public static fromRabbitMqBrokerAttributes(scope: Construct, id: string, attrs: RabbitMqBrokerAttributes): IRabbitMqBroker {
    return new ImportedRabbitMqBroker(scope, id, attrs);
  }

  public readonly brokerId: string;
  public readonly brokerArn: string;
  public readonly brokerName: string;
  public readonly endpointHost: string;
  public readonly connections: ec2.Connections;
  /** The administrator credentials secret; always set on a created broker (optional in the interface). */
  public readonly credentials?: secretsmanager.ISecret;
  /** The effective `consumer_timeout`; always set on a created broker (optional in the interface). */
  public readonly consumerTimeout?: Duration;

  /** The engine version; always set on a created broker (optional in the base class, for imported brokers). */
  public readonly engineVersion?: RabbitMqEngineVersion;
  /** The host instance type. */
  public readonly instanceType: RabbitMqInstanceType;
  /** The deployment mode. */
  public readonly deploymentMode: RabbitMqDeploymentMode;
  /** Whether the broker has a public endpoint. */
  public readonly publiclyAccessible: boolean;
  /** The rendered `rabbitmq.conf`. */
  public readonly renderedConfiguration: string;
  /** Id of the broker's `AWS::AmazonMQ::Configuration` (its `Ref`). */
  public readonly configurationId: string;
  /**
   * Username of the administrator, when this construct generated the credentials; undefined with
   * `credentials` (the secret's username is only known at deploy time).
   */
  public readonly adminUsername?: string;
  /** Latest revision of that configuration. */
  public readonly configurationRevision: number;
  /** Name of the general log group, when general logs are on. */
  public readonly generalLogGroupName?: string;
  /** The custom resource that reboots the broker to apply configuration changes, with `applyNowWithReboot`. */
  public readonly configurationApplier?: ConfigurationApplier;

  /**
   * @param scope Scope in which this broker is defined
   * @param id Construct id: changing it replaces the broker, losing its queued messages (without
   * `brokerName`, it is also part of the broker's derived name)
   * @param props The VPC (required unless `publiclyAccessible`) and the broker options
   */
  constructor(scope: Construct, id: string, props: RabbitMqBrokerProps = {}) {
    super(scope, id);
    // Stable while the construct path is: the name is the metrics dimension and replaces the broker.
    const brokerName = props.brokerName ?? Names.uniqueResourceName(this, { maxLength: 50, separator: '-', allowedSpecialCharacters: '-_' });

    this.publiclyAccessible = props.publiclyAccessible ?? false;
    this.deploymentMode = props.deploymentMode ?? RabbitMqDeploymentMode.SINGLE_INSTANCE;
    const engineVersion = props.engineVersion ?? RabbitMqBroker.DEFAULT_ENGINE_VERSION;
    this.engineVersion = engineVersion;
    this.instanceType = props.instanceType ?? RabbitMqBroker.DEFAULT_INSTANCE_TYPE;
    const autoMinorVersionUpgrade = props.autoMinorVersionUpgrade ?? true;
    const generalLogs = props.generalLogs ?? true;

    const adminUsername = props.adminUsername ?? RabbitMqBroker.DEFAULT_ADMIN_USERNAME;
    validateIn(this, () => {
      validateBrokerName(brokerName);
      validateEngineVersion(engineVersion);
      validateInstanceType(this.instanceType);
      validateEngineAndInstance(this, engineVersion, this.instanceType, autoMinorVersionUpgrade);
      if (props.maintenanceWindow) validateMaintenanceWindow(props.maintenanceWindow);
      validateUsername('adminUsername', adminUsername);
    });
    if (!generalLogs && props.logRetention !== undefined) {
      throw new ValidationError(this, `logRetention: ${props.logRetention} days is not allowed with generalLogs: false; use generalLogs: true, or omit logRetention`);
    }
    if (props.credentials && props.adminUsername !== undefined) {
      throw new ValidationError(this, `adminUsername: ${JSON.stringify(props.adminUsername)} is not allowed with credentials; `
        + 'use the secret\'s "username" key, or omit credentials to generate a secret');
    }
    // Known when the secret is generated here; a given secret's username is only known at deploy time.
    this.adminUsername = props.credentials ? undefined : adminUsername;

    this.renderedConfiguration = validateIn(this, () => renderRabbitMqConfiguration(props.configuration));
    const consumerTimeout = effectiveConsumerTimeout(props.configuration);
    this.consumerTimeout = consumerTimeout;
    if (!consumerTimeout.isUnresolved() && consumerTimeout.toMilliseconds({ integral: false }) === 0) {
      Annotations.of(this).addWarningV2('cdk-celery:brokerConsumerTimeoutDisabled',
        'configuration.consumerTimeout is 0: a consumer that never acknowledges holds its messages until it disconnects.');
    }

    const network = validateIn(this, () => this.placeInNetwork(props));
    this.connections = network.connections;

    const credentials = props.credentials ?? this.generateCredentials(brokerName, adminUsername);
    this.credentials = credentials;

    // The configuration goes in the broker's own Configuration property rather than in an
    // AWS::AmazonMQ::ConfigurationAssociation (CloudFormation allows one or the other, not both):
    // CreateBroker then starts the broker with it, while an association could only be made after
    // the broker exists, leaving a new broker on Amazon MQ's defaults (30-minute consumer_timeout)
    // until its first reboot. A later revision updates the property and stays pending until a
    // reboot (ConfigurationChangePolicy).
    const configuration = new amazonmq.CfnConfiguration(this, 'Configuration', {
      name: brokerName,
      engineType: 'RABBITMQ',
      engineVersion: engineVersion.version,
      description: 'rabbitmq.conf rendered by cdk-celery',
      data: Token.isUnresolved(this.renderedConfiguration)
        ? Fn.base64(this.renderedConfiguration)
        : Buffer.from(this.renderedConfiguration, 'utf8').toString('base64'),
    });
    // Ref, not Fn::GetAtt Id: CloudFormation's documentation listed an Id attribute that GetAtt
    // cannot retrieve (awsdocs/aws-cloudformation-user-guide#340, cloudformation-coverage-roadmap#1975);
    // Ref is the documented way to the configuration id, and what AWS's own examples use.
    this.configurationId = configuration.ref;
    this.configurationRevision = configuration.attrRevision;

    const resource = new amazonmq.CfnBroker(this, 'Resource', {
      brokerName,
      engineType: 'RABBITMQ',
      engineVersion: engineVersion.version,
      hostInstanceType: this.instanceType.name,
      deploymentMode: this.deploymentMode,
      publiclyAccessible: this.publiclyAccessible,
      autoMinorVersionUpgrade,
      subnetIds: network.subnetIds,
      securityGroups: network.securityGroupIds,
      users: [{
        username: credentials.secretValueFromJson('username').unsafeUnwrap(),
        password: credentials.secretValueFromJson('password').unsafeUnwrap(),
      }],
      configuration: { id: this.configurationId, revision: configuration.attrRevision },
      logs: { general: generalLogs },
      maintenanceWindowStartTime: props.maintenanceWindow && {
        dayOfWeek: props.maintenanceWindow.dayOfWeek,
        timeOfDay: props.maintenanceWindow.timeOfDay,
        timeZone: props.maintenanceWindow.timeZone ?? 'UTC',
      },
    });

    this.brokerId = resource.ref;
    this.brokerArn = resource.attrArn;
    this.brokerName = brokerName;
    // AmqpEndpoints holds one URL for a RabbitMQ broker (single instance or cluster, behind its
    // load balancer), `amqps://HOST:5671`: take HOST from it rather than rebuilding the name, which
    // differs by partition and endpoint type (`.amazonaws.com`, dual-stack `.on.aws`).
    this.endpointHost = Fn.select(0, Fn.split(':', Fn.select(1, Fn.split('://', Fn.select(0, resource.attrAmqpEndpoints)))));

    if (generalLogs) {
      this.generalLogGroupName = `/aws/amazonmq/broker/${this.brokerId}/general`;
      // Amazon MQ creates the group itself (through its service-linked role, no resource policy
      // needed for RabbitMQ) once the broker runs, so a LogGroup resource would race it:
      // LogRetention creates the group if missing and sets the retention either way.
      const retention = new logs.LogRetention(this, 'GeneralLogRetention', {
        logGroupName: this.generalLogGroupName,
        retention: props.logRetention ?? RabbitMqBroker.DEFAULT_LOG_RETENTION,
      });
      acknowledgeLogRetentionFindings(retention);
    }

    const policy = props.configurationChangePolicy ?? ConfigurationChangePolicy.maintenanceWindow();
    if (policy.rebootNow) {
      this.configurationApplier = new ConfigurationApplier(this, 'ConfigurationApplier', {
        brokerId: this.brokerId,
        brokerArn: this.brokerArn,
        configurationId: this.configurationId,
        configurationRevision: Token.asString(configuration.attrRevision),
        waitTimeout: policy.waitTimeout,
      });
      // The broker must carry the new revision before the applier looks for a pending change.
      this.configurationApplier.node.addDependency(resource);
    }
  }

  private placeInNetwork(props: RabbitMqBrokerProps): { connections: ec2.Connections; subnetIds?: string[]; securityGroupIds?: string[] } {
    const defaultPort = ec2.Port.tcp(this.amqpsPort);
    if (this.publiclyAccessible) {
      for (const [prop, value] of [['vpc', props.vpc], ['vpcSubnets', props.vpcSubnets], ['securityGroups', props.securityGroups]] as const) {
        if (value !== undefined) {
          throw new ValidationError(this, `${prop}: a value is not allowed with publiclyAccessible: true; omit vpc, vpcSubnets and securityGroups `
            + '(Amazon MQ places a public broker outside your VPC and accepts no security groups for it), or use publiclyAccessible: false');
        }
      }
      Annotations.of(this).addWarningV2('cdk-celery:brokerPubliclyAccessible',
        'publiclyAccessible is true: the broker\'s AMQPS and management endpoints are reachable from the internet and protected by the credentials only. '
        + 'Prefer a private broker in the workers\' VPC.');
      // No security group: clients open their egress to any IPv4 address on the broker's ports.
      return { connections: new ec2.Connections({ peer: ec2.Peer.anyIpv4(), defaultPort }) };
    }

    if (!props.vpc) {
      throw new ValidationError(this, 'vpc: undefined is not allowed for a private broker; pass the VPC of the Celery workers (or set publiclyAccessible: true)');
    }
    const subnets = selectBrokerSubnets(this, props.vpc, this.deploymentMode, props.vpcSubnets);
    let securityGroups = props.securityGroups;
    if (securityGroups) {
      validateSecurityGroupCount(securityGroups);
    } else {
      securityGroups = [new ec2.SecurityGroup(this, 'SecurityGroup', {
        vpc: props.vpc,
        allowAllOutbound: false,
        description: 'Amazon MQ for RabbitMQ broker: AMQPS 5671 and management 443 from allowed peers only',
      })];
    }
    return {
      connections: new ec2.Connections({ securityGroups, defaultPort }),
      subnetIds: subnets.map(s => s.subnetId),
      securityGroupIds: securityGroups.map(sg => sg.securityGroupId),
    };
  }

  private generateCredentials(brokerName: string, username: string): secretsmanager.ISecret {
    const secret = new secretsmanager.Secret(this, 'Credentials', {
      description: `Administrator of the Amazon MQ for RabbitMQ broker ${brokerName} (cdk-celery)`,
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ username }),
        generateStringKey: 'password',
        // Alphanumeric only: none of the characters Amazon MQ refuses (, : =), nothing that needs
        // escaping in an amqps:// URL or a shell. 32 characters from 62 symbols (about 190 bits)
        // with each kind included have 4 distinct characters in practice.
        passwordLength: 32,
        excludePunctuation: true,
        includeSpace: false,
        requireEachIncludedType: true,
      },
    });
    addNagSuppressions(secret, [{
      id: 'AwsSolutions-SMG4',
      reason: 'Amazon MQ takes the RabbitMQ administrator password from CloudFormation at broker creation; a Secrets Manager rotation would '
        + 'change the secret without changing the broker user and lock every client out. Rotate by changing the password in RabbitMQ and the secret together.',
    }]);
    return secret;
  }
}

/** The Lambda function, role and policy of aws-cdk-lib's LogRetention, shared by the stack. */
function acknowledgeLogRetentionFindings(retention: IConstruct): void {
  const provider = Stack.of(retention).node.tryFindChild(LOG_RETENTION_FUNCTION_ID);
  if (!provider) return;
  addNagSuppressions(provider, [{
    id: 'AwsSolutions-IAM4',
    reason: 'aws-cdk-lib LogRetention function: AWSLambdaBasicExecutionRole only lets it write its own CloudWatch Logs; it is the AWS-managed minimum for Lambda logging.',
  }], ['AWS::IAM::Role']);
  addNagSuppressions(provider, [{
    id: 'AwsSolutions-IAM5',
    reason: 'aws-cdk-lib LogRetention function: logs:PutRetentionPolicy and logs:DeleteRetentionPolicy on "*" are set by aws-cdk-lib for every log group of the stack; the function only sets retention.',
  }], ['AWS::IAM::Policy']);
}

/** Construct id of aws-cdk-lib's singleton LogRetention function in a stack. */
const LOG_RETENTION_FUNCTION_ID = 'LogRetentionaae0aa3c5b4d4f87b02d85b201efdd8a';
