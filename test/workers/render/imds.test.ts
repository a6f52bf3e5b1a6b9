import { execFile } from 'child_process';
import { createServer, IncomingMessage, Server } from 'http';
import { AddressInfo } from 'net';
import { Duration } from 'aws-cdk-lib';
import {
  DEFAULT_INSTANCE_LAYOUT, IMDS_TOKEN_TTL_SECONDS, WorkerInstanceLayout, renderBootScript, renderDrainScript, renderImdsFunction,
} from '../../../src/workers/render';

/**
 * The one IMDS helper of the boot and drain scripts, run with bash and the real curl against a
 * stub IMDSv2 in this process (so the shell runs asynchronously: a synchronous spawn would block
 * the server).
 */
interface Request { readonly method: string; readonly path: string; readonly headers: IncomingMessage['headers'] }

const TOKEN = 'stub-token';
let server: Server;
let requests: Request[];
let tokenStatus: number;
let layout: WorkerInstanceLayout;

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push({ method: req.method!, path: req.url!, headers: req.headers });
    if (req.method === 'PUT' && req.url === '/latest/api/token') {
      res.writeHead(req.headers['x-aws-ec2-metadata-token-ttl-seconds'] ? tokenStatus : 400).end(tokenStatus === 200 ? TOKEN : '');
    } else if (req.method === 'GET' && req.headers['x-aws-ec2-metadata-token'] !== TOKEN) {
      res.writeHead(401).end('unauthorized');
    } else if (req.method === 'GET' && req.url === '/latest/meta-data/placement/region') {
      res.writeHead(200).end('eu-west-1');
    } else {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  layout = { ...DEFAULT_INSTANCE_LAYOUT, imdsUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  requests = [];
  tokenStatus = 200;
});

function imds(path: string): Promise<{ code: number; stdout: string }> {
  const script = `${renderImdsFunction(layout)}imds ${path}\n`;
  return new Promise((resolve) => {
    execFile('bash', ['-c', script], { encoding: 'utf8' }, (error, stdout) => {
      resolve({ code: error ? Number(error.code) : 0, stdout });
    });
  });
}

test('reads a metadata path with a fresh IMDSv2 token', async () => {
  expect(await imds('placement/region')).toEqual({ code: 0, stdout: 'eu-west-1' });
  expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual(['PUT /latest/api/token', 'GET /latest/meta-data/placement/region']);
  expect(requests[0].headers['x-aws-ec2-metadata-token-ttl-seconds']).toBe(String(IMDS_TOKEN_TTL_SECONDS));
  expect(requests[1].headers['x-aws-ec2-metadata-token']).toBe(TOKEN);
});

test('fails without reading metadata when the token request fails', async () => {
  tokenStatus = 403;
  const result = await imds('placement/region');
  expect(result.code).not.toBe(0);
  expect(result.stdout).toBe('');
  expect(requests.map((r) => r.method)).toEqual(['PUT']);
});

test('fails, printing nothing, when the metadata read fails', async () => {
  const result = await imds('tags/instance/missing');
  expect(result.code).not.toBe(0);
  expect(result.stdout).toBe('');
});

test('the boot and the drain script both define IMDS access with this one helper', () => {
  const helper = renderImdsFunction(DEFAULT_INSTANCE_LAYOUT);
  const boot = renderBootScript({
    worker: { app: 'shop', celeryExecutable: '/opt/celery-app/.venv/bin/celery' },
    user: 'celery',
    workingDirectory: '/opt/celery-app',
    brokerHost: 'b-1.mq.eu-west-1.on.aws',
    brokerPort: '5671',
    credentialsSecretId: 'secret',
    lifecycleHookName: 'hook',
  });
  const drain = renderDrainScript({ pollInterval: Duration.seconds(5) });
  // The boot script defines it for itself and writes the drain script, which defines it again.
  const definitions = (script: string) => script.match(/imds\(\) \{/g)?.length;
  const helpers = (script: string) => script.split(helper).length - 1;
  expect([definitions(boot), helpers(boot)]).toEqual([2, 2]);
  expect([definitions(drain), helpers(drain)]).toEqual([1, 1]);
  expect(boot.match(/latest\/api\/token/g)).toHaveLength(2);
});
