import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeBrokerCommand, MqClient } from '@aws-sdk/client-mq';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseQueues, publishBrokerMetrics, PublishResult } from './broker-metrics-publisher-handler';

/**
 * Scheduled handler of the broker metrics publisher (an EventBridge rule, once a minute): the
 * broker's state and its queues' depth and consumers into CloudWatch. Configured through the
 * environment by `BrokerMetricsPublisher`.
 */
const mq = new MqClient({});
const cloudwatch = new CloudWatchClient({});
const secretsManager = new SecretsManagerClient({});

export async function handler(): Promise<PublishResult> {
  const env = process.env;
  return publishBrokerMetrics({
    brokerId: required('BROKER_ID'),
    brokerName: required('BROKER_NAME'),
    managementUrl: env.MANAGEMENT_URL || undefined,
    credentialsSecretArn: env.CREDENTIALS_SECRET_ARN || undefined,
    queues: parseQueues(env.QUEUES),
    requestTimeoutMs: Number(env.REQUEST_TIMEOUT_MS ?? '10000'),
    creationGraceMinutes: Number(env.CREATION_GRACE_MINUTES ?? '30'),
  }, {
    describeBroker: async (brokerId) => {
      const broker = await mq.send(new DescribeBrokerCommand({ BrokerId: brokerId }));
      return { state: broker.BrokerState, created: broker.Created };
    },
    getSecretString: async (secretArn) => {
      const secret = await secretsManager.send(new GetSecretValueCommand({ SecretId: secretArn }));
      if (secret.SecretString === undefined) throw new Error(`Secret ${secretArn} has no SecretString`);
      return secret.SecretString;
    },
    putMetricData: async (namespace, data) => {
      await cloudwatch.send(new PutMetricDataCommand({ Namespace: namespace, MetricData: data }));
    },
    now: () => new Date(),
    log: (m) => console.log(m),
  });
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}
