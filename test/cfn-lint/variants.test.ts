import { spawnSync } from 'child_process';
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { buildVariantsApp } from './variants-app';

/*
 * The variants app (every option switched on at least once) synthesizes, passes cfn-lint with the
 * repository's .cfnlintrc (zero errors, no warning left), and really does switch every option on:
 * each property of each construct props struct in the jsii assembly is given somewhere.
 */

jest.setTimeout(600_000);

const ROOT = join(__dirname, '..', '..');

/** Props structs of constructs that make templates, and what is deliberately never set. */
const COVERED_STRUCTS = [
  'RabbitMqBrokerProps', 'RabbitMqBrokerOptions', 'RabbitMqConfigurationOptions', 'RabbitMqMaintenanceWindow', 'ApplyNowWithRebootOptions',
  'RabbitMqBrokerAttributes', 'ConfigurationApplierProps', 'CeleryWorkerFleetProps', 'CeleryWorkerFleetOptions', 'CeleryWorkerOptions',
  'PeriodicRestartOptions', 'PreinstalledWorkerCodeOptions', 'QueueBacklogScalingProps', 'CeleryBrokerAccessProps', 'CeleryBrokerAccessOptions',
  'CeleryMonitoringProps', 'CeleryMonitoringOptions', 'CeleryAlarmThresholds', 'CeleryPlatformProps', 'CeleryPlatformFleetOptions',
  'WorkerVpcEndpointsProps', 'CeleryAlarmOverrides', 'CeleryAlarmOverride', 'CeleryFleetAlarmOverrides', 'BrokerMetricsPublisherOptions',
  'BrokerMetricsPublisherProps', 'BrokerMonitoringUserProps',
];
const NEVER_SET: { [prop: string]: string } = {};

interface JsiiStruct {
  readonly name: string;
  readonly properties?: Array<{ name: string }>;
  readonly interfaces?: string[];
}

test('every option of every construct is switched on at least once', () => {
  const { used } = buildVariantsApp();
  const types = JSON.parse(readFileSync(join(ROOT, '.jsii'), 'utf8')).types as { [fqn: string]: JsiiStruct };
  const byName = new Map(Object.values(types).map((t) => [t.name, t]));
  /** The struct of `name` and its bases, each with the properties it declares. */
  const lineage = (name: string): JsiiStruct[] => {
    const t = byName.get(name);
    if (!t) throw new Error(`no struct ${name} in .jsii (run npx projen compile)`);
    return [t, ...(t.interfaces ?? []).flatMap((fqn) => lineage(types[fqn].name))];
  };
  const given = new Set<string>();
  for (const [struct, keys] of used) {
    for (const key of keys) {
      const declaring = lineage(struct).find((t) => (t.properties ?? []).some((p) => p.name === key));
      if (!declaring) throw new Error(`${struct} has no property ${key}`);
      given.add(`${declaring.name}.${key}`);
    }
  }
  const missing = COVERED_STRUCTS.flatMap((s) => (byName.get(s)!.properties ?? []).map((p) => `${s}.${p.name}`))
    .filter((p) => !given.has(p) && !NEVER_SET[p]);
  expect(missing).toEqual([]);
});

test('cfn-lint finds no error, and no warning .cfnlintrc does not set aside, in any template of the variants app', () => {
  const { app } = buildVariantsApp();
  const assembly = app.synth();
  const templates = readdirSync(assembly.directory).filter((f) => f.endsWith('.template.json')).map((f) => join(assembly.directory, f));
  expect(templates.length).toBe(5);
  const result = spawnSync('bash', [join(ROOT, 'scripts', 'cfn-lint-templates.sh'), assembly.directory], { cwd: ROOT, encoding: 'utf8' });
  expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  expect(result.stdout).toMatch(/cfn-lint: 0 errors, 0 warnings \(after \.cfnlintrc\) in 5 templates/);
});

test('the check can fail: a template with an error is reported', () => {
  const dir = join(ROOT, 'test', 'cfn-lint', 'fixtures');
  const result = spawnSync('bash', [join(ROOT, 'scripts', 'cfn-lint-templates.sh'), dir], { cwd: ROOT, encoding: 'utf8' });
  expect(result.status).not.toBe(0);
  expect(result.stdout).toMatch(/cfn-lint: [1-9]\d* errors/);
  expect(result.stderr).toMatch(/E3012|E3002|E1001/);
});
