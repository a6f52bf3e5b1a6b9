import { revokedCap, Variant, workerCommand } from './worker-commands';
import { CeleryInstall, CeleryWorker, inspect, revokeRandomIds, startWorker } from '../test/harness/celery';
import { RabbitMq } from '../test/harness/rabbitmq';
import { pollUntil } from '../test/harness/reaper';

/** Warm-shutdown grace of a restart in a wave (a measured stop, as systemd does it). */
export const STOP_GRACE_MS = 20_000;
/** Grace when a fleet is torn down after its measurements: its exit is not measured. */
const TEARDOWN_GRACE_MS = 2_000;

/** N workers of one variant and Celery installation in their own vhost, all holding the same revoked set. */
export class BenchFleet {
  /** Start `n` workers one after another (each ready before the next: no start-up is measured here). */
  public static async start(broker: RabbitMq, install: CeleryInstall, variant: Variant, n: number, vhost: string): Promise<BenchFleet> {
    await broker.addVhost(vhost);
    const fleet = new BenchFleet(broker, install, variant, vhost);
    // In parallel: nothing is measured while the fleet forms (the baseline's mingle among the
    // newcomers included); the cells start from the formed fleet.
    const started = await Promise.allSettled(Array.from({ length: n }, (_, i) => fleet.startWorker(`fleet-${i + 1}@%h`)));
    for (const s of started) if (s.status === 'fulfilled') fleet.workers.push(s.value);
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await fleet.stop();
      throw failed.reason;
    }
    return fleet;
  }

  public readonly workers: CeleryWorker[] = [];
  public readonly brokerUrl: string;
  /** Revoked ids broadcast so far (every member received all of them). */
  private revokedSent = 0;

  private constructor(
    public readonly broker: RabbitMq,
    public readonly install: CeleryInstall,
    public readonly variant: Variant,
    public readonly vhost: string,
  ) {
    this.brokerUrl = broker.amqpUrl('guest', 'guest', vhost);
  }

  /** Process groups of the members (a harness worker's group id is its pid). */
  public get pgids(): number[] {
    return this.workers.map((w) => w.pid);
  }

  /** Start a worker of this fleet's command (not yet a member) and wait until it is ready. */
  public async startWorker(nodeTemplate: string): Promise<CeleryWorker> {
    const worker = startWorker({ install: this.install, command: workerCommand(this.variant, nodeTemplate), brokerUrl: this.brokerUrl });
    try {
      await worker.waitReady();
    } catch (error) {
      await worker.stop(1_000);
      throw error;
    }
    return worker;
  }

  /** Replace member `index` by a fresh process with the same node name, as `systemctl restart` does. */
  public async restartMember(index: number): Promise<CeleryWorker> {
    const old = this.workers[index];
    await old.stop(STOP_GRACE_MS);
    const template = old.argv[old.argv.indexOf('--hostname') + 1];
    const worker = await this.startWorker(template);
    this.workers[index] = worker;
    return worker;
  }

  /** Ids each member keeps of what was broadcast (its cap applies). */
  public expectedRevoked(): number {
    return Math.min(this.revokedSent, revokedCap(workerCommand(this.variant, 'x@%h'), this.install.version!));
  }

  /**
   * Broadcast random revoked ids until `total` have been sent, then wait until every member's
   * revoked set holds what its cap allows (read with `inspect revoked`, before any measurement).
   * Returns the size each member holds.
   */
  public async revokeTo(total: number): Promise<number> {
    if (total <= this.revokedSent) return this.expectedRevoked();
    await revokeRandomIds(this.install, total - this.revokedSent, { brokerUrl: this.brokerUrl, timeoutMs: 180_000 });
    this.revokedSent = total;
    const expected = this.expectedRevoked();
    const nodes = this.workers.map((w) => w.nodeName);
    let last: { [node: string]: number } = {};
    await pollUntil(async () => {
      last = await inspect<number>(this.install, 'revoked', { brokerUrl: this.brokerUrl, nodes, timeoutSeconds: 10, timeoutMs: 60_000 });
      return nodes.every((n) => last[n] === expected);
    }, { timeoutMs: 120_000, intervalMs: 500, what: `${this.vhost}: every worker holding ${expected} revoked ids`, describe: () => JSON.stringify(last) });
    return expected;
  }

  public async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop(TEARDOWN_GRACE_MS)));
    // The vhost goes with its queues and exchanges: the next fleet starts from nothing.
    await this.broker.ctl(['delete_vhost', this.vhost]).catch(() => undefined);
  }
}
