/*
 * Jest setup (setupFilesAfterEnv): the context lookups of the test stacks, as a project's
 * committed cdk.context.json would hold them, so that environment-specific stacks synthesize
 * deployable templates (a fleet's image id looked up once, not CDK's placeholder for a missing
 * lookup). Tests of the lookup itself clear CDK_CONTEXT_JSON.
 */
const ACCOUNTS = ['123456789012'];
const REGIONS = ['eu-west-1'];
const IMAGE_IDS: { [parameter: string]: string } = {
  '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64': 'ami-0a1b2c3d4e5f60718',
  '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64': 'ami-0f1e2d3c4b5a60798',
};

const context: { [key: string]: string } = {};
for (const account of ACCOUNTS) {
  for (const region of REGIONS) {
    for (const [parameterName, imageId] of Object.entries(IMAGE_IDS)) {
      context[`ssm:account=${account}:parameterName=${parameterName}:region=${region}`] = imageId;
    }
  }
}
process.env.CDK_CONTEXT_JSON = JSON.stringify({ ...context, ...JSON.parse(process.env.CDK_CONTEXT_JSON ?? '{}') });

export const TEST_IMAGE_IDS = IMAGE_IDS;
