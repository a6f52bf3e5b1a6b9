import { ChildProcess, spawn, spawnSync } from 'child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Duration } from 'aws-cdk-lib';
import {
  DEFAULT_INSTANCE_LAYOUT, NODE_NAME_PARTS, WorkerInstanceLayout, renderDrainScript, renderNodeNameAssignment,
} from '../../../src/workers/render';

jest.setTimeout(30_000);

/** A stub IMDSv2: PUT /latest/api/token, then GET meta-data with the token; the lifecycle state is read from a file. */
const IMDS_STUB = `
import http.server, sys, os
state_file = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_PUT(self):
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            self.send_response(200); self.end_headers(); self.wfile.write(b"tok")
        else:
            self.send_response(400); self.end_headers()
    def do_GET(self):
        if self.headers.get("X-aws-ec2-metadata-token") != "tok":
            self.send_response(401); self.end_headers(); return
        if self.path == "/latest/meta-data/autoscaling/target-lifecycle-state":
            body = open(state_file).read().encode()
            self.send_response(200); self.end_headers(); self.wfile.write(body)
        else:
            self.send_response(404); self.end_headers()
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
`;

describe('drain script against a stub IMDSv2', () => {
  let dir: string;
  let server: ChildProcess;
  let layout: WorkerInstanceLayout;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cdk-celery-drain-'));
    writeFileSync(join(dir, 'state'), 'InService');
    writeFileSync(join(dir, 'imds.py'), IMDS_STUB);
    server = spawn('python3', [join(dir, 'imds.py'), '0', join(dir, 'state')], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port: string = await new Promise((resolve) => server.stdout!.once('data', (d) => resolve(String(d).trim())));
    mkdirSync(join(dir, 'bin'));
    mkdirSync(join(dir, 'etc'));
    for (const tool of ['aws', 'systemctl']) {
      writeFileSync(join(dir, 'bin', tool), `#!/bin/bash\necho "${tool} $*" >> ${dir}/calls.log\n`);
      chmodSync(join(dir, 'bin', tool), 0o755);
    }
    writeFileSync(join(dir, 'etc', 'instance.env'), 'export ASG_NAME=fleet-Group-ABC INSTANCE_ID=i-0abc LIFECYCLE_HOOK_NAME=cdk-celery-drain\n');
    layout = { ...DEFAULT_INSTANCE_LAYOUT, configDir: join(dir, 'etc'), systemctl: join(dir, 'bin', 'systemctl'), imdsUrl: `http://127.0.0.1:${port}` };
  });

  afterAll(() => {
    server.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  test('waits while InService; on Terminated stops the timer and the worker warm, then completes the lifecycle action', async () => {
    writeFileSync(join(dir, 'drain.sh'), renderDrainScript({ layout, pollInterval: Duration.seconds(1) }));
    const drain = spawn('bash', [join(dir, 'drain.sh')], { env: { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH}` } });
    const exited = new Promise<number | null>((resolve) => drain.on('exit', resolve));
    await new Promise((r) => setTimeout(r, 2500));
    expect(existsSync(join(dir, 'calls.log'))).toBe(false);
    writeFileSync(join(dir, 'state'), 'Terminated');
    expect(await exited).toBe(0);
    expect(readFileSync(join(dir, 'calls.log'), 'utf8').trim().split('\n')).toEqual([
      'systemctl stop celery-periodic-restart.timer',
      'systemctl stop celery-worker.service',
      'aws autoscaling complete-lifecycle-action --auto-scaling-group-name fleet-Group-ABC --lifecycle-hook-name cdk-celery-drain --instance-id i-0abc --lifecycle-action-result CONTINUE',
    ]);
  });
});

describe('node name assignment', () => {
  const expand = (template: string, host?: string) => spawnSync('bash', ['-c', [
    NODE_NAME_PARTS.replace('h=$(uname -n)', host === undefined ? 'h=$(uname -n)' : `h=${host}`),
    renderNodeNameAssignment(template),
    'printf %s "$node"',
  ].join('\n')], { encoding: 'utf8' }).stdout;

  // What the worker calls itself: the --hostname option type, then the worker's own default_nodename.
  const CELERY_NODE_NAME = 'import sys\nfrom celery.bin.worker import HOSTNAME\nfrom celery.utils.nodenames import default_nodename\n'
    + 'print(default_nodename(HOSTNAME.convert(sys.argv[1], None, None)), end="")';

  test.each(['celery@%h', 'w1@%n', 'x@%d', "it's-%n@%h.%d", 'worker%h', '@%h', 'name@', '%I@%d', 'w%i@%n'])('%s expands exactly as Celery names the worker on this machine', (template) => {
    const celery = spawnSync('/usr/bin/python3', ['-c', CELERY_NODE_NAME, template], { encoding: 'utf8' });
    expect(celery.stderr).toBe('');
    expect(expand(template)).toBe(celery.stdout);
  });

  test.each([
    ['celery@%h', 'celery@ip-10-0-1-5.eu-west-1.compute.internal'],
    ['w1@%n', 'w1@ip-10-0-1-5'],
    ['x@%d', 'x@eu-west-1.compute.internal'],
    // No "@": the whole is the host part, and Celery names the worker celery@...
    ['worker-%n', 'celery@worker-ip-10-0-1-5'],
  ])('%s on an EC2 host name', (template, expected) => {
    expect(expand(template, 'ip-10-0-1-5.eu-west-1.compute.internal')).toBe(expected);
  });
});
