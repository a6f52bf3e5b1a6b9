import { randomUUID } from 'crypto';
import { Channel, ChannelModel, ConsumeMessage, connect } from 'amqplib';

/**
 * Celery's remote-control protocol (kombu's pidbox), client side, limited to cheap read-only
 * inspect methods. A request is a JSON message to the `celery.pidbox` fanout exchange with
 * `method`, `arguments`, `destination`, `ticket` and `reply_to`; each worker answers
 * `{node: reply}` to the `reply.celery.pidbox` direct exchange with our oid as routing key and
 * the ticket in a header (kombu/pidbox.py `Mailbox._publish`, `Node.dispatch`).
 *
 * `hello` (mingle), `revoked` and `dump_revoked` make workers send their revoked sets: the very
 * traffic that took the incident's broker down. They are not in `CHEAP_METHODS`, and `call`
 * refuses anything that is not.
 */
export const CHEAP_METHODS = ['ping', 'stats', 'conf', 'active_queues', 'report'] as const;
export type CheapMethod = typeof CHEAP_METHODS[number];

/** Methods that must never be sent, named so that the refusal says why. */
const FORBIDDEN = new Set(['hello', 'revoked', 'dump_revoked']);

export const CONTROL_EXCHANGE = 'celery.pidbox';
export const REPLY_EXCHANGE = 'reply.celery.pidbox';

export interface RemoteControlOptions {
  /** `amqp://` or `amqps://` URL with credentials and vhost. */
  readonly url: string;
  readonly connectTimeoutMs: number;
  /** Largest single reply kept; larger ones are dropped and counted. */
  readonly maxReplyBytes: number;
  /** Most reply bytes the reply queue holds at once (enforced by the broker, `x-max-length-bytes`). */
  readonly maxQueuedBytes: number;
}

export interface CallOptions {
  /** Node names; null broadcasts to every worker. */
  readonly destination: string[] | null;
  /** How long to wait for replies. */
  readonly timeoutMs: number;
  /** Stop after this many replies. */
  readonly limit: number;
  readonly arguments?: { [key: string]: unknown };
}

export interface CallResult {
  readonly replies: Map<string, unknown>;
  readonly replyBytes: number;
  readonly dropped: number;
}

type Pending = {
  ticket: string;
  replies: Map<string, unknown>;
  bytes: number;
  dropped: number;
  limit: number;
  done: () => void;
};

export class RemoteControl {
  /** Connect, declare the exclusive reply queue and start consuming from it. */
  public static async open(options: RemoteControlOptions): Promise<RemoteControl> {
    const connection = await connect(options.url, {
      timeout: options.connectTimeoutMs,
      clientProperties: { connection_name: 'cdk-celery doctor' },
    });
    try {
      const rc = new RemoteControl(connection, options);
      await rc.setUp();
      return rc;
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
  }

  /** The remote-control exchange exists (some worker has remote control on). */
  public exchangeExists = false;
  private channel?: Channel;
  private readonly oid = randomUUID();
  private pending?: Pending;

  private constructor(private readonly connection: ChannelModel, private readonly options: RemoteControlOptions) {
    connection.on('error', () => undefined);
  }

  /** Whether an exchange exists (a passive declare on a throwaway channel, which a 404 closes). */
  public async exchangeDeclared(name: string): Promise<boolean> {
    const probe = await this.connection.createChannel();
    probe.on('error', () => undefined);
    try {
      await probe.checkExchange(name);
      await probe.close();
      return true;
    } catch {
      return false;
    }
  }

  private async setUp(): Promise<void> {
    this.exchangeExists = await this.exchangeDeclared(CONTROL_EXCHANGE);
    if (!this.exchangeExists) return;
    const ch = await this.connection.createChannel();
    ch.on('error', () => undefined);
    this.channel = ch;
    // Same attributes as kombu's reply exchange, so the declaration never conflicts with it.
    await ch.assertExchange(REPLY_EXCHANGE, 'direct', { durable: false, autoDelete: false });
    // Exclusive: RabbitMQ 4.3 refuses transient non-exclusive queues. Classic, whatever the vhost's default.
    const queue = `${this.oid}.${REPLY_EXCHANGE}`;
    await ch.assertQueue(queue, {
      exclusive: true,
      durable: false,
      autoDelete: true,
      arguments: { 'x-queue-type': 'classic', 'x-max-length-bytes': this.options.maxQueuedBytes, 'x-overflow': 'reject-publish' },
    });
    await ch.bindQueue(queue, REPLY_EXCHANGE, this.oid);
    await ch.consume(queue, (msg) => this.onReply(msg), { noAck: true });
  }

  private onReply(msg: ConsumeMessage | null): void {
    const p = this.pending;
    if (!msg || !p || msg.properties.headers?.ticket !== p.ticket) return;
    if (msg.content.byteLength > this.options.maxReplyBytes) {
      p.dropped++;
    } else {
      p.bytes += msg.content.byteLength;
      try {
        const body = JSON.parse(msg.content.toString('utf8')) as { [node: string]: unknown };
        for (const [node, reply] of Object.entries(body)) p.replies.set(node, reply);
      } catch {
        p.dropped++;
      }
    }
    if (p.replies.size + p.dropped >= p.limit) p.done();
  }

  /** Send one inspect request and collect the replies until `limit` or the timeout. */
  public async call(method: CheapMethod, options: CallOptions): Promise<CallResult> {
    if (FORBIDDEN.has(method) || !(CHEAP_METHODS as readonly string[]).includes(method)) {
      throw new Error(`remote-control method "${method}" is not allowed: the doctor sends only ${CHEAP_METHODS.join(', ')}`);
    }
    if (!this.channel) throw new Error(`no ${CONTROL_EXCHANGE} exchange: no worker has remote control on`);
    if (this.pending) throw new Error('one remote-control request at a time');
    const ticket = randomUUID();
    const body = {
      method,
      arguments: options.arguments ?? {},
      destination: options.destination,
      pattern: null,
      matcher: null,
      ticket,
      reply_to: { exchange: REPLY_EXCHANGE, routing_key: this.oid },
    };
    const result = await new Promise<CallResult>((resolve) => {
      const pending: Pending = {
        ticket,
        replies: new Map(),
        bytes: 0,
        dropped: 0,
        limit: options.limit,
        done: () => {
          clearTimeout(timer);
          this.pending = undefined;
          resolve({ replies: pending.replies, replyBytes: pending.bytes, dropped: pending.dropped });
        },
      };
      const timer = setTimeout(() => pending.done(), options.timeoutMs);
      this.pending = pending;
      this.channel!.publish(CONTROL_EXCHANGE, '', Buffer.from(JSON.stringify(body)), {
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        deliveryMode: 1,
        // kombu's headers: a Lamport clock and an absolute expiry (seconds since the epoch).
        headers: { clock: 1, expires: Date.now() / 1000 + options.timeoutMs / 1000 },
      });
    });
    return result;
  }

  /** Consume a temporary exclusive queue bound to `exchange` with `routingKey` for `ms`; bounded count. */
  public async sample(exchange: string, routingKey: string, ms: number, maxMessages: number): Promise<unknown[]> {
    if (!(await this.exchangeDeclared(exchange))) return [];
    const ch = await this.connection.createChannel();
    ch.on('error', () => undefined);
    const messages: unknown[] = [];
    try {
      const q = await ch.assertQueue('', {
        exclusive: true,
        durable: false,
        autoDelete: true,
        arguments: { 'x-queue-type': 'classic', 'x-max-length': maxMessages, 'x-max-length-bytes': this.options.maxQueuedBytes },
      });
      await ch.bindQueue(q.queue, exchange, routingKey);
      await ch.consume(q.queue, (msg) => {
        if (!msg || messages.length >= maxMessages || msg.content.byteLength > this.options.maxReplyBytes) return;
        try {
          messages.push(JSON.parse(msg.content.toString('utf8')));
        } catch {
          // not JSON: not a Celery event we can read
        }
      }, { noAck: true });
      await new Promise((r) => setTimeout(r, ms));
    } finally {
      await ch.close().catch(() => undefined);
    }
    return messages;
  }

  public async close(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}
