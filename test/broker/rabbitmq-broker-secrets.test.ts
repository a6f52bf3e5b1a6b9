import { SecretValue } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { emptyStack } from './broker-fixture';
import { RabbitMqBroker } from '../../src/broker/rabbitmq-broker';

const KNOWN_USERNAME = 'celery-admin-7f3e';
const KNOWN_PASSWORD = 'Kn0wn-Plaintext-Passw0rd-91c2';

/** Every string in a JSON value, with the path to it. */
function strings(value: unknown, path = ''): Array<[string, string]> {
  if (typeof value === 'string') return [[path, value]];
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, `${path}[${i}]`));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => strings(v, `${path}.${k}`));
  return [];
}

/** The broker's Users rendered as strings, with Fn::Join and Ref flattened. */
function flattenedUsers(template: Template): Array<{ Username: string; Password: string }> {
  const brokers = Object.values(template.findResources('AWS::AmazonMQ::Broker'));
  expect(brokers).toHaveLength(1);
  const flatten = (v: any): string => {
    if (typeof v === 'string') return v;
    if (v?.['Fn::Join']) return (v['Fn::Join'][1] as any[]).map(flatten).join(v['Fn::Join'][0]);
    if (v?.Ref) return `<Ref ${v.Ref}>`;
    throw new Error(`unexpected value ${JSON.stringify(v)}`);
  };
  return (brokers[0] as any).Properties.Users.map((u: any) => ({ Username: flatten(u.Username), Password: flatten(u.Password) }));
}

describe('no credential value in the synthesized template', () => {
  test('a user secret built from a known plaintext: the plaintext stays in that secret resource, the broker only has dynamic references', () => {
    const { stack, vpc } = emptyStack();
    const secret = new secretsmanager.Secret(stack, 'UserAdmin', {
      secretObjectValue: { username: SecretValue.unsafePlainText(KNOWN_USERNAME), password: SecretValue.unsafePlainText(KNOWN_PASSWORD) },
    });
    new RabbitMqBroker(stack, 'Broker', { vpc, credentials: secret });
    const template = Template.fromStack(stack);
    const json = template.toJSON();
    const secretLogicalId = stack.getLogicalId(secret.node.defaultChild as secretsmanager.CfnSecret);

    for (const [logicalId, resource] of Object.entries(json.Resources as Record<string, unknown>)) {
      if (logicalId === secretLogicalId) continue; // the user's own choice to write a plaintext secret
      for (const [path, value] of strings(resource)) {
        expect(`${logicalId}${path}: ${value}`).not.toContain(KNOWN_PASSWORD);
        expect(`${logicalId}${path}: ${value}`).not.toContain(KNOWN_USERNAME);
      }
    }
    for (const section of ['Outputs', 'Parameters', 'Metadata']) {
      expect(JSON.stringify(json[section] ?? {})).not.toContain(KNOWN_PASSWORD);
    }
    expect(flattenedUsers(template)).toEqual([{
      Username: `{{resolve:secretsmanager:<Ref ${secretLogicalId}>:SecretString:username::}}`,
      Password: `{{resolve:secretsmanager:<Ref ${secretLogicalId}>:SecretString:password::}}`,
    }]);
  });

  test('the generated secret: Secrets Manager generates the password, the template holds none', () => {
    const { stack, vpc } = emptyStack();
    new RabbitMqBroker(stack, 'Broker', { vpc });
    const template = Template.fromStack(stack);
    const secrets = Object.entries(template.findResources('AWS::SecretsManager::Secret'));
    expect(secrets).toHaveLength(1);
    const [secretLogicalId, secret] = secrets[0] as [string, any];
    expect(secret.Properties.SecretString).toBeUndefined();
    expect(Object.keys(JSON.parse(secret.Properties.GenerateSecretString.SecretStringTemplate))).toEqual(['username']);
    expect(flattenedUsers(template)).toEqual([{
      Username: `{{resolve:secretsmanager:<Ref ${secretLogicalId}>:SecretString:username::}}`,
      Password: `{{resolve:secretsmanager:<Ref ${secretLogicalId}>:SecretString:password::}}`,
    }]);
    // No other resource carries a Password property.
    const withPassword = strings(template.toJSON().Resources).filter(([path]) => /\.Password\b/.test(path)).map(([path]) => path.split('.')[1]);
    expect(new Set(withPassword)).toEqual(new Set([Object.keys(template.findResources('AWS::AmazonMQ::Broker'))[0]]));
  });
});
