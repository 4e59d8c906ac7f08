import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { oidcExpressionProblem, oidcSpecProblem, verifyOidc } from './oidc.ts';

// A loopback OIDC issuer (discovery document and JWKS) and tokens signed with
// its key, as a CI system's (GitHub Actions, GitLab) would be.

let issuer: string;
let server: http.Server;
let key: CryptoKey;
let stranger: CryptoKey;

before(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true });
  key = pair.privateKey;
  stranger = (await generateKeyPair('ES256')).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'ci', alg: 'ES256', use: 'sig' };
  server = http.createServer((req, res) => {
    if (req.url === '/.well-known/openid-configuration') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer, jwks_uri: `${issuer}/keys` }));
    if (req.url === '/keys') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
  server.closeAllConnections();
});

const providers = () => [
  {
    issuerURL: issuer,
    audience: 'sluice',
    variables: [{ name: 'repo', expression: "claims.repository.split('/')[1]" }],
    validations: [
      { expression: "claims.repository_owner == 'acme'", message: 'only acme' },
      { expression: "vars.repo in ['fleet', 'apps']", message: 'only the fleet and apps repositories' },
    ],
  },
];
const token = (claims: Record<string, unknown>, o: { aud?: string; iss?: string; signWith?: CryptoKey } = {}) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'ci' }).setIssuer(o.iss ?? issuer).setAudience(o.aud ?? 'sluice').setIssuedAt().setExpirationTime('5m').sign(o.signWith ?? key);

test('a token from the issuer, for the audience, passing the validations: accepted with its claims', async () => {
  const v = await verifyOidc(`Bearer ${await token({ repository: 'acme/fleet', repository_owner: 'acme' })}`, providers());
  assert.equal(v.ok, true);
  if (v.ok) assert.equal(v.claims.repository, 'acme/fleet');
});

test('refused: unknown issuer, another key, another audience, and failed validations with their messages', async () => {
  const reason = async (auth: string) => {
    const v = await verifyOidc(auth, providers());
    assert.equal(v.ok, false);
    return v.ok ? '' : (assert.equal(v.status, 401), v.reason);
  };
  const good = { repository: 'acme/fleet', repository_owner: 'acme' };
  assert.match(await reason(''), /Bearer/);
  assert.match(await reason('Bearer abc'), /not a JWT/);
  assert.match(await reason(`Bearer ${await token(good, { iss: 'https://elsewhere.example' })}`), /no oidcProvider configured for issuer/);
  assert.match(await reason(`Bearer ${await token(good, { signWith: stranger })}`), /signature/i);
  assert.match(await reason(`Bearer ${await token(good, { aud: 'someone-else' })}`), /aud/);
  assert.match(await reason(`Bearer ${await token({ repository: 'evil/other', repository_owner: 'evil' })}`), /token validation failed: only acme; only the fleet and apps repositories/);
  assert.match(await reason(`Bearer ${await token({ repository_owner: 'acme' })}`), /token validation failed: failed to evaluate/);
});

test('spec checks as Flux\'s: validations required, unique issuers; expressions compile', () => {
  assert.match(oidcSpecProblem([])!, /at least one oidcProvider/);
  assert.match(oidcSpecProblem([{ issuerURL: 'ftp://x', audience: 'a', validations: [{ expression: 'true', message: 'm' }] }])!, /must start with http/);
  assert.match(oidcSpecProblem([{ issuerURL: 'https://x', audience: 'a', validations: [] }])!, /at least one validation is required/);
  const one = { issuerURL: 'https://x', audience: 'a', validations: [{ expression: 'true', message: 'm' }] };
  assert.match(oidcSpecProblem([one, one])!, /duplicate issuerURL/);
  assert.equal(oidcSpecProblem([one]), undefined);
  assert.match(oidcExpressionProblem([{ ...one, validations: [{ expression: "'x'", message: 'not a bool' }] }])!, /validation "not a bool".*expected bool, got string/);
  assert.match(oidcExpressionProblem([{ ...one, variables: [{ name: 'v', expression: 'nope.x' }] }])!, /variable "v"/);
  assert.equal(oidcExpressionProblem(providers()), undefined);
});
