import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Duration } from 'aws-cdk-lib';
import {
  DEFAULT_INSTANCE_LAYOUT, WorkerInstanceLayout, periodicRestartSlotSeconds, renderPeriodicRestartScript, shellQuote,
} from '../../../src/workers/render';

jest.setTimeout(120_000);

/** A seeded generator (SHA-256 of seed and counter), so that a failing fleet can be replayed. */
function random(seed: number): () => number {
  let counter = 0;
  return () => parseInt(createHash('sha256').update(`${seed}/${counter++}`).digest('hex').slice(0, 13), 16) / 2 ** 52;
}

const SEED = 20240601;
const rand = random(SEED);
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[int(0, 15)]).join('');
const alnum = (n: number) => Array.from({ length: n }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'[int(0, 61)]).join('');
/** An EC2 instance id: `i-` and 17 hex digits (or 8, the old format). */
const instanceId = () => `i-${hex(rand() < 0.1 ? 8 : 17)}`;
/** A group name as CloudFormation generates them, or a name with spaces, quotes and non-ASCII letters. */
const groupName = () => (rand() < 0.8 ? `Stack${int(1, 9)}-FleetGroupASG${hex(8).toUpperCase()}-${alnum(12)}` : `fleet '${alnum(4)}' prod \u00e9\u2603 "${int(0, 99)}"`);
const fleet = (n: number) => Array.from({ length: n }, instanceId);
function shuffled<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = int(0, i);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

describe('periodicRestartSlotSeconds (the rule)', () => {
  const W = Duration.hours(2);

  test('a fleet restarts window / n apart, in the order of its instance ids, whatever the listing order', () => {
    const ids = fleet(30);
    const name = groupName();
    const offsets = ids.map((id) => periodicRestartSlotSeconds({ instanceIds: shuffled(ids), instanceId: id, groupName: name, window: W }));
    const bySortedId = [...ids].sort().map((id) => offsets[ids.indexOf(id)]);
    expect([...bySortedId].sort((a, b) => a - b)).toEqual(bySortedId);
    for (let i = 1; i < bySortedId.length; i++) expect([239, 240, 241]).toContain(bySortedId[i] - bySortedId[i - 1]);
    expect(bySortedId[0]).toBeLessThan(240);
    expect(bySortedId[29]).toBeLessThan(7200);
    // Duplicates in the listing change nothing.
    expect(periodicRestartSlotSeconds({ instanceIds: [...ids, ...ids], instanceId: ids[3], groupName: name, window: W })).toBe(offsets[3]);
  });

  test.each([
    [1, 60], [2, 60], [30, 7200], [100, 7200], [120, 7200], [121, 7200], [250, 7200], [1440, 86400], [500, 7200], [7, 61],
  ])('%i instances in %i s: at most ceil(60 n / window) restarts in any 60 s, in [0, window)', (n, seconds) => {
    const ids = fleet(n);
    const name = groupName();
    const window = Duration.seconds(seconds);
    const offsets = ids.map((id) => periodicRestartSlotSeconds({ instanceIds: ids, instanceId: id, groupName: name, window }))
      .sort((a, b) => a - b);
    expect(new Set(offsets).size).toBe(Math.min(n, seconds));
    expect(offsets[0]).toBeGreaterThanOrEqual(0);
    expect(offsets[n - 1]).toBeLessThan(seconds);
    expect(offsets.every(Number.isInteger)).toBe(true);
    const bound = Math.ceil((60 * n) / seconds);
    let most = 0;
    for (let start = 0, end = 0; end < n; end++) {
      while (offsets[end] - offsets[start] >= 60) start++;
      most = Math.max(most, end - start + 1);
    }
    expect(most).toBeLessThanOrEqual(bound);
  });

  test('the phase comes from the group name: fleets of the same size interleave instead of sharing slot 0', () => {
    const ids = fleet(30);
    const first = (name: string) => periodicRestartSlotSeconds({ instanceIds: ids, instanceId: [...ids].sort()[0], groupName: name, window: W });
    const firsts = Array.from({ length: 200 }, () => first(groupName()));
    expect(Math.max(...firsts)).toBeLessThan(240);
    expect(new Set(firsts).size).toBeGreaterThan(110); // about 240 x (1 - e^(-200/240)) = 136 distinct of 240
    expect(firsts.filter((o) => o < 120).length).toBeGreaterThan(60);
    expect(firsts.filter((o) => o >= 120).length).toBeGreaterThan(60);
    expect(first('fleet-a')).toBe(first('fleet-a'));
  });

  test('fallback when the listing failed or does not include the instance: stable per instance, spread over the window, never 0 for all', () => {
    const ids = fleet(1000);
    const failed = ids.map((id) => periodicRestartSlotSeconds({ instanceId: id, groupName: 'g', window: W }));
    expect(ids.map((id) => periodicRestartSlotSeconds({ instanceIds: [], instanceId: id, groupName: 'other', window: W }))).toEqual(failed);
    expect(ids.map((id) => periodicRestartSlotSeconds({ instanceIds: fleet(30), instanceId: id, groupName: 'g', window: W }))).toEqual(failed);
    expect(Math.min(...failed)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...failed)).toBeLessThan(7200);
    // Roughly uniform: each half-hour quarter of the window gets 250 +- 60 of 1000 instances.
    for (let q = 0; q < 4; q++) {
      const n = failed.filter((o) => o >= q * 1800 && o < (q + 1) * 1800).length;
      expect(Math.abs(n - 250)).toBeLessThan(60);
    }
    // The default window is 2 hours.
    expect(periodicRestartSlotSeconds({ instanceId: ids[0], groupName: 'g' })).toBe(failed[0]);
  });
});

/**
 * The rendered script run with bash: `aws` is a stub on PATH that prints a listing (or fails),
 * `sleep` and `systemctl` are stubs at the layout's paths that record their arguments.
 */
describe('periodic-restart script computes exactly periodicRestartSlotSeconds', () => {
  let dir: string;
  let layout: WorkerInstanceLayout;
  const scripts = new Map<number, string>();

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cdk-celery-slots-'));
    for (const sub of ['bin', 'etc', 'libexec']) mkdirSync(join(dir, sub));
    layout = {
      ...DEFAULT_INSTANCE_LAYOUT,
      configDir: join(dir, 'etc'),
      stateDir: join(dir, 'run'),
      libexecDir: join(dir, 'libexec'),
      sleep: join(dir, 'bin', 'sleep'),
      systemctl: join(dir, 'bin', 'systemctl'),
    };
    const stub = (name: string, body: string) => {
      writeFileSync(join(dir, 'bin', name), `#!/bin/bash\n${body}\n`);
      chmodSync(join(dir, 'bin', name), 0o755);
    };
    // The listing is the file `listing` (as `--output text` prints it); `listing.rc` its exit status.
    stub('aws', `printf '%s\\n' "AWS_RETRY_MODE=\${AWS_RETRY_MODE:-} AWS_MAX_ATTEMPTS=\${AWS_MAX_ATTEMPTS:-}" "$@" > ${dir}/aws.args
rc=$(cat ${dir}/listing.rc)
if [ "$rc" != 0 ]; then echo 'An error occurred (Throttling): Rate exceeded' >&2; exit "$rc"; fi
cat ${dir}/listing`);
    stub('sleep', `echo "sleep $*" >> ${dir}/calls.log`);
    stub('systemctl', `echo "systemctl $* marker=$([ -e ${layout.stateDir}/planned-restart ] && echo yes || echo no)" >> ${dir}/calls.log`);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  interface Run { status: number | null; stdout: string; stderr: string; offset: number; calls: string[]; awsArgs: string[] }

  /** Run the script as `instance` of `group` with `listing` (undefined: the call fails). */
  function run(instance: string, group: string, seconds: number, listing: string | undefined): Run {
    let script = scripts.get(seconds);
    if (!script) {
      script = renderPeriodicRestartScript({ layout, window: Duration.seconds(seconds) });
      scripts.set(seconds, script);
    }
    writeFileSync(join(dir, 'periodic-restart'), script);
    writeFileSync(join(layout.configDir, 'instance.env'), `export AWS_DEFAULT_REGION=eu-west-1\nexport INSTANCE_ID=${shellQuote(instance)}\nexport ASG_NAME=${shellQuote(group)}\n`);
    writeFileSync(join(dir, 'listing'), listing ?? '');
    writeFileSync(join(dir, 'listing.rc'), listing === undefined ? '254' : '0');
    rmSync(join(dir, 'calls.log'), { force: true });
    rmSync(layout.stateDir, { recursive: true, force: true });
    const result = spawnSync('bash', [join(dir, 'periodic-restart')], { encoding: 'utf8', env: { PATH: `${join(dir, 'bin')}:${process.env.PATH}` } });
    const match = (result.stdout + result.stderr).match(/offset=(\d+)s after the window start/);
    return {
      status: result.status,
      stdout: result.stdout,
      stderr: result.stderr,
      offset: match ? Number(match[1]) : NaN,
      calls: existsSync(join(dir, 'calls.log')) ? readFileSync(join(dir, 'calls.log'), 'utf8').trim().split('\n') : [],
      awsArgs: readFileSync(join(dir, 'aws.args'), 'utf8').trim().split('\n'),
    };
  }

  /** The script slept until its offset (less the second or two the listing took), then marked the restart planned and restarted the worker. */
  function expectRestartAt(r: Run, offset: number) {
    expect(r.status).toBe(0);
    expect(r.offset).toBe(offset);
    expect(r.calls).toHaveLength(2);
    const slept = Number(r.calls[0].match(/^sleep (\d+)$/)![1]);
    expect(slept).toBeLessThanOrEqual(offset);
    expect(slept).toBeGreaterThanOrEqual(Math.max(0, offset - 2));
    expect(r.calls[1]).toBe('systemctl --no-block try-restart celery-worker.service marker=yes');
  }

  test('lists the InService instances of its own group, with the CLI retrying throttled calls', () => {
    const r = run('i-0abc', 'fleet-Group-ABC', 7200, 'i-0abc\ti-0abd\n');
    expect(r.awsArgs).toEqual([
      'AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=8',
      'autoscaling', 'describe-auto-scaling-groups', '--auto-scaling-group-names', 'fleet-Group-ABC', '--output', 'text',
      '--query', "AutoScalingGroups[0].Instances[?LifecycleState=='InService'].InstanceId",
    ]);
    expect(r.stdout).toMatch(/^cdk-celery: planned restart in slot 1 of 2: offset=\d+s after the window start$/m);
    expectRestartAt(r, periodicRestartSlotSeconds({ instanceIds: ['i-0abc', 'i-0abd'], instanceId: 'i-0abc', groupName: 'fleet-Group-ABC', window: Duration.hours(2) }));
  });

  test('random fleets (1 to 150 instances, windows of 1 minute to 24 hours, listed in any order): the same offset as the rule', () => {
    for (let f = 0; f < 150; f++) {
      const ids = fleet(int(1, 150));
      const group = groupName();
      const seconds = rand() < 0.5 ? 7200 : int(60, 86400);
      const me = ids[int(0, ids.length - 1)];
      // `--output text` prints the list tab-separated on one line.
      const r = run(me, group, seconds, `${shuffled(ids).join('\t')}\n`);
      const expected = periodicRestartSlotSeconds({ instanceIds: ids, instanceId: me, groupName: group, window: Duration.seconds(seconds) });
      try {
        expectRestartAt(r, expected);
        expect(r.stdout).toContain(`slot ${[...ids].sort().indexOf(me) + 1} of ${ids.length}:`);
      } catch (e) {
        throw new Error(`fleet ${f} (seed ${SEED}): ${me} of ${JSON.stringify(ids)}, group ${JSON.stringify(group)}, window ${seconds}: ${e}\n${r.stdout}${r.stderr}`);
      }
    }
  });

  test('every instance of one 30-instance fleet: the rule\'s offsets, 4 minutes apart', () => {
    const ids = fleet(30);
    const group = groupName();
    const listing = `${ids.join('\t')}\n`;
    const offsets = ids.map((me) => {
      const r = run(me, group, 7200, listing);
      expectRestartAt(r, periodicRestartSlotSeconds({ instanceIds: ids, instanceId: me, groupName: group }));
      return r.offset;
    }).sort((a, b) => a - b);
    for (let i = 1; i < offsets.length; i++) expect(offsets[i] - offsets[i - 1]).toBeGreaterThanOrEqual(239);
  });

  test.each([
    ['the call fails (throttled after the retries)', undefined, /could not list the InService instances of .* \(exit 254\); planned restart at this instance's fallback offset=/],
    ['the instance is not InService (leaving, pending, standby)', 'others', /is not among the 5 InService instances of .*; planned restart at this instance's fallback offset=/],
    ['the group lists no instance', '\n', /is not among the 0 InService instances/],
    ['the group is not found', 'None\n', /is not among the 0 InService instances/],
  ])('fallback when %s: the rule\'s per-instance offset, and why', (_name, listing, why) => {
    for (let k = 0; k < 15; k++) {
      const me = instanceId();
      const group = groupName();
      const seconds = int(60, 86400);
      const others = fleet(5);
      const r = run(me, group, seconds, listing === 'others' ? `${others.join('\t')}\n` : listing);
      expect(r.stderr).toMatch(why);
      expectRestartAt(r, periodicRestartSlotSeconds({
        instanceIds: listing === undefined ? undefined : listing === 'others' ? others : [], instanceId: me, groupName: group, window: Duration.seconds(seconds),
      }));
    }
  });

  test('fallback offsets differ across instances (never the window start for everyone)', () => {
    const offsets = Array.from({ length: 20 }, () => run(instanceId(), 'g', 7200, undefined).offset);
    expect(new Set(offsets).size).toBeGreaterThan(15);
  });
});
