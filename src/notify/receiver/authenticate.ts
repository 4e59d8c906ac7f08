// Whether a webhook call is genuine, for every Receiver type: the signature
// and token checks of verify.ts, gcr's Google-signed ID token and
// generic-oidc's issuer tokens (both async: their keys are fetched). Also
// what the CEL filters see of the call: `req` for gcr (the registry event
// unwrapped from the push) and `claims` for generic-oidc.
import type { Receiver } from '../../api/receiver.ts';
import type { SecretData } from '../../runtime/secrets.ts';
import { gcrSecretProblem, verifyGcr } from './gcr.ts';
import { verifyOidc } from './oidc.ts';
import { verify, type Headers, type Verdict } from './verify.ts';

export interface Authenticated {
  verdict: Verdict | { ok: false; status: 503; reason: string };
  /** The filters' `req`, when the type decides it (gcr); else the server takes the JSON body. */
  req?: Record<string, unknown>;
  claims: Record<string, unknown>;
}

/** `secret` is the Receiver's Secret (none for generic-oidc); `token` its token. */
export async function authenticate(receiver: Receiver, headers: Headers, body: Buffer, secret: SecretData | undefined, token: string): Promise<Authenticated> {
  const authorization = String((Array.isArray(headers.authorization) ? headers.authorization[0] : headers.authorization) ?? '');
  switch (receiver.spec.type) {
    case 'generic-oidc': {
      const v = await verifyOidc(authorization, receiver.spec.oidcProviders ?? []);
      return v.ok ? { verdict: { ok: true }, claims: v.claims } : { verdict: v, claims: {} };
    }
    case 'gcr': {
      // Checked by the Receiver's status too; a Secret changed since is refused as not ready.
      const problem = gcrSecretProblem(secret);
      if (problem) return { verdict: { ok: false, status: 503, reason: problem }, claims: {} };
      const text = (k: string) => secret![k]!.toString('utf8').trim();
      const g = await verifyGcr({ authorization, body, email: text('email'), audience: text('audience') });
      return g.ok ? { verdict: { ok: true, event: g.event }, req: g.payload, claims: {} } : { verdict: g, claims: {} };
    }
    default:
      return { verdict: verify({ type: receiver.spec.type, headers, body, token, events: receiver.spec.events }), claims: {} };
  }
}
