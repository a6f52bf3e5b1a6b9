import { App, Aspects, Duration, Stack, Token } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CeleryBrokerAccess, CeleryBrokerAccessProps } from '../../src/access';
import { RabbitMqBroker, RabbitMqEngineVersion, RabbitMqInstanceType } from '../../src/broker';
import { CeleryQueueType } from '../../src/workers';
import { importedBroker, stackWithBroker } from '../broker/broker-fixture';
import { nagFindings } from '../nag';
import { scrubAssets } from '../scrub-assets';

interface Fixture {
  readonly app: App;
  readonly stack: Stack;
  readonly vpc: ec2.Vpc;
  readonly broker: RabbitMqBroker;
  readonly access: CeleryBrokerAccess;
}

function build(props: Partial<CeleryBrokerAccessProps> = {}, nag = false, engineVersion?: RabbitMqEngineVersion): Fixture {
  // 3.13 also runs on m5; 4.x only on m7g (the fixture's default instance type).
  const instanceType = engineVersion?.majorVersion === 3 ? RabbitMqInstanceType.M5_LARGE : undefined;
  const { app, stack, vpc, broker } = stackWithBroker('Stack', { broker: { engineVersion, instanceType } });
  if (nag) Aspects.of(app).add(new AwsSolutionsChecks());
  const access = new CeleryBrokerAccess(stack, 'Access', { broker, vpc, ...props });
  return { app, stack, vpc, broker, access };
}

function logicalIdOf(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as never);
}

describe('CeleryBrokerAccess template', () => {
  const { stack, broker, access } = build();
  const template = Template.fromStack(stack);
  const fnSgId = logicalIdOf(stack, access.node.findChild('SecurityGroup') as never);
  const brokerSgId = logicalIdOf(stack, broker.connections.securityGroups[0] as never);
  const userSecretId = logicalIdOf(stack, access.secret as never);
  const adminSecretId = logicalIdOf(stack, broker.credentials as never);

  test('the custom resource gets the broker URL, both secrets, names and permissions, and no secret value', () => {
    template.hasResourceProperties('Custom::CeleryBrokerUser', {
      ManagementUrl: stack.resolve(broker.managementUrl),
      AdminSecretArn: { Ref: adminSecretId },
      UserSecretArn: { Ref: userSecretId },
      Vhost: 'celery',
      Username: 'celery',
      Configure: access.permissions.configure,
      Write: access.permissions.write,
      Read: access.permissions.read,
      RemoveVhostOnDelete: 'false',
      RequestTimeoutMs: '10000',
    });
    const resources = template.findResources('Custom::CeleryBrokerUser');
    expect(JSON.stringify(resources)).not.toMatch(/password/i);
  });

  test('the user secret is generated with the admin password rules, holding username and vhost', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: {
        SecretStringTemplate: '{"username":"celery","vhost":"celery"}',
        GenerateStringKey: 'password',
        PasswordLength: 32,
        ExcludeCharacters: Match.stringLikeRegexp('^(?=.*,)(?=.*:)(?=.*=)'),
      },
    });
  });

  test('the function runs in the VPC private subnets with its own security group', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Timeout: 300,
      VpcConfig: {
        SecurityGroupIds: [{ 'Fn::GetAtt': [fnSgId, 'GroupId'] }],
        SubnetIds: [{ Ref: Match.stringLikeRegexp('VpcPrivateSubnet1') }, { Ref: Match.stringLikeRegexp('VpcPrivateSubnet2') }],
      },
    });
  });

  test('function egress: exactly 443 to AWS APIs and the management port to the broker', () => {
    const sg = template.findResources('AWS::EC2::SecurityGroup')[fnSgId];
    expect(sg.Properties.SecurityGroupEgress).toEqual([
      { CidrIp: '0.0.0.0/0', Description: expect.any(String), FromPort: 443, IpProtocol: 'tcp', ToPort: 443 },
    ]);
    expect(sg.Properties.SecurityGroupIngress).toBeUndefined();
    const egress = template.findResources('AWS::EC2::SecurityGroupEgress', {
      Properties: { GroupId: { 'Fn::GetAtt': [fnSgId, 'GroupId'] } },
    });
    expect(Object.values(egress).map((r) => r.Properties)).toEqual([{
      GroupId: { 'Fn::GetAtt': [fnSgId, 'GroupId'] },
      IpProtocol: 'tcp',
      FromPort: 443,
      ToPort: 443,
      DestinationSecurityGroupId: { 'Fn::GetAtt': [brokerSgId, 'GroupId'] },
      Description: expect.any(String),
    }]);
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: { 'Fn::GetAtt': [brokerSgId, 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [fnSgId, 'GroupId'] },
      FromPort: 443,
      ToPort: 443,
    });
  });

  test('the custom resource waits for the broker security group rules', () => {
    const [cr] = Object.values(template.findResources('Custom::CeleryBrokerUser'));
    expect(cr.DependsOn).toEqual(expect.arrayContaining([brokerSgId]));
    const ingressIds = Object.keys(template.findResources('AWS::EC2::SecurityGroupIngress', {
      Properties: { GroupId: { 'Fn::GetAtt': [brokerSgId, 'GroupId'] } },
    }));
    expect(ingressIds.length).toBe(1);
    expect(cr.DependsOn).toEqual(expect.arrayContaining(ingressIds));
  });

  test('the function may read exactly the two secrets and nothing else', () => {
    const fnRoleId = logicalIdOf(stack, access.node.findChild('Function').node.findChild('ServiceRole') as never);
    const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: fnRoleId }] } });
    const statements = Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements).toEqual([
      { Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Effect: 'Allow', Resource: { Ref: adminSecretId } },
      { Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Effect: 'Allow', Resource: { Ref: userSecretId } },
    ]);
  });

  test('grantReadCredentials grants the application secret', () => {
    const fresh = build();
    const role = new iam.Role(fresh.stack, 'WorkerRole', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    fresh.access.grantReadCredentials(role);
    Template.fromStack(fresh.stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: fresh.stack.getLogicalId(role.node.defaultChild as never) }],
      PolicyDocument: { Statement: [Match.objectLike({ Resource: { Ref: logicalIdOf(fresh.stack, fresh.access.secret as never) } })] },
    });
  });

  test('snapshot (asset hashes scrubbed)', () => {
    expect(scrubAssets(Template.fromStack(build().stack).toJSON())).toMatchSnapshot();
  });
});

describe('CeleryBrokerAccess options', () => {
  test('custom vhost, user, queues, removeVhostOnDelete (with a warning)', () => {
    const { stack, access } = build({ vhost: 'jobs', username: 'worker-app', taskQueues: ['high', 'low'], removeVhostOnDelete: true, requestTimeout: Duration.seconds(5) });
    Template.fromStack(stack).hasResourceProperties('Custom::CeleryBrokerUser', {
      Vhost: 'jobs',
      Username: 'worker-app',
      RemoveVhostOnDelete: 'true',
      RequestTimeoutMs: '5000',
      Configure: Match.stringLikeRegexp('high\\|low'),
    });
    expect(access.vhost).toBe('jobs');
    expect(access.username).toBe('worker-app');
    Annotations.fromStack(stack).hasWarning('/Stack/Access', Match.stringLikeRegexp('removeVhostOnDelete is on: .*"jobs"'));
  });

  test('explicit admin credentials replace the broker\'s', () => {
    const { stack, vpc, broker } = stackWithBroker('Stack', { env: null });
    const admin = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Admin', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:mq-admin-AbCdEf');
    new CeleryBrokerAccess(stack, 'Access', { broker, vpc, adminCredentials: admin });
    Template.fromStack(stack).hasResourceProperties('Custom::CeleryBrokerUser', { AdminSecretArn: admin.secretArn });
  });

  test('cdk-nag AwsSolutions: no unacknowledged findings', () => {
    const { app, stack } = build({}, true);
    app.synth();
    // Findings on the test VPC and the broker are not this construct's.
    // The checks ran: the bare test VPC has findings of its own (no flow logs).
    expect(nagFindings(stack).length).toBeGreaterThan(0);
    expect(nagFindings(stack, '/Stack/Access')).toEqual([]);
  });
});

describe('CeleryBrokerAccess vhost queue type and dead-letter queue', () => {
  const properties = (stack: Stack) => (Object.values(Template.fromStack(stack).findResources('Custom::CeleryBrokerUser'))[0] as any).Properties;

  test('RabbitMQ 4.2 (the default): a quorum vhost, and poison tasks dead-lettered after 5 redeliveries', () => {
    const { stack, access } = build({ taskQueues: ['orders', 'reports'] });
    expect(properties(stack)).toMatchObject({ DefaultQueueType: 'quorum', DeliveryLimit: '5', TaskQueuePattern: '^(orders|reports)$' });
    expect(access.defaultQueueType).toBe(CeleryQueueType.QUORUM);
    expect(access.deadLetterQueue).toBe('celery.dead-letter');
    expect(access.deliveryLimit).toBe(5);
    // The user may read the dead-letter queue, not declare or publish to it.
    expect(access.permissions.read).toMatch(/\|celery\\\.dead-letter\)\$$/);
    expect(access.permissions.configure).not.toMatch(/dead-letter/);
    expect(access.permissions.write).not.toMatch(/dead-letter/);
    expect(properties(stack).Read).toBe(access.permissions.read);
    Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('defaultQueueType|engine version is unknown'));
  });

  test('RabbitMQ 4.3 and an explicit delivery limit', () => {
    const { stack } = build({ deliveryLimit: 12 }, false, RabbitMqEngineVersion.of('4.3'));
    expect(properties(stack)).toMatchObject({ DefaultQueueType: 'quorum', DeliveryLimit: '12', TaskQueuePattern: '^(celery)$' });
  });

  test('RabbitMQ 3.13: a classic vhost, no delivery limit, no dead-letter queue', () => {
    const { stack, access } = build({}, false, RabbitMqEngineVersion.V3_13);
    const p = properties(stack);
    expect(p.DefaultQueueType).toBe('classic');
    expect(p.DeliveryLimit).toBeUndefined();
    expect(p.TaskQueuePattern).toBeUndefined();
    expect(access.deadLetterQueue).toBeUndefined();
    expect(access.deliveryLimit).toBeUndefined();
    expect(p.Read).not.toMatch(/dead-letter/);
  });

  test('RabbitMQ 3.13 with quorum queues chosen: dead-lettered too', () => {
    const { stack, access } = build({ defaultQueueType: CeleryQueueType.QUORUM, deliveryLimit: 3 }, false, RabbitMqEngineVersion.V3_13);
    expect(properties(stack)).toMatchObject({ DefaultQueueType: 'quorum', DeliveryLimit: '3' });
    expect(access.deadLetterQueue).toBe('celery.dead-letter');
  });

  test('classic queues on RabbitMQ 4: stated on the vhost, with a warning, and no dead-letter queue', () => {
    const { stack, access } = build({ defaultQueueType: CeleryQueueType.CLASSIC });
    expect(properties(stack)).toMatchObject({ DefaultQueueType: 'classic' });
    expect(properties(stack).DeliveryLimit).toBeUndefined();
    expect(access.deadLetterQueue).toBeUndefined();
    Annotations.fromStack(stack).hasWarning('/Stack/Access',
      Match.stringLikeRegexp('defaultQueueType is CLASSIC on engine version 4.2: classic queues have no delivery limit .* redelivered forever'));
  });

  test('an imported broker of unknown version: the broker\'s default is left alone, with a warning', () => {
    const { stack, vpc, broker } = stackWithBroker('Stack');
    const imported = RabbitMqBroker.fromRabbitMqBrokerAttributes(stack, 'Imported', { brokerId: 'b-1234', brokerName: 'shared', credentials: broker.credentials });
    const access = new CeleryBrokerAccess(stack, 'Access', { broker: imported, vpc });
    const p = properties(stack);
    expect(p.DefaultQueueType).toBeUndefined();
    expect(p.DeliveryLimit).toBeUndefined();
    expect(access.defaultQueueType).toBeUndefined();
    Annotations.fromStack(stack).hasWarning('/Stack/Access',
      Match.stringLikeRegexp('engine version is unknown, so vhost "celery" keeps the broker\'s default queue type and no dead-letter queue is set up'));
  });

  test('an imported RabbitMQ 4.2 broker: quorum, as a created one', () => {
    const { stack, vpc, broker } = stackWithBroker('Stack');
    const imported = RabbitMqBroker.fromRabbitMqBrokerAttributes(stack, 'Imported', {
      brokerId: 'b-1234', brokerName: 'shared', credentials: broker.credentials, engineVersion: RabbitMqEngineVersion.V4_2,
    });
    new CeleryBrokerAccess(stack, 'Access', { broker: imported, vpc });
    expect(properties(stack)).toMatchObject({ DefaultQueueType: 'quorum', DeliveryLimit: '5' });
  });

  test('queues added later reach the dead-letter policy\'s pattern', () => {
    const { stack, access } = build({ taskQueues: ['orders'] });
    access.addTaskQueues('late.io');
    expect(properties(stack).TaskQueuePattern).toBe('^(orders|late\\.io)$');
  });

  test('without taskQueues the policy covers the default queue', () => {
    const { stack } = build();
    expect(properties(stack).TaskQueuePattern).toBe('^(celery)$');
  });
});

describe('CeleryBrokerAccess invalid input', () => {
  test.each([
    [{ vhost: '' }, 'vhost: "" is not a vhost name this library accepts; use 1 to 64 letters, digits and . _ -'],
    [{ vhost: '/' }, 'vhost: "/" is not a vhost name'],
    [{ vhost: 'my vhost' }, 'vhost: "my vhost" is not a vhost name'],
    [{ vhost: 'x'.repeat(65) }, `vhost: "${'x'.repeat(65)}" is not a vhost name`],
    [{ username: 'bob@corp' }, 'username: "bob@corp" is not a user name this library accepts'],
    [{ username: '' }, 'username: "" is not a user name'],
    [{ username: '-celery' }, 'username: "-celery" is not a user name'],
    [{ taskQueues: [] }, 'taskQueues: [] is not allowed'],
    [{ taskQueues: ['high priority'] }, 'taskQueues: "high priority" is not a queue name this library accepts'],
    [{ taskQueues: ['amq.gen-1'] }, 'taskQueues: "amq.gen-1" is not a queue name'],
    [{ requestTimeout: Duration.millis(100) }, 'requestTimeout: 100 millis is not allowed; use 1 to 60 seconds'],
    [{ taskQueues: ['celery.dead-letter'] }, 'taskQueues: "celery.dead-letter" is reserved for the dead-letter queue this library sets up'],
    [{ taskQueues: ['orders', 'celery.dead-letter.exchange'] }, 'taskQueues: "celery.dead-letter.exchange" is reserved for the dead-letter exchange'],
    [{ deliveryLimit: 0 }, 'deliveryLimit: 0 is not allowed; use a whole number of redeliveries from 1 to 1000'],
    [{ deliveryLimit: 2.5 }, 'deliveryLimit: 2.5 is not allowed'],
    [{ deliveryLimit: 1001 }, 'deliveryLimit: 1001 is not allowed'],
    [{ deliveryLimit: 5, defaultQueueType: CeleryQueueType.CLASSIC }, 'deliveryLimit: 5 needs quorum task queues, and the vhost\'s default queue type is classic'],
  ] as Array<[Partial<CeleryBrokerAccessProps>, string]>)('%j', (props, message) => {
    expect(() => build(props)).toThrow(message);
  });

  test('a delivery limit on RabbitMQ 3.13 (classic queues) is refused', () => {
    expect(() => build({ deliveryLimit: 5 }, false, RabbitMqEngineVersion.V3_13)).toThrow('deliveryLimit: 5 needs quorum task queues, and the vhost\'s default queue type is classic');
  });

  test('a delivery limit that is a token is refused', () => {
    expect(() => build({ deliveryLimit: Token.asNumber({ Ref: 'Limit' }) })).toThrow('deliveryLimit: must be known at synth');
  });

  test('addTaskQueues refuses the dead-letter names', () => {
    const { access } = build();
    expect(() => access.addTaskQueues('celery.dead-letter')).toThrow('taskQueues: "celery.dead-letter" is reserved for the dead-letter queue');
  });

  test('a broker without credentials and no adminCredentials', () => {
    const stack = new Stack(new App(), 'Stack');
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2 });
    // A created broker always has a secret: only an imported one can come without.
    const broker = importedBroker(stack);
    expect(() => new CeleryBrokerAccess(stack, 'Access', { broker, vpc }))
      .toThrow('adminCredentials: not given and the broker has no credentials');
  });
});
