// HTTP(S) Helm repositories: fetching with credentials and limits, parsing
// and checking index.yaml, its revision, and the chart version a range picks.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { parse } from 'yaml';
import { canonicalJson } from '../../util/values.ts';
import { ConstraintError, newestFirst, newestMatching } from '../semver.ts';

/** Credentials and TLS for a chart repository (from a HelmRepository's Secrets). */
export interface RepositoryAuth {
  username?: string;
  password?: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** Send the credentials to hosts other than the repository's own. */
  passCredentials?: boolean;
}

export interface ChartVersionEntry {
  name: string;
  version: string;
  appVersion?: string;
  urls: string[];
  digest?: string;
  created?: string;
  [k: string]: unknown;
}

export interface RepositoryIndex {
  apiVersion: string;
  entries: Record<string, ChartVersionEntry[]>;
  generated?: string;
}

export { RepositoryError } from '../errors.ts';
import { RepositoryError } from '../errors.ts';

/** GETs `url` into a buffer (or a file), with basic auth when `auth` allows it for this host. */
export function httpGet(
  url: string,
  auth: RepositoryAuth | undefined,
  opts: { timeoutMs: number; authHost?: string; toFile?: string; maxBytes?: number },
): Promise<{ body?: Buffer; digest: string; size: number }> {
  return new Promise((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      reject(new RepositoryError(`invalid URL '${url}'`, 'URLInvalid'));
      return;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      reject(new RepositoryError(`scheme "${u.protocol.replace(':', '')}" not supported`, 'URLInvalid'));
      return;
    }
    const headers: Record<string, string> = { 'user-agent': 'sluice-helm' };
    const sameHost = !opts.authHost || opts.authHost === u.host;
    if (auth?.username !== undefined && (sameHost || auth.passCredentials)) {
      headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password ?? ''}`).toString('base64')}`;
    }
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.get(u, { headers, timeout: opts.timeoutMs, ...(u.protocol === 'https:' ? { ca: auth?.ca, cert: auth?.cert, key: auth?.key } : {}) }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        httpGet(new URL(res.headers.location, u).toString(), auth, opts).then(resolve, reject);
        return;
      }
      if (status !== 200) {
        res.resume();
        const reason = status === 401 || status === 403 ? 'AuthenticationFailed' : 'IndexationFailed';
        reject(new RepositoryError(`failed to fetch ${redact(u)} : ${status} ${res.statusMessage ?? ''}`.trim(), reason));
        return;
      }
      const hash = createHash('sha256');
      const chunks: Buffer[] = [];
      let size = 0;
      const out = opts.toFile ? createWriteStream(opts.toFile, { mode: 0o600 }) : undefined;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (opts.maxBytes && size > opts.maxBytes) {
          req.destroy(new RepositoryError(`${redact(u)} is larger than ${opts.maxBytes} bytes`, 'Failed'));
          return;
        }
        hash.update(c);
        if (out) out.write(c);
        else chunks.push(c);
      });
      res.on('end', () => {
        const done = () => resolve({ body: out ? undefined : Buffer.concat(chunks), digest: hash.digest('hex'), size });
        if (out) out.end(done);
        else done();
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new RepositoryError(`timeout fetching ${redact(u)} after ${opts.timeoutMs} ms`, 'IndexationFailed')));
    req.on('error', (err) => reject(err instanceof RepositoryError ? err : new RepositoryError(`failed to fetch ${redact(u)} : ${err.message}`, 'IndexationFailed')));
  });
}

function redact(u: URL): string {
  const c = new URL(u.toString());
  c.username = '';
  c.password = '';
  return c.toString();
}

/** The index URL of a repository URL. */
export function indexUrl(repoUrl: string): string {
  return `${repoUrl.replace(/\/+$/, '')}/index.yaml`;
}

/** Parses and checks an index.yaml; versions of each chart are sorted newest first. */
export function parseIndex(text: string): RepositoryIndex {
  let doc: unknown;
  try {
    // uniqueKeys compares every key with every other: 12 s for 20,000 chart names.
    doc = parse(text, { uniqueKeys: false });
  } catch (err) {
    throw new RepositoryError(`failed to load Helm repository from index YAML: ${(err as Error).message.split('\n')[0]}`, 'IndexationFailed');
  }
  const idx = doc as RepositoryIndex | null;
  if (!idx || typeof idx !== 'object' || !idx.apiVersion) {
    throw new RepositoryError('failed to load Helm repository from index YAML: no API version', 'IndexationFailed');
  }
  const entries: Record<string, ChartVersionEntry[]> = {};
  for (const [name, list] of Object.entries(idx.entries ?? {})) {
    entries[name] = (list ?? [])
      .filter((e) => e && typeof e.version === 'string')
      .map((e) => ({ ...e, name: e.name ?? name, urls: e.urls ?? [] }))
      .sort((a, b) => newestFirst(a.version, b.version));
  }
  return { ...idx, entries };
}

/** Flux's index revision: a digest of the index with its entries in a stable order. */
export function indexRevision(idx: RepositoryIndex): string {
  const { generated: _g, ...rest } = idx;
  return `sha256:${createHash('sha256').update(canonicalJson(rest)).digest('hex')}`;
}

/**
 * The newest of `versions` that satisfies `range`, chosen as Helm and Flux
 * choose (see newestMatching in ../semver.ts); a RepositoryError when `range`
 * is not a range.
 */
export function newestChartVersion(versions: string[], range = '*'): string | undefined {
  try {
    return newestMatching(versions, range);
  } catch (err) {
    if (err instanceof ConstraintError) throw new RepositoryError(`invalid chart reference: invalid version constraint '${range}'`, 'InvalidChartReference');
    throw err;
  }
}

/** The newest version of `chart` in an index that satisfies `range` (`*` by default); see newestMatching. */
export function resolveChartVersion(idx: RepositoryIndex, chart: string, range = '*'): ChartVersionEntry {
  const list = idx.entries[chart];
  if (!list?.length) throw new RepositoryError(`invalid chart reference: no chart name found: '${chart}'`, 'InvalidChartReference');
  const version = newestChartVersion(
    list.map((e) => e.version),
    range,
  );
  const hit = version === undefined ? undefined : list.find((e) => e.version === version);
  if (!hit) {
    throw new RepositoryError(
      `invalid chart reference: failed to get chart version for remote reference: no '${chart}' chart with version matching '${range}' found`,
      'InvalidChartReference',
    );
  }
  return hit;
}

/** Absolute download URL of a chart entry (its first URL, relative ones against the repository). */
export function chartUrl(repoUrl: string, entry: ChartVersionEntry): string {
  const first = entry.urls[0];
  if (!first) throw new RepositoryError(`chart '${entry.name}' version '${entry.version}' has no download URL`, 'ChartPullError');
  return new URL(first, `${repoUrl.replace(/\/+$/, '')}/`).toString();
}
