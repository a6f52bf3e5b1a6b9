import { createHash, timingSafeEqual } from 'crypto';
import type { ManagementPolicy } from './celery-dead-letter';

/**
 * A small client for the RabbitMQ management HTTP API, just what the broker-user custom resource
 * needs. It uses the global `fetch`, so the same code talks to a local RabbitMQ over HTTP in tests
 * and to Amazon MQ over HTTPS (port 443) from the Lambda.
 *
 * Not exported from the library's index: it runs inside the Lambda bundle only.
 */

/** Credentials of a RabbitMQ user. */
export interface ManagementCredentials {
  readonly username: string;
  readonly password: string;
}

/** Permissions of a user on one vhost (regular expressions, as RabbitMQ stores them). */
export interface VhostPermissions {
  readonly configure: string;
  readonly write: string;
  readonly read: string;
}

/** A user as the management API returns it. */
export interface ManagementUser {
  readonly name: string;
  /** Tags, normalised to a list (RabbitMQ < 3.9 returns a comma-separated string). */
  readonly tags: string[];
}

/** A user's stored password hash, as the management API returns it to an administrator. */
export interface ManagementPasswordHash {
  /** base64(salt + hash(salt + password)); empty for a user without a password, undefined if not returned. */
  readonly passwordHash?: string;
  /** For example `rabbit_password_hashing_sha256` (RabbitMQ's default); undefined if not returned. */
  readonly hashingAlgorithm?: string;
}

/**
 * Retries of transient failures: the host name not resolving yet, connection refused or reset,
 * no answer within the request timeout, HTTP 5xx and 429. Right after Amazon MQ reports a broker
 * RUNNING, its management endpoint can still fail like this for a while; one failed request
 * would fail the deployment and roll back the whole stack (and its broker). Other answers (401,
 * 403, 404, 400...) are not retried: they will not change.
 */
export interface ManagementRetryOptions {
  /** Attempts per request, the first included. */
  readonly maxAttempts?: number;
  /** Wait before the second attempt; doubled for each further one. */
  readonly baseDelayMs?: number;
  /** Longest wait between two attempts. */
  readonly maxDelayMs?: number;
  /**
   * Epoch milliseconds by which every request must have ended (the Lambda function's end, less a
   * margin): no attempt starts that could not end before it.
   */
  readonly deadline?: number;
  /** Injectable for tests. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Injectable for tests. */
  readonly now?: () => number;
}

/** Defaults of `ManagementRetryOptions`: about 3.5 minutes of backoff at most, cut short by the deadline. */
export const DEFAULT_MANAGEMENT_RETRY: Readonly<Required<Pick<ManagementRetryOptions, 'maxAttempts' | 'baseDelayMs' | 'maxDelayMs'>>>
  = { maxAttempts: 18, baseDelayMs: 1_000, maxDelayMs: 15_000 };

/** A queue's depth and consumers, as the management API lists them. */
export interface ManagementQueueStats {
  readonly name: string;
  /** Messages ready for delivery (0 until the broker has emitted the queue's first statistics). */
  readonly messagesReady: number;
  /** Messages delivered and not yet acknowledged. */
  readonly messagesUnacknowledged: number;
  readonly consumers: number;
}

/** A queue as the management API returns it (the fields the library reads). */
export interface ManagementQueue {
  /** `classic`, `quorum`, `stream`; undefined if not returned. */
  readonly type?: string;
  readonly durable: boolean;
  readonly arguments: { readonly [key: string]: unknown };
}

export interface RabbitMqManagementClientOptions {
  /** Base URL, for example `https://b-123.mq.eu-west-1.amazonaws.com:443` or `http://127.0.0.1:15672`. */
  readonly baseUrl: string;
  readonly credentials: ManagementCredentials;
  /** Timeout of each request, in milliseconds. */
  readonly requestTimeoutMs?: number;
  /**
   * Retries of transient failures; fields left out take `DEFAULT_MANAGEMENT_RETRY`'s values.
   * @default - no retries: one attempt per request (the metrics publisher, which runs again a
   * minute later, wants an answer within its run rather than a wait)
   */
  readonly retry?: ManagementRetryOptions;
  /**
   * The tag the calls need, named in 401/403 errors.
   * @default 'administrator'
   */
  readonly requiredTag?: string;
}

/** An error answered by the management API (an HTTP status outside 2xx). */
export class ManagementApiError extends Error {
  constructor(message: string, public readonly status: number) {
    super(message);
    this.name = 'ManagementApiError';
  }
}

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** A failure worth retrying (see `ManagementRetryOptions`); `status` for HTTP answers. */
class TransientManagementError extends Error {
  constructor(message: string, public readonly status?: number) {
    super(message);
    this.name = 'TransientManagementError';
  }
}

export class RabbitMqManagementClient {
  private readonly baseUrl: string;
  private readonly authorization: string;
  private readonly requestTimeoutMs: number;
  private readonly username: string;
  private readonly retry?: ManagementRetryOptions;
  private readonly requiredTag: string;

  constructor(options: RabbitMqManagementClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.username = options.credentials.username;
    this.requiredTag = options.requiredTag ?? 'administrator';
    this.authorization = 'Basic ' + Buffer.from(`${options.credentials.username}:${options.credentials.password}`, 'utf8').toString('base64');
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.retry = options.retry;
  }

  /** Checks that the API is reachable and the credentials are accepted; returns the user's tags. */
  async whoAmI(): Promise<ManagementUser> {
    const body = await this.request('GET', '/api/whoami');
    return toUser(body);
  }

  /**
   * Creates a vhost, or updates an existing one. With `defaultQueueType`, the type a queue declared
   * without `x-queue-type` gets there: sent under both names RabbitMQ has read (`defaultqueuetype`
   * in 3.10 and 3.11, `default_queue_type` from 3.12). RabbitMQ 3 sets it only when it creates the
   * vhost; RabbitMQ 4 also changes it on an existing vhost (measured on 3.10.8 and 4.0.5).
   */
  async putVhost(vhost: string, defaultQueueType?: string): Promise<void> {
    const body = defaultQueueType === undefined ? {} : { default_queue_type: defaultQueueType, defaultqueuetype: defaultQueueType };
    await this.request('PUT', `/api/vhosts/${enc(vhost)}`, body);
  }

  /** Deletes a vhost and everything in it; false if it did not exist. */
  async deleteVhost(vhost: string): Promise<boolean> {
    return this.deleteIfExists(`/api/vhosts/${enc(vhost)}`);
  }

  async getVhost(vhost: string): Promise<{ name: string; defaultQueueType?: string } | undefined> {
    const body = await this.getIfExists(`/api/vhosts/${enc(vhost)}`) as { name: string; default_queue_type?: unknown } | undefined;
    if (body === undefined) return undefined;
    // RabbitMQ 3 answers the string "undefined" for a vhost created without one.
    const type = typeof body.default_queue_type === 'string' && body.default_queue_type !== 'undefined' ? body.default_queue_type : undefined;
    return { name: body.name, ...(type === undefined ? {} : { defaultQueueType: type }) };
  }

  /** Creates or updates a user. `tags` empty = the user cannot use the management UI or API. */
  async putUser(username: string, password: string, tags: string[]): Promise<void> {
    // A comma-separated string is accepted by every RabbitMQ version (lists only from 3.9).
    await this.request('PUT', `/api/users/${enc(username)}`, { password, tags: tags.join(',') });
  }

  async getUser(username: string): Promise<ManagementUser | undefined> {
    const body = await this.getIfExists(`/api/users/${enc(username)}`);
    return body === undefined ? undefined : toUser(body);
  }

  /** The user's stored password hash; undefined if the user does not exist. */
  async getUserPasswordHash(username: string): Promise<ManagementPasswordHash | undefined> {
    const body = await this.getIfExists(`/api/users/${enc(username)}`) as { password_hash?: unknown; hashing_algorithm?: unknown } | undefined;
    if (body === undefined) return undefined;
    return {
      passwordHash: typeof body.password_hash === 'string' ? body.password_hash : undefined,
      hashingAlgorithm: typeof body.hashing_algorithm === 'string' ? body.hashing_algorithm : undefined,
    };
  }

  /** Deletes a user (and its permissions); false if it did not exist. */
  async deleteUser(username: string): Promise<boolean> {
    return this.deleteIfExists(`/api/users/${enc(username)}`);
  }

  async putPermissions(vhost: string, username: string, permissions: VhostPermissions): Promise<void> {
    await this.request('PUT', `/api/permissions/${enc(vhost)}/${enc(username)}`, {
      configure: permissions.configure,
      write: permissions.write,
      read: permissions.read,
    });
  }

  async getPermissions(vhost: string, username: string): Promise<VhostPermissions | undefined> {
    const body = await this.getIfExists(`/api/permissions/${enc(vhost)}/${enc(username)}`) as VhostPermissions | undefined;
    return body === undefined ? undefined : { configure: body.configure, write: body.write, read: body.read };
  }

  /** Every vhost on which the user has permissions. */
  async listUserPermissions(username: string): Promise<Array<VhostPermissions & { vhost: string }>> {
    const body = await this.request('GET', `/api/users/${enc(username)}/permissions`) as Array<VhostPermissions & { vhost: string }>;
    return body.map((p) => ({ vhost: p.vhost, configure: p.configure, write: p.write, read: p.read }));
  }

  /** Every user with permissions on the vhost. */
  async listVhostPermissions(vhost: string): Promise<Array<VhostPermissions & { user: string }>> {
    const body = await this.request('GET', `/api/vhosts/${enc(vhost)}/permissions`) as Array<VhostPermissions & { user: string }>;
    return body.map((p) => ({ user: p.user, configure: p.configure, write: p.write, read: p.read }));
  }

  async deletePermissions(vhost: string, username: string): Promise<boolean> {
    return this.deleteIfExists(`/api/permissions/${enc(vhost)}/${enc(username)}`);
  }

  /**
   * Depth and consumers of every queue of a vhost, in one request (only the columns needed).
   * Needs the `monitoring` tag (or more) and a permission entry on the vhost, even an empty one.
   */
  async listQueueStats(vhost: string): Promise<ManagementQueueStats[]> {
    const body = await this.request('GET', `/api/queues/${enc(vhost)}?columns=name,messages_ready,messages_unacknowledged,consumers`) as Array<{
      name: string; messages_ready?: number; messages_unacknowledged?: number; consumers?: number;
    }>;
    return body.map((q) => ({
      name: q.name,
      messagesReady: q.messages_ready ?? 0,
      messagesUnacknowledged: q.messages_unacknowledged ?? 0,
      consumers: q.consumers ?? 0,
    }));
  }

  /** The broker's RabbitMQ version (`GET /api/overview`), for example `4.0.5`; undefined if not reported. */
  async rabbitmqVersion(): Promise<string | undefined> {
    const body = await this.request('GET', '/api/overview') as { rabbitmq_version?: unknown };
    return typeof body?.rabbitmq_version === 'string' ? body.rabbitmq_version : undefined;
  }

  /** A queue's type, durability and arguments; undefined if it does not exist. */
  async getQueue(vhost: string, queue: string): Promise<ManagementQueue | undefined> {
    const body = await this.getIfExists(`/api/queues/${enc(vhost)}/${enc(queue)}`) as
      { type?: unknown; durable?: unknown; arguments?: { [key: string]: unknown } } | undefined;
    if (body === undefined) return undefined;
    return { type: typeof body.type === 'string' ? body.type : undefined, durable: body.durable === true, arguments: body.arguments ?? {} };
  }

  /** Declares a durable queue (a no-op if it exists with the same arguments; HTTP 400 if not). */
  async putQueue(vhost: string, queue: string, args: { [key: string]: unknown }): Promise<void> {
    await this.request('PUT', `/api/queues/${enc(vhost)}/${enc(queue)}`, { durable: true, auto_delete: false, arguments: args });
  }

  /** Declares a durable exchange (a no-op if it exists with the same type; HTTP 400 if not). */
  async putExchange(vhost: string, exchange: string, type: string): Promise<void> {
    await this.request('PUT', `/api/exchanges/${enc(vhost)}/${enc(exchange)}`, { type, durable: true, auto_delete: false, internal: false, arguments: {} });
  }

  /** Binds a queue to an exchange (a no-op if that binding exists). */
  async bindQueue(vhost: string, exchange: string, queue: string, routingKey: string): Promise<void> {
    await this.request('POST', `/api/bindings/${enc(vhost)}/e/${enc(exchange)}/q/${enc(queue)}`, { routing_key: routingKey, arguments: {} });
  }

  /** Creates or replaces a policy. */
  async putPolicy(vhost: string, name: string, policy: ManagementPolicy): Promise<void> {
    await this.request('PUT', `/api/policies/${enc(vhost)}/${enc(name)}`, policy);
  }

  async getPolicy(vhost: string, name: string): Promise<ManagementPolicy | undefined> {
    const body = await this.getIfExists(`/api/policies/${enc(vhost)}/${enc(name)}`) as ManagementPolicy | undefined;
    return body === undefined ? undefined : { 'pattern': body.pattern, 'apply-to': body['apply-to'], 'priority': body.priority, 'definition': body.definition };
  }

  /** Deletes a policy; false if it did not exist. */
  async deletePolicy(vhost: string, name: string): Promise<boolean> {
    return this.deleteIfExists(`/api/policies/${enc(vhost)}/${enc(name)}`);
  }

  private async getIfExists(path: string): Promise<unknown> {
    try {
      return await this.request('GET', path);
    } catch (e) {
      if (e instanceof ManagementApiError && e.status === 404) return undefined;
      throw e;
    }
  }

  private async deleteIfExists(path: string): Promise<boolean> {
    try {
      await this.request('DELETE', path);
      return true;
    } catch (e) {
      if (e instanceof ManagementApiError && e.status === 404) return false;
      throw e;
    }
  }

  /**
   * One API call, retried on transient failures (see `ManagementRetryOptions`). Every call this
   * client makes is idempotent (PUT of a whole object, GET, DELETE whose 404 counts as done), so a
   * retry after a lost answer does no harm.
   */
  private async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const retry = this.retry;
    if (!retry) {
      try {
        return await this.requestOnce(method, path, body);
      } catch (e) {
        if (!(e instanceof TransientManagementError)) throw e;
        throw e.status === undefined ? new Error(e.message) : new ManagementApiError(e.message, e.status);
      }
    }
    const maxAttempts = retry.maxAttempts ?? DEFAULT_MANAGEMENT_RETRY.maxAttempts;
    const baseDelayMs = retry.baseDelayMs ?? DEFAULT_MANAGEMENT_RETRY.baseDelayMs;
    const maxDelayMs = retry.maxDelayMs ?? DEFAULT_MANAGEMENT_RETRY.maxDelayMs;
    const now = retry.now ?? Date.now;
    const sleep = retry.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const started = now();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.requestOnce(method, path, body);
      } catch (e) {
        if (!(e instanceof TransientManagementError)) throw e;
        const delay = Math.min(baseDelayMs * 2 ** (attempt - 1), maxDelayMs);
        const deadlinePassed = retry.deadline !== undefined && now() + delay + this.requestTimeoutMs > retry.deadline;
        if (attempt >= maxAttempts || deadlinePassed) {
          const seconds = Math.round((now() - started) / 1000);
          const tries = `Tried ${attempt} time${attempt === 1 ? '' : 's'} over ${seconds} s${deadlinePassed ? ' (no time left before the function\'s timeout)' : ''}.`;
          throw e.status === undefined ? new Error(`${e.message} ${tries}`) : new ManagementApiError(`${e.message} ${tries}`, e.status);
        }
        console.warn(`${e.message} Retrying in ${delay} ms (attempt ${attempt + 1} of ${maxAttempts}).`);
        await sleep(delay);
      }
    }
  }

  private async requestOnce(method: string, path: string, body?: unknown): Promise<unknown> {
    const url = this.baseUrl + path;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          'authorization': this.authorization,
          'content-type': 'application/json',
          'accept': 'application/json',
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.requestTimeoutMs),
      });
    } catch (e) {
      throw new TransientManagementError(`RabbitMQ management API at ${this.baseUrl} is unreachable (${method} ${path}): ${describeNetworkError(e, this.requestTimeoutMs)}. `
        + 'Check that the broker is running, that the URL and port are right, and that the security groups let this function reach the broker\'s management port.');
    }
    let text: string;
    try {
      text = await response.text();
    } catch (e) {
      throw new TransientManagementError(`RabbitMQ management API at ${this.baseUrl} broke off its answer (${method} ${path}): ${describeNetworkError(e, this.requestTimeoutMs)}.`);
    }
    if (response.status === 401) {
      throw new ManagementApiError(`RabbitMQ management API at ${this.baseUrl} refused user "${this.username}" (HTTP 401 on ${method} ${path}: ${reasonOf(text)}). `
        + `Check the credentials secret: its username and password must be those of a broker user with the ${this.requiredTag} tag`
        + ' (and, for a vhost\'s resources, a permission entry on that vhost).', 401);
    }
    if (response.status === 403) {
      throw new ManagementApiError(`RabbitMQ management API at ${this.baseUrl}: user "${this.username}" is not allowed to ${method} ${path} (HTTP 403); it needs the ${this.requiredTag} tag.`, 403);
    }
    if (response.status >= 500 || response.status === 429) {
      throw new TransientManagementError(`RabbitMQ management API ${method} ${path} failed with HTTP ${response.status}: ${reasonOf(text)}.`, response.status);
    }
    if (response.status < 200 || response.status >= 300) {
      throw new ManagementApiError(`RabbitMQ management API ${method} ${path} failed with HTTP ${response.status}: ${reasonOf(text)}`, response.status);
    }
    if (text.length === 0) return undefined;
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
}

const HASH_OF_ALGORITHM: { [algorithm: string]: string } = {
  rabbit_password_hashing_sha256: 'sha256',
  rabbit_password_hashing_sha512: 'sha512',
  rabbit_password_hashing_md5: 'md5',
};

/**
 * Whether `password` is the one RabbitMQ stored as `passwordHash`: base64 of a 4-byte salt
 * followed by hash(salt + password) (`rabbit_password`); false for a user without a password.
 * Undefined when it cannot be checked: the hash was not returned, or the algorithm is not one of
 * RabbitMQ's built-in sha256, sha512 or md5.
 */
export function passwordMatchesHash(password: string, hash: ManagementPasswordHash): boolean | undefined {
  const algorithm = hash.hashingAlgorithm ?? '';
  const digest = Object.prototype.hasOwnProperty.call(HASH_OF_ALGORITHM, algorithm) ? HASH_OF_ALGORITHM[algorithm] : undefined;
  if (digest === undefined || hash.passwordHash === undefined) return undefined;
  const stored = Buffer.from(hash.passwordHash, 'base64');
  if (stored.length <= 4) return false;
  const salt = stored.subarray(0, 4);
  const expected = Buffer.concat([salt, createHash(digest).update(salt).update(password, 'utf8').digest()]);
  return stored.length === expected.length && timingSafeEqual(stored, expected);
}

function enc(name: string): string {
  return encodeURIComponent(name);
}

function toUser(body: unknown): ManagementUser {
  const raw = body as { name: string; tags: string | string[] };
  const tags = Array.isArray(raw.tags) ? raw.tags : raw.tags.split(',');
  return { name: raw.name, tags: tags.map((t) => t.trim()).filter((t) => t.length > 0) };
}

function reasonOf(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: string; reason?: unknown };
    if (parsed.reason !== undefined) {
      return `${parsed.error ?? 'error'}: ${typeof parsed.reason === 'string' ? parsed.reason : JSON.stringify(parsed.reason)}`;
    }
  } catch {
    // not JSON: fall through and show the raw text
  }
  return text.slice(0, 500) || '(empty body)';
}

function describeNetworkError(e: unknown, timeoutMs: number): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') {
    return `no answer within ${timeoutMs} ms (timeout)`;
  }
  const code = err?.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `host name not resolved (${code})`;
  if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return `connection timed out (${code})`;
  return [err?.message, err?.cause?.message, code].filter(Boolean).join(': ') || String(e);
}
