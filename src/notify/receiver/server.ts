// The webhook receiver: an HTTP server of its own (--receiverAddr) serving
// /hook/<digest>. A call is matched to its Receiver by status.webhookPath,
// checked for size, rate and authenticity, and then sets
// reconcile.fluxcd.io/requestedAt on the objects the Receiver names, which
// their controllers take as a request for an immediate reconcile.
// Answers carry no detail: the reason is logged, the caller sees the status.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { kinds } from '../../api/crds.ts';
import { WEBHOOK_PATH_PREFIX, type Receiver } from '../../api/receiver.ts';
import type { ReceiverResource } from '../../api/notification.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { Informer } from '../../kube/informer.ts';
import type { KubeObject } from '../../kube/object.ts';
import type { Logger } from '../../util/log.ts';
import type { ReadSecret } from '../settings.ts';
import { authenticate } from './authenticate.ts';
import { CelEvaluationError, objectFilter, requestVariable } from './filter.ts';

/** Flux's limit on a webhook body. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;
const REQUESTED_AT = 'reconcile.fluxcd.io/requestedAt';

export interface ReceiverServerOptions {
  address: string;
  client: KubeClient;
  receivers: Informer;
  readSecret: ReadSecret;
  log: Logger;
  /** Calls per Receiver path: a bucket of `burst`, refilled at `perSecond` (default 10/s, burst 30). */
  rate?: { perSecond: number; burst: number };
  /** Where the objects a Receiver names are read from, when cached; by kind. */
  objects?: (kind: string) => Informer | undefined;
}

/** Where an object of a kind lives in the API: Sluice's own kinds from src/api, else the reference's apiVersion. */
function resourcePath(kind: string, apiVersion: string | undefined): { base: string } | undefined {
  const def = kinds.find((k) => k.kind === kind);
  if (def) {
    const version = apiVersion?.startsWith(`${def.group}/`) ? apiVersion.slice(def.group.length + 1) : def.versions[0]!.name;
    return { base: `/apis/${def.group}/${version}` };
  }
  return apiVersion ? { base: `/apis/${apiVersion}` } : undefined;
}

function pluralOf(kind: string): string {
  return kinds.find((k) => k.kind === kind)?.plural ?? `${kind.toLowerCase()}s`;
}

const STATUS_TEXT: Record<number, string> = { 200: 'ok\n', 400: 'bad request\n', 401: 'unauthorized\n', 404: 'not found\n', 405: 'method not allowed\n', 413: 'request entity too large\n', 429: 'too many requests\n', 500: 'internal error\n', 501: 'not implemented\n', 503: 'service unavailable\n' };

export class ReceiverServer {
  private server: http.Server | undefined;
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly o: ReceiverServerOptions) {}

  get url(): string {
    const a = this.server!.address() as AddressInfo;
    return `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`;
  }

  async start(): Promise<void> {
    const i = this.o.address.lastIndexOf(':');
    const server = http.createServer({ maxHeaderSize: 256 * 1024 }, (req, res) => void this.handle(req, res));
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(Number(this.o.address.slice(i + 1)), this.o.address.slice(0, i).replace(/^\[(.*)\]$/, '$1'), () => resolve());
    });
    this.server = server;
    this.o.log.info('serving webhook receivers', { address: this.url });
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server?.closeAllConnections?.();
  }

  /** The Receiver whose status.webhookPath is `path`. */
  private receiverFor(path: string): Receiver | undefined {
    return this.o.receivers.list().find((r) => (r as Receiver).status?.webhookPath === path) as Receiver | undefined;
  }

  private allow(path: string): boolean {
    const { perSecond, burst } = this.o.rate ?? { perSecond: 10, burst: 30 };
    const now = Date.now();
    const b = this.buckets.get(path) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond);
    b.at = now;
    this.buckets.set(path, b);
    if (this.buckets.size > 10_000) this.buckets.clear();
    if (b.tokens < 1) return false;
    b.tokens--;
    return true;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const answer = (status: number) => {
      if (!res.headersSent) res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...(status === 405 ? { allow: 'POST' } : {}) });
      res.end(STATUS_TEXT[status] ?? '\n');
      // Do not read the rest of a body we refuse.
      if (status !== 200 && !req.complete) req.destroy();
    };
    const path = (req.url ?? '/').split('?')[0]!;
    if (!path.startsWith(WEBHOOK_PATH_PREFIX)) return answer(404);
    if (req.method !== 'POST') return answer(405);
    const receiver = this.receiverFor(path);
    if (!receiver) return answer(404);
    if (!this.allow(path)) return answer(429);
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return answer(413);
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === 'too large') return answer(413);
    if (body === undefined) return answer(400);
    const who = { receiver: `${receiver.metadata.namespace}/${receiver.metadata.name}` };
    const ready = receiver.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    if (receiver.spec.suspend || !ready) {
      this.o.log.info('webhook refused: the Receiver is suspended or not ready', who);
      return answer(503);
    }
    const oidc = receiver.spec.type === 'generic-oidc';
    // generic-oidc has no Secret: the caller's token is checked against the issuers instead.
    const secret = !oidc && receiver.spec.secretRef ? await this.o.readSecret(receiver.metadata.namespace!, receiver.spec.secretRef.name).catch(() => undefined) : undefined;
    const token = oidc ? '' : secret?.token?.toString('utf8');
    if (token === undefined) {
      this.o.log.error('webhook refused: the Receiver\'s token cannot be read', who);
      return answer(503);
    }
    const { verdict, req: unwrapped, claims } = await authenticate(receiver, req.headers, body, secret, token);
    if (!verdict.ok) {
      this.o.log.info('webhook refused', { ...who, status: verdict.status, reason: verdict.reason });
      return answer(verdict.status);
    }
    if (verdict.pingOnly) {
      this.o.log.info('webhook ping answered', { ...who, event: verdict.event });
      return answer(200);
    }
    // The body is read as JSON only when a filter will look at it (as Flux): other calls are not held to it.
    const filtered = !!receiver.spec.resourceFilter || receiver.spec.resources.some((r) => r.filter);
    const celReq = unwrapped ?? (filtered ? requestVariable(req.headers['content-type'], body) : {});
    if (!celReq) {
      this.o.log.info('webhook refused: the body says it is JSON and is not a JSON object', who);
      return answer(400);
    }
    const failed = await this.requestReconciles(receiver, celReq, claims);
    this.o.log.info('webhook handled', { ...who, event: verdict.event, failed });
    answer(failed ? 500 : 200);
  }

  /** Sets requestedAt on every object the Receiver names that its filters let through; returns how many references failed. */
  private async requestReconciles(receiver: Receiver, celReq: Record<string, unknown>, claims: Record<string, unknown>): Promise<number> {
    const at = new Date().toISOString();
    let failed = 0;
    await Promise.all(
      receiver.spec.resources.map(async (r) => {
        try {
          const filter = objectFilter([receiver.spec.resourceFilter, r.filter], celReq, claims);
          for (const t of await this.targetsOf(receiver, r, !!filter)) {
            if (filter && !filter(t.obj!)) {
              this.o.log.debug('not reconciled: a CEL filter returned false', { receiver: `${receiver.metadata.namespace}/${receiver.metadata.name}`, kind: r.kind, name: t.name });
              continue;
            }
            await this.annotate(r, r.namespace ?? receiver.metadata.namespace!, t.name, at);
          }
        } catch (err) {
          failed++;
          const why = err instanceof CelEvaluationError ? `CEL filter: ${err.message}` : (err as Error).message;
          this.o.log.error('could not request a reconcile', { receiver: `${receiver.metadata.namespace}/${receiver.metadata.name}`, kind: r.kind, name: r.name, error: why });
        }
      }),
    );
    return failed;
  }

  /** The objects a reference names; with `withObjects`, each with its metadata (read from the cache or the API), for the filters. */
  private async targetsOf(receiver: Receiver, r: ReceiverResource, withObjects: boolean): Promise<Array<{ name: string; obj?: KubeObject }>> {
    const ns = r.namespace ?? receiver.metadata.namespace!;
    const where = resourcePath(r.kind, r.apiVersion);
    const complete = (o: KubeObject): KubeObject => ({ ...o, apiVersion: o.apiVersion ?? where?.base.replace(/^\/apis\//, ''), kind: o.kind ?? r.kind });
    const cached = this.o.objects?.(r.kind);
    if (r.name !== '*') {
      if (!withObjects) return [{ name: r.name }];
      let obj = cached?.get(ns, r.name);
      if (!obj) {
        if (!where) throw new Error(`unknown kind ${r.kind}: set apiVersion`);
        obj = await this.o.client.request<KubeObject>({ path: `${where.base}/namespaces/${ns}/${pluralOf(r.kind)}/${r.name}` });
      }
      return [{ name: r.name, obj: complete(obj) }];
    }
    if (!r.matchLabels || !Object.keys(r.matchLabels).length) throw new Error('name * needs matchLabels');
    const matches = (o: KubeObject) => Object.entries(r.matchLabels!).every(([k, v]) => o.metadata.labels?.[k] === v);
    let items: KubeObject[];
    if (cached) items = cached.list(ns).filter(matches);
    else {
      if (!where) throw new Error(`unknown kind ${r.kind}: set apiVersion`);
      const selector = Object.entries(r.matchLabels).map(([k, v]) => `${k}=${v}`).join(',');
      items = (await this.o.client.request<{ items: KubeObject[] }>({ path: `${where.base}/namespaces/${ns}/${pluralOf(r.kind)}`, query: { labelSelector: selector } })).items;
    }
    return items.map((o) => ({ name: o.metadata.name!, obj: complete(o) }));
  }

  private async annotate(r: ReceiverResource, namespace: string, name: string, at: string): Promise<void> {
    const where = resourcePath(r.kind, r.apiVersion);
    if (!where) throw new Error(`unknown kind ${r.kind}: set apiVersion`);
    await this.o.client.request({
      method: 'PATCH',
      path: `${where.base}/namespaces/${namespace}/${pluralOf(r.kind)}/${name}`,
      contentType: 'application/merge-patch+json',
      body: { metadata: { annotations: { [REQUESTED_AT]: at } } },
    });
  }
}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | 'too large' | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        resolve('too large');
        req.pause();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', () => resolve(undefined));
    req.on('aborted', () => resolve(undefined));
  });
}
