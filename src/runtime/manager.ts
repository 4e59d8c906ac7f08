// src/runtime: what controller-runtime and Flux's pkg/runtime are to Flux's
// controllers. This file is the manager: shared caches, one work queue per
// controller, leader election, the health and metrics endpoints.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubeClient } from '../kube/client.ts';
import { Informer, type Handler } from '../kube/informer.ts';
import type { KubeObject } from '../kube/object.ts';
import type { Logger } from '../util/log.ts';
import { LeaderElector } from './leader.ts';
import type { Metrics } from './metrics.ts';
import { WorkQueue, type ReconcileOutcome } from './queue.ts';

/** Collections of Flux's kinds, which --watch-label-selector narrows. */
const TOOLKIT_PATH = /^\/apis\/[a-z]+\.toolkit\.fluxcd\.io\//;

export interface ControllerRegistration {
  kind: string;
  /** Cache of the reconciled kind; its changes enqueue the object itself. */
  informer: Informer;
  reconcile(key: string, signal: AbortSignal): Promise<ReconcileOutcome>;
  /** Other caches whose changes enqueue keys of this controller. */
  watches?: Array<{ informer: Informer; keys: (type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject, old?: KubeObject) => string[] }>;
  concurrency: number;
}

export interface ManagerOptions {
  client: KubeClient;
  log: Logger;
  metrics: Metrics;
  /** Address for /healthz, /readyz and /metrics, e.g. 127.0.0.1:8080; port 0 picks one. */
  httpAddress?: string;
  /** Serve /healthz and /readyz here instead (Flux's --health-addr), when not the same as httpAddress. */
  healthAddress?: string;
  /** Retry delays after a failed reconcile (Flux's --min-retry-delay, --max-retry-delay). */
  retry?: { baseDelayMs: number; maxDelayMs: number };
  /**
   * Reconcile only objects of the toolkit kinds that carry these labels
   * (Flux's --watch-label-selector, for sharding); other caches are not narrowed.
   */
  watchLabelSelector?: string;
  leaderElection?: { namespace: string; name: string; identity?: string; leaseDurationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number; releaseOnCancel?: boolean };
  /** How long running reconciles may take to finish on shutdown. */
  shutdownGraceMs?: number;
  /** Watch and reconcile objects of this namespace only (Flux's --watch-all-namespaces=false). */
  watchNamespace?: string;
  /** Extra HTTP routes (e.g. the webhook receiver). */
  routes?: Record<string, http.RequestListener>;
}

/**
 * Runs controllers: shared caches, one work queue per controller, leader
 * election so that of several replicas only one acts, health and metrics
 * endpoints, and a graceful shutdown that lets work finish and releases the lease.
 */
export class ControllerManager {
  private readonly informers = new Map<string, Informer>();
  private readonly controllers: ControllerRegistration[] = [];
  private readonly queues = new Map<string, WorkQueue>();
  private server: http.Server | undefined;
  private healthServer: http.Server | undefined;
  private elector: LeaderElector | undefined;
  private leading = false;
  private stopping = false;
  private metricsTimer: NodeJS.Timeout | undefined;
  /** Resolves when leadership is lost: the process must stop acting. */
  readonly lost: Promise<void>;
  private resolveLost!: () => void;

  constructor(private readonly o: ManagerOptions) {
    this.lost = new Promise((r) => (this.resolveLost = r));
  }

  /**
   * The shared cache for a collection path, created on first use. With
   * `watchNamespace` set, cluster-wide paths are narrowed to that namespace.
   */
  informer(clusterPath: string): Informer {
    const path = this.o.watchNamespace ? inNamespace(clusterPath, this.o.watchNamespace) : clusterPath;
    let inf = this.informers.get(path);
    if (!inf) {
      const labelSelector = this.o.watchLabelSelector && TOOLKIT_PATH.test(path) ? this.o.watchLabelSelector : undefined;
      inf = new Informer(this.o.client, path, { labelSelector, onError: (err) => this.o.log.error('watch failed', { path, error: String(err) }) });
      this.informers.set(path, inf);
    }
    return inf;
  }

  add(c: ControllerRegistration): void {
    this.controllers.push(c);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  get address(): AddressInfo | undefined {
    return this.server?.address() as AddressInfo | undefined;
  }

  /** Queue of a controller, e.g. for a webhook to request a reconcile. */
  queue(kind: string): WorkQueue | undefined {
    return this.queues.get(kind);
  }

  async start(): Promise<void> {
    await this.startHttp();
    // Caches fill before leadership, so a new leader acts at once.
    await Promise.all([...this.informers.values()].map((i) => i.start()));
    this.o.log.info('caches synced', { informers: this.informers.size });
    if (!this.o.leaderElection) {
      this.startControllers();
      return;
    }
    this.elector = new LeaderElector(this.o.client, {
      ...this.o.leaderElection,
      log: (msg, f) => this.o.log.info(msg, f),
      onStartedLeading: () => this.startControllers(),
      onStoppedLeading: () => {
        this.leading = false;
        for (const q of this.queues.values()) void q.shutDown(0);
        this.resolveLost();
      },
    });
    this.elector.start();
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.metricsTimer);
    await Promise.all([...this.queues.values()].map((q) => q.shutDown(this.o.shutdownGraceMs ?? 30_000)));
    await this.elector?.stop();
    for (const i of this.informers.values()) i.stop();
    await Promise.all([this.server, this.healthServer].map((s) => new Promise<void>((r) => (s ? s.close(() => r()) : r()))));
    this.o.log.info('stopped');
  }

  private startControllers(): void {
    if (this.leading || this.stopping) return;
    this.leading = true;
    for (const c of this.controllers) {
      const q = new WorkQueue((key, signal) => c.reconcile(key, signal), { concurrency: c.concurrency, ...this.o.retry }, (key, outcome, ms) => {
        const result = 'error' in outcome ? 'error' : 'success';
        this.o.metrics.reconcileDuration.observe({ kind: c.kind, result }, ms / 1000);
        this.o.metrics.reconcileTotal.inc({ kind: c.kind, result });
        if ('error' in outcome) this.o.log.error('reconcile error', { kind: c.kind, key, error: String((outcome.error as Error)?.message ?? outcome.error) });
      });
      this.queues.set(c.kind, q);
      const own: Handler = (type, obj, old) => {
        if (type === 'MODIFIED' && old && !specOrMetaChanged(old, obj)) return;
        const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
        if (type === 'DELETED') q.forget(key);
        else q.add(key);
      };
      c.informer.on(own);
      for (const w of c.watches ?? []) w.informer.on((type, obj, old) => w.keys(type, obj, old).forEach((k) => q.add(k)));
      for (const obj of c.informer.list()) q.add(`${obj.metadata.namespace}/${obj.metadata.name}`);
      this.o.log.info('controller started', { kind: c.kind, objects: c.informer.list().length, concurrency: c.concurrency });
    }
    this.metricsTimer = setInterval(() => {
      for (const [kind, q] of this.queues) this.o.metrics.queueDepth.set({ kind }, q.depth);
    }, 1_000);
    this.metricsTimer.unref();
  }

  private async startHttp(): Promise<void> {
    const probes = async (path: string, res: http.ServerResponse): Promise<boolean> => {
      if (path === '/healthz') return res.writeHead(200).end('ok'), true;
      if (path !== '/readyz') return false;
      const synced = [...this.informers.values()].every((i) => i.synced);
      res.writeHead(synced ? 200 : 503).end(synced ? 'ok' : 'caches not synced');
      return true;
    };
    const main = this.o.httpAddress ?? '127.0.0.1:0';
    // Flux serves probes on --health-addr and metrics on --metrics-addr; one server when they are the same (port 0: two ports).
    const separateHealth = this.o.healthAddress !== undefined && (this.o.healthAddress !== main || main.endsWith(':0'));
    this.server = await listen(main, async (req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      if (!separateHealth && (await probes(path, res))) return;
      if (path === '/metrics') {
        res.writeHead(200, { 'content-type': this.o.metrics.registry.contentType });
        return void res.end(await this.o.metrics.registry.metrics());
      }
      for (const [prefix, handler] of Object.entries(this.o.routes ?? {})) {
        if (path.startsWith(prefix)) return handler(req, res);
      }
      res.writeHead(404).end('not found');
    });
    this.o.log.info(separateHealth ? 'serving metrics' : 'serving health and metrics', { address: addressOf(this.server) });
    if (separateHealth) {
      this.healthServer = await listen(this.o.healthAddress!, async (req, res) => {
        if (!(await probes((req.url ?? '/').split('?')[0]!, res))) res.writeHead(404).end('not found');
      });
      this.o.log.info('serving health', { address: addressOf(this.healthServer) });
    }
  }
}

async function listen(address: string, handler: http.RequestListener): Promise<http.Server> {
  const i = address.lastIndexOf(':');
  const server = http.createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(address.slice(i + 1)), address.slice(0, i).replace(/^\[(.*)\]$/, '$1'), () => resolve());
  });
  return server;
}

function addressOf(server: http.Server): string {
  const a = server.address() as AddressInfo;
  return `${a.address}:${a.port}`;
}

/** `/apis/g/v/things?x` → `/apis/g/v/namespaces/ns/things?x`. */
export function inNamespace(path: string, namespace: string): string {
  const [p, q] = path.split('?', 2) as [string, string | undefined];
  if (p.includes('/namespaces/')) return path;
  const i = p.lastIndexOf('/');
  return `${p.slice(0, i)}/namespaces/${encodeURIComponent(namespace)}${p.slice(i)}${q !== undefined ? `?${q}` : ''}`;
}

/** Status-only updates (our own writes) must not trigger another reconcile. */
function specOrMetaChanged(old: KubeObject, obj: KubeObject): boolean {
  if (old.metadata.generation !== obj.metadata.generation) return true;
  if (!!old.metadata.deletionTimestamp !== !!obj.metadata.deletionTimestamp) return true;
  const a = old.metadata.annotations ?? {};
  const b = obj.metadata.annotations ?? {};
  return JSON.stringify(a) !== JSON.stringify(b) || JSON.stringify(old.metadata.labels ?? {}) !== JSON.stringify(obj.metadata.labels ?? {});
}
