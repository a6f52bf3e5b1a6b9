import { Annotations, CustomResource, Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { BrokerUserFunction } from './broker-user-function';
import { IRabbitMqBroker } from '../broker/rabbitmq-broker-ref';
import { addNagSuppressions } from '../private/nag-suppressions';

/** Timeout of the function that calls the management API (its retries end 15 s before it). */
export const BROKER_USER_FUNCTION_TIMEOUT = Duration.minutes(5);

/** What `addBrokerUserResource` creates a user from. */
export interface BrokerUserResourceProps {
  readonly broker: IRabbitMqBroker;
  readonly vpc: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly adminCredentials: secretsmanager.ISecret;
  readonly vhost: string;
  readonly username: string;
  /** Permission regexes on the vhost (may be lazy); `''` allows nothing. */
  readonly configure: string;
  readonly write: string;
  readonly read: string;
  /** User tags; none for the application user. */
  readonly tags?: string[];
  /** More properties of the custom resource (the vhost's queue type and dead-lettering); none when absent. */
  readonly extraProperties?: { [key: string]: string };
  readonly removeVhostOnDelete?: boolean;
  readonly requestTimeout: Duration;
  /** Who the user is, for the secret's description (`Celery application user`, ...). */
  readonly purpose: string;
  /** Description of the function that creates the user. */
  readonly functionDescription: string;
}

/** What `addBrokerUserResource` created. */
export interface BrokerUserResource {
  /** The user's credentials: JSON `username`, `password`, `vhost`. */
  readonly secret: secretsmanager.ISecret;
  /** The security group of the function that calls the management API. */
  readonly connections: ec2.Connections;
  readonly resource: CustomResource;
}

/**
 * A broker user made through the RabbitMQ management API by the broker-user custom resource
 * (`broker-user-handler.ts`): its generated secret, the function in the broker's VPC (HTTPS out
 * only, the broker's management port opened to it), the provider and the resource, created in
 * `scope` as `Secret`, `SecurityGroup`, `Function`, `Provider` and `Resource`. Shared by the
 * application user (`CeleryBrokerAccess`) and the read-only monitoring user, so both are made,
 * taken over and deleted the same way.
 */
export function addBrokerUserResource(scope: Construct, props: BrokerUserResourceProps): BrokerUserResource {
  const secret = new secretsmanager.Secret(scope, 'Secret', {
    description: `${props.purpose} of ${props.broker.node.path} (username, password, vhost)`,
    generateSecretString: {
      secretStringTemplate: Stack.of(scope).toJsonString({ username: props.username, vhost: props.vhost }),
      generateStringKey: 'password',
      passwordLength: 32,
      // Amazon MQ rejects , : = in passwords; the rest would need escaping in AMQP URLs.
      excludeCharacters: ',:=/@#?%&+;"\'\\`<>[]{}|^~ ',
    },
  });

  const securityGroup = new ec2.SecurityGroup(scope, 'SecurityGroup', {
    vpc: props.vpc,
    description: 'Celery broker-user function: broker management API and HTTPS AWS APIs only',
    allowAllOutbound: false,
  });
  securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs (Secrets Manager), directly or through VPC endpoints');
  const connections = new ec2.Connections({ securityGroups: [securityGroup] });

  const fn = new BrokerUserFunction(scope, 'Function', {
    description: props.functionDescription,
    vpc: props.vpc,
    vpcSubnets: props.vpcSubnets,
    securityGroups: [securityGroup],
    // Room for the management API's transient failures right after the broker turns RUNNING
    // (DNS, connection refused, 5xx): the handler retries them with backoff until 15 s before this.
    timeout: BROKER_USER_FUNCTION_TIMEOUT,
  });
  props.adminCredentials.grantRead(fn);
  secret.grantRead(fn);

  if (props.broker.connections.securityGroups.length === 0) {
    Annotations.of(scope).addWarningV2('cdk-celery:brokerWithoutSecurityGroup',
      'The broker has no security groups in this app: allow this construct\'s connections to its management port yourself.');
  }
  props.broker.allowManagementAccessFrom(connections, 'RabbitMQ management API from the Celery broker-user function');

  const provider = new cr.Provider(scope, 'Provider', { onEventHandler: fn });

  const resource = new CustomResource(scope, 'Resource', {
    serviceToken: provider.serviceToken,
    resourceType: 'Custom::CeleryBrokerUser',
    properties: {
      ManagementUrl: props.broker.managementUrl,
      AdminSecretArn: props.adminCredentials.secretArn,
      UserSecretArn: secret.secretArn,
      Vhost: props.vhost,
      Username: props.username,
      Configure: props.configure,
      Write: props.write,
      Read: props.read,
      RemoveVhostOnDelete: props.removeVhostOnDelete ? 'true' : 'false',
      RequestTimeoutMs: String(props.requestTimeout.toMilliseconds()),
      // Only when there are tags, so that the application user's resource is unchanged.
      ...(props.tags && props.tags.length > 0 ? { Tags: props.tags.join(',') } : {}),
      ...props.extraProperties,
    },
  });
  // The management port must be open before the function calls it.
  for (const sg of props.broker.connections.securityGroups) resource.node.addDependency(sg);

  // Each acknowledgement only on the resource type its rule checks, so none is left unused.
  addNagSuppressions(fn, [
    { id: 'AwsSolutions-IAM4', reason: 'AWSLambdaBasicExecutionRole and AWSLambdaVPCAccessExecutionRole are the AWS-managed minimum for a Lambda function in a VPC (logs and ENIs).' },
  ], ['AWS::IAM::Role']);
  addNagSuppressions(fn, [
    { id: 'AwsSolutions-L1', reason: 'The runtime is pinned by the projen-generated BrokerUserFunction (nodejs22.x, a supported runtime), updated with the project configuration.' },
  ], ['AWS::Lambda::Function']);
  addNagSuppressions(provider, [
    { id: 'AwsSolutions-IAM4', reason: 'aws-cdk-lib custom_resources.Provider framework function: AWSLambdaBasicExecutionRole for its logs.' },
  ], ['AWS::IAM::Role']);
  addNagSuppressions(provider, [
    { id: 'AwsSolutions-IAM5', reason: 'aws-cdk-lib custom_resources.Provider framework function: invokes the onEvent function and its versions (FUNCTION_ARN:*), nothing else.' },
  ], ['AWS::IAM::Policy']);
  addNagSuppressions(provider, [
    { id: 'AwsSolutions-L1', reason: 'aws-cdk-lib custom_resources.Provider framework function: its runtime is chosen by aws-cdk-lib.' },
  ], ['AWS::Lambda::Function']);
  addNagSuppressions(secret, [
    { id: 'AwsSolutions-SMG4', reason: 'The password is applied to RabbitMQ by this custom resource on deployment; Secrets Manager rotation would change the secret without changing the broker user.' },
  ]);

  return { secret, connections, resource };
}
