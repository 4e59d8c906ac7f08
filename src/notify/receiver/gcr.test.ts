import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import { verifyGcr } from './gcr.ts';

// Google's keys cannot be reached here: a loopback JWKS serves a test key
// pair's public half, and tokens are signed with its private half, as
// Google signs a Pub/Sub push's ID token.

let jwksUrl: string;
let server: http.Server;
let key: CryptoKey;
let other: CryptoKey;
let fetches = 0;
const EMAIL = 'pusher@proj.iam.gserviceaccount.com';
const AUD = 'https://hooks.example.org/hook/abc';

before(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  key = pair.privateKey;
  other = (await generateKeyPair('RS256')).privateKey;
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  server = http.createServer((_req, res) => {
    fetches++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/v3/certs`;
});
after(() => {
  server.close();
  server.closeAllConnections();
});

async function token(claims: Record<string, unknown> = {}, opts: { signWith?: CryptoKey; aud?: string; iss?: string; exp?: string | number; kid?: string } = {}): Promise<string> {
  return new SignJWT({ email: EMAIL, email_verified: true, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: opts.kid ?? 'k1', typ: 'JWT' })
    .setIssuer(opts.iss ?? 'https://accounts.google.com')
    .setAudience(opts.aud ?? AUD)
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? '5m')
    .sign(opts.signWith ?? key);
}

const push = (event: unknown) => Buffer.from(JSON.stringify({ message: { data: Buffer.from(JSON.stringify(event)).toString('base64'), messageId: '1', publishTime: '2026-12-08T00:00:00Z' }, subscription: 'projects/p/subscriptions/s' }));
const body = push({ action: 'INSERT', digest: 'gcr.io/p/app@sha256:0f', tag: 'gcr.io/p/app:v2' });
const check = async (authorization: string, b = body) => verifyGcr({ authorization, body: b, email: EMAIL, audience: AUD, jwksUrl });

test('a token Google would sign, for the right audience and service account, is accepted; the registry event is unwrapped', async () => {
  const v = await check(`Bearer ${await token()}`);
  assert.deepEqual(v, { ok: true, event: 'INSERT', payload: { action: 'INSERT', digest: 'gcr.io/p/app@sha256:0f', tag: 'gcr.io/p/app:v2' } });
  assert.ok((await check(`Bearer ${await token({}, { iss: 'accounts.google.com' })}`)).ok, 'both of Google\'s issuer spellings');
  assert.ok(fetches >= 1, 'the keys come from the JWKS URL');
});

test('refused with 401: no bearer, another key, another audience, issuer, email, an unverified email, an expired token', async () => {
  const refused = async (authorization: string, why: RegExp) => {
    const v = await check(authorization);
    assert.equal(v.ok, false);
    if (!v.ok) {
      assert.equal(v.status, 401);
      assert.match(v.reason, why);
    }
  };
  await refused('', /Bearer/);
  await refused(`Basic ${await token()}`, /Bearer/);
  await refused(`Bearer ${await token({}, { signWith: other })}`, /signature/i);
  await refused(`Bearer ${await token({}, { aud: 'https://elsewhere' })}`, /aud/);
  await refused(`Bearer ${await token({}, { iss: 'https://evil.example' })}`, /iss/);
  await refused(`Bearer ${await token({ email: 'someone@else.iam.gserviceaccount.com' })}`, /email/);
  await refused(`Bearer ${await token({ email_verified: false })}`, /not verified/);
  await refused(`Bearer ${await token({}, { exp: Math.floor(Date.now() / 1000) - 600 })}`, /exp/);
  await refused('Bearer not.a.jwt', /invalid ID token/);
});

test('a genuine token with a body that is not a Pub/Sub push is 400', async () => {
  const t = `Bearer ${await token()}`;
  for (const b of [Buffer.from('nope'), Buffer.from('{"message":{}}'), Buffer.from(JSON.stringify({ message: { data: Buffer.from('[1]').toString('base64') } }))]) {
    const v = await check(t, b);
    assert.equal(v.ok ? 200 : v.status, 400);
  }
});
