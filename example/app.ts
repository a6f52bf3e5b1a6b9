import { App } from 'aws-cdk-lib';
import { CeleryExampleStack } from './celery-example-stack';

const app = new App();
new CeleryExampleStack(app, 'CdkCeleryExample');
app.synth();
