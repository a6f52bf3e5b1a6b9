import { connect } from 'amqplib';
import { Duration } from 'aws-cdk-lib';
import { main } from '../../src/doctor/cli';
import { Finding } from '../../src/doctor/finding';
import { DoctorReport } from '../../src/doctor/report';
import { renderCeleryWorkerCommand } from '../../src/workers/render/celery-worker-command';
import {
  CeleryInstall, CeleryWorker, HARNESS_APP, revokeRandomIds, startWorker, stopAllWorkers, testEachCelery,
} from '../harness/celery';
import { rabbitMqForThisFile, RabbitMqConnection } from '../harness/rabbitmq';
import { pollUntil } from '../harness/reaper';

/**
 * The doctor against a real RabbitMQ (3.10, the harness' broker; the RabbitMQ 4 profiles were not
 * on main when this was written) with real Celery workers of both installations: a fleet of
 * default `celery worker` processes and a fleet of this library's generated workers share a vhost.
 * The doctor must tell them apart finding by finding, and must never send `hello` or `revoked`:
 * a queue of the test's own, bound to the `celery.pidbox` fanout exchange, receives every request
 * the doctor sends, and the workers' byte counters show that no revoked set travelled.
 */

jest.setTimeout(240_000);

const broker = rabbitMqForThisFile({ management: true, beforeStop: stopAllWorkers });

/** Revoked ids each worker holds: a revoked-set reply would be about 98 B x this = ~2 MB per worker. */
const REVOKED_IDS = 20_000;
/** What the doctor's cheap requests may cost the workers' connections, all four together. */
const DOCTOR_WORKER_BYTES_LIMIT = 256 * 1024;

function defaultWorker(install: CeleryInstall, vhost: string, name: string): CeleryWorker {
  return startWorker({
    install,
    brokerUrl: broker().amqpUrl('guest', 'guest', vhost),
    command: { argv: ['celery', '-A', HARNESS_APP, 'worker', '-l', 'INFO', '-c', '2', '-n', `${name}@%h`], environment: {} },
  });
}

function libraryWorker(install: CeleryInstall, vhost: string, name: string): CeleryWorker {
  return startWorker({
    install,
    brokerUrl: broker().amqpUrl('guest', 'guest', vhost),
    command: renderCeleryWorkerCommand({ app: HARNESS_APP, hostname: `${name}@%h`, concurrency: 2, timeLimit: Duration.minutes(5) }),
  });
}

async function runDoctor(vhost: string): Promise<{ code: number; report: DoctorReport; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main([
    'doctor', '--broker-url-env', 'TEST_BROKER_URL', '--management-url', `http://127.0.0.1:${broker().managementPort}`,
    '--timeout', '5', '--heartbeat-sample', '5', '--json', '--fail-on', 'high',
  ], {
    out: (t) => { stdout += t; },
    err: (t) => { stderr += t; },
    env: { TEST_BROKER_URL: broker().amqpUrl('guest', 'guest', vhost) },
    now: () => new Date(),
  });
  return { code, report: JSON.parse(stdout) as DoctorReport, stderr };
}

/** The finding of `check` whose subject names `node`. */
function findingFor(report: DoctorReport, check: string, node: string): Finding {
  const f = report.findings.find((x) => x.check === check && (x.subject.includes(node) || x.evidence.some((e) => e.includes(node))));
  if (!f) throw new Error(`no ${check} finding for ${node}:\n${JSON.stringify(report.findings.filter((x) => x.check === check), null, 2)}`);
  return f;
}

async function watchPidbox(vhost: string): Promise<{ methods: () => string[]; close: () => Promise<void> }> {
  const conn = await connect(broker().amqpUrl('guest', 'guest', vhost));
  const ch = await conn.createChannel();
  // The exchange exists once a worker with remote control runs; declare it as kombu does.
  await ch.assertExchange('celery.pidbox', 'fanout', { durable: false, autoDelete: false });
  const q = await ch.assertQueue('', { exclusive: true });
  await ch.bindQueue(q.queue, 'celery.pidbox', '');
  const seen: string[] = [];
  await ch.consume(q.queue, (msg) => {
    if (msg) seen.push(String((JSON.parse(msg.content.toString('utf8')) as { method?: string }).method));
  }, { noAck: true });
  return { methods: () => [...seen], close: () => conn.close() };
}

async function managementConsumers(vhost: string): Promise<string[]> {
  const res = await fetch(`http://127.0.0.1:${broker().managementPort}/api/consumers/${encodeURIComponent(vhost)}`, {
    headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
  });
  return ((await res.json()) as Array<{ queue: { name: string } }>).map((c) => c.queue.name);
}

function recvOf(connections: RabbitMqConnection[], pgids: Set<number>): number {
  return connections.filter((c) => pgids.has(c.clientPgid ?? -1)).reduce((n, c) => n + c.recvOct, 0);
}

testEachCelery('tells a default fleet from the generated fleet, without hello or revoked', async (install) => {
  const vhost = `doctor-${install.label.split(' ')[0]}`;
  await broker().addVhost(vhost);
  const workers = [
    defaultWorker(install, vhost, 'default-1'), defaultWorker(install, vhost, 'default-2'),
    libraryWorker(install, vhost, 'lib-1'), libraryWorker(install, vhost, 'lib-2'),
  ];
  try {
    await Promise.all(workers.map((w) => w.waitReady(90_000)));
    await revokeRandomIds(install, REVOKED_IDS, { brokerUrl: broker().amqpUrl('guest', 'guest', vhost) });
    // The management API lists consumers from its statistics, refreshed every 5 s: wait until it
    // shows the four workers' remote-control consumers, as it does for any fleet that has been up.
    await pollUntil(async () => (await managementConsumers(vhost)).filter((q) => q.endsWith('.celery.pidbox')).length === 4,
      { timeoutMs: 60_000, intervalMs: 1000, what: 'pidbox consumers in the management API' });
    const watch = await watchPidbox(vhost);
    const pgids = new Set(workers.map((w) => w.pid));
    const before = recvOf(await broker().connections(), pgids);
    const { code, report, stderr } = await runDoctor(vhost);
    const after = recvOf(await broker().connections(), pgids);
    await new Promise((r) => setTimeout(r, 500));
    await watch.close();

    // What was sent: the cheap methods, nothing else (the watch queue saw every broadcast).
    expect(watch.methods().sort()).toEqual(['active_queues', 'conf', 'ping', 'report', 'stats']);
    expect(report.remoteControlRequests.map((r) => r.method)).toEqual(['ping', 'stats', 'conf', 'active_queues', 'report']);
    // What it cost: four workers holding 20,000 revoked ids each would send ~8 MB for a revoked request.
    expect(after - before).toBeGreaterThan(0);
    expect(after - before).toBeLessThan(DOCTOR_WORKER_BYTES_LIMIT);

    expect(stderr).toBe('');
    expect(report.sections.live).toMatchObject({ status: 'read' });
    expect(report.sections.broker.status).toBe('skipped');
    const nodes = workers.map((w) => w.nodeName);
    expect(findingFor(report, 'live.workers', nodes[0]).title).toBe('4 worker(s) answered ping');
    const [d1, d2, l1, l2] = nodes;

    // Finding by finding: the default workers are flagged, the generated ones pass.
    for (const [check, bad] of [['live.prefetch', 'low'], ['live.acks-late', 'low'], ['live.gossip', 'medium'], ['live.heartbeat', 'low']] as const) {
      const defaults = findingFor(report, check, d1);
      expect({ check, severity: defaults.severity }).toEqual({ check, severity: bad });
      expect(findingFor(report, check, d2)).toBe(defaults);
      const generated = findingFor(report, check, l1);
      expect({ check, severity: generated.severity }).toEqual({ check, severity: 'ok' });
      expect(findingFor(report, check, l2)).toBe(generated);
    }
    expect(findingFor(report, 'live.prefetch', d1).title).toBe('prefetch multiplier 4');
    expect(findingFor(report, 'live.prefetch', l1).title).toBe('prefetch multiplier 1');

    // Versions from `report`: 5.2.x is the line that exits 0 after a crash.
    const version = findingFor(report, 'live.celery-version', d1);
    expect(version.title).toContain(install.version!);
    expect(version.severity).toBe(install.version!.startsWith('5.2.') ? 'medium' : 'ok');
    expect(findingFor(report, 'live.queue-types', l1).severity).toBe('ok');
    // Celery's pidbox and event queues are transient and non-exclusive: fine on 3.x, refused by 4.3.
    expect(report.findings.find((f) => f.check === 'live.transient-queues')?.severity).toBe('low');

    // Join cost without command lines: mingle is unknown, the bound assumes Celery's cap.
    expect(report.summary.joinCost).toMatchObject({ mingle: 'unknown', answeringWorkers: 4, revokedIdsPerWorker: 50_000 });
    // The worst live finding is gossip (medium): nothing reaches --fail-on high.
    expect(report.summary.worst?.severity).toBe('medium');
    expect(code).toBe(0);
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
});
