/**
 * Reads of the RabbitMQ management HTTP API (GET only), each bounded in time and in the size of
 * the response.
 */
export interface ManagementApiOptions {
  /** Base URL, for example `https://b-1234.mq.eu-west-1.amazonaws.com` (the API is under /api). */
  readonly baseUrl: string;
  readonly username: string;
  readonly password: string;
  /** Per request. */
  readonly timeoutMs: number;
  /** Largest response body read. */
  readonly maxBytes: number;
}

export class ManagementApi {
  constructor(private readonly options: ManagementApiOptions) {}

  /** GET /api/PATH and parse JSON; throws on HTTP errors, timeouts and oversized bodies. */
  public async get<T>(path: string): Promise<T> {
    const url = `${this.options.baseUrl.replace(/\/+$/, '')}/api/${path.replace(/^\//, '')}`;
    const auth = Buffer.from(`${this.options.username}:${this.options.password}`).toString('base64');
    const res = await fetch(url, {
      method: 'GET',
      headers: { authorization: `Basic ${auth}`, accept: 'application/json' },
      signal: AbortSignal.timeout(this.options.timeoutMs),
      redirect: 'error',
    });
    const body = await readBounded(res, this.options.maxBytes, path);
    if (!res.ok) throw new Error(`GET /api/${path}: HTTP ${res.status} ${body.slice(0, 200)}`);
    return JSON.parse(body) as T;
  }
}

async function readBounded(res: Response, maxBytes: number, what: string): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new Error(`GET /api/${what}: response larger than ${maxBytes} bytes, not read`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Path segment of a vhost (`/` is `%2F`). */
export function vhostSegment(vhost: string): string {
  return encodeURIComponent(vhost);
}
