import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { GitOps, configMap } from '../gitops.ts';
import { eventually } from '../harness.ts';
import { startLoopback, type Loopback } from './loopback.ts';
import { GCR_JWKS_ENV } from '../../src/notify/receiver/gcr.ts';
import type { KubeObject } from '../../src/kube/object.ts';

// Issue 16 leftovers against the control plane: a gcr Receiver checks the
// Google-signed ID token of a Pub/Sub push (here signed with a test key whose
// JWKS is served on loopback, since Google's keys cannot be reached);
// resourceFilter and filter decide which objects a call reconciles; a
// filter that does not compile stalls the Receiver; a Provider's
// commitStatusExpr names the commit status.

const NG = 'notification.toolkit.fluxcd.io';
const SG = 'source.toolkit.fluxcd.io/v1';
const EMAIL = 'registry-push@proj.iam.gserviceaccount.com';
const AUD = 'https://hooks.example.org/gcr';
let g: GitOps;
let base: string;
let jwks: http.Server;
let key: CryptoKey;
let forge: Loopback;
let siteRev: string;
let issuer: string;
let ciKey: CryptoKey;
let oidcServer: http.Server;
const savedJwks = process.env[GCR_JWKS_ENV];

type Cond = { type: string; status: string; reason: string; message: string };
const secret = (name: string, data: Record<string, string>) =>
  g.client.request({ method: 'POST', path: `/api/v1/namespaces/${g.ns.name}/secrets`, body: { apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: data } });
const receiver = (name: string, spec: Record<string, unknown>) => g.create(`${NG}/v1`, 'Receiver', 'receivers', name, spec);
const getReceiver = (name: string) => g.get<KubeObject & { status?: { webhookPath?: string; conditions?: Cond[] } }>(`/apis/${NG}/v1/namespaces/${g.ns.name}/receivers/${name}`);
const condition = async (name: string, type: string) => (await getReceiver(name))?.status?.conditions?.find((c) => c.type === type);
const untilPath = (name: string) =>
  eventually(`Receiver ${name} ready with a path`, async () => {
    const r = await getReceiver(name);
    return r?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? r.status.webhookPath : undefined;
  }, 20_000);
const post = (path: string, body: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
const requestedAt = async (name: string) => (await g.get<KubeObject>(`/apis/${SG}/namespaces/${g.ns.name}/gitrepositories/${name}`))?.metadata.annotations?.['reconcile.fluxcd.io/requestedAt'];
const idToken = (claims: Record<string, unknown> = {}) =>
  new SignJWT({ email: EMAIL, email_verified: true, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'test-key' })
    .setIssuer('https://accounts.google.com')
    .setAudience(AUD)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(key);
const pubsubPush = (event: Record<string, string>) => JSON.stringify({ message: { data: Buffer.from(JSON.stringify(event)).toString('base64'), messageId: '1', publishTime: new Date().toISOString() }, subscription: 'projects/p/subscriptions/gcr' });

before(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  key = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
  jwks = http.createServer((_q, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', () => r()));
  process.env[GCR_JWKS_ENV] = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/certs`;
  // An OIDC issuer on loopback, as a CI system's: discovery document and keys.
  const ci = await generateKeyPair('ES256', { extractable: true });
  ciKey = ci.privateKey;
  const ciJwk = { ...(await exportJWK(ci.publicKey)), kid: 'ci', alg: 'ES256' };
  oidcServer = http.createServer((q, res) => {
    const doc = q.url === '/.well-known/openid-configuration' ? { issuer, jwks_uri: `${issuer}/keys` } : q.url === '/keys' ? { keys: [ciJwk] } : undefined;
    res.writeHead(doc ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(doc ?? {}));
  });
  await new Promise<void>((r) => oidcServer.listen(0, '127.0.0.1', () => r()));
  issuer = `http://127.0.0.1:${(oidcServer.address() as AddressInfo).port}`;
  forge = await startLoopback();
  forge.answer = (r) => (r.method === 'POST' ? 201 : 200);
  g = await GitOps.start('notify-receiver-cel');
  base = g.operator.notifications.receiver!.url;
  siteRev = await g.push({ 'README.md': 'cel', 'site/cm.yaml': configMap('site', { a: '1' }) }, 'init');
  for (const name of ['app', 'web', 'api', 'db']) await g.createGitRepository(name, { interval: '1h' });
  await secret('gcr', { token: 'gcr-token-1', email: EMAIL, audience: AUD });
  await secret('gcr-noaud', { token: 'gcr-token-2', email: EMAIL });
  await secret('hook', { token: 'generic-token-1' });
});
after(async () => {
  await g?.close();
  await forge?.close();
  jwks?.close();
  jwks?.closeAllConnections();
  oidcServer?.close();
  oidcServer?.closeAllConnections();
  if (savedJwks === undefined) delete process.env[GCR_JWKS_ENV];
  else process.env[GCR_JWKS_ENV] = savedJwks;
});

test('gcr: a push with a valid Google ID token reconciles, and its resourceFilter sees the registry event; bad tokens are 401', async () => {
  await receiver('gcr', {
    type: 'gcr',
    secretRef: { name: 'gcr' },
    resources: [{ kind: 'GitRepository', name: 'web' }, { kind: 'GitRepository', name: 'api' }],
    resourceFilter: "req.tag.endsWith('/' + res.metadata.name + ':v2')",
  });
  const path = (await untilPath('gcr'))!;
  const body = pubsubPush({ action: 'INSERT', digest: 'gcr.io/p/web@sha256:00', tag: 'gcr.io/p/web:v2' });
  const before = { web: await requestedAt('web'), api: await requestedAt('api') };
  for (const [auth, why] of [
    ['', 'no token'],
    [`Bearer ${await idToken({ email: 'intruder@proj.iam.gserviceaccount.com' })}`, 'another service account'],
    [`Bearer ${await idToken({ email_verified: false })}`, 'an unverified email'],
    [`Bearer ${await new SignJWT({ email: EMAIL, email_verified: true }).setProtectedHeader({ alg: 'RS256', kid: 'test-key' }).setIssuer('https://accounts.google.com').setAudience('https://elsewhere').setExpirationTime('5m').sign(key)}`, 'another audience'],
  ] as const) {
    const res = await post(path, body, auth ? { authorization: auth } : {});
    assert.equal(res.status, 401, why);
    assert.equal(await res.text(), 'unauthorized\n');
  }
  assert.deepEqual({ web: await requestedAt('web'), api: await requestedAt('api') }, before, 'refused calls reconcile nothing');
  const ok = await post(path, body, { authorization: `Bearer ${await idToken()}` });
  assert.equal(ok.status, 200);
  assert.notEqual(await requestedAt('web'), before.web, 'the filter let web through');
  assert.equal(await requestedAt('api'), before.api, 'the filter held api back');
});

test('gcr: a Secret without the audience makes the Receiver not Ready, with no path', async () => {
  await receiver('gcr-noaud', { type: 'gcr', secretRef: { name: 'gcr-noaud' }, resources: [{ kind: 'GitRepository', name: 'web' }] });
  const ready = await eventually('TokenNotFound', async () => {
    const c = await condition('gcr-noaud', 'Ready');
    return c?.reason === 'TokenNotFound' ? c : undefined;
  }, 20_000);
  assert.equal(ready.status, 'False');
  assert.match(ready.message, /audience/);
  assert.equal((await getReceiver('gcr-noaud'))?.status?.webhookPath, undefined);
});

test('resourceFilter and a reference\'s filter both decide; the request body is req', async () => {
  await receiver('filtered', {
    type: 'generic',
    secretRef: { name: 'hook' },
    resourceFilter: 'res.metadata.name in req.repos',
    resources: [{ kind: 'GitRepository', name: 'web' }, { kind: 'GitRepository', name: 'api', filter: "req.branch == 'main'" }, { kind: 'GitRepository', name: 'db' }],
  });
  const path = (await untilPath('filtered'))!;
  const at = async () => ({ web: await requestedAt('web'), api: await requestedAt('api'), db: await requestedAt('db') });
  const t0 = await at();
  assert.equal((await post(path, JSON.stringify({ repos: ['web', 'api'], branch: 'dev' }))).status, 200);
  const t1 = await at();
  assert.notEqual(t1.web, t0.web);
  assert.equal(t1.api, t0.api, 'api: resourceFilter true, its own filter false');
  assert.equal(t1.db, t0.db, 'db: resourceFilter false');
  assert.equal((await post(path, JSON.stringify({ repos: ['api'], branch: 'main' }))).status, 200);
  const t2 = await at();
  assert.notEqual(t2.api, t1.api);
  assert.equal(t2.web, t1.web);
  // A body that says JSON and is not an object is refused.
  assert.equal((await post(path, '[1,2]')).status, 400);
});

test('a filter that does not compile: Ready False InvalidCELExpression and Stalled, no path', async () => {
  await receiver('badcel', { type: 'generic', secretRef: { name: 'hook' }, resourceFilter: "'not a bool'", resources: [{ kind: 'GitRepository', name: 'web' }] });
  const ready = await eventually('InvalidCELExpression', async () => {
    const c = await condition('badcel', 'Ready');
    return c?.reason === 'InvalidCELExpression' ? c : undefined;
  }, 20_000);
  assert.equal(ready.status, 'False');
  assert.match(ready.message, /^Reconciliation failed terminally due to configuration error: spec\.resourceFilter: .*expected bool, got string/);
  assert.equal((await condition('badcel', 'Stalled'))?.status, 'True');
  assert.equal((await getReceiver('badcel'))?.status?.webhookPath, undefined);
});

test('commitStatusExpr names the commit status; an expression that is not a string makes the Provider not Ready', async () => {
  await secret('forge', { token: 'ghp_expr' });
  await g.create(`${NG}/v1beta3`, 'Provider', 'providers', 'forge', {
    type: 'github',
    address: `${forge.url}/acme/app`,
    secretRef: { name: 'forge' },
    commitStatusExpr: "'flux/' + event.involvedObject.name + '/' + alert.metadata.name",
  });
  await g.create(`${NG}/v1beta3`, 'Alert', 'alerts', 'status', { providerRef: { name: 'forge' }, eventSources: [{ kind: 'Kustomization', name: 'site' }] });
  await g.create(`${NG}/v1beta3`, 'Provider', 'providers', 'badexpr', { type: 'github', address: `${forge.url}/acme/app`, secretRef: { name: 'forge' }, commitStatusExpr: 'event.involvedObject.name == "x"' });
  // The Alert in the dispatcher's cache before the Kustomization's first event.
  await eventually('the Alert ready', async () => {
    const a = await g.get<KubeObject>(`/apis/${NG}/v1beta3/namespaces/${g.ns.name}/alerts/status`);
    return (a?.status?.conditions as Cond[] | undefined)?.some((c) => c.type === 'Ready' && c.status === 'True') || undefined;
  }, 20_000);
  const sha = siteRev.split(':')[1]!;
  await g.createKustomization('site', { path: './site', targetNamespace: g.ns.name });
  const success = await eventually('a success status', async () => forge.requests.find((r) => r.path === `/api/v3/repos/acme/app/statuses/${sha}` && (r.json as { state: string }).state === 'success'), 30_000);
  assert.equal((success.json as { context: string }).context, 'flux/site/status');
  const bad = await eventually('badexpr not Ready', async () => {
    const p = await g.get<KubeObject>(`/apis/${NG}/v1beta3/namespaces/${g.ns.name}/providers/badexpr`);
    const c = (p?.status?.conditions as Cond[] | undefined)?.find((x) => x.type === 'Ready');
    return c?.status === 'False' ? c : undefined;
  }, 20_000);
  assert.equal(bad.reason, 'ValidationFailed');
  assert.match(bad.message, /^spec\.commitStatusExpr: .*expected string, got bool/);
});

test('generic-oidc: no Secret, path sha256(name + namespace); a CI token passing the validations reconciles what the claims filter lets through', async () => {
  await receiver('ci', {
    type: 'generic-oidc',
    oidcProviders: [{ issuerURL: issuer, audience: 'sluice', validations: [{ expression: "claims.repository_owner == 'acme'", message: 'only acme' }] }],
    resourceFilter: "res.metadata.name == claims.repository.split('/')[1]",
    resources: [{ kind: 'GitRepository', name: 'web' }, { kind: 'GitRepository', name: 'api' }],
  });
  const path = (await untilPath('ci'))!;
  assert.equal(path, `/hook/${createHash('sha256').update(`ci${g.ns.name}`).digest('hex')}`);
  const ciToken = (claims: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'ci' }).setIssuer(issuer).setAudience('sluice').setIssuedAt().setExpirationTime('5m').sign(ciKey);
  const before = { web: await requestedAt('web'), api: await requestedAt('api') };
  assert.equal((await post(path, '{}', { authorization: `Bearer ${await ciToken({ repository: 'evil/api', repository_owner: 'evil' })}` })).status, 401);
  assert.equal((await post(path, '{}')).status, 401);
  assert.deepEqual({ web: await requestedAt('web'), api: await requestedAt('api') }, before);
  assert.equal((await post(path, '{}', { authorization: `Bearer ${await ciToken({ repository: 'acme/api', repository_owner: 'acme' })}` })).status, 200);
  assert.notEqual(await requestedAt('api'), before.api);
  assert.equal(await requestedAt('web'), before.web);
});
