// A loopback TCP proxy that delays every chunk by a fixed latency in each
// direction, keeping order: a slow API server (or a long network path) in
// front of the real one. TLS passes through untouched.
import net from 'node:net';

export class LatencyProxy {
  port = 0;
  /** Added one-way latency in ms; changes apply to data sent from then on. */
  delayMs = 0;
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<void> {
    this.server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private accept(client: net.Socket): void {
    const upstream = net.connect(this.targetPort, this.targetHost);
    this.sockets.add(client);
    this.sockets.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
    }
    this.relay(client, upstream);
    this.relay(upstream, client);
  }

  /** Forwards `from` to `to`, each chunk `delayMs` later, never reordered. */
  private relay(from: net.Socket, to: net.Socket): void {
    let last = 0;
    from.on('data', (chunk: Buffer) => {
      const due = Math.max(Date.now() + this.delayMs, last);
      last = due;
      const send = () => {
        if (!to.destroyed) to.write(chunk);
      };
      const wait = due - Date.now();
      if (wait <= 0) send();
      else setTimeout(send, wait);
    });
  }
}
