import { spawnSync } from 'child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { evaluateIntrinsics } from './cfn-evaluate';
import { DEFAULT_CFN_SIGNAL, DEFAULT_INSTANCE_LAYOUT, WorkerInstanceLayout } from '../../src/workers/render';

/**
 * Runs a rendered boot script for real under bash, as root would on an instance, with the outside
 * world stubbed: IMDS (curl), the AWS CLI, cfn-signal, dnf, useradd/id/runuser, uname and
 * systemctl. Every stub records its argv (NUL-separated, exact bytes) and, for the AWS CLI, the
 * Region it was called with. The scripts, units and env files it writes land in a private layout.
 */

export const SANDBOX_REGION = 'eu-west-1';
export const SANDBOX_INSTANCE_ID = 'i-0123456789abcdef0';
export const SANDBOX_GROUP = 'fleet-asg';
/** The Celery version the sandbox's stand-in `celery` reports. */
export const SANDBOX_CELERY_VERSION = '5.6.3';
/** What `uname -n` says in the sandbox: an EC2 private DNS name. */
export const SANDBOX_HOST = 'ip-10-0-1-5.eu-west-1.compute.internal';

/** One stub call: the command name, the AWS Region in its environment (aws only) and its arguments. */
export interface StubCall {
  readonly command: string;
  readonly region?: string;
  readonly args: string[];
}

export interface BootRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly calls: StubCall[];
  /** Files under the layout's config dir (instance.env, broker.env), by name. */
  readonly config: { [name: string]: string };
  /** Files the script wrote into the unit dir, by name. */
  readonly units: { [name: string]: string };
  /** The instance env file, sourced by bash: exported variables and their exact values. */
  readonly instanceEnv?: { [name: string]: string };
}

const STUB = (name: string) => `#!/bin/bash
# Records: argument count, command, AWS Region (or "-"), arguments; NUL-separated.
printf '%s\\0' "$#" ${JSON.stringify(name)} "\${AWS_DEFAULT_REGION--}" "$@" >> "$SANDBOX_CALLS"
`;

export class BootSandbox {
  public readonly root: string;
  public readonly layout: WorkerInstanceLayout;
  /** A directory no generated text may create anything in (its `CANARY` fragments point here). */
  public readonly canary: string;
  private readonly bin: string;
  private readonly fixtureZip: string;

  constructor() {
    this.root = mkdtempSync(join(tmpdir(), 'cdk-celery-boot-'));
    this.bin = join(this.root, 'bin');
    this.canary = join(this.root, 'canary');
    mkdirSync(this.bin);
    mkdirSync(this.canary);
    this.layout = {
      ...DEFAULT_INSTANCE_LAYOUT,
      libexecDir: join(this.root, 'libexec'),
      configDir: join(this.root, 'etc'),
      stateDir: join(this.root, 'run'),
      unitDir: join(this.root, 'units'),
      systemctl: join(this.bin, 'systemctl'),
      cfnSignal: join(this.bin, 'cfn-signal'),
      imdsUrl: 'http://169.254.169.254',
    };
    mkdirSync(this.layout.unitDir);
    const stubs: { [name: string]: string } = {
      'curl': `${STUB('curl')}[ -z "\${IMDS_FAIL-}" ] || exit 22
url="\${*: -1}"
case "$url" in
  */latest/api/token) printf TOKEN ;;
  */meta-data/placement/region) printf ${SANDBOX_REGION} ;;
  */meta-data/instance-id) printf ${SANDBOX_INSTANCE_ID} ;;
  */meta-data/tags/instance/aws:autoscaling:groupName) printf ${SANDBOX_GROUP} ;;
  *) exit 22 ;;
esac
`,
      'aws': `${STUB('aws')}if [ "$1 $2" = "s3 cp" ]; then cp "$SANDBOX_ZIP" "\${*: -1}"; fi
if [ "$2" = get-secret-value ]; then printf '%s\\n' "$STUB_SECRET"; fi
`,
      'dnf': STUB('dnf'),
      'useradd': STUB('useradd'),
      'id': STUB('id'),
      'runuser': STUB('runuser'),
      'journalctl': STUB('journalctl'),
      'systemctl': STUB('systemctl'),
      'cfn-signal': STUB('cfn-signal'),
      'uname': `#!/bin/bash\nprintf '%s\\n' ${SANDBOX_HOST}\n`,
      // A venv is slow to create and needs the network for pip: stubbed, with a celery that only
      // tells its version (the boot script checks it); everything else is the real python3.
      'python3': `#!/bin/bash
if [ "\${1-} \${2-}" = "-m venv" ]; then
  mkdir -p "$3/bin"; printf '#!/bin/sh\\nexit 0\\n' > "$3/bin/pip"; cp "$(dirname "$0")/celery" "$3/bin/celery"; chmod +x "$3/bin/pip"; exit 0
fi
exec /usr/bin/python3 "$@"
`,
      'celery': `#!/bin/bash\nif [ "\${1-}" = --version ]; then echo '${SANDBOX_CELERY_VERSION} (recovery)'; fi\n`,
    };
    for (const [name, content] of Object.entries(stubs)) {
      writeFileSync(join(this.bin, name), content);
      chmodSync(join(this.bin, name), 0o755);
    }
    this.fixtureZip = join(this.root, 'app.zip');
    const zip = spawnSync('/usr/bin/python3', ['-c', [
      'import sys, zipfile',
      'with zipfile.ZipFile(sys.argv[1], "w") as z:',
      '    z.writestr("requirements.txt", "celery\\n")',
      '    z.writestr("proj.py", "app = None\\n")',
    ].join('\n'), this.fixtureZip]);
    if (zip.status !== 0) throw new Error(`cannot build the fixture zip: ${zip.stderr}`);
  }

  /** The sandbox's stand-in `celery` (it only answers --version). */
  public get celery(): string {
    return join(this.bin, 'celery');
  }

  /**
   * A working directory inside the sandbox (the boot script removes and recreates it). Joined as
   * text, not normalized: a name of `..` stays a `..` component, which the renderer must refuse.
   */
  public workingDirectory(name: string): string {
    return `${this.root}/app/${name}`;
  }

  /** Run `script`; `env` adds to the stubs' environment (STUB_SECRET, IMDS_FAIL). */
  public run(script: string, env: { [name: string]: string } = {}): BootRun {
    for (const dir of [this.layout.libexecDir, this.layout.configDir, this.layout.stateDir, this.layout.unitDir, join(this.root, 'app')]) {
      rmSync(dir, { recursive: true, force: true });
    }
    mkdirSync(this.layout.unitDir);
    const calls = join(this.root, 'calls');
    writeFileSync(calls, '');
    const path = join(this.root, 'boot.sh');
    writeFileSync(path, script);
    const result = spawnSync('/bin/bash', [path], {
      encoding: 'utf8',
      timeout: 60_000,
      env: {
        PATH: `${this.bin}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`,
        SANDBOX_CALLS: calls,
        SANDBOX_ZIP: this.fixtureZip,
        STUB_SECRET: JSON.stringify({ username: 'celery', password: 'p@ss/word%', vhost: 'celery' }),
        LANG: 'C.UTF-8',
        ...env,
      },
    });
    const read = (dir: string) => (existsSync(dir)
      ? Object.fromEntries(readdirSync(dir).map((name) => [name, readFileSync(join(dir, name), 'utf8')])) : {});
    const config = read(this.layout.configDir);
    let instanceEnv: { [name: string]: string } | undefined;
    if (config['instance.env'] !== undefined) {
      const sourced = spawnSync('/bin/bash', ['-c', 'set -a; . "$1"; for v in AWS_DEFAULT_REGION INSTANCE_ID ASG_NAME BROKER_SECRET_ID BROKER_HOST BROKER_PORT LIFECYCLE_HOOK_NAME; do printf \'%s\\0%s\\0\' "$v" "${!v}"; done', 'env', join(this.layout.configDir, 'instance.env')], { encoding: 'utf8', env: {} });
      const fields = sourced.stdout.split('\0');
      instanceEnv = {};
      for (let i = 0; i + 1 < fields.length; i += 2) instanceEnv[fields[i]] = fields[i + 1];
    }
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls: parseCalls(readFileSync(calls, 'utf8')), config, units: read(this.layout.unitDir), instanceEnv };
  }

  /** Files a `CANARY` fragment would have created if it had run. */
  public canaryHits(): string[] {
    return readdirSync(this.canary);
  }

  public dispose(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

function parseCalls(log: string): StubCall[] {
  const fields = log.split('\0');
  const calls: StubCall[] = [];
  let i = 0;
  while (i + 2 < fields.length) {
    const count = Number(fields[i]);
    const command = fields[i + 1];
    const region = fields[i + 2];
    calls.push({ command, region: region === '-' ? undefined : region, args: fields.slice(i + 3, i + 3 + count) });
    i += 3 + count;
  }
  return calls;
}

/** Every `Ref` target in a CloudFormation expression. */
function refsIn(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {value.forEach((v) => refsIn(v, found));} else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'Ref' && typeof v === 'string') found.add(v);
      else refsIn(v, found);
    }
  }
  return found;
}

/**
 * The launch template user data of a synthesized fleet, as an instance would get it: intrinsic
 * functions evaluated with `refs` (others: `<logicalId>-value`) and `attributes`, and the paths of
 * the instance layout moved into the sandbox (nothing may be left pointing at the host's /etc,
 * /usr/local, /opt or /run).
 */
export function fleetUserData(template: { [key: string]: any }, sandbox: BootSandbox,
  refs: { [id: string]: string }, attributes: { [idDotAttr: string]: unknown }): string {
  const launchTemplates = Object.values(template.Resources as { [id: string]: any }).filter((r) => r.Type === 'AWS::EC2::LaunchTemplate');
  if (launchTemplates.length !== 1) throw new Error(`expected one launch template, found ${launchTemplates.length}`);
  const expression = launchTemplates[0].Properties.LaunchTemplateData.UserData['Fn::Base64'];
  const allRefs: { [id: string]: string } = { 'AWS::Region': SANDBOX_REGION, 'AWS::URLSuffix': 'amazonaws.com', 'AWS::Partition': 'aws' };
  for (const id of refsIn(expression)) allRefs[id] = `${id}-value`;
  Object.assign(allRefs, refs);
  let script = String(evaluateIntrinsics(expression, { refs: allRefs, attributes }));
  const moves: Array<[string, string]> = [
    [DEFAULT_INSTANCE_LAYOUT.libexecDir, sandbox.layout.libexecDir],
    [DEFAULT_INSTANCE_LAYOUT.configDir, sandbox.layout.configDir],
    [DEFAULT_INSTANCE_LAYOUT.stateDir, sandbox.layout.stateDir],
    [DEFAULT_INSTANCE_LAYOUT.unitDir, sandbox.layout.unitDir],
    [DEFAULT_INSTANCE_LAYOUT.systemctl, sandbox.layout.systemctl],
    [DEFAULT_CFN_SIGNAL, sandbox.layout.cfnSignal!],
    ['/opt/celery-app', sandbox.workingDirectory('fleet')],
  ];
  for (const [from, to] of moves) script = script.split(from).join(to);
  const stray = /(^|[\s'"=])\/(etc|usr\/local|opt|run)\//m.exec(script);
  if (stray) throw new Error(`fleetUserData: the script still names a host path near ${JSON.stringify(script.slice(Math.max(0, stray.index - 40), stray.index + 60))}`);
  return script;
}
