import { BrokerQueue, ControlRequest, LiveFacts, LiveWorker } from '../facts';
import { ManagementApi, vhostSegment } from './management-api';
import { CheapMethod, RemoteControl } from './remote-control';

/** Bounds of the live reads. */
export interface LiveBounds {
  /** Per remote-control request and per management API request. */
  readonly timeoutMs: number;
  /** Most workers asked (ping replies beyond it are ignored). */
  readonly maxWorkers: number;
  /** Largest single reply or response. */
  readonly maxReplyBytes: number;
  /** How long to listen for heartbeat events. */
  readonly heartbeatSampleMs: number;
}

export const DEFAULT_LIVE_BOUNDS: LiveBounds = {
  timeoutMs: 3000,
  maxWorkers: 500,
  maxReplyBytes: 256 * 1024,
  heartbeatSampleMs: 5000,
};

export interface LiveReadOptions {
  readonly amqpUrl: string;
  readonly managementUrl?: string;
  readonly username: string;
  readonly password: string;
  readonly bounds: LiveBounds;
}

/** The `conf` keys the checks read; the rest of a worker's configuration is never kept. */
export const CONF_KEYS = [
  'task_acks_late', 'task_reject_on_worker_lost', 'worker_prefetch_multiplier', 'task_time_limit', 'task_soft_time_limit',
  'task_default_queue_type', 'worker_detect_quorum_queues', 'control_queue_exclusive', 'event_queue_exclusive',
  'broker_heartbeat', 'worker_enable_remote_control', 'task_queues', 'task_default_queue',
];

/** vhost of an AMQP URL (`amqp://u:p@h:5672/%2F` is `/`; no path is `/`). */
export function vhostOf(url: string): string {
  const path = new URL(url).pathname;
  return path.length > 1 ? decodeURIComponent(path.slice(1)) : '/';
}

export async function readLive(options: LiveReadOptions): Promise<LiveFacts> {
  const { bounds } = options;
  const vhost = vhostOf(options.amqpUrl);
  const amqpHost = new URL(options.amqpUrl).host;
  const partial: string[] = [];
  const requests: ControlRequest[] = [];

  const rc = await RemoteControl.open({
    url: options.amqpUrl,
    connectTimeoutMs: bounds.timeoutMs,
    maxReplyBytes: bounds.maxReplyBytes,
    maxQueuedBytes: bounds.maxReplyBytes * 8,
  });
  try {
    const management = options.managementUrl
      ? readManagement(new ManagementApi({
        baseUrl: options.managementUrl,
        username: options.username,
        password: options.password,
        timeoutMs: bounds.timeoutMs,
        maxBytes: bounds.maxReplyBytes * 16,
      }), vhost, partial)
      : Promise.resolve(undefined);
    if (!options.managementUrl) partial.push('management API: no URL (pass --management-url), queue types and gossip not read');
    const heartbeats = rc.sample('celeryev', 'worker.heartbeat', bounds.heartbeatSampleMs, bounds.maxWorkers * 10)
      .catch((e: Error) => {
        partial.push(`heartbeat sample: ${e.message}`);
        return [] as unknown[];
      });

    type Mutable<T> = { -readonly [K in keyof T]: T[K] };
    const workers = new Map<string, Partial<Mutable<LiveWorker>> & { conf: { [k: string]: unknown } }>();
    if (rc.exchangeExists) {
      const call = async (method: CheapMethod, destination: string[] | null, limit: number) => {
        const r = await rc.call(method, { destination, timeoutMs: bounds.timeoutMs, limit });
        requests.push({ method, destination, replies: r.replies.size, replyBytes: r.replyBytes, dropped: r.dropped });
        return r.replies;
      };
      const pongs = await call('ping', null, bounds.maxWorkers);
      const nodes = [...pongs.keys()].sort().slice(0, bounds.maxWorkers);
      for (const n of nodes) workers.set(n, { node: n, conf: {}, queues: [] });
      if (nodes.length > 0) {
        for (const [node, s] of await call('stats', nodes, nodes.length)) {
          const w = workers.get(node);
          const stats = s as { prefetch_count?: unknown; uptime?: number; pool?: { 'max-concurrency'?: number; 'implementation'?: string; 'timeouts'?: [number, number] } };
          if (!w) continue;
          w.prefetchCount = typeof stats.prefetch_count === 'number' ? stats.prefetch_count : undefined;
          w.concurrency = stats.pool?.['max-concurrency'];
          w.pool = stats.pool?.implementation;
          w.timeLimits = stats.pool?.timeouts;
          w.uptimeSeconds = stats.uptime;
        }
        for (const [node, c] of await call('conf', nodes, nodes.length)) {
          const w = workers.get(node);
          if (!w || typeof c !== 'object' || c === null) continue;
          for (const key of CONF_KEYS) if (key in c) w.conf[key] = (c as { [k: string]: unknown })[key];
        }
        for (const [node, q] of await call('active_queues', nodes, nodes.length)) {
          const w = workers.get(node);
          if (!w || !Array.isArray(q)) continue;
          w.queues = q.map((x: { name?: string; queue_arguments?: { [k: string]: unknown } | null }) => ({
            name: String(x.name ?? ''),
            declaredType: typeof x.queue_arguments?.['x-queue-type'] === 'string' ? String(x.queue_arguments['x-queue-type']) : undefined,
          }));
        }
        for (const [node, r] of await call('report', nodes, nodes.length)) {
          const w = workers.get(node);
          const text = (r as { ok?: unknown })?.ok;
          if (w && typeof text === 'string') w.celeryVersion = /celery:(\d+\.\d+\.\d+)/.exec(text)?.[1];
        }
      }
    }

    const [mgmt, events] = await Promise.all([management, heartbeats]);
    const beats = new Map<string, number>();
    for (const e of events.flatMap((x) => Array.isArray(x) ? x : [x]) as Array<{ hostname?: string; type?: string }>) {
      if (e?.type === 'worker-heartbeat' && e.hostname) beats.set(e.hostname, (beats.get(e.hostname) ?? 0) + 1);
    }
    // Workers that send heartbeats but have remote control off still count as workers.
    for (const host of beats.keys()) if (!workers.has(host)) workers.set(host, { node: host, conf: {}, queues: [] });

    const live: LiveWorker[] = [...workers.values()].map((w) => ({
      ...w,
      node: w.node!,
      conf: w.conf,
      queues: w.queues ?? [],
      heartbeatsSeen: beats.get(w.node!) ?? 0,
      // Known only for workers whose pidbox consumer the management API lists (its stats lag by seconds).
      gossip: mgmt?.pidboxNodes?.has(w.node!) ? mgmt.gossipNodes!.has(w.node!) : undefined,
    }));
    const unmapped = live.filter((w) => w.gossip === undefined && mgmt?.pidboxNodes).map((w) => w.node);
    if (unmapped.length > 0) partial.push(`management API lists no remote-control consumer for ${unmapped.length} worker(s): gossip unknown for them`);
    return {
      managementUrl: options.managementUrl,
      amqpHost,
      vhost,
      rabbitmqVersion: mgmt?.version,
      vhostDefaultQueueType: mgmt?.defaultQueueType,
      remoteControlExchange: rc.exchangeExists,
      workers: live.sort((a, b) => a.node.localeCompare(b.node)),
      queues: mgmt?.queues ?? [],
      eventPublishRate: mgmt?.eventPublishRate,
      heartbeatSampleSeconds: bounds.heartbeatSampleMs / 1000,
      requests,
      partial,
    };
  } finally {
    await rc.close();
  }
}

interface ManagementFacts {
  version?: string;
  defaultQueueType?: string;
  queues?: BrokerQueue[];
  gossipNodes?: Set<string>;
  pidboxNodes?: Set<string>;
  eventPublishRate?: number;
}

/** Pages of /api/queues read at most (500 queues a page). */
const MAX_QUEUE_PAGES = 4;

async function readManagement(api: ManagementApi, vhost: string, partial: string[]): Promise<ManagementFacts> {
  const facts: ManagementFacts = {};
  const v = vhostSegment(vhost);
  const attempt = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (error) {
      partial.push(`management API ${what}: ${(error as Error).message}`);
    }
  };
  await attempt('overview', async () => {
    facts.version = (await api.get<{ rabbitmq_version?: string }>('overview')).rabbitmq_version;
  });
  await attempt('vhost', async () => {
    const info = await api.get<{ default_queue_type?: string; metadata?: { default_queue_type?: string } }>(`vhosts/${v}`);
    const t = info.default_queue_type ?? info.metadata?.default_queue_type;
    facts.defaultQueueType = t && t !== 'undefined' ? t : undefined;
  });
  await attempt('queues', async () => {
    const queues: BrokerQueue[] = [];
    for (let page = 1; page <= MAX_QUEUE_PAGES; page++) {
      const res = await api.get<{ items: Array<{ [k: string]: unknown }>; page_count: number }>(
        `queues/${v}?page=${page}&page_size=500&columns=name,vhost,type,durable,exclusive,auto_delete,consumers`);
      for (const q of res.items) {
        queues.push({
          name: String(q.name),
          vhost: String(q.vhost),
          type: String(q.type ?? 'classic'),
          durable: Boolean(q.durable),
          exclusive: Boolean(q.exclusive),
          autoDelete: Boolean(q.auto_delete),
          consumers: Number(q.consumers ?? 0),
        });
      }
      if (page >= res.page_count) break;
    }
    facts.queues = queues;
  });
  await attempt('consumers', async () => {
    // A worker's pidbox queue (NODE.celery.pidbox) and its gossip queue (celeryev.*) share its connection.
    const consumers = await api.get<Array<{ queue?: { name?: string }; channel_details?: { connection_name?: string } }>>(`consumers/${v}`);
    const nodeByConnection = new Map<string, string>();
    for (const c of consumers) {
      const m = /^(.+)\.celery\.pidbox$/.exec(c.queue?.name ?? '');
      if (m && c.channel_details?.connection_name) nodeByConnection.set(c.channel_details.connection_name, m[1]);
    }
    const gossip = new Set<string>();
    for (const c of consumers) {
      const node = nodeByConnection.get(c.channel_details?.connection_name ?? '');
      if (node && /^celeryev\./.test(c.queue?.name ?? '')) gossip.add(node);
    }
    facts.gossipNodes = gossip;
    facts.pidboxNodes = new Set(nodeByConnection.values());
  });
  await attempt('celeryev exchange', async () => {
    try {
      const ex = await api.get<{ message_stats?: { publish_in_details?: { rate?: number } } }>(`exchanges/${v}/celeryev`);
      facts.eventPublishRate = ex.message_stats?.publish_in_details?.rate ?? 0;
    } catch (error) {
      if (/HTTP 404/.test((error as Error).message)) facts.eventPublishRate = 0;
      else throw error;
    }
  });
  return facts;
}
