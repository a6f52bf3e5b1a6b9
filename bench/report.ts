import { BenchResults, BrokerRun } from './benchmark';
import { BrokerSetupName, setupDescription, setupHeading } from './broker-setups';
import { BACKGROUND_WINDOW_MS, JoinCell, JOIN_QUIET_MS, JOIN_SETTLE_MS } from './join-ingress';
import { bytes, ms, ratio, table } from './markdown';
import { median } from './stats';
import { CLOUDFORMATION_MAX_RESOURCES } from './synth-cost';
import { TARGETS } from './targets';
import { GENERATED_REVOKES_MAX } from './worker-commands';

/** Where the chart is written beside the report, and committed for the README. */
export const CHART_FILE = 'join-ingress.svg';

/** Marks a cell of a Celery version that does not run on that broker. */
const DOES_NOT_RUN = 'n/a';

export function heading(run: BrokerRun): string {
  return setupHeading(run.setup, run.rabbitmq);
}

function headingOf(r: BenchResults, name: BrokerSetupName): string {
  const run = r.brokers.find((b) => b.setup.name === name);
  return run ? heading(run) : name;
}

export function machineLine(r: BenchResults): string {
  const m = r.machine;
  const rabbitmq = [...new Map(r.brokers.map((b) => [b.setup.profile, `RabbitMQ ${b.rabbitmq} (\`${b.setup.profile}\`)`])).values()];
  return `${m.cpuModel}, ${m.cores} cores, ${m.memoryGib} GiB, ${m.os}; ${rabbitmq.join('; ')}; ${m.celery.join('; ')}; Node ${m.node}; `
    + `${m.date.slice(0, 16).replace('T', ' ')} UTC`;
}

/**
 * The load line: other engineers' suites share the cores, and a number taken under load says so.
 * The benchmark's own workers count too, so a short peak above the core count is its own; a run
 * above it for more than a quarter of the time was slowed down.
 */
export function loadLine(r: BenchResults): string {
  const l = r.load;
  const above = Math.round(l.shareAboveCores * 100);
  const line = `Load (1-minute average, ${l.samples} samples over the run): ${l.atStart.toFixed(2)} at start, median ${l.median.toFixed(2)}, `
    + `max ${l.max.toFixed(2)}, ${l.atEnd.toFixed(2)} at end; above the ${r.machine.cores} cores in ${above} % of the samples.`;
  if (l.shareAboveCores <= 0.25) return line;
  return `${line} **Taken under load** (other processes shared the cores): durations and synth times are inflated; byte counts do `
    + 'not depend on timing, except through the baseline fleets\' background subtraction (a few hundred bytes).';
}

function brokersSection(r: BenchResults): string {
  const lines = r.brokers.map((b) => {
    const skipped = b.skipped.map((s) => `Celery ${s.celery} not run: ${s.reason}`);
    const celery = `Celery ${b.celery.join(', ')}.${skipped.length > 0 ? ` ${skipped.join('; ')}.` : ''}`;
    return `- **${heading(b)}** (\`--broker ${b.setup.name}\`): ${setupDescription(b.setup, b.rabbitmq)}. ${celery}`;
  });
  return ['Brokers:', '', ...lines].join('\n');
}

function joinSection(r: BenchResults): string {
  const find = (broker: BrokerSetupName, celery: string, variant: string, n: number, rv: number) =>
    r.join.find((c) => c.broker === broker && c.celery === celery && c.variant === variant && c.n === n && c.r === rv);
  const celeryVersions = [...new Set(r.join.map((c) => c.celery))].sort();
  const rows = [];
  for (const celery of celeryVersions) {
    for (const n of r.plan.ns) {
      for (const rv of r.plan.rs) {
        const cells = r.brokers.map((b) => [find(b.setup.name, celery, 'baseline', n, rv), find(b.setup.name, celery, 'generated', n, rv)]);
        const any = cells.flat().filter((c): c is JoinCell => c !== undefined);
        if (any.length === 0) continue;
        const held = `${bytes(any.find((c) => c.variant === 'baseline')?.held ?? NaN)} / ${bytes(any.find((c) => c.variant === 'generated')?.held ?? NaN)}`;
        const shown = (c: JoinCell | undefined) => (c ? bytes(c.median) : DOES_NOT_RUN);
        rows.push([celery, n, bytes(rv), held, ...cells.flatMap(([base, gen]) => [shown(base), shown(gen)])]);
      }
    }
  }
  const headers = ['Celery', 'N', 'R', 'held (baseline / generated)', ...r.brokers.flatMap((b) => [`${heading(b)} baseline`, `${heading(b)} generated`])];
  return [
    '## 1. Join ingress',
    `Bytes into the broker when one worker joins N running workers that each hold R revoked ids (median of ${r.plan.repetitions}), side by side per broker. `
    + `The joiner's own bytes over every connection it opens (closed ones included), from connect to ${JOIN_SETTLE_MS / 1000} s after "ready." `
    + `and until the counts are still for ${JOIN_QUIET_MS} ms, plus what the running workers sent meanwhile, minus their idle rate (from a `
    + `${BACKGROUND_WINDOW_MS / 1000} s idle window) over the same time. Held: ids each running worker kept (generated caps the set at `
    + `${bytes(GENERATED_REVOKES_MAX)} on Celery >= 5.3). ${DOES_NOT_RUN}: that Celery does not run on that broker (see above). Chart: \`${CHART_FILE}\`.`,
    '',
    table(headers, rows),
    '',
    incidentTable(r),
  ].join('\n');
}

/** The incident's cell, with the ratio and where the generated joiner's bytes go. */
function incidentTable(r: BenchResults): string {
  const { n, r: rv } = TARGETS.incidentCell;
  const rows = [];
  for (const b of r.brokers) {
    for (const celery of b.celery) {
      const cell = (variant: string) =>
        r.join.find((c) => c.broker === b.setup.name && c.celery === celery && c.variant === variant && c.n === n && c.r === rv);
      const base = cell('baseline');
      const gen = cell('generated');
      if (!base || !gen) continue;
      const connections = [...new Set(gen.samples.map((s) => s.joinerConnections))].join(' or ');
      rows.push([heading(b), celery, bytes(base.median), bytes(gen.median), ratio(base.median, gen.median),
        `${bytes(median(gen.samples.map((s) => s.joinerBytes)))} on ${connections} connection${connections === '1' ? '' : 's'}`,
        bytes(median(gen.samples.map((s) => s.othersBytes - s.othersBackground)))]);
    }
  }
  if (rows.length === 0) return '';
  return [
    `At the incident's cell (N=${n}, R=${bytes(rv)}):`,
    '',
    table(['broker', 'Celery', 'baseline bytes', 'generated bytes', 'baseline / generated', 'generated joiner\'s own bytes', 'generated: running workers\' bytes'], rows),
  ].join('\n');
}

function wavesSection(r: BenchResults): string {
  if (r.waves.length === 0) return '## 2. Restart waves\nNot run.';
  const rows = [];
  for (const b of r.brokers) {
    for (const mode of [...new Set(r.waves.map((w) => w.mode))]) {
      const find = (variant: string) => r.waves.find((w) => w.broker === b.setup.name && w.mode === mode && w.variant === variant);
      const base = find('baseline');
      const gen = find('generated');
      if (!base || !gen) continue;
      rows.push([heading(b), base.celery, mode, bytes(base.bytes), bytes(gen.bytes), ratio(base.bytes, gen.bytes), `${ms(base.durationMs)} / ${ms(gen.durationMs)}`]);
    }
  }
  const w = r.waves[0];
  return [
    '## 2. Restart waves',
    `All N=${w.n} workers (each holding ${bytes(r.plan.waveR)} revoked ids, capped as above) restarted at the same moment, or one after `
    + 'the other (next stops when the previous is ready), with the newest Celery that runs on each broker. Raw ingress during the wave, '
    + 'background included, over every connection of the old and the new workers (their last frames and short-lived connections included). '
    + 'All at once, every holder of a revoked set stops before a newcomer asks, so no set is left to send; one by one, each newcomer pulls '
    + 'the N-1 sets of the running workers.',
    '',
    table(['broker', 'Celery', 'wave', 'baseline bytes', 'generated bytes', 'baseline / generated', 'duration (baseline / generated)'], rows),
  ].join('\n');
}

function idleSection(r: BenchResults): string {
  if (r.idle.length === 0) return '## 3. Idle cost\nNot run.';
  const rows = [];
  for (const b of r.brokers) {
    for (const celery of b.celery) {
      const find = (variant: string) => r.idle.find((i) => i.broker === b.setup.name && i.celery === celery && i.variant === variant);
      const base = find('baseline');
      const gen = find('generated');
      if (!base || !gen) continue;
      rows.push([heading(b), celery, bytes(base.inPerMinute), bytes(gen.inPerMinute), ratio(base.inPerMinute, gen.inPerMinute),
        bytes(base.outPerMinute), bytes(gen.outPerMinute)]);
    }
  }
  return [
    '## 3. Idle cost',
    `Bytes per minute per idle worker (median of the ${r.idle[0].n} workers of an idle fleet), over ${ms(r.idle[0].windowMs)}; the fleets of one broker idle in the same window.`,
    '',
    table(['broker', 'Celery', 'baseline in', 'generated in', 'baseline / generated (in)', 'baseline out', 'generated out'], rows),
  ].join('\n');
}

function floorSection(r: BenchResults): string {
  const rows = [];
  for (const b of r.brokers) {
    for (const celery of b.celery) {
      const consumer = r.floors.find((f) => f.broker === b.setup.name && f.celery === celery && f.kind === 'consumer');
      if (!consumer) continue;
      const delayed = r.floors.find((f) => f.broker === b.setup.name && f.celery === celery && f.kind === 'consumer + delayed delivery');
      const medians = r.join.filter((c) => c.broker === b.setup.name && c.variant === 'generated' && c.celery === celery).map((c) => c.median);
      const worst = medians.length > 0 ? Math.max(...medians) : NaN;
      const best = medians.length > 0 ? Math.min(...medians) : NaN;
      rows.push([heading(b), celery, bytes(consumer.median), delayed ? bytes(delayed.median) : '-', `${bytes(best)} to ${bytes(worst)}`,
        `${(worst / consumer.median).toFixed(2)}x${delayed ? ` (${(worst / delayed.median).toFixed(2)}x)` : ''}`]);
    }
  }
  return [
    '## 4. Physical floor',
    'A bare kombu consumer (no Celery) connecting and consuming the same queues, declared as the generated worker declares them on that '
    + 'broker: the task queue and the node\'s remote-control queue (median of ' + `${r.plan.floorRepetitions}). In a quorum vhost also the same consumer `
    + 'plus Celery\'s native delayed-delivery topology (28 delay queues and exchanges, declared on a connection of its own that closes), which '
    + 'every Celery >= 5.5 worker declares on start there; in brackets the generated join against that floor.',
    '',
    table(['broker', 'Celery', 'floor: consumer', 'floor: consumer + delayed delivery', 'generated join (cell medians)', 'worst generated / floor'], rows),
  ].join('\n');
}

function spreadSection(r: BenchResults): string {
  const rows = r.spread.map((s) => [s.scenario, s.instances, `${s.windowSeconds / 60} min`, s.firstFleet, s.median, s.p99, s.worst, `${(s.shareAbove2 * 100).toFixed(1)} %`]);
  return [
    '## 5. Restart spread',
    'Most periodic restarts in any 60 s, through the fleet\'s rule (`periodicRestartSlotSeconds`, window read from the rendered script), '
    + `${r.spread[0]?.fleets ?? 0} simulated fleets with random instance ids and group names, seed \`${r.seed}\`. `
    + '*slots*: every instance lists its group and restarts at its rank slot; *listing failed*: every instance uses its fallback offset '
    + '(the guarantee\'s worst case); *3 fleets, one broker*: three such fleets sharing the window, counted together. No broker involved.',
    '',
    table(['scenario', 'instances per fleet', 'window', 'one fleet', 'median fleet', 'p99', 'worst fleet', 'fleets with > 2'], rows),
  ].join('\n');
}

function synthSection(r: BenchResults): string {
  const s = r.synth;
  const rows = s.points.map((p) => [p.fleets, p.resources > CLOUDFORMATION_MAX_RESOURCES ? `${p.resources} (over ${CLOUDFORMATION_MAX_RESOURCES})` : p.resources,
    bytes(p.templateBytes), ms(p.ms)]);
  const lines = [
    '## 6. Synth cost',
    `One stack: a VPC, one RabbitMqBroker and K worker fleets; wall time of construct + synth (median of ${r.plan.synthRepetitions}, after a warm-up). `
    + 'The CDK\'s own 500-resource check is off so that large counts can be measured.',
    '',
    table(['fleets', 'resources', 'template bytes', 'synth time'], rows),
  ];
  if (s.points.length > 1) {
    const maxFleets = Math.floor((CLOUDFORMATION_MAX_RESOURCES - s.resourcesPerFleet.intercept) / s.resourcesPerFleet.slope);
    lines.push('', `Per fleet: ${bytes(s.bytesPerFleet.slope)} template bytes (fit within ${(s.bytesPerFleet.maxRelativeResidual * 100).toFixed(1)} %), `
      + `${s.msPerFleet.slope.toFixed(1)} ms (fit within ${(s.msPerFleet.maxRelativeResidual * 100).toFixed(0)} %), ${s.resourcesPerFleet.slope.toFixed(0)} resources. `
      + `A stack holds at most ${CLOUDFORMATION_MAX_RESOURCES} resources: ${maxFleets} fleets per stack with this broker and VPC.`);
  }
  return lines.join('\n');
}

function targetsSection(r: BenchResults): string {
  const rows = r.targets.map((t) => [t.target, t.broker ? headingOf(r, t.broker) : 'any', t.verdict, t.detail]);
  return ['## Targets (issue 4), per broker', '', table(['target', 'broker', 'result', 'detail'], rows)].join('\n');
}

/** The whole result as markdown. */
export function renderReport(r: BenchResults): string {
  return [
    `# cdk-celery benchmark (${r.mode})`,
    '',
    `Machine: ${machineLine(r)}. ${loadLine(r)} Run time ${ms(r.durationMs)}. Reproduce: \`npx projen bench${r.mode === 'quick' ? ' -- --quick' : ''}\`.`,
    '',
    brokersSection(r),
    '',
    joinSection(r), '', wavesSection(r), '', idleSection(r), '', floorSection(r), '', spreadSection(r), '', synthSection(r), '', targetsSection(r), '',
  ].join('\n');
}
