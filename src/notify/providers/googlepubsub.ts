// googlepubsub: the event JSON published to the Pub/Sub topic spec.channel of
// the Google Cloud project spec.address, the Secret's headers as message
// attributes. Flux uses Google's Go client (gRPC); Sluice uses Pub/Sub's REST
// API (topics.publish), which publishes the same message. Credentials: the
// Secret's token holds a service account key (JSON), exchanged for an access
// token with Google's OAuth 2.0 JWT-bearer flow (RFC 7523) at the key's
// token_uri. As Google's client libraries do, PUBSUB_EMULATOR_HOST (host:port)
// sends to an emulator over plain HTTP instead of pubsub.googleapis.com.
// Workload identity (no key) is not available in Sluice.
import { SignJWT, importPKCS8 } from 'jose';
import { DeliveryError } from '../send.ts';
import type { DeliveryContext, Notifier, ProviderSettings } from './types.ts';

const SCOPE = 'https://www.googleapis.com/auth/pubsub';
const DEFAULT_TOKEN_URI = 'https://oauth2.googleapis.com/token';

interface ServiceAccountKey {
  client_email: string;
  private_key: string;
  private_key_id?: string;
  token_uri?: string;
}

function serviceAccount(token: string | undefined): ServiceAccountKey | string {
  if (!token) return 'googlepubsub needs a service account key (JSON) in the token key of spec.secretRef (workload identity is not supported by Sluice)';
  let k: Partial<ServiceAccountKey>;
  try {
    k = JSON.parse(token) as Partial<ServiceAccountKey>;
  } catch {
    return 'googlepubsub: the token in spec.secretRef is not a service account key (JSON)';
  }
  if (typeof k.client_email !== 'string' || typeof k.private_key !== 'string') return 'googlepubsub: the service account key needs client_email and private_key';
  return k as ServiceAccountKey;
}

/** Access tokens by service account and token URI, until a minute before they expire. */
const tokens = new Map<string, { token: string; until: number }>();

async function accessToken(k: ServiceAccountKey, ctx: DeliveryContext, headers: Record<string, string>): Promise<string> {
  const tokenUri = k.token_uri || DEFAULT_TOKEN_URI;
  const key = `${k.client_email}\0${tokenUri}`;
  const hit = tokens.get(key);
  if (hit && hit.until > Date.now()) return hit.token;
  let pk;
  try {
    pk = await importPKCS8(k.private_key, 'RS256');
  } catch {
    throw new DeliveryError('googlepubsub: the service account\'s private_key is not a PKCS#8 RSA key', false);
  }
  const assertion = await new SignJWT({ scope: SCOPE })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...(k.private_key_id ? { kid: k.private_key_id } : {}) })
    .setIssuer(k.client_email)
    .setAudience(tokenUri)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(pk);
  const answer = await ctx.exchange({
    method: 'POST',
    url: tokenUri,
    headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString(),
  });
  let t: { access_token?: unknown; expires_in?: unknown };
  try {
    t = JSON.parse(answer.body) as typeof t;
  } catch {
    throw new DeliveryError('googlepubsub: the token endpoint did not answer JSON', true);
  }
  if (typeof t.access_token !== 'string') throw new DeliveryError('googlepubsub: the token endpoint gave no access_token', false);
  const seconds = typeof t.expires_in === 'number' ? t.expires_in : 3600;
  tokens.set(key, { token: t.access_token, until: Date.now() + Math.max(0, seconds - 60) * 1000 });
  return t.access_token;
}

function endpoint(): string {
  const emulator = process.env.PUBSUB_EMULATOR_HOST;
  return emulator ? `http://${emulator}` : 'https://pubsub.googleapis.com';
}

export const googlepubsub: Notifier = {
  check: (s: ProviderSettings) => {
    if (!s.address) return 'googlepubsub needs the Google Cloud project ID in spec.address';
    if (!/^[a-z][a-z0-9.:-]*$/i.test(s.address)) return 'googlepubsub: spec.address must be a project ID';
    if (!s.channel) return 'googlepubsub needs the topic ID in spec.channel';
    const k = serviceAccount(s.token);
    return typeof k === 'string' ? k : undefined;
  },
  async deliver(event, s, ctx) {
    const k = serviceAccount(s.token) as ServiceAccountKey;
    const token = await accessToken(k, ctx, {});
    const attributes = s.headerNames && Object.keys(s.headerNames).length ? s.headerNames : undefined;
    const message = { data: Buffer.from(JSON.stringify(event)).toString('base64'), ...(attributes ? { attributes } : {}) };
    await ctx.exchange({
      method: 'POST',
      url: `${endpoint()}/v1/projects/${encodeURIComponent(s.address)}/topics/${encodeURIComponent(s.channel!)}:publish`,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ messages: [message] }),
    });
  },
};
