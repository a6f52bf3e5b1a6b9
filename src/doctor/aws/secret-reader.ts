import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** Read-only call: secretsmanager:GetSecretValue (only with --broker-secret). */
export const SECRET_READER_ACTIONS = ['secretsmanager:GetSecretValue'];

export interface BrokerCredentials {
  readonly username: string;
  readonly password: string;
}

/** Broker credentials from a secret with JSON keys `username` and `password` (the library's format). */
export async function readBrokerCredentials(sm: SecretsManagerClient, secretId: string): Promise<BrokerCredentials> {
  const value = await sm.send(new GetSecretValueCommand({ SecretId: secretId }));
  let parsed: { username?: unknown; password?: unknown };
  try {
    parsed = JSON.parse(value.SecretString ?? '');
  } catch {
    throw new Error(`secret ${secretId} is not JSON; it must hold {"username": ..., "password": ...}`);
  }
  if (typeof parsed.username !== 'string' || typeof parsed.password !== 'string') {
    throw new Error(`secret ${secretId} has no string "username" and "password" keys`);
  }
  return { username: parsed.username, password: parsed.password };
}
