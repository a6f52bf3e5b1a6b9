import { AddressInfo, createServer, Socket } from 'net';

/**
 * A TCP proxy on 127.0.0.1 in front of a broker port that counts every byte each way, over every
 * connection made through it, closed ones included. RabbitMQ's per-connection `recv_oct` is only
 * readable while a connection lives, so a client that opens a short-lived connection (Celery 5.6
 * declares its delay queues on one) would otherwise hide those bytes.
 */
export interface ByteCountingProxy {
  /** Port to connect to instead of the broker's. */
  readonly port: number;
  /** Bytes clients sent to the broker through the proxy (the broker's ingress from them). */
  readonly bytesToServer: number;
  /** Bytes the broker sent back through the proxy. */
  readonly bytesToClient: number;
  /** Connections made through the proxy so far. */
  readonly connections: number;
  /**
   * Per proxied connection: the local port of its broker-side socket (RabbitMQ's `peer_port` of
   * it), the bytes each way, and whether it is still open.
   */
  links(): Array<{ readonly upstreamPort?: number; readonly toServer: number; readonly toClient: number; readonly open: boolean }>;
  /** Stop accepting and close every connection. */
  close(): Promise<void>;
}

export async function startByteCountingProxy(targetPort: number): Promise<ByteCountingProxy> {
  let bytesToServer = 0;
  let bytesToClient = 0;
  let connections = 0;
  const sockets = new Set<Socket>();
  const links: Array<{ upstreamPort?: number; toServer: number; toClient: number; open: boolean }> = [];
  const server = createServer((client) => {
    connections++;
    const upstream = new Socket();
    const link: { upstreamPort?: number; toServer: number; toClient: number; open: boolean } = { toServer: 0, toClient: 0, open: true };
    links.push(link);
    upstream.once('connect', () => { link.upstreamPort = upstream.localPort; });
    sockets.add(client);
    sockets.add(upstream);
    const closeBoth = () => {
      link.open = false;
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('data', (chunk: Buffer) => { bytesToServer += chunk.length; link.toServer += chunk.length; upstream.write(chunk); });
    upstream.on('data', (chunk: Buffer) => { bytesToClient += chunk.length; link.toClient += chunk.length; client.write(chunk); });
    client.on('close', closeBoth);
    upstream.on('close', closeBoth);
    client.on('error', closeBoth);
    upstream.on('error', closeBoth);
    upstream.connect(targetPort, '127.0.0.1');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    get bytesToServer() { return bytesToServer; },
    get bytesToClient() { return bytesToClient; },
    get connections() { return connections; },
    links: () => links.map((l) => ({ ...l })),
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
