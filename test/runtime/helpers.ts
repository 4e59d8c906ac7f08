// Test tools for the operator runtime: a TCP proxy that can stall, refuse or
// black-hole connections to the API server; a namespace-confining HTTP proxy
// in front of the API server for controller processes; controller child
// processes with their JSON logs; a Prometheus text parser.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../../src/kube/client.ts';
import { projectRoot } from '../../src/util/paths.ts';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------
// TCP proxy

interface Pair {
  client: net.Socket;
  upstream?: net.Socket;
}

/**
 * A TCP proxy on 127.0.0.1 in front of host:port. TLS passes through it
 * untouched (the API server's certificate names 127.0.0.1), so a client
 * pointed at it behaves exactly as one talking to the server, until the
 * test breaks the path:
 * - freeze(): existing connections stay open but nothing flows any more (a
 *   silent, stalled stream);
 * - blackhole = true: new connections are accepted and never answered;
 * - down(): every connection is cut and new ones are refused; up() listens again on the same port.
 */
export class TcpProxy {
  port = 0;
  blackhole = false;
  accepted = 0;
  private server: net.Server | undefined;
  private readonly pairs = new Set<Pair>();

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  static async forKubeconfig(kubeconfig: string): Promise<TcpProxy> {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const url = new URL(kc.getCurrentCluster()!.server);
    const proxy = new TcpProxy(url.hostname, Number(url.port || 443));
    await proxy.up();
    return proxy;
  }

  async up(): Promise<void> {
    const server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** Cuts every connection and refuses new ones. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const p of this.pairs) {
      p.client.destroy();
      p.upstream?.destroy();
    }
    this.pairs.clear();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  /** Existing connections stop forwarding in both directions but stay open. */
  freeze(): void {
    for (const p of this.pairs) {
      if (p.upstream) {
        p.client.unpipe(p.upstream);
        p.upstream.unpipe(p.client);
        p.upstream.pause();
      }
      p.client.pause();
    }
  }

  get openConnections(): number {
    return this.pairs.size;
  }

  async close(): Promise<void> {
    await this.down();
  }

  private accept(client: net.Socket): void {
    this.accepted++;
    const pair: Pair = { client };
    this.pairs.add(pair);
    const drop = () => {
      client.destroy();
      pair.upstream?.destroy();
      this.pairs.delete(pair);
    };
    client.on('error', drop);
    client.on('close', drop);
    if (this.blackhole) {
      client.pause();
      return;
    }
    const upstream = net.connect(this.targetPort, this.targetHost);
    pair.upstream = upstream;
    upstream.on('error', drop);
    upstream.on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  }
}

/** A client of the test cluster that goes through `proxy`. */
export async function clientVia(proxy: TcpProxy, kubeconfig: string): Promise<KubeClient> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const cluster = kc.getCurrentCluster()!;
  const user = kc.getCurrentUser()!;
  kc.loadFromOptions({
    clusters: [{ ...cluster, name: 'proxy', server: `https://127.0.0.1:${proxy.port}` }],
    users: [{ ...user, name: 'user' }],
    contexts: [{ name: 'proxy', cluster: 'proxy', user: 'user' }],
    currentContext: 'proxy',
  });
  return KubeClient.fromKubeConfig(kc);
}

export interface RequestSpy {
  lists: Array<{ path: string; at: number }>;
  watches: Array<{ path: string; resourceVersion: string; at: number }>;
}

/** Records the list and watch requests a client makes (test-side wrapper, the client is unchanged). */
export function spyOn(client: KubeClient): RequestSpy {
  const spy: RequestSpy = { lists: [], watches: [] };
  const request = client.request.bind(client);
  const stream = client.stream.bind(client);
  client.request = ((opts) => {
    if ((opts.method ?? 'GET') === 'GET') spy.lists.push({ path: opts.path, at: Date.now() });
    return request(opts);
  }) as KubeClient['request'];
  client.stream = ((opts) => {
    spy.watches.push({ path: opts.path, resourceVersion: String(opts.query?.resourceVersion ?? ''), at: Date.now() });
    return stream(opts);
  }) as KubeClient['stream'];
  return spy;
}

// ---------------------------------------------------------------------------
// API proxy for controller processes

/**
 * A plain-HTTP proxy on 127.0.0.1 in front of the test cluster, used as the
 * kubeconfig of controller child processes. It authenticates upstream with
 * the admin credentials and turns the cluster-wide lists and watches of
 * Sluice's kinds into lists of one namespace, so controllers started by a
 * test reconcile that test's objects only and never other people's in the
 * shared cluster. `hold()` parks every request until `release()`.
 */
export class ApiProxy {
  port = 0;
  requests = 0;
  private server: http.Server | undefined;
  private agent: https.Agent | undefined;
  private held: Array<() => void> | undefined;

  private constructor(
    private readonly upstream: URL,
    private readonly tls: https.RequestOptions,
    private readonly namespace: string,
  ) {}

  static async start(kubeconfig: string, namespace: string): Promise<ApiProxy> {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const tls: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(tls);
    const p = new ApiProxy(new URL(kc.getCurrentCluster()!.server), tls, namespace);
    p.agent = new https.Agent({ keepAlive: true, ca: tls.ca, cert: tls.cert, key: tls.key });
    p.server = http.createServer((req, res) => p.handle(req, res));
    await new Promise<void>((resolve) => p.server!.listen(0, '127.0.0.1', () => resolve()));
    p.port = (p.server.address() as net.AddressInfo).port;
    return p;
  }

  hold(): void {
    this.held ??= [];
  }

  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const go of held) go();
  }

  /** A kubeconfig file that points at this proxy. */
  async writeKubeconfig(dir: string): Promise<string> {
    const path = join(dir, 'proxy.kubeconfig');
    await writeFile(
      path,
      [
        'apiVersion: v1',
        'kind: Config',
        // Plain HTTP on loopback; client-node wants insecure-skip-tls-verify to allow http at all.
        'clusters: [{name: proxy, cluster: {server: "http://127.0.0.1:' + this.port + '", insecure-skip-tls-verify: true}}]',
        'users: [{name: proxy, user: {token: unused}}]',
        'contexts: [{name: proxy, context: {cluster: proxy, user: proxy}}]',
        'current-context: proxy',
        '',
      ].join('\n'),
    );
    return path;
  }

  async close(): Promise<void> {
    this.release();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.agent?.destroy();
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.requests++;
    if (this.held) {
      this.held.push(() => this.handle(req, res));
      this.requests--;
      return;
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const m = /^\/apis\/((?:source|kustomize|helm)\.toolkit\.fluxcd\.io)\/([^/]+)\/([a-z]+)$/.exec(url.pathname);
    if (m && req.method === 'GET') url.pathname = `/apis/${m[1]}/${m[2]}/namespaces/${this.namespace}/${m[3]}`;
    const headers = { ...req.headers, host: this.upstream.host };
    delete headers.authorization;
    const up = https.request(
      {
        host: this.upstream.hostname,
        port: this.upstream.port,
        method: req.method,
        path: url.pathname + url.search,
        headers,
        agent: this.agent,
      },
      (ures) => {
        res.writeHead(ures.statusCode ?? 502, ures.headers);
        ures.pipe(res);
        res.on('close', () => {
          if (!ures.complete) ures.destroy();
        });
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  }
}

// ---------------------------------------------------------------------------
// Controller processes

export interface LogRecord {
  level: string;
  ts: string;
  msg: string;
  [k: string]: unknown;
}

/** `sluice controller` as a child process, with its JSON log lines parsed. */
export class ControllerProcess {
  readonly lines: string[] = [];
  readonly logs: LogRecord[] = [];
  readonly stdout: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  private waiters: Array<() => void> = [];

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    let buf = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        this.lines.push(line);
        try {
          this.logs.push(JSON.parse(line) as LogRecord);
        } catch {
          // kept in lines; the log test reports it
        }
        if (process.env.SLUICE_TEST_VERBOSE) process.stderr.write(`# [${name}] ${line}\n`);
      }
      for (const w of this.waiters.splice(0)) w();
    });
    child.stdout!.setEncoding('utf8').on('data', (c: string) => this.stdout.push(c));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
  }

  static start(name: string, args: string[], env: NodeJS.ProcessEnv = {}): ControllerProcess {
    const child = spawn(process.execPath, [join(projectRoot, 'bin/sluice.js'), 'controller', ...args], {
      cwd: projectRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ControllerProcess(name, child);
  }

  /** Waits for a log record matching `pred`. */
  async waitLog(what: string, pred: (r: LogRecord) => boolean, timeoutMs = 30_000): Promise<LogRecord> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.logs.find(pred);
      if (hit) return hit;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}) before ${what}:\n${this.lines.slice(-20).join('\n')}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: timed out waiting for ${what}; last lines:\n${this.lines.slice(-20).join('\n')}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 500));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Base URL of /healthz, /readyz and /metrics, from the startup log. */
  async httpUrl(): Promise<string> {
    const r = await this.waitLog('the health and metrics address', (l) => l.msg === 'serving health and metrics');
    return `http://${String(r.address)}`;
  }

  /** Base URL of the artifact server, from the startup log. */
  async storageUrl(): Promise<string> {
    const r = await this.waitLog('the artifact server address', (l) => l.msg === 'controller running');
    return String(r.artifacts);
  }

  kill(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  /** SIGTERM, then SIGKILL if it is still there after `graceMs`. */
  async stop(graceMs = 40_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.kill('SIGTERM');
    const t = setTimeout(() => this.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(t);
  }
}

/** Flags that make a controller process independent of any other on the machine. */
export function controllerArgs(o: { kubeconfig: string; dataDir: string; leaseNamespace?: string; extra?: string[] }): string[] {
  return [
    `--kubeconfig=${o.kubeconfig}`,
    '--http-addr=127.0.0.1:0',
    '--storage-addr=127.0.0.1:0',
    '--receiverAddr=127.0.0.1:0',
    `--data-dir=${o.dataDir}`,
    '--requeue-dependency=1s',
    ...(o.leaseNamespace ? ['--leader-elect', `--leader-election-namespace=${o.leaseNamespace}`] : []),
    ...(o.extra ?? []),
  ];
}

// ---------------------------------------------------------------------------
// Prometheus

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format (enough of it for our own /metrics). */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) throw new Error(`not a metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of the samples of `name` whose labels include `labels`. */
export function metricSum(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

export function metricFind(samples: Sample[], name: string, labels: Record<string, string>): Sample | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

export async function scrape(baseUrl: string): Promise<Sample[]> {
  const res = await fetch(`${baseUrl}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return parseMetrics(await res.text());
}

// ---------------------------------------------------------------------------
// An HTTP forward proxy for git

/**
 * A forward proxy (what `http_proxy` points at) that sends every request to
 * one Git HTTP server, whatever host the URL names. A GitRepository whose URL
 * names a host that does not resolve (e.g. slow.sluice.invalid) can then be
 * fetched only by a process that has http_proxy set to this proxy: other
 * controllers in the shared cluster cannot do this test's work.
 */
export class GitForwardProxy {
  port = 0;
  readonly log: Array<{ path: string; start: number; end?: number; status?: number }> = [];
  private server: http.Server | undefined;

  static async start(target: { port: number }): Promise<GitForwardProxy> {
    const p = new GitForwardProxy();
    p.server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const entry: { path: string; start: number; end?: number; status?: number } = { path: url.pathname, start: Date.now() };
      p.log.push(entry);
      const up = http.request(
        { host: '127.0.0.1', port: target.port, method: req.method, path: url.pathname + url.search, headers: { ...req.headers, host: `127.0.0.1:${target.port}` } },
        (ures) => {
          res.writeHead(ures.statusCode ?? 502, ures.headers);
          ures.pipe(res);
          ures.on('end', () => {
            entry.end = Date.now();
            entry.status = ures.statusCode;
          });
        },
      );
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((resolve) => p.server!.listen(0, '127.0.0.1', () => resolve()));
    p.port = (p.server.address() as net.AddressInfo).port;
    return p;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
