// src/kube: the Kubernetes client layer (REST, kubeconfig, discovery,
// watches and informers) that everything above it talks through.
import https from 'node:https';
import http from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import { RateLimiter } from './ratelimit.ts';
import { KubeApiError, type Status } from './errors.ts';
import { loadKubeconfig, loadKubeconfigFromString, type ResolvedConfig } from './kubeconfig.ts';

export interface KubeClientOptions {
  /** Sustained requests per second (client-go's QPS). 0 disables limiting. */
  qps?: number;
  /** Requests allowed in a burst above qps. */
  burst?: number;
  /** Concurrent connections kept to the API server. */
  maxSockets?: number;
  /** Default per-request timeout in milliseconds (watches are exempt). */
  timeoutMs?: number;
}

export interface Impersonation {
  user: string;
  groups?: string[];
}

export interface RequestOptions {
  method?: string;
  /** Absolute API path, e.g. /api/v1/namespaces/default/pods. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Defaults to application/json when body is set. */
  contentType?: string;
  /** Defaults to application/json. */
  accept?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

interface Connection {
  server: URL;
  agent: https.Agent | http.Agent;
  /** TLS and auth options from the kubeconfig (ca, cert, key, headers). */
  base: https.RequestOptions;
  authExpires: number;
  refresh?: () => Promise<Record<string, string> | undefined>;
  resolved: ResolvedConfig;
}

const AUTH_REFRESH_MS = 60_000;

/**
 * A small Kubernetes REST client: one keep-alive connection pool, a token
 * bucket like client-go's, and errors that carry the server's Status.
 * Credentials come from src/kube/kubeconfig.ts, which hands exec and
 * auth-provider plugins to @kubernetes/client-node.
 */
export class KubeClient {
  private readonly limiter: RateLimiter;

  private constructor(
    private readonly conn: Connection,
    private readonly options: Required<KubeClientOptions>,
    private readonly impersonation?: Impersonation,
    limiter?: RateLimiter,
  ) {
    this.limiter = limiter ?? new RateLimiter(options.qps, options.burst);
  }

  static fromResolved(resolved: ResolvedConfig, options: KubeClientOptions = {}): KubeClient {
    const opts: Required<KubeClientOptions> = {
      // The API server's priority and fairness protects it; these only stop a runaway loop.
      qps: options.qps ?? 500,
      burst: options.burst ?? 1000,
      maxSockets: options.maxSockets ?? 32,
      timeoutMs: options.timeoutMs ?? 60_000,
    };
    const server = new URL(resolved.server);
    const base: https.RequestOptions = { ...resolved.options, headers: { ...(resolved.options.headers as Record<string, string> | undefined) } };
    const agentOpts = { keepAlive: true, maxSockets: opts.maxSockets, ...pickTLS(base) };
    const agent = server.protocol === 'https:' ? new https.Agent(agentOpts) : new http.Agent(agentOpts);
    return new KubeClient({ server, agent, base, authExpires: Date.now() + AUTH_REFRESH_MS, refresh: resolved.refresh, resolved }, opts);
  }

  /** From a kubeconfig file (or KUBECONFIG, ~/.kube/config, in-cluster when no path is given). */
  static async fromFile(path?: string, context?: string, options: KubeClientOptions = {}): Promise<KubeClient> {
    return KubeClient.fromResolved(await loadKubeconfig(path, context), options);
  }

  /** From kubeconfig text, e.g. a Kustomization's kubeConfig Secret. */
  static async fromString(text: string, context?: string, options: KubeClientOptions = {}): Promise<KubeClient> {
    return KubeClient.fromResolved(await loadKubeconfigFromString(text, context), options);
  }

  /** From a @kubernetes/client-node KubeConfig the caller built. */
  static async fromKubeConfig(kc: KubeConfig, options: KubeClientOptions = {}): Promise<KubeClient> {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error(`kubeconfig has no current cluster (context "${kc.getCurrentContext()}")`);
    const base: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(base);
    const refresh = async () => {
      const o: https.RequestOptions = {};
      await kc.applyToHTTPSOptions(o);
      return o.headers as Record<string, string> | undefined;
    };
    return KubeClient.fromResolved(
      { server: cluster.server, options: base, refresh, contextName: kc.getCurrentContext(), source: { kind: 'string', text: kc.exportConfig() } },
      options,
    );
  }

  get server(): string {
    return this.conn.server.toString();
  }

  /** The kubeconfig context the client was made from. */
  get contextName(): string {
    return this.conn.resolved.contextName;
  }

  /** A client that sends every request as another user (RBAC applies to that user). */
  impersonate(who: Impersonation): KubeClient {
    return new KubeClient(this.conn, this.options, who, this.limiter);
  }

  /** The same server and CA, authenticated by a bearer token instead. */
  withToken(token: string): KubeClient {
    const { ca, rejectUnauthorized, servername } = this.conn.resolved.options;
    return KubeClient.fromResolved(
      { ...this.conn.resolved, options: { ca, rejectUnauthorized, servername, headers: { authorization: `Bearer ${token}` } }, refresh: undefined },
      this.options,
    );
  }

  /**
   * A kubeconfig document for this client's server and credentials, for
   * tools that need a file (helm). Exec-plugin configs are passed through.
   */
  exportKubeconfig(): string {
    const r = this.conn.resolved;
    if (r.source.kind === 'string') return r.source.text;
    const o = r.options;
    const b64 = (v: unknown) => (v === undefined ? undefined : Buffer.from(v as string | Buffer).toString('base64'));
    const auth = (o.headers as Record<string, string> | undefined)?.authorization;
    const user: Record<string, unknown> = {};
    if (o.cert) user['client-certificate-data'] = b64(o.cert);
    if (o.key) user['client-key-data'] = b64(o.key);
    if (auth?.startsWith('Bearer ')) user.token = auth.slice(7);
    const cluster: Record<string, unknown> = { server: r.server };
    if (o.ca) cluster['certificate-authority-data'] = b64(o.ca);
    if (o.rejectUnauthorized === false) cluster['insecure-skip-tls-verify'] = true;
    if (o.servername) cluster['tls-server-name'] = o.servername;
    return JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'sluice', cluster }],
      users: [{ name: 'sluice', user }],
      contexts: [{ name: 'sluice', context: { cluster: 'sluice', user: 'sluice' } }],
      'current-context': 'sluice',
    });
  }

  /** Closes idle connections so the process can exit. */
  close(): void {
    this.conn.agent.destroy();
  }

  async request<T = unknown>(opts: RequestOptions): Promise<T> {
    let res = await this.send(opts);
    // 429 with Retry-After: the API server asks to come back shortly (priority
    // and fairness, or a custom resource's storage being rebuilt after its CRD
    // changed: "storage is (re)initializing"). client-go waits and retries;
    // so do reads here. A write is not retried: the caller decides.
    for (let attempt = 1; res.status === 429 && (opts.method ?? 'GET') === 'GET' && res.retryAfterMs !== undefined && attempt <= MAX_429_RETRIES; attempt++) {
      await new Promise((r) => setTimeout(r, res.retryAfterMs));
      res = await this.send(opts);
    }
    const text = res.body.toString('utf8');
    if (res.status >= 400) throw KubeApiError.from(res.status, text, opts.method ?? 'GET', opts.path);
    if (!text) return undefined as T;
    // Health endpoints (/readyz, /livez) answer in plain text.
    if (!res.contentType.includes('json')) return text as T;
    return JSON.parse(text) as T;
  }

  /** GET that returns undefined on 404 instead of throwing. */
  async getOrUndefined<T = unknown>(path: string, signal?: AbortSignal): Promise<T | undefined> {
    try {
      return await this.request<T>({ path, signal });
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /**
   * Opens a streaming GET (watch). Resolves once the response headers arrive;
   * the caller reads newline-delimited JSON from the returned stream.
   */
  async stream(opts: RequestOptions): Promise<http.IncomingMessage> {
    await this.limiter.take();
    const req = await this.buildRequest(opts, 0);
    return new Promise((resolve, reject) => {
      req.once('response', (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 400) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            reject(KubeApiError.from(status, Buffer.concat(chunks).toString('utf8'), 'GET', opts.path)),
          );
          return;
        }
        resolve(res);
      });
      req.once('error', reject);
      req.end();
    });
  }

  private async send(opts: RequestOptions, retried = false): Promise<{ status: number; body: Buffer; contentType: string; retryAfterMs?: number }> {
    await this.limiter.take();
    const payload = encodeBody(opts.body);
    const timeout = opts.timeoutMs ?? this.options.timeoutMs;
    const req = await this.buildRequest(opts, timeout, payload, opts.contentType);
    return new Promise((resolve, reject) => {
      let answered = false;
      req.once('response', (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks),
            contentType: String(res.headers['content-type'] ?? ''),
            retryAfterMs: retryAfter(res.headers['retry-after']),
          }),
        );
        res.on('error', reject);
      });
      req.once('timeout', () =>
        req.destroy(new Error(`${opts.method ?? 'GET'} ${opts.path}: no answer from ${this.server} within ${timeout} ms`)),
      );
      req.once('error', (err: Error & { code?: string }) => {
        // A kept-alive connection the server closed (it had sat idle) just as
        // this request went out on it: nothing was answered, so send it once
        // more on a new connection, as Go's transport does. Not a POST, which
        // the server may have acted on.
        if (!retried && !answered && req.reusedSocket && STALE_CONNECTION.has(err.code ?? '') && (opts.method ?? 'GET') !== 'POST') {
          resolve(this.send(opts, true));
          return;
        }
        reject(describeNetworkError(err, this.server));
      });
      req.end(payload);
    });
  }

  private async buildRequest(
    opts: RequestOptions,
    timeout: number,
    payload?: Buffer,
    contentType?: string,
  ): Promise<http.ClientRequest> {
    await this.refreshAuth();
    const url = new URL(opts.path, this.conn.server);
    for (const [k, v] of Object.entries(opts.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const headers: http.OutgoingHttpHeaders = {
      ...(this.conn.base.headers as http.OutgoingHttpHeaders | undefined),
      accept: opts.accept ?? 'application/json',
      'user-agent': 'sluice',
    };
    if (payload) {
      headers['content-type'] = contentType ?? 'application/json';
      headers['content-length'] = payload.length;
    }
    if (this.impersonation) {
      headers['impersonate-user'] = this.impersonation.user;
      if (this.impersonation.groups?.length) headers['impersonate-group'] = this.impersonation.groups;
    }
    const mod = this.conn.server.protocol === 'https:' ? https : http;
    const req = mod.request(url, {
      method: opts.method ?? 'GET',
      agent: this.conn.agent,
      headers,
      signal: opts.signal,
      ...(timeout > 0 ? { timeout } : {}),
    });
    return req;
  }

  /** Token sources such as token files and exec plugins expire; re-read them now and then. */
  private async refreshAuth(): Promise<void> {
    if (!this.conn.refresh || Date.now() < this.conn.authExpires) return;
    this.conn.authExpires = Date.now() + AUTH_REFRESH_MS;
    const headers = await this.conn.refresh();
    if (headers) this.conn.base.headers = { ...(this.conn.base.headers as Record<string, string>), ...headers };
  }
}

function pickTLS(o: https.RequestOptions): https.AgentOptions {
  const out: https.AgentOptions = {};
  if (o.ca) out.ca = o.ca;
  if (o.cert) out.cert = o.cert;
  if (o.key) out.key = o.key;
  if (o.pfx) out.pfx = o.pfx;
  if (o.passphrase) out.passphrase = o.passphrase;
  if (o.rejectUnauthorized === false) out.rejectUnauthorized = false;
  if (o.servername) out.servername = o.servername;
  return out;
}

/** How many times a read answered 429 is tried again. */
const MAX_429_RETRIES = 10;

/** Retry-After in whole seconds (the API server's form), as milliseconds, capped at 10 s; undefined when absent. */
function retryAfter(v: string | string[] | undefined): number | undefined {
  const n = Number(Array.isArray(v) ? v[0] : v);
  if (v === undefined || !Number.isFinite(n) || n < 0) return undefined;
  return Math.min(n, 10) * 1000;
}

/** How a request fails when its kept-alive connection was closed under it. */
const STALE_CONNECTION = new Set(['ECONNRESET', 'EPIPE']);

function encodeBody(body: unknown): Buffer | undefined {
  if (body === undefined) return undefined;
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.from(JSON.stringify(body), 'utf8');
}

function describeNetworkError(err: Error & { code?: string }, server: string): Error {
  if (err.name === 'AbortError') return err;
  const hint =
    err.code === 'ECONNREFUSED'
      ? 'is the cluster running? (`sluice cluster status`)'
      : err.code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || err.code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'
        ? "the server's certificate is not signed by the kubeconfig's certificate-authority"
        : '';
  const e = new Error(`cannot reach the Kubernetes API at ${server}: ${err.message}${hint ? ` (${hint})` : ''}`);
  (e as Error & { code?: string }).code = err.code;
  return e;
}

export type { Status };
