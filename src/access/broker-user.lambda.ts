import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { BrokerUserEvent, BrokerUserResponse, handleBrokerUserEvent } from './broker-user-handler';

/**
 * onEvent handler of the broker-user custom resource (aws-cdk-lib `custom_resources.Provider`):
 * creates the Celery vhost and application user through the RabbitMQ management API.
 */
const secretsManager = new SecretsManagerClient({});

export async function getSecretString(secretArn: string): Promise<string> {
  const result = await secretsManager.send(new GetSecretValueCommand({ SecretId: secretArn }));
  if (result.SecretString === undefined) {
    throw new Error(`Secret ${secretArn} has no SecretString; expected JSON with "username" and "password".`);
  }
  return result.SecretString;
}

/** Time kept back from the function's timeout, so that a last failure is reported rather than cut off. */
const DEADLINE_MARGIN_MS = 15_000;

export async function handler(event: CloudFormationCustomResourceEvent, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<BrokerUserResponse> {
  const deadline = context ? Date.now() + context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS : undefined;
  const physicalId = event.RequestType === 'Create' ? undefined : event.PhysicalResourceId;
  console.log(`${event.RequestType} ${physicalId ?? '(new)'}`);
  return handleBrokerUserEvent({
    RequestType: event.RequestType,
    PhysicalResourceId: physicalId,
    ResourceProperties: event.ResourceProperties as unknown as BrokerUserEvent['ResourceProperties'],
    OldResourceProperties: event.RequestType === 'Update'
      ? event.OldResourceProperties as unknown as BrokerUserEvent['ResourceProperties']
      : undefined,
  }, { getSecretString, log: (m) => console.log(m), retry: { deadline } });
}
