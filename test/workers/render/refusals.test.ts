import { CfnParameter, Duration, Stack, Token } from 'aws-cdk-lib';
import { BootScriptOptions, renderBootScript } from '../../../src/workers/render/boot-script';
import { renderCeleryWorkerCommand } from '../../../src/workers/render/celery-worker-command';
import { DEFAULT_INSTANCE_LAYOUT, validateInstanceLayout } from '../../../src/workers/render/instance-layout';
import { validatePeriodicRestart } from '../../../src/workers/render/periodic-restart';
import { shellQuote, systemdEnvironmentAssignment, systemdPathSetting, systemdQuoteArgument } from '../../../src/workers/render/shell-quote';
import { renderWorkerServiceUnit } from '../../../src/workers/render/worker-service';

/*
 * Every refusal of the renderers other than the worker command (celery-worker-command.test.ts has
 * those), one focused case each, with the accepted neighbour where a boundary is involved.
 */

const token = () => new CfnParameter(new Stack(), 'P', { type: 'String' }).valueAsString;

const BOOT: BootScriptOptions = {
  worker: { app: 'proj', celeryExecutable: '/opt/celery-app/.venv/bin/celery' },
  user: 'celery',
  workingDirectory: '/opt/celery-app',
  brokerHost: 'h',
  brokerPort: '5671',
  credentialsSecretId: 's',
  lifecycleHookName: 'hook',
};

describe('boot script', () => {
  test('the base options render', () => {
    expect(renderBootScript(BOOT)).toContain('/opt/celery-app/.venv/bin/celery');
  });

  test.each<[string, Partial<BootScriptOptions>, RegExp]>([
    ['a relative celery executable', { worker: { app: 'proj', celeryExecutable: 'celery' } }, /^celeryExecutable: "celery" must be an absolute path \(systemd runs it without a shell\)\./],
    ['the default celery executable', { worker: { app: 'proj' } }, /^celeryExecutable: "celery" must be an absolute path/],
    ['brokerHost with a NUL', { brokerHost: 'h\0' }, /^brokerHost: "h\\u0000" is not allowed; it holds a NUL character/],
    ['brokerPort with a NUL', { brokerPort: '5671\0' }, /^brokerPort: .* is not allowed; it holds a NUL/],
    ['credentialsSecretId with a NUL', { credentialsSecretId: 's\0' }, /^credentialsSecretId: .* is not allowed/],
    ['lifecycleHookName with a NUL', { lifecycleHookName: 'hook\0' }, /^lifecycleHookName: .* is not allowed/],
    ['code.bucketName with a NUL', { code: { bucketName: 'b\0', objectKey: 'k.zip' } }, /^code\.bucketName: .* is not allowed/],
    ['code.objectKey with a NUL', { code: { bucketName: 'b', objectKey: 'k\0' } }, /^code\.objectKey: .* is not allowed/],
    ['signal.stackName with a NUL', { signal: { stackName: 'S\0', logicalId: 'G' } }, /^signal\.stackName: .* is not allowed/],
    ['signal.logicalId with a NUL', { signal: { stackName: 'S', logicalId: 'G\0' } }, /^signal\.logicalId: .* is not allowed/],
    ['an upper-case user', { user: 'Celery' }, /^user: "Celery" is not a Linux user name/],
    ['a user of 32 characters', { user: 'a'.repeat(32) }, /^user: "a{32}" is not a Linux user name/],
    ['a relative working directory', { workingDirectory: 'opt/app' }, /^workingDirectory: "opt\/app" is not allowed; use an absolute path without \. or \.\. components/],
    ['a working directory with ..', { workingDirectory: '/opt/../etc' }, /^workingDirectory: .* is not allowed; use an absolute path/],
    ['a virtualenv with a trailing space', { virtualEnvDirectory: '/opt/venv ' }, /^virtualEnvDirectory: .* is not allowed; use an absolute path/],
    ['a readiness timeout token', { readinessTimeout: Duration.seconds(Token.asNumber({ Ref: 'T' })) }, /^readinessTimeout, stopTimeout: a CloudFormation value \(token\) is not accepted/],
    ['a stop timeout token', { stopTimeout: Duration.seconds(Token.asNumber({ Ref: 'T' })) }, /^readinessTimeout, stopTimeout: a CloudFormation value/],
    ['a bad layout', { layout: { ...DEFAULT_INSTANCE_LAYOUT, configDir: 'etc' } }, /^layout\.configDir: "etc" is not allowed/],
  ])('refuses %s', (_name, options, message) => {
    expect(() => renderBootScript({ ...BOOT, ...options })).toThrow(message);
  });

  test('a user of 31 characters and tokens in the deploy-time values are accepted', () => {
    expect(() => renderBootScript({ ...BOOT, user: `_${'a'.repeat(30)}` })).not.toThrow();
    expect(() => renderBootScript({ ...BOOT, brokerHost: token(), credentialsSecretId: token() })).not.toThrow();
  });
});

describe('instance layout', () => {
  test.each(['libexecDir', 'configDir', 'stateDir', 'unitDir', 'systemctl', 'sleep', 'cfnSignal'] as const)('%s: relative, spaced and .. paths are refused', (field) => {
    for (const value of ['relative', '/a b', '/a/../b', '/a;b']) {
      expect(() => validateInstanceLayout({ ...DEFAULT_INSTANCE_LAYOUT, [field]: value }))
        .toThrow(`layout.${field}: ${JSON.stringify(value)} is not allowed; use an absolute path of letters, digits and _ . / - only.`);
    }
    expect(() => validateInstanceLayout({ ...DEFAULT_INSTANCE_LAYOUT, [field]: '/a/b-c_d.e' })).not.toThrow();
  });

  test.each(['https://169.254.169.254', 'http://169.254.169.254/latest', 'ftp://x', 'http://a b'])('imdsUrl %s is refused', (imdsUrl) => {
    expect(() => validateInstanceLayout({ ...DEFAULT_INSTANCE_LAYOUT, imdsUrl })).toThrow(/^layout\.imdsUrl: .* is not allowed; use http:\/\/HOST\[:PORT\]/);
  });

  test('the default layout and an IPv6 IMDS with a port are accepted', () => {
    expect(() => validateInstanceLayout(DEFAULT_INSTANCE_LAYOUT)).not.toThrow();
    expect(() => validateInstanceLayout({ ...DEFAULT_INSTANCE_LAYOUT, imdsUrl: 'http://[fd00:ec2::254]:80' })).not.toThrow();
  });
});

describe('periodic restart', () => {
  test.each<[string, Parameters<typeof validatePeriodicRestart>[0], RegExp]>([
    ['an onCalendar token', { onCalendar: token() }, /^periodicRestart\.onCalendar: a CloudFormation value \(token\) is not accepted/],
    ['a bad onCalendar', { onCalendar: 'every day' }, /^periodicRestart\.onCalendar: "every day" is not a systemd OnCalendar= expression this library accepts/],
    ['a window token', { window: Duration.minutes(Token.asNumber({ Ref: 'W' })) }, /^periodicRestart\.window: must be known at synth/],
    ['a window under a minute', { window: Duration.seconds(59) }, /^periodicRestart\.window: 59 seconds is not allowed; use 1 minute to 24 hours/],
    ['a window over a day', { window: Duration.seconds(86401) }, /^periodicRestart\.window: .* is not allowed; use 1 minute to 24 hours/],
  ])('refuses %s', (_name, options, message) => {
    expect(() => validatePeriodicRestart(options)).toThrow(message);
  });

  test('the prop name is the caller\'s; a minute and a day are accepted', () => {
    expect(() => validatePeriodicRestart({ window: Duration.seconds(30) }, 'fleet.periodicRestart')).toThrow(/^fleet\.periodicRestart\.window: /);
    expect(() => validatePeriodicRestart({ window: Duration.minutes(1) })).not.toThrow();
    expect(() => validatePeriodicRestart({ window: Duration.hours(24) })).not.toThrow();
  });
});

describe('quoting refuses what no word can carry', () => {
  test('bash: tokens and NUL', () => {
    expect(() => shellQuote(token())).toThrow(/^internal: a CloudFormation value \(.*\) cannot be quoted for bash at synth; pass it through DeployTimeValues\./);
    expect(() => shellQuote('a\0b')).toThrow('internal: "a\\u0000b" holds a NUL character, which no bash word can carry.');
    expect(shellQuote('')).toBe('\'\'');
    expect(shellQuote('it\'s')).toBe('\'it\'\\\'\'s\'');
    expect(shellQuote('plain/path-1.0')).toBe('plain/path-1.0');
  });

  test('systemd: a token, a NUL and a lone surrogate', () => {
    expect(() => systemdQuoteArgument(token())).toThrow(/^internal: .* cannot be a systemd word: a CloudFormation value \(token\) is not accepted here/);
    expect(() => systemdQuoteArgument('a\0')).toThrow(/^internal: .* cannot be a systemd word: it holds a NUL character/);
    expect(() => systemdQuoteArgument('a\uD800')).toThrow(/^internal: .* cannot be a systemd word: it is not well-formed Unicode \(a lone surrogate\)/);
    expect(systemdQuoteArgument('\uD83D\uDE00')).toContain('\uD83D\uDE00');
  });

  test('Environment=: name and value', () => {
    expect(() => systemdEnvironmentAssignment('A\0', 'v')).toThrow(/^internal: "A\\u0000" cannot be written to Environment=: it holds a NUL/);
    expect(() => systemdEnvironmentAssignment('A', 'v\0')).toThrow(/^internal: "v\\u0000" cannot be written to Environment=/);
    expect(systemdEnvironmentAssignment('A', '50%"\\\n')).toBe('"A=50%%\\"\\\\\\n"');
  });

  test('paths: token, relative, . and .., control characters, surrounding spaces', () => {
    for (const path of ['rel', '/a/./b', '/a/../b', '/a\tb', ' /a', '/a ']) {
      expect(() => systemdPathSetting('workingDirectory', path)).toThrow(/^workingDirectory: .* is not allowed; use an absolute path without \. or \.\. components/);
    }
    expect(() => systemdPathSetting('workingDirectory', token())).toThrow(/^workingDirectory: .* is not allowed; a CloudFormation value/);
    expect(systemdPathSetting('workingDirectory', '/opt/%h')).toBe('/opt/%%h');
  });
});

test('the service unit refuses a user that is not a Linux user name', () => {
  const command = renderCeleryWorkerCommand({ app: 'proj' });
  expect(() => renderWorkerServiceUnit({ command, user: 'root;x', workingDirectory: '/opt/app', stopTimeout: Duration.minutes(1) }))
    .toThrow(/^user: "root;x" is not a Linux user name/);
});
