import { join } from 'path';
import { App, Duration, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cw_actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { BrokerMonitoringUser, CeleryBrokerAccess, WorkerVpcEndpoints } from '../../src/access';
import {
  ConfigurationApplier, ConfigurationChangePolicy, MaintenanceDay, RabbitMqBroker, RabbitMqDeploymentMode, RabbitMqEngineVersion,
  RabbitMqInstanceType,
} from '../../src/broker';
import { AlarmRoute, BrokerMetricsPublisher, CeleryMonitoring, QueueMetricsSource } from '../../src/monitoring';
import { CeleryCredentials, CeleryPlatform } from '../../src/patterns';
import { CeleryPool, CeleryQueueType, CeleryWorkerFleet, WorkerCode } from '../../src/workers';
import { ENV } from '../broker/broker-fixture';

/*
 * The variants app: every option of every construct switched on at least once, across stacks that
 * cover the shapes of deployment the issue names (a cluster, RabbitMQ 3.13, a public broker, an
 * imported broker, an isolated VPC with endpoints, periodic restarts, apply-now reboots, several
 * fleets, a given topic). cfn-lint must find no error in any of its templates
 * (variants.test.ts), and the same test checks against the jsii assembly that every property of
 * every props struct was given somewhere, through `use`.
 */

const APP_DIR = join(__dirname, '..', 'workers', 'fixtures', 'app');

/** Which props struct was given which properties, for the coverage check. */
export type PropsUse = Array<[struct: string, keys: string[]]>;

export function buildVariantsApp(): { app: App; used: PropsUse } {
  const used: PropsUse = [];
  /** Records the properties given to a struct (by its jsii name) and returns the object. */
  const use = <T extends object>(struct: string, props: T): T => {
    used.push([struct, Object.entries(props).filter(([, v]) => v !== undefined).map(([k]) => k)]);
    return props;
  };
  const app = new App();

  // 1. A three-node RabbitMQ 3.13 cluster on m5 with everything about the broker set, apply-now
  //    reboots, and a platform of several fleets with a given topic.
  {
    const stack = new Stack(app, 'ClusterPlatform', { env: ENV });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 3, natGateways: 1 });
    const brokerSecurityGroup = new ec2.SecurityGroup(stack, 'BrokerSg', { vpc, allowAllOutbound: false, description: 'broker' });
    const topic = new sns.Topic(stack, 'Topic', { enforceSSL: true });
    const code = WorkerCode.fromAsset(APP_DIR);
    new CeleryPlatform(stack, 'Celery', use('CeleryPlatformProps', {
      vpc,
      brokerOptions: use('RabbitMqBrokerOptions', {
        vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, onePerAz: true },
        securityGroups: [brokerSecurityGroup],
        deploymentMode: RabbitMqDeploymentMode.CLUSTER_MULTI_AZ,
        engineVersion: RabbitMqEngineVersion.V3_13,
        instanceType: RabbitMqInstanceType.M5_LARGE,
        autoMinorVersionUpgrade: true,
        brokerName: 'variants-cluster',
        adminUsername: 'ops-admin',
        generalLogs: true,
        logRetention: logs.RetentionDays.THREE_MONTHS,
        maintenanceWindow: use('RabbitMqMaintenanceWindow', { dayOfWeek: MaintenanceDay.SUNDAY, timeOfDay: '03:30', timeZone: 'Europe/Paris' }),
        configuration: use('RabbitMqConfigurationOptions', {
          consumerTimeout: Duration.hours(12),
          heartbeat: Duration.seconds(120),
          extraLines: ['management.restrictions.operator_policy_changes.disabled = false'],
        }),
        configurationChangePolicy: ConfigurationChangePolicy.applyNowWithReboot(use('ApplyNowWithRebootOptions', { waitTimeout: Duration.minutes(40) })),
      }),
      scaleOnQueueMetrics: true,
      credentials: CeleryCredentials.applicationUser(use('CeleryBrokerAccessOptions', {
        vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        vhost: 'shop',
        username: 'shop-app',
        removeVhostOnDelete: true,
        taskQueues: ['audit'],
        enableRemoteControl: true,
        enableRpcResultBackend: true,
        requestTimeout: Duration.seconds(20),
      })),
      monitoringOptions: use('CeleryMonitoringOptions', {
        pagingTopic: topic,
        ticketingActions: [new cw_actions.SnsAction(new sns.Topic(stack, 'Tickets', { enforceSSL: true }))],
        deploymentMode: RabbitMqDeploymentMode.CLUSTER_MULTI_AZ,
        queueMetrics: QueueMetricsSource.AMAZON_MQ,
        enableMetricsPublisher: true,
        metricsPublisherOptions: use('BrokerMetricsPublisherOptions', {
          vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
          adminCredentials: secretsmanager.Secret.fromSecretNameV2(stack, 'OpsAdmin', 'ops-admin'),
          monitoringUsername: 'variants-monitor',
          creationGrace: Duration.minutes(45),
          logRetention: logs.RetentionDays.TWO_WEEKS,
        }),
        alarms: use('CeleryAlarmOverrides', {
          brokerIngress: use('CeleryAlarmOverride', { threshold: 150_000_000, evaluationPeriods: 3, datapointsToAlarm: 2, route: AlarmRoute.PAGE_AND_TICKET }),
          brokerIngressAnomaly: { route: AlarmRoute.TICKET },
          brokerNotReporting: { evaluationPeriods: 5 },
          brokerRestarting: { route: AlarmRoute.NONE },
          memory: { threshold: 70 },
          cpu: { route: AlarmRoute.TICKET },
          diskFree: use('CeleryAlarmOverride', { enabled: true }),
          connectionStorm: { route: AlarmRoute.PAGE },
          channelStorm: { route: AlarmRoute.TICKET },
          connectionChurn: { threshold: 40 },
          channelChurn: { threshold: 120 },
          noConsumers: { evaluationPeriods: 10 },
          backlog: { threshold: 100_000 },
          metricsPublisherErrors: { route: AlarmRoute.TICKET },
          incidentPage: { route: AlarmRoute.PAGE },
          brokerDownPage: { enabled: true },
          fleets: use('CeleryFleetAlarmOverrides', {
            networkOut: { route: AlarmRoute.TICKET },
            workerRestarts: { threshold: 6 },
            queueBacklog: { evaluationPeriods: 15 },
            queueNoConsumers: { route: AlarmRoute.PAGE },
            incompatibleCelery: { route: AlarmRoute.PAGE_AND_TICKET },
          }),
        }),
        notifyOnOk: false,
        alarmNamePrefix: 'variants-cluster',
        ingressAnomalyDetection: true,
        createDashboard: true,
        dashboardName: 'variants-cluster-dashboard',
        thresholds: use('CeleryAlarmThresholds', {
          ingressBytesPerWorkerPerMinute: 5_000_000,
          brokerIngressFloorBytesPerMinute: 100_000_000,
          fleetNetworkOutBytesPerWorkerPerMinute: 6_000_000,
          ingressAnomalyStdDevs: 3,
          memoryUsedPercent: 75,
          cpuUtilizationPercent: 80,
          diskFreeToLimitRatio: 3,
          connectionsPerWorker: 12,
          nonWorkerConnections: 50,
          channelsPerWorker: 40,
          nonWorkerChannels: 150,
          readyMessages: 50_000,
          backlogMinutes: 20,
          noConsumersMinutes: 5,
          workerRestartsPerMinute: 4,
          maxConnectionsOpenedPerSecond: 30,
          maxChannelsOpenedPerSecond: 90,
          brokerNotReportingMinutes: 6,
          brokerRestartingMaxMinutes: 45,
          metricsPublisherErrorMinutes: 20,
        }),
      }),
      fleets: {
        orders: use('CeleryPlatformFleetOptions', {
          app: 'proj.celery:app',
          code,
          queues: ['orders', 'orders.priority'],
          concurrency: 4,
          pool: CeleryPool.PREFORK,
          hostname: 'orders@%h',
          prefetchMultiplier: 2,
          maxTasksPerChild: 500,
          maxMemoryPerChildKib: 512_000,
          timeLimit: Duration.minutes(10),
          softTimeLimit: Duration.minutes(9),
          acksLate: true,
          revokesMax: 5000,
          revokeExpires: Duration.minutes(30),
          logLevel: 'DEBUG',
          settings: { broker_heartbeat: '30', broker_transport_options: '(json){"confirm_publish": true}' },
          extraArguments: ['-E', '-O', 'fair', '--heartbeat-interval=30'],
          vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
          instanceType: new ec2.InstanceType('m7g.xlarge'),
          minCapacity: 2,
          maxCapacity: 10,
          rootVolumeSizeGib: 30,
          user: 'shop',
          stopTimeout: Duration.minutes(12),
          restartJitter: Duration.seconds(30),
          startLimitBurst: 4,
          startLimitInterval: Duration.minutes(10),
          replaceOnCrashLoop: true,
          maxBatchSize: 2,
          minInstancesInService: 3,
          bootTimeout: Duration.minutes(20),
          readinessTimeout: Duration.minutes(8),
          periodicRestart: use('PeriodicRestartOptions', { onCalendar: 'Mon..Fri 02:30', window: Duration.hours(3) }),
          enableBacklogScaling: true,
          backlogScaling: use('QueueBacklogScalingProps', {
            scaleOutThreshold: 200, largeBacklogStep: 3, evaluationPeriods: 5, instanceWarmup: Duration.minutes(7),
          }),
        }),
        reports: use('CeleryPlatformFleetOptions', {
          app: 'proj',
          code,
          queues: ['reports'],
          pool: CeleryPool.SOLO,
          maxCapacity: 3,
          timeLimit: Duration.hours(1),
          backlogScaling: use('QueueBacklogScalingProps', { queue: 'reports', virtualHost: 'shop' }),
        }),
        emails: use('CeleryPlatformFleetOptions', {
          app: 'proj',
          code,
          queues: ['emails', 'bulk'],
          pool: CeleryPool.THREADS,
          acksLate: false,
          timeLimit: Duration.minutes(2),
          backlogScaling: use('QueueBacklogScalingProps', { queues: ['emails', 'bulk'] }),
        }),
        metered: use('CeleryPlatformFleetOptions', {
          app: 'proj',
          code,
          queues: ['metered'],
          timeLimit: Duration.minutes(5),
          backlogScaling: use('QueueBacklogScalingProps', {
            metric: new cloudwatch.Metric({ namespace: 'Shop/Celery', metricName: 'MeteredReady', period: Duration.minutes(1), statistic: 'Maximum' }),
          }),
        }),
        fixed: use('CeleryPlatformFleetOptions', {
          app: 'proj', code, queues: ['fixed'], minCapacity: 2, maxCapacity: 2, enableBacklogScaling: false, timeLimit: Duration.minutes(5),
        }),
      },
    }));
  }

  // 2. A public broker (no VPC), logs off, given credentials, with a fleet of its own: code from a
  //    bucket of the same stack, x86, a given image and key pair, mingle, gossip and heartbeats on.
  {
    const stack = new Stack(app, 'PublicBroker', { env: ENV });
    const credentials = new secretsmanager.Secret(stack, 'AdminSecret', {
      generateSecretString: { secretStringTemplate: '{"username":"operator"}', generateStringKey: 'password', excludePunctuation: true },
    });
    const broker = new RabbitMqBroker(stack, 'Broker', use('RabbitMqBrokerProps', {
      publiclyAccessible: true, generalLogs: false, credentials, instanceType: RabbitMqInstanceType.M7G_MEDIUM,
    }));
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    const bucket = new s3.Bucket(stack, 'Code', { enforceSSL: true, blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL });
    new CeleryWorkerFleet(stack, 'Fleet', use('CeleryWorkerFleetProps', {
      vpc,
      broker,
      credentials,
      code: WorkerCode.fromBucket(bucket, "releases/o'brien app.zip"),
      app: 'proj',
      queues: ['public'],
      instanceType: new ec2.InstanceType('c7i.large'),
      machineImage: ec2.MachineImage.resolveSsmParameterAtLaunch('/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64'),
      keyPair: ec2.KeyPair.fromKeyPairName(stack, 'Key', 'ops'),
      // The user's own role and security group: the fleet adds its permissions and rules to them.
      role: new iam.Role(stack, 'WorkerRole', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') }),
      securityGroup: new ec2.SecurityGroup(stack, 'WorkerSecurityGroup', { vpc, allowAllOutbound: false, description: 'Celery workers (own group)' }),
      enableMingle: true,
      acknowledgeMingleBrokerTraffic: true,
      enableGossip: true,
      enableHeartbeatEvents: true,
      replaceOnCrashLoop: false,
      timeLimit: Duration.minutes(5),
    }));
  }

  // 3. An isolated VPC (no NAT) with the endpoints the workers need, an imported broker with its
  //    security group and admin secret, and a platform on it: preinstalled code, alarms to actions.
  {
    const stack = new Stack(app, 'IsolatedImported', { env: ENV });
    const vpc = new ec2.Vpc(stack, 'Vpc', {
      maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    });
    new WorkerVpcEndpoints(stack, 'Endpoints', use('WorkerVpcEndpointsProps', {
      vpc,
      subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      allowFromVpcCidr: true,
      additionalServices: [ec2.InterfaceVpcEndpointAwsService.SNS],
    }));
    const admin = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Admin', `arn:aws:secretsmanager:${ENV.region}:${ENV.account}:secret:mq-admin-AbCdEf`);
    const broker = RabbitMqBroker.fromRabbitMqBrokerAttributes(stack, 'Broker', use('RabbitMqBrokerAttributes', {
      brokerId: 'b-1234a5b6-78cd-901e-2fgh-3i45j6k178l9',
      brokerName: 'existing-broker',
      brokerArn: `arn:aws:mq:${ENV.region}:${ENV.account}:broker:existing-broker:b-1234a5b6-78cd-901e-2fgh-3i45j6k178l9`,
      endpointHost: 'b-1234a5b6-78cd-901e-2fgh-3i45j6k178l9.mq.eu-west-1.on.aws',
      securityGroups: [ec2.SecurityGroup.fromSecurityGroupId(stack, 'BrokerSg', 'sg-0123456789abcdef0', { allowAllOutbound: false })],
      credentials: admin,
      consumerTimeout: Duration.hours(2),
      engineVersion: RabbitMqEngineVersion.V4_2,
    }));
    const isolated = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
    new CeleryPlatform(stack, 'Celery', use('CeleryPlatformProps', {
      vpc,
      broker,
      credentials: CeleryCredentials.applicationUser(use('CeleryBrokerAccessOptions', { vpcSubnets: isolated, adminCredentials: admin, enableRemoteControl: false })),
      monitoringOptions: use('CeleryMonitoringOptions', {
        pagingActions: [new cw_actions.SnsAction(new sns.Topic(stack, 'Pager', { enforceSSL: true }))],
        ticketingTopic: new sns.Topic(stack, 'Tickets', { enforceSSL: true }),
        createDashboard: false,
        thresholds: use('CeleryAlarmThresholds', { brokerIngressBytesPerMinute: 200_000_000, maxConnections: 400, maxChannels: 1200 }),
      }),
      fleets: {
        workers: use('CeleryPlatformFleetOptions', {
          app: 'proj',
          code: WorkerCode.preinstalled(use('PreinstalledWorkerCodeOptions', {
            celeryExecutable: '/opt/app/venv/bin/celery', workingDirectory: '/opt/app', celeryVersion: '5.6.3',
          })),
          machineImage: ec2.MachineImage.genericLinux({ [ENV.region]: 'ami-0123456789abcdef0' }),
          vpcSubnets: isolated,
          queues: ['isolated'],
          queueType: CeleryQueueType.QUORUM,
          nativeDelayedDelivery: true,
          enableRemoteControl: false,
          timeLimit: Duration.minutes(15),
        }),
      },
    }));
  }

  // 4. A broker in its own stack shared by a platform in another, with given credentials (no
  //    application user), and a standalone CeleryBrokerAccess, monitoring and applier.
  {
    const brokerStack = new Stack(app, 'SharedBroker', { env: ENV });
    const vpc = new ec2.Vpc(brokerStack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    const broker = new RabbitMqBroker(brokerStack, 'Broker', use('RabbitMqBrokerProps', { vpc }));
    new ConfigurationApplier(brokerStack, 'Applier', use('ConfigurationApplierProps', {
      brokerId: broker.brokerId,
      brokerArn: broker.brokerArn,
      configurationId: broker.configurationId,
      configurationRevision: Token.asString(broker.configurationRevision),
      waitTimeout: Duration.minutes(30),
    }));
    const access = new CeleryBrokerAccess(brokerStack, 'Reporting', use('CeleryBrokerAccessProps', {
      broker, vpc, username: 'reporting', vhost: 'reporting', defaultQueueType: CeleryQueueType.QUORUM, deliveryLimit: 10,
    }));
    const fleet = new CeleryWorkerFleet(brokerStack, 'ReportingFleet', use('CeleryWorkerFleetProps', {
      vpc, broker, credentials: access.secret, code: WorkerCode.fromAsset(APP_DIR), app: 'proj', queues: ['celery'], timeLimit: Duration.minutes(5),
    }));
    new CeleryMonitoring(brokerStack, 'Monitoring', use('CeleryMonitoringProps', {
      broker,
      fleets: [fleet],
      vpc,
      queueVirtualHost: 'reporting',
      queueMetrics: QueueMetricsSource.PUBLISHER,
      metricsPublisherOptions: { monitoringUsername: 'reporting-monitor' },
      pagingActions: [new cw_actions.SnsAction(new sns.Topic(brokerStack, 'Alarms', { enforceSSL: true }))],
    }));

    new BrokerMetricsPublisher(brokerStack, 'AuditPublisher', use('BrokerMetricsPublisherProps', {
      broker, vpc, virtualHost: 'reporting', queues: ['audit'], monitoringUsername: 'audit-monitor',
    }));
    new BrokerMonitoringUser(brokerStack, 'DashboardsUser', use('BrokerMonitoringUserProps', {
      broker,
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      adminCredentials: broker.credentials,
      username: 'grafana',
      vhost: 'reporting',
      requestTimeout: Duration.seconds(15),
    }));

    const platformStack = new Stack(app, 'SharedPlatform', { env: ENV });
    const given = secretsmanager.Secret.fromSecretNameV2(platformStack, 'Given', 'celery-app-user');
    new CeleryPlatform(platformStack, 'Celery', use('CeleryPlatformProps', {
      vpc,
      broker,
      credentials: CeleryCredentials.fromSecret(given),
      monitoringOptions: { alarmNamePrefix: 'shared-platform' },
      fleets: { default: { app: 'proj', code: WorkerCode.fromAsset(APP_DIR), queues: ['default'], timeLimit: Duration.minutes(5) } },
    }));
  }

  return { app, used };
}
