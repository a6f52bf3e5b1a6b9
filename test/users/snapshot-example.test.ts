import * as path from 'path';
import { App, Stack, StackProps } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { CeleryPlatform, WorkerCode } from '../../src';

// Asset hashes (64 hex digits) change with your worker code and with each cdk-celery release (its
// Lambda handlers' code): print them as <asset-hash> so the snapshot shows what you changed.
expect.addSnapshotSerializer({
  test: (value) => typeof value === 'string' && /[0-9a-f]{64}/.test(value),
  print: (value) => JSON.stringify(String(value).replace(/[0-9a-f]{64}/g, '<asset-hash>')),
});

class TasksStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const vpc = new ec2.Vpc(this, 'Vpc', { maxAzs: 2, natGateways: 1 });
    new CeleryPlatform(this, 'Celery', {
      vpc,
      fleets: {
        default: { app: 'tasks', code: WorkerCode.fromAsset(path.join(__dirname, 'worker')), queues: ['celery'] },
      },
    });
  }
}

test('TasksStack matches its snapshot', () => {
  const stack = new TasksStack(new App(), 'Tasks');
  expect(Template.fromStack(stack).toJSON()).toMatchSnapshot();
});
