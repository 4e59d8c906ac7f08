// Receiver type gcr: a Google Cloud Pub/Sub push subscription (Container or
// Artifact Registry notifications) calls the webhook with a Google-signed
// OIDC ID token in `Authorization: Bearer`. As notification-controller v1.9
// checks it: the signature against Google's published keys, the expiry, the
// audience (the Secret's `audience`), the issuer (accounts.google.com) and the
// service account (the Secret's `email`, which Google must have verified).
// The push body wraps the registry's event, base64 JSON in message.data; the
// unwrapped event is what a resourceFilter sees as `req`.
import { errors, jwtVerify } from 'jose';
import { remoteKeySet } from './keys.ts';
import type { Verdict } from './verify.ts';

/** Where Google publishes the keys that sign its ID tokens (JWKS). */
export const GOOGLE_JWKS_URL = 'https://www.googleapis.com/oauth2/v3/certs';
/**
 * Tests only: the JWKS URL to use instead of Google's, so that tokens signed
 * with a test key on loopback can be checked. Production never sets it.
 */
export const GCR_JWKS_ENV = 'SLUICE_GCR_JWKS_URL';
const ISSUERS = ['accounts.google.com', 'https://accounts.google.com'];

export function gcrJwksUrl(): string {
  return process.env[GCR_JWKS_ENV] || GOOGLE_JWKS_URL;
}

/** What the Receiver's Secret must hold for gcr besides the token; a message naming what is missing, or undefined. */
export function gcrSecretProblem(data: Record<string, Buffer | undefined> | undefined): string | undefined {
  const missing = ['email', 'audience'].filter((k) => !data?.[k]?.toString('utf8').trim());
  return missing.length ? `a gcr Receiver's Secret needs the key${missing.length > 1 ? 's' : ''} ${missing.join(' and ')} (the push subscription's service account and token audience)` : undefined;
}

export interface GcrInput {
  authorization: string;
  body: Buffer;
  email: string;
  audience: string;
  /** Defaults to gcrJwksUrl(). */
  jwksUrl?: string;
}

export type GcrVerdict = (Verdict & { ok: false }) | { ok: true; event: string; /** The registry event inside the push, for resourceFilter's `req`. */ payload: Record<string, unknown> };

export async function verifyGcr(i: GcrInput): Promise<GcrVerdict> {
  const refuse = (status: 400 | 401, reason: string): GcrVerdict => ({ ok: false, status, reason });
  if (!i.authorization.startsWith('Bearer ')) return refuse(401, 'the Authorization header is missing or not a Bearer token');
  const token = i.authorization.slice('Bearer '.length).trim();
  let claims: Record<string, unknown>;
  try {
    const r = await jwtVerify(token, remoteKeySet(i.jwksUrl ?? gcrJwksUrl()), { audience: i.audience, issuer: ISSUERS, algorithms: ['RS256'] });
    claims = r.payload as Record<string, unknown>;
  } catch (err) {
    // A key set that cannot be fetched is our problem, not the caller's: still refused, with the reason logged.
    const why = err instanceof errors.JOSEError ? `${err.code}: ${err.message}` : (err as Error).message;
    return refuse(401, `invalid ID token: ${why}`);
  }
  if (claims.email !== i.email) return refuse(401, `the token's email is ${JSON.stringify(claims.email ?? '')}, not the Secret's email`);
  if (claims.email_verified !== true) return refuse(401, "the token's email is not verified");
  let push: unknown;
  try {
    push = JSON.parse(i.body.toString('utf8'));
  } catch {
    return refuse(400, 'the body is not a Pub/Sub push message');
  }
  const data = (push as { message?: { data?: unknown } } | null)?.message?.data;
  if (typeof data !== 'string') return refuse(400, 'the body has no message.data');
  let event: unknown;
  try {
    event = JSON.parse(Buffer.from(data, 'base64').toString('utf8'));
  } catch {
    return refuse(400, 'message.data is not base64 JSON');
  }
  if (!event || typeof event !== 'object' || Array.isArray(event)) return refuse(400, 'message.data is not a registry event');
  const e = event as Record<string, unknown>;
  // Only the fields Flux passes on: action, digest and tag.
  const payload: Record<string, unknown> = { action: String(e.action ?? ''), digest: String(e.digest ?? ''), tag: String(e.tag ?? '') };
  return { ok: true, event: String(payload.action), payload };
}
