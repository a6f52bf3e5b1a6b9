import { readdirSync, readFileSync } from 'fs';
import { BenchResults, QUICK_PLAN, runBenchmark } from '../../bench/benchmark';
import { BROKER_SETUPS, BrokerSetupName } from '../../bench/broker-setups';
import { CHART_VARIANTS, renderJoinChart } from '../../bench/chart';
import { heading, renderReport } from '../../bench/report';
import { mostInAnySpan, simulateSpread } from '../../bench/restart-spread';
import { evaluateTargets } from '../../bench/targets';
import { celeryInstalls } from '../../test/harness/celery';
import { HARNESS_MARKER_VAR } from '../../test/harness/reaper';

// The benchmark's smallest cell (N=1, R=0, one Celery installation per broker, one repetition) on
// RabbitMQ 3 and in a quorum vhost of RabbitMQ 4, run through the same code as `npx projen bench`,
// so the benchmark cannot rot. Structure and physics only: no timing is asserted.

jest.setTimeout(420_000);

const SETUPS = BROKER_SETUPS.filter((s) => s.name === '3.x' || s.name === 'amazon-mq-4.2/quorum');

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
  const cell = (broker: BrokerSetupName, variant: string) => results.join.find((c) => c.broker === broker && c.variant === variant)!;
  const floor = (broker: BrokerSetupName, kind: string) => results.floors.find((f) => f.broker === broker && f.kind === kind)!;

  beforeAll(async () => {
    const installs = celeryInstalls().filter((i) => !i.absent);
    if (installs.length === 0) throw new Error(`no Celery installation: ${celeryInstalls().map((i) => i.absent).join('; ')}`);
    results = await runBenchmark({ plan: QUICK_PLAN, mode: 'quick', setups: SETUPS, installs, oneInstallPerSetup: true, seed: 'smoke', log: () => undefined });
    report = renderReport(results);
  }, 420_000);

  test('one join cell per broker and variant, with the joiner\'s bytes counted', () => {
    expect(results.brokers.map((b) => [b.setup.name, b.celery.length])).toEqual([['3.x', 1], ['amazon-mq-4.2/quorum', 1]]);
    // The quorum vhost runs a Celery that can consume quorum queues (>= 5.5).
    expect(Number(results.brokers[1].celery[0].split('.')[1])).toBeGreaterThanOrEqual(5);
    expect(results.join.map((c) => [c.broker, c.variant, c.n, c.r, c.held, c.samples.length])).toEqual([
      ['3.x', 'baseline', 1, 0, 0, 1],
      ['3.x', 'generated', 1, 0, 0, 1],
      ['amazon-mq-4.2/quorum', 'baseline', 1, 0, 0, 1],
      ['amazon-mq-4.2/quorum', 'generated', 1, 0, 0, 1],
    ]);
    for (const c of results.join) {
      const [sample] = c.samples;
      expect(sample.joinerBytes).toBeGreaterThan(0);
      expect(c.median).toBe(sample.total);
      expect(sample.total).toBeCloseTo(sample.joinerBytes + sample.othersBytes - sample.othersBackground, 6);
    }
  });

  test('the generated join costs less than the baseline one on both brokers (no mingle, gossip or heartbeat events)', () => {
    for (const broker of ['3.x', 'amazon-mq-4.2/quorum'] as const) {
      const baseline = cell(broker, 'baseline');
      const generated = cell(broker, 'generated');
      expect(generated.median).toBeLessThan(baseline.median);
      // With mingle off nobody answers the joiner. An 8-byte AMQP heartbeat frame of the running
      // worker may fall in the window; a mingle reply, even of an empty set, is hundreds of bytes.
      expect(generated.samples[0].othersBytes).toBeLessThan(64);
      // A baseline joiner opens more connections than the consumer one (events, gossip).
      expect(baseline.samples[0].joinerConnections).toBeGreaterThan(generated.samples[0].joinerConnections);
    }
  });

  test('on quorum queues the generated joiner also declares Celery\'s delayed-delivery topology, on a connection of its own, and no more', () => {
    const generated = cell('amazon-mq-4.2/quorum', 'generated').samples[0];
    const consumerFloor = floor('amazon-mq-4.2/quorum', 'consumer').median;
    const delayedFloor = floor('amazon-mq-4.2/quorum', 'consumer + delayed delivery').median;
    // The consumer's connection and the one Celery declares its 28 delay queues on.
    expect(generated.joinerConnections).toBe(2);
    // 28 queues, exchanges and bindings: kilobytes, more than three times a bare consumer.
    expect(delayedFloor - consumerFloor).toBeGreaterThan(5_000);
    expect(generated.joinerBytes).toBeGreaterThan(3 * consumerFloor);
    // The same declarations a bare kombu consumer makes for them, within 10 %.
    expect(Math.abs(generated.joinerBytes - delayedFloor)).toBeLessThan(0.1 * delayedFloor);
    // On RabbitMQ 3 the generated joiner is one consumer connection, at its floor.
    expect(cell('3.x', 'generated').samples[0].joinerConnections).toBe(1);
    expect(cell('3.x', 'generated').median).toBeLessThan(3 * floor('3.x', 'consumer').median);
  });

  test('the physical floors are real consumers\' costs and below the baseline join', () => {
    expect(results.floors.map((f) => [f.broker, f.kind, f.samples.length])).toEqual([
      ['3.x', 'consumer', 1],
      ['amazon-mq-4.2/quorum', 'consumer', 1],
      ['amazon-mq-4.2/quorum', 'consumer + delayed delivery', 1],
    ]);
    for (const f of results.floors) {
      // AMQP handshake alone (protocol header, start-ok, tune-ok, open) is a few hundred bytes.
      expect(f.median).toBeGreaterThan(200);
      expect(f.median).toBeLessThan(cell(f.broker, 'baseline').median);
    }
  });

  test('spread and synth ran; targets judged per broker, only on what ran', () => {
    expect(results.spread.map((s) => [s.scenario, s.instances])).toEqual([['slots', 30], ['listing failed', 30], ['3 fleets, one broker', 30]]);
    expect(results.spread[0].worst).toBeGreaterThanOrEqual(results.spread[0].median);
    expect(results.synth.points).toHaveLength(1);
    expect(results.synth.points[0].resources).toBeGreaterThan(10);
    expect(results.synth.points[0].templateBytes).toBeGreaterThan(1000);
    // Five broker targets for each of the two brokers, then the spread.
    expect(results.targets).toHaveLength(11);
    const verdict = (prefix: string, broker?: BrokerSetupName) => results.targets.find((t) => t.target.startsWith(prefix) && t.broker === broker)!;
    for (const broker of ['3.x', 'amazon-mq-4.2/quorum'] as const) {
      expect(verdict('Idle', broker).verdict).toBe('NOT RUN');
      expect(verdict('Generated join ingress', broker).verdict).toBe('PASS');
    }
    expect(verdict('Generated join within', '3.x').verdict).toBe('PASS');
    // The delay queues make the quorum join more than 3x a bare consumer: the report says so.
    expect(verdict('Generated join within', 'amazon-mq-4.2/quorum')).toMatchObject({ verdict: 'MISS', detail: expect.stringContaining('delayed-delivery topology') });
    expect(verdict('Restart spread').verdict).toBe('PASS');
  });

  test('the report shows both brokers, the machine and the load', () => {
    for (const section of ['## 1. Join ingress', '## 2. Restart waves', '## 3. Idle cost', '## 4. Physical floor', '## 5. Restart spread', '## 6. Synth cost', '## Targets']) {
      expect(report).toContain(section);
    }
    expect(results.brokers.map((b) => b.rabbitmq)).toEqual([expect.stringMatching(/^3\.\d+\.\d+$/), expect.stringMatching(/^4\.\d+\.\d+$/)]);
    for (const b of results.brokers) {
      expect(report).toContain(`RabbitMQ ${b.rabbitmq} (\`${b.setup.profile}\`)`);
      // Side by side: a baseline and a generated column per broker.
      expect(report).toContain(`| ${heading(b)} baseline | ${heading(b)} generated |`);
    }
    expect(report).toMatch(/Load \(1-minute average, \d+ samples over the run\): .* above the \d+ cores in \d+ % of the samples\./);
    for (const celery of new Set(results.brokers.flatMap((b) => b.celery))) expect(report).toContain(`Celery ${celery}`);
  });

  test('the chart: an SVG with a panel per broker, both variants, titled axes', async () => {
    const svg = await renderJoinChart(results);
    expect(svg).toMatch(/^<svg [^>]*width="\d+" height="\d+"/);
    for (const text of [
      'Broker bytes per worker join', 'revoked ids per running worker (R)', 'bytes into the broker per join (log scale)',
      CHART_VARIANTS.baseline, CHART_VARIANTS.generated, 'worker command', 'Celery',
      ...results.brokers.map((b) => `RabbitMQ ${b.rabbitmq}`),
    ]) {
      expect(svg).toContain(text);
    }
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
    ({ broker: '3.x' as const, celery: '5.6.3', variant, n, r, held: r, samples: [], median });
  const brokers = [{ name: '3.x' as const, celeryVersions: ['5.6.3'] }];
  const floors = [{ broker: '3.x' as const, celery: '5.6.3', kind: 'consumer' as const, samples: [650], median: 650 }];

  test('a generated cell over 16 KB, an uneven grid and a weak incident ratio are misses', () => {
    const join = [cell('baseline', 3, 50_000, 10_000_000), cell('generated', 3, 50_000, 20_000), cell('generated', 1, 0, 700)];
    const verdicts = evaluateTargets({ join, floors, idle: [], spread: [], brokers });
    expect(verdicts.map((v) => v.verdict)).toEqual(['MISS', 'MISS', 'MISS', 'NOT RUN', 'MISS', 'NOT RUN']);
    expect(verdicts[0].detail).toContain('20,000');
  });

  test('a flat, small grid passes', () => {
    const join = [cell('baseline', 3, 50_000, 14_500_000), cell('generated', 3, 50_000, 670), cell('generated', 1, 0, 670)];
    const idle = [
      { broker: '3.x' as const, celery: '5.6.3', variant: 'baseline' as const, n: 3, inPerMinute: 12_000, outPerMinute: 30_000, windowMs: 60_000 },
      { broker: '3.x' as const, celery: '5.6.3', variant: 'generated' as const, n: 3, inPerMinute: 0, outPerMinute: 0, windowMs: 60_000 },
    ];
    const verdicts = evaluateTargets({ join, floors, idle, spread: [], brokers });
    expect(verdicts.map((v) => v.verdict)).toEqual(['PASS', 'PASS', 'PASS', 'PASS', 'PASS', 'NOT RUN']);
  });

  test('each broker is judged on its own cells: a miss on one broker is not hidden by another', () => {
    const join = [
      cell('baseline', 3, 50_000, 14_500_000), cell('generated', 3, 50_000, 670), cell('generated', 1, 0, 670),
      { ...cell('baseline', 3, 50_000, 14_700_000), broker: 'amazon-mq-4.2/quorum' as const },
      { ...cell('generated', 3, 50_000, 20_000), broker: 'amazon-mq-4.2/quorum' as const },
    ];
    const verdicts = evaluateTargets({
      join, floors, idle: [], spread: [], brokers: [...brokers, { name: 'amazon-mq-4.2/quorum', celeryVersions: ['5.6.3'] }],
    });
    const joinMax = verdicts.filter((v) => v.target.startsWith('Generated join ingress'));
    expect(joinMax.map((v) => [v.broker, v.verdict])).toEqual([['3.x', 'PASS'], ['amazon-mq-4.2/quorum', 'MISS']]);
    expect(verdicts.filter((v) => v.target.startsWith('N=3')).map((v) => v.verdict)).toEqual(['PASS', 'MISS']);
  });
});
