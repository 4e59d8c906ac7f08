// A small OCI distribution client: tags, manifests and blobs over HTTP(S),
// with basic and bearer token authentication and paging.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { RegistryCredentials } from './ref.ts';

/** What went wrong talking to a registry: `kind` decides the condition reason. */
export class RegistryError extends Error {
  constructor(
    message: string,
    readonly kind: 'auth' | 'notFound' | 'unreachable' | 'protocol',
    readonly status?: number,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

export interface RegistryClientOptions {
  /** host[:port] of the registry. */
  host: string;
  /** Plain HTTP instead of HTTPS (spec.insecure). */
  insecure?: boolean;
  credentials?: RegistryCredentials;
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  timeoutMs: number;
}

interface Exchange {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** sha256 hex of what was read (the body, or what went to the file). */
  sha256: string;
}

const MAX_JSON_BYTES = 4 * 1024 * 1024;
const MAX_TAG_PAGES = 100;
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const MANIFEST_TYPES = [OCI_MANIFEST, 'application/vnd.docker.distribution.manifest.v2+json'];

/**
 * A small client of the OCI distribution API, enough to choose a version
 * and fetch an artifact: list tags, resolve a manifest, download a blob.
 * It answers the registry's challenge on the first 401: basic credentials,
 * or a bearer token from the token service (with the credentials, or
 * anonymous). One instance serves one reconcile; nothing is kept on disk.
 */
export class RegistryClient {
  private authorization: string | undefined;
  private challenged = false;

  constructor(private readonly o: RegistryClientOptions) {}

  get baseUrl(): string {
    return `${this.o.insecure ? 'http' : 'https'}://${this.o.host}`;
  }

  /** Every tag of a repository, following the registry's pagination. */
  async tags(repository: string): Promise<string[]> {
    const out: string[] = [];
    let next: string | undefined = `/v2/${repository}/tags/list`;
    for (let page = 0; next && page < MAX_TAG_PAGES; page++) {
      const res = await this.send('GET', next, repository, { accept: 'application/json' });
      if (res.status === 404) throw new RegistryError(`repository '${repository}' not found in ${this.o.host}${registryMessage(res.body)}`, 'notFound', 404);
      this.expectOk(res, `list tags of '${repository}'`);
      const doc = parseJson<{ tags?: string[] | null }>(res.body, `tag list of '${repository}'`);
      out.push(...(doc.tags ?? []));
      next = nextLink([res.headers.link ?? []].flat().join(", ") || undefined);
    }
    return out;
  }

  /** The manifest a tag or digest names: its digest and content; undefined when there is none. */
  async manifest(repository: string, reference: string): Promise<{ digest: string; mediaType: string; body: Buffer } | undefined> {
    const res = await this.send('GET', `/v2/${repository}/manifests/${reference}`, repository, { accept: MANIFEST_TYPES.join(', ') });
    if (res.status === 404) return undefined;
    this.expectOk(res, `get manifest '${repository}:${reference}'`);
    const digest = `sha256:${res.sha256}`;
    if (reference.startsWith('sha256:') && reference !== digest) {
      throw new RegistryError(`manifest '${repository}@${reference}' has digest ${digest}`, 'protocol');
    }
    const mediaType = String(res.headers['content-type'] ?? '').split(';')[0]!.trim();
    return { digest, mediaType, body: res.body };
  }

  /** Whether a manifest exists for the tag (HEAD, no body). */
  async hasManifest(repository: string, reference: string): Promise<boolean> {
    const res = await this.send('HEAD', `/v2/${repository}/manifests/${reference}`, repository, { accept: MANIFEST_TYPES.join(', ') });
    if (res.status === 404) return false;
    this.expectOk(res, `check manifest '${repository}:${reference}'`);
    return true;
  }

  /** Downloads a blob to `file` and checks it against its digest. */
  async blobToFile(repository: string, digest: string, file: string, maxBytes: number): Promise<void> {
    const res = await this.send('GET', `/v2/${repository}/blobs/${digest}`, repository, { toFile: file, maxBytes });
    if (res.status === 404) throw new RegistryError(`blob ${digest} not found in '${repository}'`, 'notFound', 404);
    this.expectOk(res, `get blob ${digest}`);
    if (`sha256:${res.sha256}` !== digest) throw new RegistryError(`blob of '${repository}' has digest sha256:${res.sha256}, the manifest says ${digest}`, 'protocol');
  }

  private expectOk(res: Exchange, what: string): void {
    if (res.status >= 200 && res.status < 300) return;
    if (res.status === 401 || res.status === 403) {
      throw new RegistryError(
        this.o.credentials
          ? `authentication to ${this.o.host} failed: ${res.status} ${http.STATUS_CODES[res.status]}: the registry rejected the credentials${registryMessage(res.body)}`
          : `${this.o.host} requires authentication (${res.status} ${http.STATUS_CODES[res.status]}) and no credentials are set${registryMessage(res.body)}`,
        'auth',
        res.status,
      );
    }
    throw new RegistryError(`cannot ${what}: ${res.status} ${http.STATUS_CODES[res.status] ?? ''}${registryMessage(res.body)}`.trim(), 'protocol', res.status);
  }

  /** One request, answering an authentication challenge once per client. */
  private async send(method: string, path: string, repository: string, opts: { accept?: string; toFile?: string; maxBytes?: number }): Promise<Exchange> {
    let res = await this.exchange(method, new URL(path, this.baseUrl), opts);
    if (res.status === 401 && !this.challenged) {
      this.challenged = true;
      const auth = await this.answer(String(res.headers['www-authenticate'] ?? ''), repository);
      if (auth) {
        this.authorization = auth;
        res = await this.exchange(method, new URL(path, this.baseUrl), opts);
      }
    }
    return res;
  }

  /** The Authorization header for a challenge, or undefined when it cannot be answered (the 401 stands). */
  private async answer(header: string, repository: string): Promise<string | undefined> {
    const c = parseChallenge(header);
    const creds = this.o.credentials;
    const basic = creds && `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    if (c?.scheme === 'basic') return basic;
    if (c?.scheme !== 'bearer' || !c.params.realm) return basic;
    let realm: URL;
    try {
      realm = new URL(c.params.realm);
    } catch {
      throw new RegistryError(`the registry's token service '${c.params.realm}' is not a URL`, 'protocol');
    }
    if (c.params.service) realm.searchParams.set('service', c.params.service);
    realm.searchParams.set('scope', c.params.scope ?? `repository:${repository}:pull`);
    // The token service may sit on another host; the credentials are meant for it.
    const res = await this.exchange('GET', realm, { accept: 'application/json', authorization: basic ?? null });
    if (res.status === 401 || res.status === 403) {
      throw new RegistryError(
        creds
          ? `authentication to ${this.o.host} failed: the token service answered ${res.status} ${http.STATUS_CODES[res.status]}: the registry rejected the credentials`
          : `${this.o.host} requires authentication and no credentials are set`,
        'auth',
        res.status,
      );
    }
    if (res.status !== 200) throw new RegistryError(`the registry's token service answered ${res.status} ${http.STATUS_CODES[res.status] ?? ''}`.trim(), 'protocol', res.status);
    const doc = parseJson<{ token?: string; access_token?: string }>(res.body, 'token response');
    const token = doc.token ?? doc.access_token;
    if (!token) throw new RegistryError("the registry's token service returned no token", 'protocol');
    return `Bearer ${token}`;
  }

  private exchange(
    method: string,
    url: URL,
    opts: { accept?: string; toFile?: string; maxBytes?: number; authorization?: string | null },
    redirects = 0,
  ): Promise<Exchange> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { 'user-agent': 'sluice' };
      if (opts.accept) headers.accept = opts.accept;
      // Credentials go to the registry itself, never to where it redirects (blob storage).
      const authorization = opts.authorization === undefined ? this.authorization : opts.authorization;
      if (authorization) headers.authorization = authorization;
      const mod = url.protocol === 'https:' ? https : http;
      const tls = url.protocol === 'https:' ? { ca: this.o.tls?.ca, cert: this.o.tls?.cert, key: this.o.tls?.key } : {};
      const req = mod.request(url, { method, headers, timeout: this.o.timeoutMs, ...tls }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && res.headers.location && redirects < 5) {
          res.resume();
          const next = new URL(res.headers.location, url);
          this.exchange(method, next, { ...opts, authorization: next.host === url.host ? (opts.authorization !== undefined ? opts.authorization : (this.authorization ?? null)) : null }, redirects + 1).then(resolve, reject);
          return;
        }
        const ok = status >= 200 && status < 300;
        const hash = createHash('sha256');
        const chunks: Buffer[] = [];
        let size = 0;
        const limit = ok ? (opts.maxBytes ?? MAX_JSON_BYTES) : 64 * 1024;
        const out = ok && opts.toFile && method !== 'HEAD' ? createWriteStream(opts.toFile, { mode: 0o600 }) : undefined;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > limit) {
            req.destroy(new RegistryError(`${redact(url)} sent more than ${limit} bytes`, 'protocol'));
            return;
          }
          hash.update(c);
          if (out) out.write(c);
          else chunks.push(c);
        });
        res.on('end', () => {
          const done = () => resolve({ status, headers: res.headers, body: Buffer.concat(chunks), sha256: hash.digest('hex') });
          if (out) out.end(done);
          else done();
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new RegistryError(`timeout after ${this.o.timeoutMs} ms talking to ${redact(url)}`, 'unreachable')));
      req.on('error', (err) =>
        reject(err instanceof RegistryError ? err : new RegistryError(`cannot reach ${redact(url)}: ${(err as Error).message}`, 'unreachable')),
      );
      req.end();
    });
  }
}

/** `Bearer realm="…",service="…"` → scheme and parameters. */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } | undefined {
  const m = /^\s*(\w+)\s*(.*)$/.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g)) params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
  return { scheme: m[1]!.toLowerCase(), params };
}

/** The `rel="next"` target of a Link header. */
export function nextLink(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(header);
  return m?.[1];
}

function parseJson<T>(body: Buffer, what: string): T {
  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch {
    throw new RegistryError(`the ${what} is not JSON`, 'protocol');
  }
}

/** The registry's own error text (`{"errors":[{"code","message"}]}`), as `: CODE: message`. */
function registryMessage(body: Buffer): string {
  try {
    const doc = JSON.parse(body.toString('utf8')) as { errors?: Array<{ code?: string; message?: string }> };
    const e = doc.errors?.[0];
    return e ? `: ${[e.code, e.message].filter(Boolean).join(': ')}` : '';
  } catch {
    return '';
  }
}

function redact(u: URL): string {
  const c = new URL(u.toString());
  c.username = '';
  c.password = '';
  c.search = '';
  return c.toString();
}
