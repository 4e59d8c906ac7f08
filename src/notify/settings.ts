// A Provider's settings with its Secrets read: what the dispatcher needs to
// deliver and what the Provider's status reports. Problems are thrown as
// ProviderProblem with a Flux-style reason and a message that names keys,
// never values.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import type { Provider } from '../api/provider.ts';
import type { SecretData } from '../runtime/secrets.ts';
import type { FluxEvent } from '../runtime/eventsink.ts';
import type { KubeObject } from '../kube/object.ts';
import { parseDuration } from '../util/duration.ts';
import { compileStringExpression, type StringProgram } from '../util/cel.ts';
import { notifiers } from './providers/index.ts';
import type { ProviderSettings } from './providers/types.ts';
import type { Transport } from './send.ts';

/** Flux's default time for one delivery. */
export const DEFAULT_TIMEOUT_MS = 15_000;

export class ProviderProblem extends Error {
  constructor(readonly reason: 'TokenNotFound' | 'ValidationFailed' | 'Unsupported', message: string) {
    super(message);
  }
}

export type ReadSecret = (namespace: string, name: string) => Promise<SecretData | undefined>;

export interface ResolvedProvider {
  settings: ProviderSettings;
  transport: Transport;
  /** Values to mask should they ever reach a message. */
  secrets: string[];
}

const text = (b: Buffer | undefined) => (b === undefined ? undefined : b.toString('utf8').trim());

/** Flux's commit-status key: `<kind>/<name>/<first part of the Provider's UID>`, lower case. */
export function commitStatusKey(kind: string, name: string, providerUid: string): string {
  return `${kind}/${name}/${providerUid.split('-')[0]}`.toLowerCase();
}

/** Provider spec.commitStatusExpr, compiled as Flux does: typed string, over event, alert and provider. */
export function compileCommitStatusExpr(expr: string): StringProgram {
  return compileStringExpression(expr, ['event', 'alert', 'provider']);
}

/**
 * The commit status key of one delivery: the Provider's commitStatusExpr
 * evaluated over the event, the Alert and the Provider (as JSON maps), or
 * Flux's default. Throws when the expression fails on them.
 */
export function commitStatusKeyFor(provider: Provider, alert: KubeObject, event: FluxEvent): string {
  if (!provider.spec.commitStatusExpr) return commitStatusKey(event.involvedObject.kind, event.involvedObject.name, provider.metadata.uid ?? '');
  const asMap = (v: unknown) => JSON.parse(JSON.stringify(v)) as Record<string, unknown>;
  const key = compileCommitStatusExpr(provider.spec.commitStatusExpr).evaluate({ event: asMap(event), alert: asMap(alert), provider: asMap(provider) });
  if (!key) throw new Error('spec.commitStatusExpr gave an empty commit status key');
  return key;
}

/** Reads the Provider's Secrets and checks what can be checked before sending. */
export async function resolveProvider(p: Provider, readSecret: ReadSecret): Promise<ResolvedProvider> {
  const ns = p.metadata.namespace!;
  const notifier = notifiers[p.spec.type];
  if (!notifier) throw new ProviderProblem('Unsupported', `provider type ${p.spec.type} is not supported by Sluice yet`);
  if (p.spec.serviceAccountName) throw new ProviderProblem('Unsupported', 'spec.serviceAccountName (workload identity) is not supported by Sluice');
  if (p.spec.commitStatusExpr) {
    try {
      compileCommitStatusExpr(p.spec.commitStatusExpr);
    } catch (err) {
      throw new ProviderProblem('ValidationFailed', `spec.commitStatusExpr: ${(err as Error).message}`);
    }
  }
  const need = async (what: string, name: string) => {
    const data = await readSecret(ns, name);
    if (!data) throw new ProviderProblem('TokenNotFound', `${what} Secret ${ns}/${name} not found`);
    return data;
  };
  const secrets: string[] = [];
  const settings: ProviderSettings = {
    type: p.spec.type,
    address: p.spec.address ?? '',
    channel: p.spec.channel,
    username: p.spec.username,
    headers: {},
    commitStatusKey: '',
    providerUid: p.metadata.uid,
  };
  let proxy = p.spec.proxy;
  if (p.spec.secretRef) {
    const d = await need('spec.secretRef', p.spec.secretRef.name);
    const address = text(d.address);
    if (address !== undefined) {
      if (address.length > 2048) throw new ProviderProblem('ValidationFailed', 'the address in spec.secretRef is longer than 2048 bytes');
      settings.address = address;
      secrets.push(address);
    }
    const token = text(d.token);
    if (token) (settings.token = token), secrets.push(token);
    const username = text(d.username);
    const password = text(d.password);
    if (username !== undefined && password !== undefined) (settings.basic = { username, password }), secrets.push(password);
    if (d.headers) {
      let h: unknown;
      try {
        h = parseYaml(d.headers.toString('utf8'));
      } catch {
        throw new ProviderProblem('ValidationFailed', 'the headers in spec.secretRef are not a YAML map');
      }
      if (h !== null && (typeof h !== 'object' || Array.isArray(h))) throw new ProviderProblem('ValidationFailed', 'the headers in spec.secretRef are not a YAML map');
      for (const [k, v] of Object.entries((h ?? {}) as Record<string, unknown>)) {
        settings.headers[k.toLowerCase()] = String(v);
        (settings.headerNames ??= {})[k] = String(v);
        secrets.push(String(v));
      }
    }
    if (d.proxy) proxy = text(d.proxy);
  }
  if (p.spec.proxySecretRef) {
    const d = await need('spec.proxySecretRef', p.spec.proxySecretRef.name);
    const address = text(d.address);
    if (!address) throw new ProviderProblem('ValidationFailed', 'spec.proxySecretRef has no key address');
    const u = safeParse(address, 'the proxy address');
    const user = text(d.username);
    if (user) (u.username = encodeURIComponent(user)), (u.password = encodeURIComponent(text(d.password) ?? ''));
    proxy = u.toString();
  }
  if (proxy) {
    const u = safeParse(proxy, 'the proxy address');
    if (u.protocol !== 'http:') throw new ProviderProblem('ValidationFailed', 'only http:// proxies are supported');
  }
  const transport: Transport = { proxy, timeoutMs: p.spec.timeout ? parseDuration(p.spec.timeout) : DEFAULT_TIMEOUT_MS };
  if (p.spec.certSecretRef) {
    const d = await need('spec.certSecretRef', p.spec.certSecretRef.name);
    const ca = d['ca.crt'] ?? d.caFile;
    if (ca) {
      try {
        new X509Certificate(ca);
      } catch {
        throw new ProviderProblem('ValidationFailed', 'ca.crt in spec.certSecretRef is not a PEM certificate');
      }
      transport.ca = ca;
    }
    const cert = d['tls.crt'];
    const key = d['tls.key'];
    if (!!cert !== !!key) throw new ProviderProblem('ValidationFailed', 'spec.certSecretRef needs both tls.crt and tls.key for a client certificate');
    if (cert && key) {
      try {
        new X509Certificate(cert);
        createPrivateKey(key);
      } catch {
        throw new ProviderProblem('ValidationFailed', 'tls.crt or tls.key in spec.certSecretRef is not valid PEM');
      }
      transport.cert = cert;
      transport.key = key;
    }
    if (!ca && !cert) throw new ProviderProblem('ValidationFailed', 'spec.certSecretRef has neither ca.crt nor tls.crt');
  }
  const bad = notifier.check(settings);
  if (bad) throw new ProviderProblem('ValidationFailed', bad);
  return { settings, transport, secrets };
}

function safeParse(url: string, what: string): URL {
  try {
    return new URL(url);
  } catch {
    throw new ProviderProblem('ValidationFailed', `${what} is not a valid URL`);
  }
}

/** Replaces each secret value in a message with *****. */
export function mask(message: string, secrets: string[]): string {
  let out = message;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('*****');
  return out;
}
