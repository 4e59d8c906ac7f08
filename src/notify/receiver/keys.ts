// Key sets (JWKS) and discovery documents fetched for the Receivers that
// check signed tokens (gcr, generic-oidc), through the process's proxy
// (HTTPS_PROXY / HTTP_PROXY, NO_PROXY) as Flux's Go HTTP client does, with
// Sluice's own sender (src/notify/send.ts). A key set is kept and fetched
// again when a token names a key it does not have (keys rotate), at most
// every 30 seconds, and after an hour in any case.
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { exchange } from '../send.ts';

const REFRESH_COOLDOWN_MS = 30_000;
const MAX_AGE_MS = 60 * 60_000;
const TIMEOUT_MS = 10_000;

/** The proxy for a URL from the environment, unless NO_PROXY names its host; undefined for none. */
export function proxyFor(url: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const u = new URL(url);
  const proxy = u.protocol === 'https:' ? (env.HTTPS_PROXY ?? env.https_proxy) : (env.HTTP_PROXY ?? env.http_proxy);
  if (!proxy) return undefined;
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  // As Go's ProxyFromEnvironment: localhost and loopback addresses never go through the proxy.
  if (host === 'localhost' || /^127\./.test(host) || host === '::1') return undefined;
  const noProxy = (env.NO_PROXY ?? env.no_proxy ?? '').split(',').map((x) => x.trim().toLowerCase()).filter(Boolean);
  const excluded = noProxy.some((n) => n === '*' || host === n.replace(/:\d+$/, '') || (n.startsWith('.') ? host.endsWith(n) : host.endsWith(`.${n}`)));
  return excluded ? undefined : proxy;
}

/** GETs a JSON document; throws with the status or the parse error. */
export async function getJson(url: string): Promise<unknown> {
  const answer = await exchange({ method: 'GET', url, headers: { accept: 'application/json' }, body: '' }, { proxy: proxyFor(url), timeoutMs: TIMEOUT_MS });
  try {
    return JSON.parse(answer.body);
  } catch {
    throw new Error(`${new URL(url).origin} did not answer JSON`);
  }
}

const sets = new Map<string, JWTVerifyGetKey>();

/** The key set at a URL, for jose's jwtVerify. `cooldownMs`: the least time between two fetches for an unknown key. */
export function remoteKeySet(url: string, cooldownMs = REFRESH_COOLDOWN_MS): JWTVerifyGetKey {
  let ks = sets.get(url);
  if (ks) return ks;
  let local: JWTVerifyGetKey | undefined;
  let fetchedAt = 0;
  const refresh = async () => {
    const doc = (await getJson(url)) as JSONWebKeySet;
    if (!doc || !Array.isArray(doc.keys)) throw new Error(`${new URL(url).origin}: not a JSON Web Key Set`);
    local = createLocalJWKSet(doc);
    fetchedAt = Date.now();
  };
  ks = async (header, token) => {
    if (!local || Date.now() - fetchedAt > MAX_AGE_MS) await refresh();
    try {
      return await local!(header, token);
    } catch (err) {
      // A key it does not have: perhaps rotated in since; look again, but not on every call.
      if (!(err instanceof errors.JWKSNoMatchingKey) || Date.now() - fetchedAt < cooldownMs) throw err;
      await refresh();
      return local!(header, token);
    }
  };
  sets.set(url, ks);
  return ks;
}
