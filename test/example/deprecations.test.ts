import { App } from 'aws-cdk-lib';
import { CeleryExampleStack } from '../../example/celery-example-stack';

/*
 * cdk.json runs the example app with JSII_DEPRECATED=quiet, because aws-cdk-lib 2.245 reads two
 * of its own deprecated properties whatever the app does. That setting would also hide a
 * deprecated API used by this library or the example: this test synthesizes the example with
 * deprecation warnings on and allows exactly those two.
 */
const AWS_CDK_LIB_OWN_DEPRECATIONS = [
  // StepScalingPolicy passes `cooldown: props.cooldown` to StepScalingAction even when it is
  // undefined (aws/aws-cdk#37833): every AutoScalingGroup.scaleOnMetric warns.
  'aws-cdk-lib.aws_autoscaling.StepScalingActionProps#cooldown',
  // CfnAutoScalingGroup's cfnProperties reads its own deprecated getter: every AutoScalingGroup warns.
  'aws-cdk-lib.aws_autoscaling.CfnAutoScalingGroup#notificationConfiguration',
];

function deprecatedApisUsedBySynth(): string[] {
  const saved = process.env.JSII_DEPRECATED;
  process.env.JSII_DEPRECATED = 'warn';
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  try {
    const app = new App();
    new CeleryExampleStack(app, 'CdkCeleryExample');
    app.synth();
    return [...new Set(warn.mock.calls
      .filter(([tag]) => tag === '[WARNING]')
      .map(([, message]) => String(message).split(' is deprecated.')[0]))].sort();
  } finally {
    warn.mockRestore();
    if (saved === undefined) delete process.env.JSII_DEPRECATED; else process.env.JSII_DEPRECATED = saved;
  }
}

test('the example uses no deprecated API of its own; the only warnings are aws-cdk-lib\'s two', () => {
  const used = deprecatedApisUsedBySynth();
  expect(used.filter((api) => !AWS_CDK_LIB_OWN_DEPRECATIONS.includes(api))).toEqual([]);
  // When this fails, aws-cdk-lib stopped reading a deprecated property of its own: drop it from the
  // list above, and JSII_DEPRECATED=quiet from cdk.json (.projenrc.ts) when the list is empty.
  expect(used).toEqual([...AWS_CDK_LIB_OWN_DEPRECATIONS].sort());
});
