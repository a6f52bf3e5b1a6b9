import { App, Aspects } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { scrubAssets } from './scrub-assets';
import { CeleryExampleStack } from '../../example/celery-example-stack';

function synth(nag?: AwsSolutionsChecks): { stack: CeleryExampleStack; template: Template } {
  const app = new App();
  if (nag) Aspects.of(app).add(nag);
  const stack = new CeleryExampleStack(app, 'CdkCeleryExample');
  return { stack, template: Template.fromStack(stack) };
}

describe('example app', () => {
  test('a VPC over 2 AZs with one NAT gateway, and a private broker in it', () => {
    const { template } = synth();
    template.resourceCountIs('AWS::EC2::Subnet', 4);
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
    template.resourceCountIs('AWS::AmazonMQ::Broker', 1);
    template.hasResourceProperties('AWS::AmazonMQ::Broker', { PubliclyAccessible: false, DeploymentMode: 'SINGLE_INSTANCE' });
  });

  test('snapshot (asset hashes and bucket names scrubbed)', () => {
    expect(scrubAssets(synth().template.toJSON())).toMatchSnapshot();
  });

  test('scrubAssets replaces asset hashes and bootstrap bucket names', () => {
    const hash = 'a'.repeat(64);
    expect(scrubAssets({ S3Key: `${hash}.zip`, S3Bucket: { 'Fn::Sub': 'cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}' } }))
      .toEqual({ S3Key: '<asset-hash>.zip', S3Bucket: { 'Fn::Sub': '<asset-bucket>' } });
  });
});

describe('example app cdk-nag', () => {
  test('AwsSolutionsChecks: zero unacknowledged findings', () => {
    const { stack } = synth(new AwsSolutionsChecks({ verbose: true }));
    const annotations = Annotations.fromStack(stack);
    const findings = [
      ...annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
      ...annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
    ].map(f => `${f.id}: ${String(f.entry.data).split('\n')[0]}`);
    expect(findings).toEqual([]);
  });

  test('every acknowledgement matches a real finding and carries a specific reason', () => {
    const { stack, template } = synth(new AwsSolutionsChecks({ logIgnores: true }));
    const declared = Object.values(template.toJSON().Resources as Record<string, any>)
      .flatMap(r => r.Metadata?.cdk_nag?.rules_to_suppress ?? []);
    const used = Annotations.fromStack(stack).findInfo('*', Match.stringLikeRegexp('CdkNagSuppression'));
    expect(declared.length).toBeGreaterThan(0);
    expect(used).toHaveLength(declared.length);
    for (const s of declared) expect(s.reason.length).toBeGreaterThan(60);
  });
});
