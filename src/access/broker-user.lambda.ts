import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
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

export async function handler(event: CloudFormationCustomResourceEvent): Promise<BrokerUserResponse> {
  const physicalId = event.RequestType === 'Create' ? undefined : event.PhysicalResourceId;
  console.log(`${event.RequestType} ${physicalId ?? '(new)'}`);
  return handleBrokerUserEvent({
    RequestType: event.RequestType,
    PhysicalResourceId: physicalId,
    ResourceProperties: event.ResourceProperties as unknown as BrokerUserEvent['ResourceProperties'],
    OldResourceProperties: event.RequestType === 'Update'
      ? event.OldResourceProperties as unknown as BrokerUserEvent['ResourceProperties']
      : undefined,
  }, { getSecretString, log: (m) => console.log(m) });
}
