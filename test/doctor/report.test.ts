import { parseCommand } from '../../src/doctor/args';
import { Finding } from '../../src/doctor/finding';
import { RemoteControl } from '../../src/doctor/live/remote-control';
import { renderText, wrap } from '../../src/doctor/render-text';
import { buildReport, exitCodeFor } from '../../src/doctor/report';

/** Report, exit codes, the 80-column renderer, argument parsing and the remote-control guard. */

const sections = {
  broker: { status: 'read' as const },
  metrics: { status: 'read' as const },
  fleet: { status: 'skipped' as const, reason: 'pass --asg' },
  live: { status: 'read' as const },
};
const finding = (severity: Finding['severity'], extra: Partial<Finding> = {}): Finding => ({
  check: 'fleet.mingle', section: 'fleet', severity, subject: 'asg w', title: 't', evidence: [], ...extra,
});

test('exit codes: findings at or above --fail-on are 1, an unreadable requested section is 3, else 0', () => {
  expect(exitCodeFor([finding('high')], sections, 'high')).toBe(1);
  expect(exitCodeFor([finding('high')], sections, 'critical')).toBe(0);
  expect(exitCodeFor([finding('ok')], sections, 'info')).toBe(0);
  expect(exitCodeFor([finding('info')], sections, 'info')).toBe(1);
  expect(exitCodeFor([finding('critical')], sections, 'never')).toBe(0);
  const failed = { ...sections, live: { status: 'failed' as const, reason: 'x' } };
  expect(exitCodeFor([finding('low')], failed, 'high')).toBe(3);
  expect(exitCodeFor([finding('high')], failed, 'high')).toBe(1);
});

test('the text report never exceeds 80 columns, even with long words', () => {
  const long = 'x'.repeat(200);
  const report = buildReport({
    generatedAt: new Date('2026-05-04T08:00:00Z'),
    input: { broker: 'orders', region: 'eu-west-1', autoScalingGroups: ['a'.repeat(90)], window: { start: '2026-05-03T08:00:00.000Z', end: '2026-05-04T08:00:00.000Z' }, failOn: 'high' },
    sections,
    findings: [finding('critical', { evidence: [long, `celery -A proj worker ${long}`], fix: long }), finding('ok', { subject: long })],
    remoteControlRequests: [],
  });
  const text = renderText(report);
  expect(text.split('\n').filter((l) => l.length > 80)).toEqual([]);
  expect(text).toContain('  CRITICAL fleet.mingle (asg w)');
  expect(text).toContain('  exit: 1 (findings at or above --fail-on high)');
  expect(report.summary.counts).toEqual({ critical: 1, high: 0, medium: 0, low: 0, info: 0, ok: 1 });
  expect(wrap('a b c', 3, '', 0)).toEqual(['a b', 'c']);
});

describe('arguments', () => {
  const io = (env: { [k: string]: string } = {}) => {
    const err: string[] = [];
    return { err, io: { out: () => undefined, err: (t: string) => err.push(t), env, now: () => new Date('2026-05-04T08:00:00Z') } };
  };

  test('a full doctor command', () => {
    const { io: i } = io({ URL: 'amqps://u:p@b-1.mq.eu-west-1.amazonaws.com:5671/%2F' });
    const parsed = parseCommand(['doctor', '--broker', 'orders', '--asg', 'a,b', '--asg', 'c', '--broker-url-env', 'URL', '--window', '6h', '--fail-on', 'medium', '--json'], i);
    expect(parsed).toMatchObject({
      kind: 'doctor',
      json: true,
      options: {
        broker: 'orders',
        autoScalingGroups: ['a', 'b', 'c'],
        brokerUrl: 'amqps://u:p@b-1.mq.eu-west-1.amazonaws.com:5671/%2F',
        failOn: 'medium',
        start: new Date('2026-05-04T02:00:00Z'),
        end: new Date('2026-05-04T08:00:00Z'),
      },
    });
  });

  test.each([
    [['doctor', '--broker-url-env', 'MISSING'], 'the environment variable MISSING is not set'],
    [['doctor', '--broker-url-env', 'HTTP'], 'HTTP must hold an amqp:// or amqps:// URL'],
    [['doctor', '--broker', 'x', '--broker-secret', 's', '--broker-url-env', 'URL'], 'use --broker-secret or --broker-url-env, not both'],
    [['doctor', '--broker', 'x', '--end', 'yesterday'], '--end: "yesterday" is not an ISO 8601 time'],
    [['doctor', '--broker', 'x', '--window', '20d'], 'use 5m to 15d'],
    [['doctor'], 'nothing to audit'],
  ])('%j is a usage error (exit 2)', (argv, message) => {
    const { io: i, err } = io({ URL: 'amqp://guest:guest@127.0.0.1/', HTTP: 'http://x' });
    expect(parseCommand(argv, i)).toEqual({ kind: 'exit', code: 2 });
    expect(err.join('')).toContain(message);
  });

  test('--json-schema and --help', () => {
    expect(parseCommand(['doctor', '--json-schema'], io().io)).toEqual({ kind: 'schema' });
    expect(parseCommand(['doctor', '--help'], io().io)).toEqual({ kind: 'exit', code: 0 });
  });
});

test.each(['hello', 'revoked', 'dump_revoked', 'shutdown'])('remote control refuses %s before anything is sent', async (method) => {
  const publish = jest.fn();
  const rc = Object.create(RemoteControl.prototype) as RemoteControl;
  Object.assign(rc, { channel: { publish } });
  await expect(rc.call(method as 'ping', { destination: null, timeoutMs: 100, limit: 1 })).rejects.toThrow(`remote-control method "${method}" is not allowed`);
  expect(publish).not.toHaveBeenCalled();
});
