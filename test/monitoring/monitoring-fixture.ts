import { App, Aspects, Environment, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { AwsSolutionsChecks, NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { IRabbitMqBroker, RabbitMqBrokerOptions } from '../../src/broker';
import { CeleryMonitoring, CeleryMonitoringProps } from '../../src/monitoring';
import { CeleryWorkerFleet, WorkerCode } from '../../src/workers';
import { importedBroker, stackWithBroker } from '../broker/broker-fixture';
import { nagFindings as nagFindingsOf } from '../nag';
import { scrubAssets } from '../scrub-assets';
import { APP_DIR } from '../workers/fleet-fixture';

/** A real worker fleet of `maxCapacity` instances; monitoring reads its group name, size and queues. */
export function workerFleet(scope: Construct, id: string, on: { vpc: ec2.IVpc; broker: IRabbitMqBroker }, maxCapacity: number,
  queues: string[] = ['default']): CeleryWorkerFleet {
  return new CeleryWorkerFleet(scope, id, {
    vpc: on.vpc, broker: on.broker, code: WorkerCode.fromAsset(APP_DIR), app: 'proj', queues, maxCapacity,
  });
}

export interface MonitoredStack {
  readonly app: App;
  readonly stack: Stack;
  readonly broker: IRabbitMqBroker;
  /** Only with a created broker. */
  readonly vpc?: ec2.Vpc;
  readonly fleets: CeleryWorkerFleet[];
  readonly monitoring: CeleryMonitoring;
  template(): Template;
}

export interface MonitoredStackOptions {
  /** Stack id. @default 'Prod' */
  readonly stackId?: string;
  /** @default ENV; `null` for an environment-agnostic stack */
  readonly env?: Environment | null;
  /** A broker created in the stack (in a VPC), or an existing one imported by its attributes. @default 'created' */
  readonly broker?: 'created' | 'imported';
  /** Name of the broker. @default - created: derived from the construct path; imported: `celery` */
  readonly brokerName?: string;
  /** Real fleets on the broker, `[construct id, maxCapacity, queues?]` (a created broker only). @default [['Workers', 30]] */
  readonly fleets?: Array<[string, number] | [string, number, string[]]>;
  /** Options of the created broker (engine version, deployment mode). */
  readonly brokerOptions?: RabbitMqBrokerOptions;
  /** Give the monitoring the broker's VPC (queue metrics from the publisher). @default false */
  readonly monitorInVpc?: boolean;
  readonly props?: Partial<CeleryMonitoringProps>;
}

/** A stack with a broker, worker fleets and a `CeleryMonitoring` (id `Monitoring`) of them. */
export function buildMonitoring(options: MonitoredStackOptions = {}): MonitoredStack {
  const stackId = options.stackId ?? 'Prod';
  const fleetSpecs = options.fleets ?? [['Workers', 30]];
  let app: App, stack: Stack, broker: IRabbitMqBroker, vpc: ec2.Vpc | undefined;
  if (options.broker === 'imported') {
    if (fleetSpecs.length > 0) throw new Error('fleets need a created broker in this fixture');
    app = new App();
    stack = new Stack(app, stackId, { env: options.env === null ? undefined : options.env });
    broker = importedBroker(stack, options.brokerName ? { brokerName: options.brokerName } : {});
  } else {
    const brokerOptions = { brokerName: options.brokerName, ...options.brokerOptions };
    ({ app, stack, vpc, broker } = stackWithBroker(stackId, { env: options.env, broker: brokerOptions }));
  }
  const fleets = fleetSpecs.map(([id, max, queues]) => workerFleet(stack, id, { vpc: vpc!, broker }, max, queues));
  const monitoring = new CeleryMonitoring(stack, 'Monitoring', {
    broker, fleets, ...(options.monitorInVpc ? { vpc, queueVirtualHost: 'celery' } : {}), ...options.props,
  });
  return { app, stack, broker, vpc, fleets, monitoring, template: () => Template.fromStack(stack) };
}

/** The `Fn::GetAtt`/`Ref` value of a fleet's Auto Scaling group name, as the template holds it. */
export function groupNameIn(stack: Stack, fleet: { autoScalingGroupName: string }): { Ref: string } {
  return stack.resolve(fleet.autoScalingGroupName);
}

/**
 * The AwsSolutions findings of the whole app after synth, with the test VPC's missing flow logs
 * (not ours) acknowledged.
 */
export function nagFindings(built: MonitoredStack): string[] {
  if (built.vpc) {
    NagSuppressions.addResourceSuppressions(built.vpc, [{
      id: 'AwsSolutions-VPC7', reason: 'Test VPC standing in for the user\'s; flow logs are the VPC owner\'s choice.',
    }], true);
  }
  Aspects.of(built.app).add(new AwsSolutionsChecks());
  built.app.synth();
  return nagFindingsOf(built.stack);
}

/**
 * The resources of the `CeleryMonitoring` with id `Monitoring` (alarms, topics, dashboard, the
 * metrics publisher and its monitoring user), asset hashes scrubbed: the broker's and the fleets'
 * snapshots live with their own tests.
 */
export function monitoringResources(template: Template): { [id: string]: any } {
  const resources = Object.fromEntries(Object.entries(template.toJSON().Resources as { [id: string]: any })
    .filter(([id]) => id.startsWith('Monitoring')));
  return scrubAssets(resources);
}
