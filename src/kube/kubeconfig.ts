import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type https from 'node:https';
import { parse } from 'yaml';

/**
 * Reads kubeconfig files the way kubectl does (KUBECONFIG's list merged
 * first-wins, then ~/.kube/config, then the in-cluster service account) for
 * the common credentials: client certificates, bearer tokens (inline or
 * file), basic auth and CA bundles. Users with `exec` or `auth-provider`
 * plugins are handed to @kubernetes/client-node, loaded only then: it costs
 * over 100 MiB of memory, which a controller watching thousands of objects
 * should not pay for a certificate it can read itself.
 */

export interface ResolvedConfig {
  server: string;
  /** TLS and Authorization header options for node:https. */
  options: https.RequestOptions;
  /** Refreshes the Authorization header (token files rotate, plugins expire). */
  refresh?: () => Promise<Record<string, string> | undefined>;
  contextName: string;
  /** The raw kubeconfig text, for callers that need client-node after all. */
  source: { kind: 'file'; paths: string[] } | { kind: 'string'; text: string } | { kind: 'in-cluster' };
}

interface RawConfig {
  clusters?: Array<{ name: string; cluster: Record<string, unknown> }>;
  users?: Array<{ name: string; user: Record<string, unknown> }>;
  contexts?: Array<{ name: string; context: { cluster: string; user: string; namespace?: string } }>;
  'current-context'?: string;
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export function defaultKubeconfigPaths(): string[] {
  const env = process.env.KUBECONFIG;
  if (env) return env.split(':').filter((p) => p && existsSync(p));
  const home = join(homedir(), '.kube', 'config');
  return existsSync(home) ? [home] : [];
}

/** Loads a kubeconfig from files (or the defaults, or in-cluster) and resolves one context. */
export async function loadKubeconfig(path?: string, context?: string): Promise<ResolvedConfig> {
  const paths = path ? [path] : defaultKubeconfigPaths();
  if (paths.length === 0) {
    if (process.env.KUBERNETES_SERVICE_HOST && existsSync(join(SA_DIR, 'token'))) return inCluster();
    throw new Error('no kubeconfig found: set KUBECONFIG, pass --kubeconfig, or create ~/.kube/config');
  }
  const merged: RawConfig = { clusters: [], users: [], contexts: [] };
  const origins = new Map<object, string>();
  for (const p of paths) {
    let raw: RawConfig;
    try {
      raw = (parse(readFileSync(p, 'utf8')) ?? {}) as RawConfig;
    } catch (err) {
      throw new Error(`cannot read kubeconfig ${p}: ${(err as Error).message}`);
    }
    // kubectl's merge: the first file to define a name wins.
    for (const key of ['clusters', 'users', 'contexts'] as const) {
      for (const entry of raw[key] ?? []) {
        const list = merged[key] as Array<{ name: string }>;
        if (!list.some((e) => e.name === entry.name)) {
          list.push(entry);
          origins.set(entry, dirname(resolve(p)));
        }
      }
    }
    merged['current-context'] ??= raw['current-context'];
  }
  return resolveConfig(merged, context, origins, { kind: 'file', paths });
}

/** Resolves a kubeconfig given as text (e.g. from a Secret). Relative file paths are not allowed there. */
export async function loadKubeconfigFromString(text: string, context?: string): Promise<ResolvedConfig> {
  const raw = (parse(text) ?? {}) as RawConfig;
  return resolveConfig(raw, context, new Map(), { kind: 'string', text });
}

async function resolveConfig(raw: RawConfig, contextName: string | undefined, origins: Map<object, string>, source: ResolvedConfig['source']): Promise<ResolvedConfig> {
  const name = contextName ?? raw['current-context'];
  const known = (raw.contexts ?? []).map((c) => c.name);
  const choose = known.length ? `; its contexts: ${known.join(', ')} (--context NAME)` : '';
  if (!name) throw new Error(`kubeconfig has no current-context${choose}`);
  const ctx = raw.contexts?.find((c) => c.name === name);
  if (!ctx) throw new Error(`kubeconfig has no context "${name}"${choose}`);
  const clusterEntry = raw.clusters?.find((c) => c.name === ctx.context.cluster);
  if (!clusterEntry) throw new Error(`kubeconfig context "${name}" names cluster "${ctx.context.cluster}", which it does not define`);
  const userEntry = raw.users?.find((u) => u.name === ctx.context.user);
  const cluster = clusterEntry.cluster;
  const user = userEntry?.user ?? {};
  const server = String(cluster.server ?? '');
  if (!server) throw new Error(`kubeconfig cluster "${clusterEntry.name}" has no server`);

  if (user.exec || user['auth-provider']) return viaClientNode(source, name, server);

  const base = (e: object | undefined) => (e && origins.get(e)) ?? process.cwd();
  const file = (entry: object | undefined, v: unknown) => readFileSync(isAbsolute(String(v)) ? String(v) : join(base(entry), String(v)));
  const options: https.RequestOptions = {};
  if (cluster['certificate-authority-data']) options.ca = Buffer.from(String(cluster['certificate-authority-data']), 'base64');
  else if (cluster['certificate-authority']) options.ca = file(clusterEntry, cluster['certificate-authority']);
  if (cluster['insecure-skip-tls-verify']) options.rejectUnauthorized = false;
  if (cluster['tls-server-name']) options.servername = String(cluster['tls-server-name']);
  if (user['client-certificate-data']) options.cert = Buffer.from(String(user['client-certificate-data']), 'base64');
  else if (user['client-certificate']) options.cert = file(userEntry, user['client-certificate']);
  if (user['client-key-data']) options.key = Buffer.from(String(user['client-key-data']), 'base64');
  else if (user['client-key']) options.key = file(userEntry, user['client-key']);

  let refresh: ResolvedConfig['refresh'];
  if (user.token) options.headers = { authorization: `Bearer ${String(user.token)}` };
  else if (user.tokenFile) {
    const tokenPath = String(user.tokenFile);
    refresh = async () => ({ authorization: `Bearer ${readFileSync(isAbsolute(tokenPath) ? tokenPath : join(base(userEntry), tokenPath), 'utf8').trim()}` });
    options.headers = await refresh();
  } else if (user.username !== undefined) {
    options.headers = { authorization: `Basic ${Buffer.from(`${String(user.username)}:${String(user.password ?? '')}`).toString('base64')}` };
  }
  return { server, options, refresh, contextName: name, source };
}

function inCluster(): ResolvedConfig {
  const host = process.env.KUBERNETES_SERVICE_HOST!;
  const port = process.env.KUBERNETES_SERVICE_PORT ?? '443';
  const tokenPath = join(SA_DIR, 'token');
  const refresh = async () => ({ authorization: `Bearer ${readFileSync(tokenPath, 'utf8').trim()}` });
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    options: { ca: readFileSync(join(SA_DIR, 'ca.crt')), headers: { authorization: `Bearer ${readFileSync(tokenPath, 'utf8').trim()}` } },
    refresh,
    contextName: 'in-cluster',
    source: { kind: 'in-cluster' },
  };
}

/** Plugins (exec, auth-provider) run through @kubernetes/client-node, which implements them. */
async function viaClientNode(source: ResolvedConfig['source'], context: string, server: string): Promise<ResolvedConfig> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  if (source.kind === 'string') kc.loadFromString(source.text);
  else if (source.kind === 'file') {
    kc.loadFromFile(source.paths[0]!);
    for (const p of source.paths.slice(1)) {
      const more = new KubeConfig();
      more.loadFromFile(p);
      kc.mergeConfig(more, true);
    }
  }
  kc.setCurrentContext(context);
  const options: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(options);
  const refresh = async () => {
    const o: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(o);
    return o.headers as Record<string, string> | undefined;
  };
  return { server, options, refresh, contextName: context, source };
}
