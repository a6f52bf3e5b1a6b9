import { BenchBroker } from './broker-setups';
import { ByteCounts, checkAgainstBroker, countsOf } from './connection-bytes';
import { revokedCap, Variant, workerCommand } from './worker-commands';
import { ByteCountingProxy, startByteCountingProxy } from '../test/harness/byte-proxy';
import { CeleryInstall, CeleryWorker, inspect, revokeRandomIds, startWorker } from '../test/harness/celery';
import { pollUntil } from '../test/harness/reaper';

/** Warm-shutdown grace of a restart in a wave (a measured stop, as systemd does it). */
export const STOP_GRACE_MS = 20_000;
/** Grace when a fleet is torn down after its measurements: its exit is not measured. */
const TEARDOWN_GRACE_MS = 2_000;

/** A worker of the benchmark and the proxy that counts its bytes (its only way to the broker). */
export interface CountedWorker {
  readonly worker: CeleryWorker;
  readonly proxy: ByteCountingProxy;
  /** Stop the worker (TERM, KILL after `graceMs`), then its proxy; the proxy's counts stay readable. */
  stop(graceMs: number): Promise<void>;
}

/** N workers of one variant and Celery installation in their own vhost, all holding the same revoked set. */
export class BenchFleet {
  /** Start `n` workers (in parallel: nothing is measured while the fleet forms, the baseline's mingle among the newcomers included). */
  public static async start(broker: BenchBroker, install: CeleryInstall, variant: Variant, n: number, purpose: string): Promise<BenchFleet> {
    const vhost = broker.vhostName(purpose);
    await broker.addVhost(vhost);
    const fleet = new BenchFleet(broker, install, variant, vhost);
    const started = await Promise.allSettled(Array.from({ length: n }, (_, i) => fleet.startWorker(`fleet-${i + 1}@%h`)));
    for (const s of started) if (s.status === 'fulfilled') fleet.workers.push(s.value);
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await fleet.stop();
      throw failed.reason;
    }
    return fleet;
  }

  public readonly workers: CountedWorker[] = [];
  /** Members replaced by a restart: their bytes still count for the fleet. */
  private readonly retired: CountedWorker[] = [];
  /** The broker itself, for clients that are not measured (revokes, inspects). */
  public readonly brokerUrl: string;
  /** Revoked ids broadcast so far (every member received all of them). */
  private revokedSent = 0;

  private constructor(
    public readonly broker: BenchBroker,
    public readonly install: CeleryInstall,
    public readonly variant: Variant,
    public readonly vhost: string,
  ) {
    this.brokerUrl = broker.rabbitmq.amqpUrl('guest', 'guest', vhost);
  }

  /** Bytes the current members' connections have passed so far. */
  public counts(): ByteCounts {
    return countsOf(this.workers.map((w) => w.proxy));
  }

  /** Bytes of every member there ever was (restarts included). */
  public countsEver(): ByteCounts {
    return countsOf([...this.workers, ...this.retired].map((w) => w.proxy));
  }

  /** Start a worker of this fleet's command (not yet a member), through a proxy of its own, and wait until it is ready. */
  public async startWorker(nodeTemplate: string): Promise<CountedWorker> {
    const proxy = await startByteCountingProxy(this.broker.rabbitmq.amqpPort);
    const worker = startWorker({
      install: this.install,
      command: workerCommand(this.broker, this.variant, nodeTemplate),
      brokerUrl: `amqp://guest:guest@127.0.0.1:${proxy.port}/${encodeURIComponent(this.vhost)}`,
    });
    const counted: CountedWorker = {
      worker,
      proxy,
      stop: async (graceMs) => {
        try {
          await worker.stop(graceMs);
        } finally {
          await proxy.close();
        }
      },
    };
    try {
      await worker.waitReady();
    } catch (error) {
      await counted.stop(1_000);
      throw error;
    }
    return counted;
  }

  /** Replace member `index` by a fresh process with the same node name, as `systemctl restart` does. */
  public async restartMember(index: number): Promise<CountedWorker> {
    const old = this.workers[index];
    await old.stop(STOP_GRACE_MS);
    this.retired.push(old);
    const template = old.worker.argv[old.worker.argv.indexOf('--hostname') + 1];
    const fresh = await this.startWorker(template);
    this.workers[index] = fresh;
    return fresh;
  }

  /** The proxies count what the broker counts, and every connection of the vhost is counted (`extra`: a joiner's too). */
  public async checkCounts(extra: CountedWorker[] = []): Promise<void> {
    await checkAgainstBroker(this.broker.rabbitmq, this.vhost, [...this.workers, ...extra].map((w) => w.proxy));
  }

  /** Ids each member keeps of what was broadcast (its cap applies). */
  public expectedRevoked(): number {
    return Math.min(this.revokedSent, revokedCap(workerCommand(this.broker, this.variant, 'x@%h'), this.install.version!));
  }

  /**
   * Broadcast random revoked ids until `total` have been sent, then wait until every member's
   * revoked set holds what its cap allows (read with `inspect revoked`, before any measurement).
   * Revokes and inspects go straight to the broker, with the settings an operator's client needs
   * there. Returns the size each member holds.
   */
  public async revokeTo(total: number): Promise<number> {
    if (total <= this.revokedSent) return this.expectedRevoked();
    const client = { brokerUrl: this.brokerUrl, configure: this.broker.clientConfigure };
    await revokeRandomIds(this.install, total - this.revokedSent, { ...client, timeoutMs: 180_000 });
    this.revokedSent = total;
    const expected = this.expectedRevoked();
    const nodes = this.workers.map((w) => w.worker.nodeName);
    let last: { [node: string]: number } = {};
    await pollUntil(async () => {
      last = await inspect<number>(this.install, 'revoked', { ...client, nodes, timeoutSeconds: 10, timeoutMs: 60_000 });
      return nodes.every((n) => last[n] === expected);
    }, { timeoutMs: 120_000, intervalMs: 500, what: `${this.vhost}: every worker holding ${expected} revoked ids`, describe: () => JSON.stringify(last) });
    return expected;
  }

  public async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop(TEARDOWN_GRACE_MS)));
    // The vhost goes with its queues and exchanges: the next fleet starts from nothing. A failed
    // delete must not hide the error that ended the measurement (this runs in `finally`).
    await this.broker.deleteVhost(this.vhost).catch(() => undefined);
  }
}
