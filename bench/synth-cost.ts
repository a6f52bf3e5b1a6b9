import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { linearFit, LinearFit, median } from './stats';
import { RabbitMqBroker } from '../src/broker';
import { CeleryWorkerFleet, WorkerCode } from '../src/workers';

export interface SynthPoint {
  readonly fleets: number;
  /** Median wall time: constructing the stack and synthesizing the app. */
  readonly ms: number;
  /** Bytes of the synthesized template. */
  readonly templateBytes: number;
  /** CloudFormation resources in the template (a stack may hold at most 500). */
  readonly resources: number;
  readonly samples: number[];
}

export interface SynthResult {
  readonly points: SynthPoint[];
  readonly msPerFleet: LinearFit;
  readonly bytesPerFleet: LinearFit;
  readonly resourcesPerFleet: LinearFit;
}

/** CloudFormation's limit of resources in one stack. */
export const CLOUDFORMATION_MAX_RESOURCES = 500;

/** Build and synthesize one stack: a VPC, one RabbitMqBroker and `fleets` worker fleets on it. */
export function synthOnce(fleets: number): { ms: number; templateBytes: number; resources: number } {
  const outdir = mkdtempSync(join(tmpdir(), 'cdk-celery-bench-synth-'));
  try {
    const started = process.hrtime.bigint();
    // The CDK refuses a stack over 500 resources at synth; the limit is reported, not hit, so
    // large fleet counts can still be measured.
    const app = new App({ outdir, context: { '@aws-cdk/core:stackResourceLimit': 0 } });
    const stack = new Stack(app, 'BenchStack', { env: { account: '123456789012', region: 'eu-west-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    const broker = new RabbitMqBroker(stack, 'Broker', { vpc });
    for (let i = 1; i <= fleets; i++) {
      // Preinstalled code: no asset hashing, so the time is the constructs' own.
      new CeleryWorkerFleet(stack, `Fleet${i}`, {
        vpc,
        broker,
        code: WorkerCode.preinstalled({ celeryExecutable: '/opt/app/venv/bin/celery', workingDirectory: '/opt/app' }),
        app: 'proj',
        queues: [`queue-${i}`],
      });
    }
    const assembly = app.synth();
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const template = readFileSync(join(assembly.directory, assembly.getStackByName(stack.stackName).templateFile), 'utf8');
    const resources = Object.keys((JSON.parse(template) as { Resources?: object }).Resources ?? {}).length;
    return { ms, templateBytes: Buffer.byteLength(template), resources };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** Synth cost for each fleet count; a warm-up synth first keeps module loading out of the times. */
export function measureSynth(fleetCounts: number[], repetitions: number): SynthResult {
  // aws-cdk-lib prints a deprecation warning per Auto Scaling group; console output is not synth work.
  const deprecated = process.env.JSII_DEPRECATED;
  process.env.JSII_DEPRECATED = 'quiet';
  try {
    return measure(fleetCounts, repetitions);
  } finally {
    if (deprecated === undefined) delete process.env.JSII_DEPRECATED;
    else process.env.JSII_DEPRECATED = deprecated;
  }
}

function measure(fleetCounts: number[], repetitions: number): SynthResult {
  synthOnce(1);
  const points = fleetCounts.map((fleets) => {
    const runs = Array.from({ length: repetitions }, () => synthOnce(fleets));
    const sizes = new Set(runs.map((r) => r.templateBytes));
    if (sizes.size !== 1) throw new Error(`synth of ${fleets} fleets is not deterministic: template sizes ${[...sizes].join(', ')}`);
    const samples = runs.map((r) => r.ms);
    return { fleets, ms: median(samples), templateBytes: runs[0].templateBytes, resources: runs[0].resources, samples };
  });
  const fit = (y: (p: SynthPoint) => number) => (points.length > 1
    ? linearFit(points.map((p) => [p.fleets, y(p)]))
    : { slope: NaN, intercept: NaN, maxRelativeResidual: NaN });
  return {
    points,
    msPerFleet: fit((p) => p.ms),
    bytesPerFleet: fit((p) => p.templateBytes),
    resourcesPerFleet: fit((p) => p.resources),
  };
}
