// Receiver type generic-oidc (notification-controller v1.9): the caller sends
// an OIDC ID token as `Authorization: Bearer`. The token's issuer picks one of
// spec.oidcProviders; the token is verified against that issuer's keys (found
// through its discovery document, /.well-known/openid-configuration), its
// expiry and its audience; then the provider's CEL `variables` are computed
// over the claims (each can read `claims` and the variables before it as
// `vars`) and every `validations` expression must be true, or the call is
// refused with their messages. The claims are then `claims` in the filters.
// A Receiver of this type has no Secret: its path is sha256("" + name + namespace).
import { decodeJwt, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { getJson, remoteKeySet } from './keys.ts';
import type { ReceiverSpec } from '../../api/receiver.ts';
import { CelEvaluationError, compileValueExpression } from '../../util/cel.ts';
import type { Verdict } from './verify.ts';

type OidcProvider = NonNullable<ReceiverSpec['oidcProviders']>[number];

const VARIABLES = ['claims', 'vars'] as const;
/** Asymmetric algorithms only: an HMAC "key" from a JWKS would be a shared secret anyone reading it knows. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const DISCOVERY_TTL_MS = 10 * 60_000;

/** What the CRD's rules say, checked again for API servers that skipped them; a message naming the field, or undefined. */
export function oidcSpecProblem(providers: OidcProvider[] | undefined): string | undefined {
  if (!providers?.length) return 'generic-oidc receivers must define at least one oidcProvider';
  const seen = new Set<string>();
  for (const [i, p] of providers.entries()) {
    const at = `oidcProviders[${i}]`;
    if (!p.issuerURL) return `${at}: issuerURL is required`;
    if (!/^https?:\/\//.test(p.issuerURL)) return `${at}: issuerURL ${JSON.stringify(p.issuerURL)} must start with http:// or https://`;
    if (!p.audience) return `${at}: audience is required`;
    if (seen.has(p.issuerURL)) return `${at}: duplicate issuerURL ${JSON.stringify(p.issuerURL)}`;
    seen.add(p.issuerURL);
    if (!p.validations?.length) return `${at} (issuerURL=${JSON.stringify(p.issuerURL)}): at least one validation is required; without validations any caller able to obtain a token from this issuer can trigger the Receiver`;
    for (const [j, v] of (p.variables ?? []).entries()) if (!v.name || !v.expression) return `${at}: variables[${j}] needs a name and an expression`;
    for (const [j, v] of p.validations.entries()) if (!v.expression || !v.message) return `${at}: validations[${j}] needs an expression and a message`;
  }
  return undefined;
}

/** Compiles every expression; the first that does not compile, naming where it is, or undefined. */
export function oidcExpressionProblem(providers: OidcProvider[]): string | undefined {
  for (const [i, p] of providers.entries()) {
    try {
      compileProvider(p);
    } catch (err) {
      return `oidcProviders[${i}] (issuerURL=${JSON.stringify(p.issuerURL)}): ${(err as Error).message}`;
    }
  }
  return undefined;
}

function compileProvider(p: OidcProvider) {
  const variables = (p.variables ?? []).map((v) => {
    try {
      return { name: v.name, program: compileValueExpression(v.expression, VARIABLES) };
    } catch (err) {
      throw new Error(`invalid expression for variable ${JSON.stringify(v.name)}: ${(err as Error).message}`);
    }
  });
  const validations = p.validations.map((v) => {
    try {
      return { message: v.message, program: compileValueExpression(v.expression, VARIABLES, 'bool') };
    } catch (err) {
      throw new Error(`invalid expression for validation ${JSON.stringify(v.message)}: ${(err as Error).message}`);
    }
  });
  return { variables, validations };
}

/** The issuer's key set, from its discovery document; kept for a while, as keys rotate slowly and jose refetches on an unknown key id. */
const issuers = new Map<string, { keys: JWTVerifyGetKey; until: number }>();

async function keysOf(issuer: string): Promise<JWTVerifyGetKey> {
  const hit = issuers.get(issuer);
  if (hit && hit.until > Date.now()) return hit.keys;
  const doc = (await getJson(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`)) as { issuer?: unknown; jwks_uri?: unknown } | null;
  // As go-oidc: the document must name the issuer it was fetched for.
  if (doc?.issuer !== issuer) throw new Error(`the discovery document names issuer ${JSON.stringify(doc?.issuer)}, not ${JSON.stringify(issuer)}`);
  if (typeof doc.jwks_uri !== 'string') throw new Error('the discovery document has no jwks_uri');
  const keys = remoteKeySet(doc.jwks_uri);
  issuers.set(issuer, { keys, until: Date.now() + DISCOVERY_TTL_MS });
  return keys;
}

export type OidcVerdict = (Verdict & { ok: false }) | { ok: true; claims: Record<string, unknown> };

export async function verifyOidc(authorization: string, providers: OidcProvider[]): Promise<OidcVerdict> {
  const refuse = (reason: string): OidcVerdict => ({ ok: false, status: 401, reason });
  if (!authorization.startsWith('Bearer ')) return refuse('the Authorization header is missing or not a Bearer token');
  const token = authorization.slice('Bearer '.length).trim();
  if (!token) return refuse('the Authorization header has no token');
  let iss: unknown;
  try {
    iss = decodeJwt(token).iss;
  } catch {
    return refuse('the bearer token is not a JWT');
  }
  // The unverified issuer only picks the provider; nothing is trusted before the signature is checked.
  const p = providers.find((x) => x.issuerURL === iss);
  if (!p) return refuse(`no oidcProvider configured for issuer ${JSON.stringify(iss)}`);
  let claims: Record<string, unknown>;
  try {
    const r = await jwtVerify(token, await keysOf(p.issuerURL), { issuer: p.issuerURL, audience: p.audience, algorithms: ALGORITHMS });
    claims = r.payload as Record<string, unknown>;
  } catch (err) {
    const why = err instanceof errors.JOSEError ? `${err.code}: ${err.message}` : (err as Error).message;
    return refuse(`failed to verify OIDC token: ${why}`);
  }
  let compiled;
  try {
    compiled = compileProvider(p);
  } catch (err) {
    return refuse(`invalid oidcProvider for issuer ${p.issuerURL}: ${(err as Error).message}`);
  }
  const vars: Record<string, unknown> = {};
  const data = { claims, vars };
  const failures: string[] = [];
  try {
    for (const v of compiled.variables) vars[v.name] = v.program.evaluate(data);
    for (const v of compiled.validations) if (v.program.evaluate(data) !== true) failures.push(v.message);
  } catch (err) {
    if (!(err instanceof CelEvaluationError)) throw err;
    return refuse(`token validation failed: ${err.message}`);
  }
  if (failures.length) return refuse(`token validation failed: ${failures.join('; ')}`);
  return { ok: true, claims };
}
