import { spawnSync } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Duration } from 'aws-cdk-lib';
import {
  BROKER_URL_PYTHON, DEFAULT_INSTANCE_LAYOUT, WorkerInstanceLayout, renderBrokerEnvScript, renderPrestartScript, renderUnhealthyScript,
} from '../../../src/workers/render';

/** The scripts run for real with bash, python3 and a stub `aws` that records its arguments. */
let dir: string;
let layout: WorkerInstanceLayout;
let bin: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cdk-celery-scripts-'));
  bin = join(dir, 'bin');
  mkdirSync(bin);
  layout = { ...DEFAULT_INSTANCE_LAYOUT, configDir: join(dir, 'etc'), stateDir: join(dir, 'run'), libexecDir: join(dir, 'libexec') };
  mkdirSync(layout.configDir);
  writeFileSync(join(layout.configDir, 'instance.env'), [
    'export AWS_DEFAULT_REGION=eu-west-1', 'export INSTANCE_ID=i-0123456789abcdef0', 'export ASG_NAME=fleet-Group-ABC',
    'export BROKER_SECRET_ID=arn:aws:secretsmanager:eu-west-1:1:secret:s', 'export BROKER_HOST=b-1.mq.eu-west-1.on.aws',
    'export BROKER_PORT=5671', 'export LIFECYCLE_HOOK_NAME=drain-hook', '',
  ].join('\n'));
  // The stub prints $STUB_SECRET for get-secret-value and logs every call.
  writeFileSync(join(bin, 'aws'), `#!/bin/bash\necho "$*" >> ${dir}/aws.log\nif [ "$2" = get-secret-value ]; then printf '%s\\n' "$STUB_SECRET"; fi\n`);
  chmodSync(join(bin, 'aws'), 0o755);
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

function run(script: string, env: { [k: string]: string } = {}) {
  const path = join(dir, 'script.sh');
  writeFileSync(path, script);
  return spawnSync('bash', [path], { encoding: 'utf8', env: { PATH: `${bin}:${process.env.PATH}`, ...env } });
}

function kombuParse(url: string): { userid: string; password: string; hostname: string; port: number; virtual_host: string; transport: string } {
  const result = spawnSync('/usr/bin/python3', ['-c', [
    'import json, sys', 'from kombu import Connection', 'c = Connection(sys.argv[1])',
    'print(json.dumps({"userid": c.userid, "password": c.password, "hostname": c.hostname, "port": c.port, "virtual_host": c.virtual_host, "transport": type(c.transport).__name__}))',
  ].join('\n'), url], { encoding: 'utf8' });
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout);
}

const awkwardPasswords = ['p/ss@word%41#frag?q=1+x', 'a:b:c/@/@', '%%%%', '#?+/@% ', 'plainPassword1234', 'uni\u00e9code\u2603/'];

describe('broker URL encoding (python3 snippet)', () => {
  test.each(awkwardPasswords)('kombu parses back the password %j', (password) => {
    const secret = JSON.stringify({ username: 'celery@app/1', password, vhost: 'jobs/prod' });
    const result = spawnSync('python3', ['-c', BROKER_URL_PYTHON, 'b-1.mq.eu-west-1.on.aws', '5671'], { input: secret, encoding: 'utf8' });
    expect(result.stderr).toBe('');
    const line = result.stdout.trim();
    expect(line).toMatch(/^CELERY_BROKER_URL=amqps:\/\/[A-Za-z0-9_.~%-]+:[A-Za-z0-9_.~%-]+@b-1\.mq\.eu-west-1\.on\.aws:5671\/[A-Za-z0-9_.~%-]+$/);
    const parsed = kombuParse(line.slice('CELERY_BROKER_URL='.length));
    expect(parsed).toEqual({ userid: 'celery@app/1', password, hostname: 'b-1.mq.eu-west-1.on.aws', port: 5671, virtual_host: 'jobs/prod', transport: 'SSLTransport' });
  });

  test('vhost defaults to /', () => {
    const result = spawnSync('python3', ['-c', BROKER_URL_PYTHON, 'h', '5671'], { input: '{"username":"u","password":"p"}', encoding: 'utf8' });
    expect(result.stdout.trim()).toBe('CELERY_BROKER_URL=amqps://u:p@h:5671/%2F');
    expect(kombuParse('amqps://u:p@h:5671/%2F').virtual_host).toBe('/');
  });
});

describe('write-broker-env script', () => {
  test('writes a 0600 env file from the secret; bash reads back the same URL', () => {
    const password = 'p/ss@word%41#frag?q=1+x';
    const result = run(renderBrokerEnvScript({ layout }), { STUB_SECRET: JSON.stringify({ username: 'admin', password }) });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const envFile = join(layout.configDir, 'broker.env');
    expect((statSync(envFile).mode % 0o1000).toString(8)).toBe('600');
    expect(readFileSync(join(dir, 'aws.log'), 'utf8')).toContain('secretsmanager get-secret-value --secret-id arn:aws:secretsmanager:eu-west-1:1:secret:s');
    const sourced = spawnSync('bash', ['-c', `set -a; . ${envFile}; printf %s "$CELERY_BROKER_URL"`], { encoding: 'utf8' });
    expect(kombuParse(sourced.stdout).password).toBe(password);
  });

  test('fails, and leaves no env file, when the secret cannot be read', () => {
    writeFileSync(join(bin, 'aws'), '#!/bin/bash\necho denied >&2\nexit 254\n');
    const result = run(renderBrokerEnvScript({ layout }));
    expect(result.status).not.toBe(0);
    expect(existsSync(join(layout.configDir, 'broker.env'))).toBe(false);
  });
});

describe('prestart script (restart counter and jitter)', () => {
  const script = () => renderPrestartScript({ layout, restartJitter: Duration.seconds(0) });

  test('first start passes without publishing; later starts publish WorkerRestarts=1 by AutoScalingGroupName', () => {
    expect(run(script()).status).toBe(0);
    expect(existsSync(join(dir, 'aws.log'))).toBe(false);
    const second = run(script());
    expect(second.status).toBe(0);
    expect(second.stdout).toContain('restarting it in 0s');
    expect(readFileSync(join(dir, 'aws.log'), 'utf8').trim()).toBe(
      'cloudwatch put-metric-data --namespace CdkCelery --metric-name WorkerRestarts --unit Count --value 1 --dimensions AutoScalingGroupName=fleet-Group-ABC');
    run(script());
    expect(readFileSync(join(dir, 'aws.log'), 'utf8').trim().split('\n')).toHaveLength(2);
  });

  test('a planned restart is not counted, once', () => {
    run(script());
    writeFileSync(join(layout.stateDir, 'planned-restart'), '');
    expect(run(script()).status).toBe(0);
    expect(existsSync(join(dir, 'aws.log'))).toBe(false);
    expect(existsSync(join(layout.stateDir, 'planned-restart'))).toBe(false);
  });

  test('a failing metric call does not block the start', () => {
    run(script());
    writeFileSync(join(bin, 'aws'), '#!/bin/bash\nexit 1\n');
    const result = run(script());
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('could not publish WorkerRestarts');
  });

  test('the sleep is bounded by the jitter', () => {
    const rendered = renderPrestartScript({ layout, restartJitter: Duration.seconds(45) });
    expect(rendered).toContain('delay=$((RANDOM % 46))');
  });
});

describe('mark-unhealthy script', () => {
  test('sets this instance Unhealthy without waiting for the grace period', () => {
    const result = run(renderUnhealthyScript({ layout }));
    expect(result.status).toBe(0);
    expect(readFileSync(join(dir, 'aws.log'), 'utf8').trim()).toBe(
      'autoscaling set-instance-health --instance-id i-0123456789abcdef0 --health-status Unhealthy --no-should-respect-grace-period');
  });
});
