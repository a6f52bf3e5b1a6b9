import { randomUUID } from 'crypto';

/**
 * Sends Celery tasks through the RabbitMQ management HTTP API and waits for their results: the
 * end-to-end check of the integration test ("a task sent to a queue is consumed"), runnable
 * against a local RabbitMQ in jest and against Amazon MQ from a Lambda function in the VPC.
 *
 * Each task is a Celery message protocol v2 message (task name, id and reply address in the
 * headers and properties; `[args, kwargs, embed]` as a JSON body) published to the default
 * exchange with the queue as routing key, as `Task.apply_async(queue=...)` does. The workers
 * answer through the `rpc://` result backend: to the `reply_to` queue, with the task id as
 * correlation id. So a SUCCESS result proves that a worker of the queue received, ran and
 * acknowledged the task, and could publish as its broker user.
 *
 * Publishing and reading over the HTTP API is meant for tests and diagnostics only, which this is.
 * It needs a user with a management tag (the broker's administrator). RabbitMQ gives the user
 * who creates a vhost through the API full permissions on it (checked on 3.10), and the
 * application-user resource creates the Celery vhost as the administrator; should the
 * administrator still have no permissions on the vhost, the probe grants itself the least it needs
 * (its own reply queues, the default exchange) and takes them back afterwards.
 */

/** One task to send. */
export interface ProbeTask {
  /** The queue, for example `orders`. */
  readonly queue: string;
  /** The registered task name, for example `shop.add`. */
  readonly task: string;
  /** Positional arguments (JSON). */
  readonly args?: unknown[];
  /** Keyword arguments (JSON). */
  readonly kwargs?: { [name: string]: unknown };
}

/** What the probe reports for one task. */
export interface ProbeTaskResult {
  readonly queue: string;
  readonly task: string;
  readonly taskId: string;
  /**
   * Celery's final state (`SUCCESS`, `FAILURE`, ...), or `NOT_ROUTED` (no queue of that name:
   * no worker declared it) or `TIMEOUT` (no result in time).
   */
  readonly status: string;
  /** The task's return value (SUCCESS) or exception (FAILURE). */
  readonly result?: unknown;
  readonly traceback?: string;
}

export interface ProbeReport {
  readonly allSucceeded: boolean;
  readonly results: ProbeTaskResult[];
}

export interface ProbeOptions {
  /** Base URL of the management API: `https://HOST:443` on Amazon MQ, `http://127.0.0.1:PORT` locally. */
  readonly managementUrl: string;
  /** A user with a management tag (the broker's administrator). */
  readonly username: string;
  readonly password: string;
  /** The vhost the workers consume in. */
  readonly vhost: string;
  readonly tasks: ProbeTask[];
  /** How long to wait for all results. */
  readonly timeoutMs: number;
  /** Wait between reads of the reply queue. */
  readonly pollIntervalMs?: number;
  /** Progress messages (never given credentials). */
  readonly log?: (message: string) => void;
}

/** Reply queues: `cdk-celery-probe-UUID`. */
const REPLY_QUEUE_PREFIX = 'cdk-celery-probe-';
/** What the probe needs when it has to grant itself permissions on the vhost. */
const PROBE_PERMISSIONS = { configure: '^cdk-celery-probe-.*$', write: '^amq\\.default$', read: '^cdk-celery-probe-.*$' };
const REQUEST_TIMEOUT_MS = 10_000;

/** Send the tasks, wait for their results (or the timeout) and report; the broker is left as found. */
export async function probeCeleryTasks(options: ProbeOptions): Promise<ProbeReport> {
  const log = options.log ?? (() => undefined);
  const api = new ManagementApi(options.managementUrl, options.username, options.password);
  const vhost = encodeURIComponent(options.vhost);
  const user = encodeURIComponent(options.username);
  const replyQueue = `${REPLY_QUEUE_PREFIX}${randomUUID()}`;
  const queuePath = `/api/queues/${vhost}/${encodeURIComponent(replyQueue)}`;

  const grantedPermissions = (await api.call('GET', `/api/permissions/${vhost}/${user}`, undefined, [404])).status === 404;
  if (grantedPermissions) {
    log(`${options.username} has no permissions on vhost ${options.vhost}; granting the probe's own for the run`);
    await api.call('PUT', `/api/permissions/${vhost}/${user}`, PROBE_PERMISSIONS);
  }
  try {
    // Classic and durable (RabbitMQ 4.x refuses transient non-exclusive queues); expires if the probe dies.
    await api.call('PUT', queuePath, {
      durable: true, auto_delete: false, arguments: { 'x-queue-type': 'classic', 'x-expires': Math.max(options.timeoutMs * 2, 600_000) },
    });
    try {
      const pending = new Map<string, { task: ProbeTask; result?: ProbeTaskResult }>();
      for (const task of options.tasks) {
        const taskId = randomUUID();
        const message = celeryMessage(task, taskId, replyQueue);
        const response = await api.call('POST', `/api/exchanges/${vhost}/amq.default/publish`, message);
        const routed = (response.body as { routed?: boolean }).routed === true;
        log(`sent ${task.task} ${taskId} to ${task.queue}${routed ? '' : ' (not routed: no such queue)'}`);
        pending.set(taskId, { task, result: routed ? undefined : { queue: task.queue, task: task.task, taskId, status: 'NOT_ROUTED' } });
      }

      const deadline = Date.now() + options.timeoutMs;
      while ([...pending.values()].some((p) => !p.result) && Date.now() < deadline) {
        const got = await api.call('POST', `${queuePath}/get`, { count: 50, ackmode: 'ack_requeue_false', encoding: 'auto', truncate: 100_000 });
        for (const m of got.body as Array<{ payload: string; properties?: { correlation_id?: string } }>) {
          const entry = pending.get(m.properties?.correlation_id ?? '');
          if (!entry) continue;
          const body = JSON.parse(m.payload) as { status: string; result?: unknown; traceback?: string };
          entry.result = {
            queue: entry.task.queue,
            task: entry.task.task,
            taskId: m.properties!.correlation_id!,
            status: body.status,
            result: body.result,
            traceback: body.traceback ?? undefined,
          };
          log(`result of ${entry.task.task}: ${body.status}`);
        }
        if ([...pending.values()].some((p) => !p.result)) await sleep(options.pollIntervalMs ?? 1000);
      }
      const results = [...pending.entries()].map(([taskId, p]) => p.result ?? { queue: p.task.queue, task: p.task.task, taskId, status: 'TIMEOUT' });
      return { allSucceeded: results.every((r) => r.status === 'SUCCESS'), results };
    } finally {
      await api.call('DELETE', queuePath, undefined, [404]);
    }
  } finally {
    if (grantedPermissions) await api.call('DELETE', `/api/permissions/${vhost}/${user}`, undefined, [404]);
  }
}

/**
 * A Celery message protocol v2 message, as the management API publishes it. Headers carry no
 * null values (the worker reads absent ones as None).
 */
export function celeryMessage(task: ProbeTask, taskId: string, replyTo: string) {
  const args = task.args ?? [];
  const kwargs = task.kwargs ?? {};
  return {
    routing_key: task.queue,
    payload: JSON.stringify([args, kwargs, { callbacks: null, errbacks: null, chain: null, chord: null }]),
    payload_encoding: 'string',
    properties: {
      content_type: 'application/json',
      content_encoding: 'utf-8',
      correlation_id: taskId,
      reply_to: replyTo,
      delivery_mode: 2,
      priority: 0,
      headers: {
        lang: 'py',
        task: task.task,
        id: taskId,
        root_id: taskId,
        retries: 0,
        argsrepr: JSON.stringify(args),
        kwargsrepr: JSON.stringify(kwargs),
        origin: 'cdk-celery-probe',
        ignore_result: false,
      },
    },
  };
}

class ManagementApi {
  private readonly authorization: string;
  constructor(private readonly baseUrl: string, username: string, password: string) {
    this.authorization = 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64');
  }

  async call(method: string, path: string, body?: unknown, allowed: number[] = []): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${this.baseUrl.replace(/\/$/, '')}${path}`, {
      method,
      headers: { 'authorization': this.authorization, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await response.text();
    if (!response.ok && !allowed.includes(response.status)) {
      throw new Error(`${method} ${path}: HTTP ${response.status} ${text.slice(0, 300)}`);
    }
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
