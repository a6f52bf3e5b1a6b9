import { DoctorFacts } from './facts';
import { Finding } from './finding';
import { formatBytes, formatCount, formatTime, listSome } from './format';
import { MEMORY_USED_PERCENT } from './knowledge';

/** A peak is this many times the window's median period... */
const PEAK_RATIO = 10;
/** ...and at least this many bytes in one period, to count. */
const PEAK_MIN_BYTES = 10_000_000;
/** A drop of connections to this fraction of the median is a mass disconnect. */
const CONNECTION_DROP_FRACTION = 0.5;

/** Checks of the broker's CloudWatch metrics and alarms. */
export function metricsChecks(facts: DoctorFacts): Finding[] {
  const m = facts.metrics;
  const b = facts.broker;
  if (!m || !b) return [];
  const subject = `broker ${b.name}`;
  const out: Finding[] = [];
  const add = (f: Omit<Finding, 'section' | 'subject'> & { subject?: string }) => out.push({ section: 'metrics', subject, ...f });
  const dims = (d: { [k: string]: string }) => Object.entries(d).map(([k, v]) => `${k}=${v}`).join(',');

  // Which dimensions NetworkIn is published under.
  if (m.networkInDimensions.length === 0) {
    add({
      check: 'metrics.network-dimensions',
      severity: 'info',
      title: 'no NetworkIn data for this broker',
      evidence: [`CloudWatch lists no AWS/AmazonMQ NetworkIn with Broker=${b.name} or BrokerId=${b.id} (it lists metrics with data in the last 2 weeks)`],
    });
  } else {
    const byName = m.networkInDimensions.some((d) => d.Broker === b.name);
    add({
      check: 'metrics.network-dimensions',
      severity: byName ? 'ok' : 'info',
      title: `NetworkIn is published under ${listSome(m.networkInDimensions.map(dims))}`,
      evidence: [byName ? 'the dimension the library alarms on (Broker = broker name)' : `not under Broker=${b.name}: alarms must use ${dims(m.networkInDimensions[0])}`],
    });
  }

  for (const a of m.alarms) {
    if (!a.metricListed) {
      add({
        check: 'metrics.alarm-without-data',
        severity: 'high',
        subject: `alarm ${a.name}`,
        title: `alarm watches a metric with no data: ${a.metricName}{${dims(a.dimensions)}}`,
        evidence: [
          `CloudWatch lists no ${a.namespace} ${a.metricName} with exactly ${dims(a.dimensions)}: the alarm can never fire`,
          ...(a.metricName === 'NetworkIn' && m.networkInDimensions.length > 0 ? [`NetworkIn is published under ${listSome(m.networkInDimensions.map(dims))}`] : []),
        ],
        fix: 'Alarm on the dimensions CloudWatch lists (CeleryMonitoring uses Broker = broker name).',
      });
    }
    if (a.state === 'INSUFFICIENT_DATA') {
      add({
        check: 'metrics.alarm-insufficient-data',
        severity: 'medium',
        subject: `alarm ${a.name}`,
        title: 'alarm is in INSUFFICIENT_DATA',
        evidence: [`${a.metricName}{${dims(a.dimensions)}}: state ${a.state}`],
        fix: 'Check the metric name, dimensions and period; an alarm without data protects nothing.',
      });
    }
  }
  const watched = (name: string) => m.alarms.some((a) => a.metricName === name && a.metricListed);
  const unwatched = ['NetworkIn', 'RabbitMQMemUsed', 'ConnectionCount'].filter((n) => !watched(n));
  add({
    check: 'metrics.alarm-coverage',
    severity: unwatched.length > 0 ? 'medium' : 'ok',
    title: unwatched.length > 0 ? `no working alarm on ${unwatched.join(', ')}` : 'ingress, memory and connections have alarms',
    evidence: [`${m.alarms.length} alarm(s) name this broker; working ones watch: ${listSome([...new Set(m.alarms.filter((a) => a.metricListed).map((a) => a.metricName ?? '?'))]) || 'none'}`],
    fix: unwatched.length > 0 ? 'CeleryMonitoring alarms on broker ingress, memory, connections and CPU before the broker falls over.' : undefined,
  });

  out.push(...ingressCheck(facts, subject));

  // Memory headroom.
  if (m.memoryUsed && m.memoryLimit) {
    const peakIndex = argMax(m.memoryUsed.values);
    const used = m.memoryUsed.values[peakIndex];
    const limit = Math.min(...m.memoryLimit.values);
    const percent = limit > 0 ? (100 * used) / limit : 0;
    add({
      check: 'metrics.memory-headroom',
      severity: percent >= MEMORY_USED_PERCENT ? 'high' : percent >= MEMORY_USED_PERCENT - 20 ? 'medium' : 'ok',
      title: `memory peaked at ${percent.toFixed(0)} % of the limit`,
      evidence: [`RabbitMQMemUsed max ${formatBytes(used)} at ${formatTime(m.memoryUsed.timestamps[peakIndex])}; RabbitMQMemLimit ${formatBytes(limit)}; at 100 % publishers are blocked`],
      fix: percent >= MEMORY_USED_PERCENT - 20 ? 'A larger RabbitMqBroker instanceType, and mingle off so restarts do not fill memory with revoked sets.' : undefined,
    });
  } else {
    add({ check: 'metrics.memory-headroom', severity: 'info', title: 'no memory data in the window', evidence: ['RabbitMQMemUsed or RabbitMQMemLimit has no data points'] });
  }

  // Connection churn: a mass disconnect and reconnect.
  const c = m.connections;
  if (c && c.values.length >= 3) {
    const med = median(c.values);
    let worst = -1;
    for (let i = 1; i < c.values.length; i++) {
      if (c.values[i] < med * CONNECTION_DROP_FRACTION && (worst < 0 || c.values[i] < c.values[worst])) worst = i;
    }
    const maxJump = Math.max(...c.values.slice(1).map((v, i) => Math.abs(v - c.values[i])));
    add({
      check: 'metrics.connection-churn',
      severity: worst >= 0 ? 'medium' : 'ok',
      title: worst >= 0 ? `connections fell to ${formatCount(c.values[worst])} at ${formatTime(c.timestamps[worst])}` : 'no mass disconnect',
      evidence: [`ConnectionCount median ${formatCount(med)}, min ${formatCount(Math.min(...c.values))}, max ${formatCount(Math.max(...c.values))}, largest change between periods ${formatCount(maxJump)}`,
        ...(worst >= 0 ? ['every worker reconnecting reruns mingle if it is on'] : [])],
      fix: worst >= 0 ? 'Find what disconnected the fleet (a broker reboot, a fleet-wide restart); keep mingle off so reconnects are cheap.' : undefined,
    });
  } else {
    add({ check: 'metrics.connection-churn', severity: 'info', title: 'no connection data in the window', evidence: ['ConnectionCount has fewer than 3 data points'] });
  }
  return out;
}

/** Ingress peaks and whether they line up with worker restarts (launches, restart metrics, schedules). */
function ingressCheck(facts: DoctorFacts, subject: string): Finding[] {
  const m = facts.metrics!;
  const s = m.ingress;
  if (!s || s.values.length === 0) {
    return [{ check: 'metrics.ingress-peaks', section: 'metrics', subject, severity: 'info', title: 'no ingress data in the window', evidence: ['NetworkIn has no data points'] }];
  }
  const med = median(s.values);
  const peaks = s.values.map((v, i) => ({ v, i })).filter((p) => p.v >= PEAK_MIN_BYTES && p.v >= PEAK_RATIO * Math.max(med, 1))
    .sort((a, b) => b.v - a.v).slice(0, 3);
  const periodMs = m.periodSeconds * 1000;
  const restartsAt = restartMoments(facts);
  const describe = (p: { v: number; i: number }) => {
    const t = s.timestamps[p.i];
    const near = restartsAt.filter((r) => r.matches(t, periodMs)).map((r) => r.what);
    return { text: `${formatBytes(p.v)} in ${m.periodSeconds / 60} min at ${formatTime(t)}${near.length ? ` = ${listSome([...new Set(near)], 2)}` : ''}`, aligned: near.length > 0 };
  };
  const top = argMax(s.values);
  if (peaks.length === 0) {
    return [{
      check: 'metrics.ingress-peaks',
      section: 'metrics',
      subject,
      severity: 'ok',
      title: 'no ingress peak',
      evidence: [`NetworkIn median ${formatBytes(med)} per ${m.periodSeconds / 60} min, max ${formatBytes(s.values[top])} at ${formatTime(s.timestamps[top])}`],
    }];
  }
  const described = peaks.map(describe);
  const aligned = described.some((d) => d.aligned);
  return [{
    check: 'metrics.ingress-peaks',
    section: 'metrics',
    subject,
    severity: aligned ? 'high' : 'medium',
    title: aligned ? 'ingress peaks line up with worker restarts' : 'ingress peaks (no worker restart found at the same time)',
    evidence: [`NetworkIn median ${formatBytes(med)} per ${m.periodSeconds / 60} min`, ...described.map((d) => d.text)],
    fix: aligned
      ? 'Workers with mingle on pull every peer\'s revoked set at start: CeleryWorkerFleet renders --without-mingle and spreads restarts (periodicRestart).'
      : 'Look for what published at those times; run with --asg to line peaks up with the fleets.',
  }];
}

interface Moment { what: string; matches(t: Date, periodMs: number): boolean }

function restartMoments(facts: DoctorFacts): Moment[] {
  const out: Moment[] = [];
  for (const f of facts.fleets ?? []) {
    for (const l of f.launches) out.push({ what: `launch in ${f.name}`, matches: (t, p) => Math.abs(t.getTime() - l.getTime()) <= p });
    for (const sch of f.schedules) {
      if (!sch.firesAt) continue;
      const at = sch.firesAt;
      out.push({
        what: `${f.name} ${sch.kind === 'cron' ? 'cron' : 'timer'} ${sch.schedule}`,
        matches: (t, p) => {
          // The period that contains the scheduled minute (same hour, or any hour for hourly schedules).
          for (const d of [-1, 0, 1]) {
            const c = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate() + d, at.hour ?? t.getUTCHours(), at.minute));
            if (c.getTime() >= t.getTime() - p && c.getTime() < t.getTime() + p) return true;
          }
          return false;
        },
      });
    }
  }
  const restarts = facts.metrics?.workerRestarts ?? {};
  for (const [group, series] of Object.entries(restarts)) {
    series.values.forEach((v, i) => {
      if (v <= 0) return;
      const at = series.timestamps[i];
      out.push({ what: `${formatCount(v)} worker restart(s) in ${group}`, matches: (t, p) => Math.abs(t.getTime() - at.getTime()) <= p });
    });
  }
  return out;
}

export function median(values: number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function argMax(values: number[]): number {
  let best = 0;
  values.forEach((v, i) => { if (v > values[best]) best = i; });
  return best;
}

