import { App, Aspects, Duration, Stack, Token } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as amazonmq from 'aws-cdk-lib/aws-amazonmq';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigurationApplier, ConfigurationApplierProps } from '../../src/broker/configuration-applier';
import { nagFindings } from '../nag';
import { scrubAssets } from '../scrub-assets';

// The generated Lambda classes load their code from assets/: run `npx projen bundle` first.

interface Fixture {
  readonly stack: Stack;
  readonly applier: ConfigurationApplier;
  readonly template: Template;
  readonly brokerLogicalId: string;
  readonly configurationLogicalId: string;
}

function build(overrides: Partial<ConfigurationApplierProps> = {}, nag?: AwsSolutionsChecks): Fixture {
  const app = new App();
  const stack = new Stack(app, 'TestStack', { env: { account: '123456789012', region: 'eu-west-1' } });
  if (nag) Aspects.of(app).add(nag);
  const configuration = new amazonmq.CfnConfiguration(stack, 'Configuration', {
    name: 'celery',
    engineType: 'RABBITMQ',
    engineVersion: '3.13',
    data: 'Y29uc3VtZXJfdGltZW91dCA9IDA=',
  });
  const broker = new amazonmq.CfnBroker(stack, 'Broker', {
    brokerName: 'celery',
    engineType: 'RABBITMQ',
    engineVersion: '3.13',
    hostInstanceType: 'mq.m7g.large',
    deploymentMode: 'SINGLE_INSTANCE',
    publiclyAccessible: false,
    autoMinorVersionUpgrade: true,
    users: [{ username: 'admin', password: '{{resolve:secretsmanager:celery-admin:SecretString:password}}' }],
  });
  const applier = new ConfigurationApplier(stack, 'ConfigurationApplier', {
    brokerId: broker.ref,
    brokerArn: broker.attrArn,
    configurationId: configuration.attrId,
    configurationRevision: Token.asString(configuration.attrRevision),
    ...overrides,
  });
  return {
    stack,
    applier,
    template: Template.fromStack(stack),
    brokerLogicalId: stack.getLogicalId(broker),
    configurationLogicalId: stack.getLogicalId(configuration),
  };
}

describe('ConfigurationApplier template', () => {
  test('custom resource passes broker, configuration and revision (so each revision triggers an Update)', () => {
    const { template, brokerLogicalId, configurationLogicalId } = build();
    template.resourceCountIs('Custom::CdkCeleryConfigurationApplier', 1);
    template.hasResourceProperties('Custom::CdkCeleryConfigurationApplier', {
      ServiceToken: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ConfigurationApplierProviderframeworkonEvent'), 'Arn'] },
      BrokerId: { Ref: brokerLogicalId },
      BrokerArn: { 'Fn::GetAtt': [brokerLogicalId, 'Arn'] },
      ConfigurationId: { 'Fn::GetAtt': [configurationLogicalId, 'Id'] },
      ConfigurationRevision: { 'Fn::GetAtt': [configurationLogicalId, 'Revision'] },
      WaitTimeoutSeconds: '2700',
    });
  });

  test('both handlers may only describe and reboot this broker; no other mq permission anywhere', () => {
    const { template, brokerLogicalId } = build();
    const policies = template.findResources('AWS::IAM::Policy');
    const mqStatements = Object.values(policies).flatMap((p: any) => p.Properties.PolicyDocument.Statement)
      .filter((s: any) => [s.Action].flat().some((a: string) => a.startsWith('mq:')));
    expect(mqStatements).toEqual([
      { Action: ['mq:DescribeBroker', 'mq:RebootBroker'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [brokerLogicalId, 'Arn'] } },
      { Action: ['mq:DescribeBroker', 'mq:RebootBroker'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [brokerLogicalId, 'Arn'] } },
    ]);
    for (const handler of ['OnEventHandler', 'IsCompleteHandler']) {
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: { Statement: [{ Action: ['mq:DescribeBroker', 'mq:RebootBroker'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [brokerLogicalId, 'Arn'] } }] },
        Roles: [{ Ref: Match.stringLikeRegexp(`^ConfigurationApplier${handler}ServiceRole`) }],
      });
    }
  });

  test('every Lambda function runs a current Node.js runtime; handlers have time for backoff and reboot confirmation', () => {
    const { template } = build();
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as any[];
    expect(functions).toHaveLength(5); // 2 handlers + framework onEvent/isComplete/onTimeout
    for (const fn of functions) expect(fn.Properties.Runtime).toMatch(/^nodejs(22|24)\.x$/);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('reboots an Amazon MQ broker'), Runtime: 'nodejs22.x', Timeout: 120, Handler: 'index.handler',
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('waits until the Amazon MQ broker is RUNNING'), Runtime: 'nodejs22.x', Timeout: 120,
    });
  });

  test.each([
    ['default', undefined, '2700', 100], // 45 min wait, provider 50 min = 100 polls of 30 s
    ['20 minutes', Duration.minutes(20), '1200', 50],
    ['55 minutes', Duration.minutes(55), '3300', 120], // provider at the 1-hour CloudFormation limit
  ])('waitTimeout %s: property WaitTimeoutSeconds and provider polling follow it', (_label, waitTimeout, seconds, maxAttempts) => {
    const { template } = build({ waitTimeout });
    template.hasResourceProperties('Custom::CdkCeleryConfigurationApplier', { WaitTimeoutSeconds: seconds });
    const definition = JSON.stringify(Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0]);
    expect(definition).toContain(`\\"IntervalSeconds\\":30,\\"MaxAttempts\\":${maxAttempts},\\"BackoffRate\\":1`);
  });

  test.each([
    ['30 seconds', Duration.seconds(30)],
    ['56 minutes', Duration.minutes(56)],
    ['2 hours', Duration.hours(2)],
  ])('waitTimeout of %s is rejected at synth with the allowed range', (shown, waitTimeout) => {
    expect(() => build({ waitTimeout })).toThrow(
      `waitTimeout: ${shown} is not allowed; use between 1 minute and 55 minutes (CloudFormation waits at most 1 hour`,
    );
  });

  test('an unresolved waitTimeout is rejected with a clear message (the provider needs a concrete poll count)', () => {
    expect(() => build({ waitTimeout: Duration.minutes(Token.asNumber({ Ref: 'Minutes' })) })).toThrow(
      'waitTimeout: a token is not allowed; use a concrete Duration between 1 minute and 55 minutes',
    );
  });

  test('a waitTimeout under 10 minutes is allowed with a warning; the default is not warned about', () => {
    const short = build({ waitTimeout: Duration.minutes(5) });
    Annotations.fromStack(short.stack).hasWarning('/TestStack/ConfigurationApplier',
      Match.stringLikeRegexp('waitTimeout 5 minutes is shorter than 10 minutes: a three-node cluster'));
    Annotations.fromStack(build().stack).hasNoWarning('*', Match.stringLikeRegexp('waitTimeout'));
  });

  test('exposes the Rebooted attribute', () => {
    const { applier, stack } = build();
    expect(stack.resolve(applier.rebooted)).toEqual({ 'Fn::GetAtt': [stack.getLogicalId(applier.resource.node.defaultChild as any), 'Rebooted'] });
  });

  test('snapshot (asset hashes scrubbed)', () => {
    const { template } = build();
    expect(scrubAssets(template.toJSON())).toMatchSnapshot();
  });
});

describe('ConfigurationApplier cdk-nag', () => {
  test('AwsSolutionsChecks report nothing unsuppressed, without the user adding suppressions', () => {
    const { stack } = build({}, new AwsSolutionsChecks({ verbose: true }));
    expect(nagFindings(stack)).toEqual([]);
  });

  test('every suppression in the construct matches a real finding (none is stale or too broad)', () => {
    const { stack, template } = build({}, new AwsSolutionsChecks({ logIgnores: true }));
    const declared = Object.values(template.toJSON().Resources as { [id: string]: any })
      .flatMap(r => r.Metadata?.cdk_nag?.rules_to_suppress ?? [])
      .reduce((n: number, s: any) => n + (s.applies_to?.length ?? 1), 0);
    const used = Annotations.fromStack(stack).findInfo('*', Match.stringLikeRegexp('CdkNagSuppression')).length;
    expect(declared).toBeGreaterThan(0);
    expect(used).toBe(declared);
  });

  test('each suppression has a specific reason', () => {
    const { template } = build();
    const reasons = Object.values(template.toJSON().Resources as { [id: string]: any })
      .flatMap(r => r.Metadata?.cdk_nag?.rules_to_suppress ?? [])
      .map((s: any) => s.reason as string);
    for (const reason of reasons) expect(reason.length).toBeGreaterThan(60);
  });
});
