import { readdirSync, readFileSync } from 'fs';
import { BenchResults, QUICK_PLAN, runBenchmark } from '../../bench/benchmark';
import { renderReport } from '../../bench/report';
import { mostInAnySpan, simulateSpread } from '../../bench/restart-spread';
import { evaluateTargets } from '../../bench/targets';
import { celeryInstalls } from '../../test/harness/celery';
import { HARNESS_MARKER_VAR } from '../../test/harness/reaper';

// The benchmark's smallest cell (N=1, R=0, one Celery installation, one repetition), run through
// the same code as `npx projen bench`, so the benchmark cannot rot. Structure and physics only:
// no timing is asserted.

jest.setTimeout(240_000);

const install = celeryInstalls().find((i) => !i.absent);

/** Live processes tagged by a harness resource (broker, worker, floor consumer) of this test process. */
function leftovers(): string[] {
  const prefixes = ['rabbitmq', 'celery', 'floor'].map((label) => `${HARNESS_MARKER_VAR}=${label}-${process.pid}-`);
  const found: string[] = [];
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const tag = readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').find((v) => prefixes.some((p) => v.startsWith(p)));
      if (tag) found.push(`${entry} ${tag}`);
    } catch {
      // Ended while we looked.
    }
  }
  return found;
}

describe('benchmark smoke run', () => {
  let results: BenchResults;
  let report: string;

  beforeAll(async () => {
    if (!install) throw new Error(`no Celery installation: ${celeryInstalls().map((i) => i.absent).join('; ')}`);
    results = await runBenchmark({ plan: QUICK_PLAN, mode: 'quick', installs: [install], seed: 'smoke', log: () => undefined });
    report = renderReport(results);
  }, 240_000);

  test('one join cell per variant, with the joiner\'s bytes counted', () => {
    expect(results.join.map((c) => [c.variant, c.n, c.r, c.held, c.samples.length])).toEqual([
      ['baseline', 1, 0, 0, 1],
      ['generated', 1, 0, 0, 1],
    ]);
    for (const cell of results.join) {
      const [sample] = cell.samples;
      expect(sample.joinerBytes).toBeGreaterThan(0);
      expect(cell.median).toBe(sample.total);
      expect(sample.total).toBeCloseTo(sample.joinerBytes + sample.othersBytes - sample.othersBackground, 6);
    }
  });

  test('the generated join costs less than the baseline one (no mingle, gossip or heartbeat events)', () => {
    const baseline = results.join.find((c) => c.variant === 'baseline')!;
    const generated = results.join.find((c) => c.variant === 'generated')!;
    expect(generated.median).toBeLessThan(baseline.median);
    // With mingle off nobody answers the joiner. An 8-byte AMQP heartbeat frame of the running
    // worker may fall in the window; a mingle reply, even of an empty set, is hundreds of bytes.
    expect(generated.samples[0].othersBytes).toBeLessThan(64);
    // A baseline joiner opens more connections than the consumer one (events, gossip).
    expect(baseline.samples[0].joinerBytes).toBeGreaterThan(generated.samples[0].joinerBytes);
  });

  test('the physical floor is a real consumer\'s cost and below the baseline join', () => {
    expect(results.floors).toHaveLength(1);
    const floor = results.floors[0];
    expect(floor.celery).toBe(install!.version);
    // AMQP handshake alone (protocol header, start-ok, tune-ok, open) is a few hundred bytes.
    expect(floor.median).toBeGreaterThan(200);
    expect(floor.median).toBeLessThan(results.join.find((c) => c.variant === 'baseline')!.median);
  });

  test('spread and synth ran; targets judged only on what ran', () => {
    expect(results.spread.map((s) => [s.scenario, s.instances])).toEqual([['slots', 30], ['listing failed', 30], ['3 fleets, one broker', 30]]);
    expect(results.spread[0].worst).toBeGreaterThanOrEqual(results.spread[0].median);
    expect(results.synth.points).toHaveLength(1);
    expect(results.synth.points[0].resources).toBeGreaterThan(10);
    expect(results.synth.points[0].templateBytes).toBeGreaterThan(1000);
    expect(results.targets).toHaveLength(6);
    expect(results.targets.find((t) => t.target.startsWith('Idle'))!.verdict).toBe('NOT RUN');
    expect(results.targets.find((t) => t.target.startsWith('Generated join ingress'))!.verdict).not.toBe('NOT RUN');
  });

  test('the report has every section and the machine line', () => {
    for (const heading of ['## 1. Join ingress', '## 2. Restart waves', '## 3. Idle cost', '## 4. Physical floor', '## 5. Restart spread', '## 6. Synth cost', '## Targets']) {
      expect(report).toContain(heading);
    }
    expect(report).toContain(`RabbitMQ ${results.machine.rabbitmq}`);
    expect(results.machine.rabbitmq).toMatch(/^\d+\.\d+\.\d+$/);
    expect(report).toContain(`Celery ${install!.version}`);
  });

  test('nothing is left running', () => {
    expect(leftovers()).toEqual([]);
  });
});

describe('restart spread model', () => {
  test('mostInAnySpan counts a half-open 60 s span', () => {
    expect(mostInAnySpan([])).toBe(0);
    expect(mostInAnySpan([0, 59, 60, 119, 500])).toBe(2);
    expect(mostInAnySpan([10, 10, 10, 70])).toBe(3);
    expect(mostInAnySpan([0, 30, 59])).toBe(3);
  });

  test('a seed replays the same fleets; the window is the rendered one', () => {
    const a = simulateSpread(30, 50, 'seed-a', 'listing failed');
    expect(simulateSpread(30, 50, 'seed-a', 'listing failed')).toEqual(a);
    expect(a.windowSeconds).toBe(7200);
    expect(a.worst).toBeLessThanOrEqual(30);
  });

  test('rank slots: one restart per minute per fleet up to window / 60 s instances; the limits are visible', () => {
    for (const n of [30, 100, 120]) expect(simulateSpread(n, 50, 'seed-a').worst).toBe(1);
    // Beyond window / 60 s instances, slots are less than a minute apart: at most ceil(60 n / window).
    expect(simulateSpread(250, 20, 'seed-a').worst).toBe(3);
    // Independent fallback offsets crowd more than slots do (the old rule's distribution).
    expect(simulateSpread(30, 200, 'seed-a', 'listing failed').median).toBeGreaterThan(1);
    // Three fleets on one broker: up to one restart per fleet in the same minute.
    const shared = simulateSpread(30, 200, 'seed-a', '3 fleets, one broker');
    expect(shared.worst).toBeLessThanOrEqual(3);
    expect(shared.worst).toBeGreaterThan(1);
  });
});

describe('targets', () => {
  const cell = (variant: 'baseline' | 'generated', n: number, r: number, median: number) =>
    ({ celery: '5.6.3', variant, n, r, held: r, samples: [], median });

  test('a generated cell over 16 KB, an uneven grid and a weak incident ratio are misses', () => {
    const join = [cell('baseline', 3, 50_000, 10_000_000), cell('generated', 3, 50_000, 20_000), cell('generated', 1, 0, 700)];
    const verdicts = evaluateTargets({ join, floors: [{ celery: '5.6.3', samples: [650], median: 650 }], idle: [], spread: [], celeryVersions: ['5.6.3'] });
    expect(verdicts.map((v) => v.verdict)).toEqual(['MISS', 'MISS', 'MISS', 'NOT RUN', 'NOT RUN', 'MISS']);
    expect(verdicts[0].detail).toContain('20,000');
  });

  test('a flat, small grid passes', () => {
    const join = [cell('baseline', 3, 50_000, 14_500_000), cell('generated', 3, 50_000, 670), cell('generated', 1, 0, 670)];
    const idle = [
      { celery: '5.6.3', variant: 'baseline' as const, n: 3, inPerMinute: 12_000, outPerMinute: 30_000, windowMs: 60_000 },
      { celery: '5.6.3', variant: 'generated' as const, n: 3, inPerMinute: 0, outPerMinute: 0, windowMs: 60_000 },
    ];
    const verdicts = evaluateTargets({ join, floors: [{ celery: '5.6.3', samples: [650], median: 650 }], idle, spread: [], celeryVersions: ['5.6.3'] });
    expect(verdicts.map((v) => v.verdict)).toEqual(['PASS', 'PASS', 'PASS', 'PASS', 'NOT RUN', 'PASS']);
  });
});
