import { connect } from 'amqplib';
import { Duration } from 'aws-cdk-lib';
import { RabbitMqEngineVersion } from '../../src/broker/rabbitmq-engine-version';
import { main } from '../../src/doctor/cli';
import { Finding } from '../../src/doctor/finding';
import { DoctorReport } from '../../src/doctor/report';
import { renderCeleryWorkerCommand } from '../../src/workers/render/celery-worker-command';
import {
  CeleryInstall, CeleryWorker, HARNESS_APP, revokeRandomIds, startWorker, stopAllWorkers, testEachCelery,
} from '../harness/celery';
import { describeEachRabbitMqProfile, rabbitMqForThisFile, RabbitMqConnection } from '../harness/rabbitmq';
import { pollUntil } from '../harness/reaper';

/**
 * The doctor against a real RabbitMQ of every broker profile with real Celery workers: a fleet of
 * default `celery worker` processes and a fleet of this library's generated workers (rendered for
 * the profile's engine) in one vhost. The doctor must tell them apart finding by finding, and must
 * never send `hello` or `revoked`: a queue of the test's own, bound to the `celery.pidbox` fanout
 * exchange, receives every request the doctor sends, and the workers' byte counters show that no
 * revoked set travelled.
 *
 * Setups, as teams run them:
 * - `3.x`: both fleets consume Celery's default queue (`celery`), classic, in the broker's default vhost type.
 * - `amazon-mq-4.2`: a team that moved to RabbitMQ 4 keeping classic queues: the vhost's default
 *   queue type is classic, so the default fleet's untyped `celery` queue is classic and it runs
 *   (with global QoS, which classic queues allow). The generated fleet declares its own queue
 *   (`lib`) as quorum; the two cannot share `celery` (the types would conflict).
 * - `amazon-mq-4.3`: the same vhost, but the default fleet cannot start at all: the broker refuses
 *   its transient non-exclusive remote-control and gossip queues (asserted from its log). The
 *   doctor reads the generated fleet, whose control and event queues are exclusive.
 * Library workers run on the Celery installations that can run the generated command on that
 * engine (`testEachCelery` with the profile); the default fleet uses the same installation.
 * The test brokers are RabbitMQ 4.0.5 for both 4.x profiles (4.3's rules are its configuration),
 * so the doctor, reading the version from the management API, sees a 4.0 engine on both.
 */

jest.setTimeout(300_000);

/** Revoked ids each worker holds: a revoked-set reply would be about 98 B x this = ~2 MB per worker. */
const REVOKED_IDS = 20_000;
/** What the doctor's cheap requests may cost the workers' connections, all of them together. */
const DOCTOR_WORKER_BYTES_LIMIT = 256 * 1024;

/** The refusal of a transient non-exclusive queue by a broker that denies the deprecated feature (4.3). */
const TRANSIENT_QUEUE_REFUSED = /\(541\) INTERNAL_ERROR - Feature `transient_nonexcl_queues` is deprecated/;

describeEachRabbitMqProfile((profile) => {
  const broker = rabbitMqForThisFile({ profile: profile.name, management: true, beforeStop: stopAllWorkers });
  const engineVersion = RabbitMqEngineVersion.of(profile.engineVersion);
  const onRabbitMq4 = engineVersion.quorumQueuesByDefault === true;
  const refusesTransient = engineVersion.refusesTransientNonExclusiveQueues === true;
  /** The generated fleet's own queue on RabbitMQ 4 (quorum), beside the default fleet's classic `celery`. */
  const libraryQueues = onRabbitMq4 ? ['lib'] : undefined;

  /** A vhost whose default queue type is classic on RabbitMQ 4 (the broker's own default on 3.x). */
  async function addVhost(name: string): Promise<void> {
    if (!onRabbitMq4) return broker().addVhost(name);
    await managementApi('PUT', `vhosts/${encodeURIComponent(name)}`, { default_queue_type: 'classic' });
    await managementApi('PUT', `permissions/${encodeURIComponent(name)}/guest`, { configure: '.*', write: '.*', read: '.*' });
    expect((await managementApi('GET', `vhosts/${encodeURIComponent(name)}`) as { default_queue_type: string }).default_queue_type).toBe('classic');
  }

  async function managementApi(method: 'GET' | 'PUT', path: string, body?: object): Promise<unknown> {
    const res = await fetch(`http://127.0.0.1:${broker().managementPort}/api/${path}`, {
      method,
      headers: { 'authorization': `Basic ${Buffer.from('guest:guest').toString('base64')}`, 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(60_000),
    });
    if (!res.ok) throw new Error(`${method} /api/${path}: ${res.status} ${await res.text()}`);
    const text = await res.text();
    return text ? JSON.parse(text) : undefined;
  }

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
      command: renderCeleryWorkerCommand(
        { app: HARNESS_APP, hostname: `${name}@%h`, concurrency: 2, timeLimit: Duration.minutes(5), queues: libraryQueues },
        { engineVersion }),
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

  async function watchPidbox(vhost: string): Promise<{ methods: () => string[]; close: () => Promise<void> }> {
    const conn = await connect(broker().amqpUrl('guest', 'guest', vhost));
    const ch = await conn.createChannel();
    // The exchange exists once a worker with remote control runs; declare it as kombu does.
    await ch.assertExchange('celery.pidbox', 'fanout', { durable: false, autoDelete: false });
    // Exclusive (so RabbitMQ 4.3 accepts it, and classic whatever the vhost's default).
    const q = await ch.assertQueue('', { exclusive: true, durable: false });
    await ch.bindQueue(q.queue, 'celery.pidbox', '');
    const seen: string[] = [];
    await ch.consume(q.queue, (msg) => {
      if (msg) seen.push(String((JSON.parse(msg.content.toString('utf8')) as { method?: string }).method));
    }, { noAck: true });
    return { methods: () => [...seen], close: () => conn.close() };
  }

  async function managementConsumers(vhost: string): Promise<string[]> {
    return ((await managementApi('GET', `consumers/${encodeURIComponent(vhost)}`)) as Array<{ queue: { name: string } }>).map((c) => c.queue.name);
  }

  testEachCelery('tells a default fleet from the generated fleet, without hello or revoked', async (install) => {
    const vhost = `doctor-${install.label.split(' ')[0]}`;
    await addVhost(vhost);
    const brokerUrl = broker().amqpUrl('guest', 'guest', vhost);
    const defaults = [defaultWorker(install, vhost, 'default-1'), defaultWorker(install, vhost, 'default-2')];
    const library = [libraryWorker(install, vhost, 'lib-1'), libraryWorker(install, vhost, 'lib-2')];
    try {
      if (refusesTransient) {
        // The default fleet cannot start here: the broker refuses its first transient queue.
        for (const w of defaults) {
          const [refusal] = await w.waitForLog(TRANSIENT_QUEUE_REFUSED, 90_000);
          expect(refusal).toMatch(TRANSIENT_QUEUE_REFUSED);
          expect(w.log()).not.toMatch(new RegExp(`${w.nodeName.replace(/[.]/g, '\\.')} ready\\.`));
        }
        await Promise.all(defaults.map((w) => w.stop()));
      }
      const workers = refusesTransient ? library : [...defaults, ...library];
      await Promise.all(workers.map((w) => w.waitReady(90_000)));
      await revokeRandomIds(install, REVOKED_IDS, { brokerUrl });
      // The management API lists consumers from its statistics, refreshed every 5 s: wait until it
      // shows the workers' remote-control consumers, as it does for any fleet that has been up.
      await pollUntil(async () => (await managementConsumers(vhost)).filter((q) => q.endsWith('.celery.pidbox')).length === workers.length,
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
      // What it cost: workers holding 20,000 revoked ids each would send ~2 MB each for a revoked request.
      // eslint-disable-next-line no-console
      console.log(`${profile.name}, ${install.label}: the doctor cost ${workers.length} workers ${after - before} B of their connections' ingress`);
      expect(after - before).toBeGreaterThan(0);
      expect(after - before).toBeLessThan(DOCTOR_WORKER_BYTES_LIMIT);

      expect(stderr).toBe('');
      expect(report.sections.live).toMatchObject({ status: 'read' });
      expect(report.sections.broker.status).toBe('skipped');
      const nodes = workers.map((w) => w.nodeName);
      expect(findingFor(report, 'live.workers', nodes[0]).title).toBe(`${workers.length} worker(s) answered ping`);
      const [l1, l2] = library.map((w) => w.nodeName);

      // Finding by finding: the generated workers pass...
      for (const check of ['live.prefetch', 'live.acks-late', 'live.gossip', 'live.heartbeat', 'live.queue-types']) {
        const generated = findingFor(report, check, l1);
        expect({ check, severity: generated.severity }).toEqual({ check, severity: 'ok' });
        expect(findingFor(report, check, l2)).toBe(generated);
      }
      expect(findingFor(report, 'live.prefetch', l1).title).toBe('prefetch multiplier 1');
      expect(findingFor(report, 'live.queue-types', l1).evidence.join('\n'))
        .toContain(onRabbitMq4 ? 'lib: quorum on the broker, declared quorum' : 'celery: classic on the broker, declared without x-queue-type');
      expectVersionFinding(report, l1, install);

      if (!refusesTransient) {
        // ...and the default workers are flagged.
        const [d1, d2] = defaults.map((w) => w.nodeName);
        const expected = [
          ['live.prefetch', 'low'], ['live.acks-late', 'low'], ['live.gossip', 'medium'], ['live.heartbeat', 'low'],
          // Classic on RabbitMQ 4: not replicated; fine on 3.x, where classic is the only kind.
          ['live.queue-types', onRabbitMq4 ? 'low' : 'ok'],
        ] as const;
        for (const [check, severity] of expected) {
          const found = findingFor(report, check, d1);
          expect({ check, severity: found.severity }).toEqual({ check, severity });
          expect(findingFor(report, check, d2)).toBe(found);
          // One finding for both fleets only where both pass (the shared classic `celery` queue on 3.x).
          expect(found === findingFor(report, check, l1)).toBe(severity === 'ok');
        }
        expect(findingFor(report, 'live.prefetch', d1).title).toBe('prefetch multiplier 4');
        expect(findingFor(report, 'live.queue-types', d1).evidence.join('\n')).toContain('celery: classic on the broker, declared without x-queue-type');
        if (onRabbitMq4) expect(findingFor(report, 'live.queue-types', d1).title).toBe('classic task queues on RabbitMQ 4');
        expectVersionFinding(report, d1, install);
      }

      // Celery's pidbox and event queues are transient and non-exclusive unless made exclusive: allowed
      // on 3.x (low: 4.3 is a later step), blocking on 4.2 (medium: its only upgrade, 4.3, refuses
      // them), absent on 4.3 (the generated fleet's are exclusive; the default fleet never started).
      const transient = report.findings.filter((f) => f.check === 'live.transient-queues');
      expect(transient).toHaveLength(1);
      expect(transient[0].severity).toBe(refusesTransient ? 'ok' : onRabbitMq4 ? 'medium' : 'low');
      if (!refusesTransient) {
        // Every worker's remote-control queue (the generated command makes them exclusive only for
        // 4.3) and the default workers' gossip queues.
        expect(transient[0].title).toBe(`${workers.length + defaults.length} transient non-exclusive queue(s): RabbitMQ 4.3 refuses them`);
        expect(transient[0].evidence[0]).toMatch(/default-1@.*lib-1@/);
        if (onRabbitMq4) expect(transient[0].evidence).toContain('on RabbitMQ 4.0, the upgrade to 4.3 is the next one: workers that declare them would not start there');
      }

      // Join cost without command lines: mingle is unknown, the bound assumes Celery's cap.
      expect(report.summary.joinCost).toMatchObject({ mingle: 'unknown', answeringWorkers: workers.length, revokedIdsPerWorker: 50_000 });
      // The worst live finding is gossip or the 4.2 transient queues (medium), or, with only the
      // generated fleet, nothing above info: nothing reaches --fail-on high.
      expect(report.summary.worst?.severity).toBe(refusesTransient ? 'info' : 'medium');
      expect(code).toBe(0);
    } finally {
      await Promise.all([...defaults, ...library].map((w) => w.stop()));
    }
  }, 300_000, { profile });
});

/** The finding of `check` whose subject names `node`. */
function findingFor(report: DoctorReport, check: string, node: string): Finding {
  const f = report.findings.find((x) => x.check === check && (x.subject.includes(node) || x.evidence.some((e) => e.includes(node))));
  if (!f) throw new Error(`no ${check} finding for ${node}:\n${JSON.stringify(report.findings.filter((x) => x.check === check), null, 2)}`);
  return f;
}

/** Versions from `report`: 5.2.x is the line that exits 0 after a crash. */
function expectVersionFinding(report: DoctorReport, node: string, install: CeleryInstall): void {
  const version = findingFor(report, 'live.celery-version', node);
  expect(version.title).toContain(install.version!);
  expect(version.severity).toBe(install.version!.startsWith('5.2.') ? 'medium' : 'ok');
}

function recvOf(connections: RabbitMqConnection[], pgids: Set<number>): number {
  return connections.filter((c) => pgids.has(c.clientPgid ?? -1)).reduce((n, c) => n + c.recvOct, 0);
}
