import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

/**
 * The launch template's user data as text: literal parts as they are, CloudFormation values as
 * `<<Ref:Name>>` / `<<GetAtt:Name.Attr>>` / `<<Base64:...>>` markers.
 */
export function userDataText(stack: Stack): string {
  const texts = Object.values(userDataTexts(stack));
  if (texts.length !== 1) throw new Error(`expected one launch template, found ${texts.length}`);
  return texts[0];
}

/** Every launch template's user data as text (see `userDataText`), by the template's logical id. */
export function userDataTexts(stack: Stack): { [logicalId: string]: string } {
  const templates = Template.fromStack(stack).findResources('AWS::EC2::LaunchTemplate');
  const texts: { [logicalId: string]: string } = {};
  for (const [logicalId, lt] of Object.entries(templates)) {
    texts[logicalId] = flatten(lt.Properties.LaunchTemplateData.UserData['Fn::Base64']);
  }
  return texts;
}

/** The worker command of a boot script: the worker unit's ExecStart and Environment=, parsed as systemd does. */
export function workerCommandLine(script: string): { argv: string[]; environment: { [name: string]: string } } {
  const unit = writtenFile(script, '/etc/systemd/system/celery-worker.service');
  const execStart = unit.split('\n').find((l) => l.startsWith('ExecStart='));
  if (!execStart) throw new Error(`no ExecStart in the worker unit:\n${unit}`);
  return { argv: parseSystemdCommandLine(execStart.slice('ExecStart='.length)), environment: parseEnvironmentLines(unit) };
}

function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as { [k: string]: unknown };
  if (v['Fn::Join']) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(flatten).join(sep);
  }
  if (v.Ref) return `<<Ref:${v.Ref}>>`;
  if (v['Fn::Base64'] !== undefined) return `<<Base64:${flatten(v['Fn::Base64'])}>>`;
  if (v['Fn::GetAtt']) return `<<GetAtt:${(v['Fn::GetAtt'] as string[]).join('.')}>>`;
  return `<<${JSON.stringify(value)}>>`;
}

/**
 * The script with each deploy-time value (decoded from base64 at boot into `cdk_vN`) shown
 * where it is used, as `'<<...>>'`, and its decoding lines removed: for assertions on what the
 * script does with a CloudFormation value.
 */
export function withValuesInlined(script: string): string {
  const values = new Map<string, string>();
  const decoding = /^(cdk_v\d+)=\$\(base64 -d <<<'<<Base64:(.*)>>'; printf \.\); \1=\$\{\1%\.\}\n/gm;
  const stripped = script.replace(decoding, (_m, name: string, inner: string) => {
    values.set(name, inner);
    return '';
  });
  return stripped.replace(/"\$\{(cdk_v\d+)\}"/g, (m, name: string) => (values.has(name) ? `'${values.get(name)}'` : m));
}

/** Content of the heredoc that writes `path` in the boot script. */
export function writtenFile(script: string, path: string): string {
  const start = script.search(new RegExp(`^put [0-7]{4} ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} <<'CDK_CELERY_EOF'\n`, 'm'));
  if (start < 0) throw new Error(`${path} is not written by the boot script`);
  const body = script.slice(script.indexOf('\n', start) + 1);
  return body.slice(0, body.indexOf('\nCDK_CELERY_EOF\n'));
}

/** Parse a systemd command line (as systemd does for ExecStart=) into argv. */
export function parseSystemdCommandLine(line: string): string[] {
  const argv: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === ' ') i++;
    if (i >= line.length) break;
    let word = '';
    if (line[i] === '"') {
      i++;
      while (line[i] !== '"') {
        if (i >= line.length) throw new Error(`unterminated quote in ${line}`);
        if (line[i] === '\\') {
          const next = line[i + 1];
          word += next === 'n' ? '\n' : next === 't' ? '\t' : next;
          i += 2;
        } else {
          word += line[i++];
        }
      }
      i++;
    } else {
      while (i < line.length && line[i] !== ' ') word += line[i++];
    }
    argv.push(word.replace(/%%/g, '%').replace(/\$\$/g, '$'));
  }
  return argv;
}

/** Parse `Environment="NAME=value"` lines into a map. */
export function parseEnvironmentLines(unit: string): { [name: string]: string } {
  const env: { [name: string]: string } = {};
  for (const line of unit.split('\n')) {
    const m = /^Environment="(.*)"$/.exec(line);
    if (!m) continue;
    const text = m[1].replace(/\\(.)/g, '$1').replace(/%%/g, '%');
    const eq = text.indexOf('=');
    env[text.slice(0, eq)] = text.slice(eq + 1);
  }
  return env;
}
