// The dashboard's HTTP server (node:http): the page's assets under a strict
// Content-Security-Policy, JSON endpoints, and one Server-Sent-Events stream
// per open page fed from the store (the informers' caches): a page never
// makes the server ask the API server for lists.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubeClient } from '../kube/client.ts';
import type { Logger } from '../util/log.ts';
import { ACTIONS, runAction, type ActionName } from './actions.ts';
import { loadAssets, type Asset } from './assets.ts';
import { cookieValue, mayPatch, reviewToken, Sessions, SESSION_COOKIE, type Identity } from './auth.ts';
import { DetailReader } from './detail.ts';
import { DriftError, DriftReader } from './drift.ts';
import type { DashboardStore, RowChanges } from './store.ts';

export interface DashboardOptions {
  store: DashboardStore;
  /** Reads details (events, inventory); locally the user's client, in the cluster the controller's. */
  client: KubeClient;
  log: Logger;
  /** host:port; port 0 picks one. */
  address: string;
  /**
   * `local`: actions as the kubeconfig's user, requests only from this
   * machine's page. `cluster`: read-only unless `actions`, and then only
   * after a token login, performed by impersonation.
   */
  mode: 'local' | 'cluster';
  actions: boolean;
}

export interface DashboardServer {
  url: string;
  /** Open event streams (pages). */
  readonly streams: number;
  close(): Promise<void>;
}

const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const HEARTBEAT_MS = 15_000;
const MAX_BODY = 64 * 1024;
/** Open pages at most: each holds a socket and gets every change. */
const MAX_STREAMS = 500;

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(text);
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new Error('request body too large');
    chunks.push(c as Buffer);
  }
  const v = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as unknown;
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('expected a JSON object');
  return v as Record<string, unknown>;
}

export async function startDashboard(o: DashboardOptions): Promise<DashboardServer> {
  const assets = await loadAssets();
  const details = new DetailReader(o.client, o.store);
  const drifts = new DriftReader(o.store);
  const sessions = new Sessions();
  const streams = new Set<http.ServerResponse>();
  let port = 0;

  /** Locally, only pages served by this server may call it (no DNS rebinding, no other site's form). */
  const hostAllowed = (req: http.IncomingMessage): boolean => {
    if (o.mode !== 'local') return true;
    const host = (req.headers.host ?? '').toLowerCase();
    return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(host);
  };

  /** State-changing requests must be same-origin JSON from the page's script (a cross-site form cannot set the header). */
  const sameOrigin = (req: http.IncomingMessage): boolean => {
    if (req.headers['x-sluice-request'] !== '1') return false;
    const origin = req.headers.origin;
    return !origin || origin === `http://${req.headers.host}` || origin === `https://${req.headers.host}`;
  };

  const identity = async (req: http.IncomingMessage): Promise<Identity | undefined> => {
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) return reviewToken(o.client, auth.slice(7).trim());
    return sessions.get(cookieValue(req.headers.cookie, SESSION_COOKIE));
  };

  const stream = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (streams.size >= MAX_STREAMS) return send(res, 503, { message: `too many open pages (${MAX_STREAMS})` });
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(`retry: 1000\nevent: snapshot\ndata: ${o.store.snapshot()}\n\n`);
    const listener = (c: RowChanges) => res.write(`event: rows\ndata: ${JSON.stringify(c)}\n\n`);
    const unsubscribe = o.store.subscribe(listener);
    const beat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    streams.add(res);
    req.on('close', () => {
      clearInterval(beat);
      unsubscribe();
      streams.delete(res);
    });
  };

  const api = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> => {
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case 'GET /api/stream':
        return stream(req, res);
      case 'GET /api/rows':
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
        res.end(o.store.snapshot());
        return;
      case 'GET /api/whoami': {
        const who = o.mode === 'cluster' ? sessions.get(cookieValue(req.headers.cookie, SESSION_COOKIE)) : undefined;
        return send(res, 200, { mode: o.mode, actions: o.actions, loginRequired: o.mode === 'cluster' && o.actions, user: o.mode === 'local' ? 'your kubeconfig' : who?.user, unavailable: Object.fromEntries(o.store.unavailable) });
      }
      case 'GET /api/detail': {
        const [kind, ns, name] = ['kind', 'namespace', 'name'].map((k) => url.searchParams.get(k) ?? '');
        const d = await details.detail(kind!, ns!, name!);
        return d ? send(res, 200, d) : send(res, 404, { message: `${kind} ${ns}/${name} not found` });
      }
      case 'GET /api/drift': {
        const [kind, ns, name] = ['kind', 'namespace', 'name'].map((k) => url.searchParams.get(k) ?? '');
        // The dry-run runs with the rights of the person using the page: the
        // kubeconfig's user locally; in the cluster the logged-in user, by
        // impersonation; a read-only dashboard without login uses the
        // controller's own (a dry-run changes nothing).
        let client = o.client;
        let as = o.mode === 'local' ? 'your kubeconfig' : "the controller's identity (read-only dashboard, dry-run only)";
        if (o.mode === 'cluster') {
          const who = await identity(req);
          if (who) {
            client = o.client.impersonate({ user: who.user, groups: who.groups });
            as = who.user;
          } else if (o.actions) return send(res, 401, { message: 'log in with a bearer token to see the drift' });
        }
        try {
          return send(res, 200, await drifts.drift(client, as, kind!, ns!, name!));
        } catch (err) {
          if (err instanceof DriftError) return send(res, err.status, { message: err.message });
          throw err;
        }
      }
    }
    if (req.method !== 'POST') return send(res, 404, { message: `no such endpoint: ${url.pathname}` });
    if (!sameOrigin(req)) return send(res, 403, { message: 'cross-site request refused' });
    let body: Record<string, unknown>;
    try {
      body = await readJson(req);
    } catch (err) {
      return send(res, 400, { message: `bad request body: ${(err as Error).message}` });
    }
    if (url.pathname === '/api/login') {
      if (o.mode !== 'cluster' || !o.actions) return send(res, 404, { message: 'login is only used in the cluster with --dashboard-actions' });
      const token = typeof body.token === 'string' ? body.token.trim() : '';
      if (!token) return send(res, 400, { message: 'give a bearer token' });
      const who = await reviewToken(o.client, token);
      if (!who) return send(res, 401, { message: 'the API server did not accept this token' });
      const id = sessions.create(who);
      o.log.info('dashboard login', { user: who.user });
      return send(res, 200, { user: who.user }, { 'set-cookie': `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=28800` });
    }
    if (url.pathname === '/api/logout') {
      sessions.delete(cookieValue(req.headers.cookie, SESSION_COOKIE));
      return send(res, 200, {}, { 'set-cookie': `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0` });
    }
    if (url.pathname !== '/api/action') return send(res, 404, { message: `no such endpoint: ${url.pathname}` });
    if (!o.actions) return send(res, 403, { message: 'this dashboard is read-only (start the controller with --dashboard-actions to enable actions)' });
    const action = body.action as ActionName;
    const [kind, namespace, name] = [body.kind, body.namespace, body.name].map((v) => (typeof v === 'string' ? v : ''));
    if (!ACTIONS.includes(action)) return send(res, 400, { message: `action: expected one of ${ACTIONS.join(', ')}` });
    if (!kind || !namespace || !name) return send(res, 400, { message: 'kind, namespace and name are required' });
    const obj = o.store.object(kind, namespace, name);
    let client = o.client;
    if (o.mode === 'cluster') {
      const who = await identity(req);
      if (!who) return send(res, 401, { message: 'log in with a bearer token first' });
      const sar = await mayPatch(o.client, who, kind, namespace, name);
      if (!sar.allowed) {
        o.log.info('dashboard action refused', { user: who.user, action, kind, namespace, name });
        return send(res, 403, { ok: false, message: `refused: ${who.user} may not patch ${kind} ${namespace}/${name}${sar.reason ? ` (${sar.reason})` : ''}` });
      }
      client = o.client.impersonate({ user: who.user, groups: who.groups });
      o.log.info('dashboard action', { user: who.user, action, kind, namespace, name });
    }
    const result = await runAction(client, action, { kind, namespace, name }, obj);
    return send(res, result.ok ? 200 : result.status, result);
  };

  const server = http.createServer((req, res) => {
    res.setHeader('content-security-policy', CSP);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('x-frame-options', 'DENY');
    if (!hostAllowed(req)) return send(res, 403, { message: 'unexpected Host header' });
    const url = new URL(req.url ?? '/', 'http://dashboard');
    if (url.pathname.startsWith('/api/')) {
      api(req, res, url).catch((err: Error) => {
        o.log.error('dashboard request failed', { path: url.pathname, error: err.message });
        if (!res.headersSent) send(res, 500, { message: err.message });
        else res.end();
      });
      return;
    }
    const a: Asset | undefined = assets.get(url.pathname === '/index.html' ? '/' : url.pathname);
    // Every page route is the same shell; the browser code reads the hash.
    if (!a || req.method !== 'GET') return send(res, 404, { message: 'not found' });
    if (req.headers['if-none-match'] === a.etag) {
      res.writeHead(304, { etag: a.etag });
      return res.end();
    }
    res.writeHead(200, { 'content-type': a.type, etag: a.etag, 'cache-control': 'no-cache', 'content-length': a.body.length });
    res.end(a.body);
  });
  const [host, p] = splitAddress(o.address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(p, host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${shown}:${port}/`;
  o.log.info('serving the dashboard', { address: url, actions: o.actions, mode: o.mode });
  return {
    url,
    get streams() {
      return streams.size;
    },
    async close() {
      for (const s of streams) s.end();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await drifts.close();
    },
  };
}

/** "host:port", ":port" (every interface) or "[v6]:port". */
export function splitAddress(address: string): [string, number] {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address);
  if (!m) throw new Error(`dashboard address "${address}": expected HOST:PORT`);
  return [m[1] ?? (m[2] || '0.0.0.0'), Number(m[3])];
}
