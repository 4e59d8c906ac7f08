import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { exportPKCS8, generateKeyPair, jwtVerify } from 'jose';
import type { Provider } from '../../src/api/provider.ts';
import { PROVIDER_TYPES } from '../../src/api/provider.ts';
import { notifiers } from '../../src/notify/providers/index.ts';
import { exchange, send } from '../../src/notify/send.ts';
import { resolveProvider } from '../../src/notify/settings.ts';
import type { FluxEvent } from '../../src/runtime/eventsink.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { generateTls } from '../gitserver/tls.ts';
import { startLoopback, type Loopback, type Recorded } from './loopback.ts';
import { startNatsStandIn, type NatsStandIn } from './natsserver.ts';
// test: no cluster

// The provider types of Flux 2.9 that Sluice added last, each against a
// loopback server that checks the request as the service's API documents it
// (method, path, auth, body shape); nats against a loopback server speaking
// NATS's text protocol.

const SHA = '0123456789abcdef0123456789abcdef01234567';
const UID = '4f6d3b2a-1111-2222-3333-444455556666';
const info: FluxEvent = {
  involvedObject: { kind: 'Kustomization', namespace: 'apps', name: 'web', apiVersion: 'kustomize.toolkit.fluxcd.io/v1', uid: 'obj-uid-1' },
  severity: 'info',
  timestamp: '2026-12-07T22:00:00Z',
  message: 'Reconciliation finished in 2s',
  reason: 'ReconciliationSucceeded',
  metadata: { revision: `main@sha1:${SHA}`, summary: 'prod' },
  reportingController: 'kustomize-controller',
  reportingInstance: 'sluice',
};
const error: FluxEvent = { ...info, severity: 'error', reason: 'HealthCheckFailed', message: 'Deployment/apps/web not ready' };

let lb: Loopback;
before(async () => {
  lb = await startLoopback();
});
after(async () => {
  await lb.close();
});

const provider = (spec: Provider['spec'], secret?: boolean): Provider => ({
  apiVersion: 'notification.toolkit.fluxcd.io/v1beta3',
  kind: 'Provider',
  metadata: { name: 'p', namespace: 'apps', uid: UID },
  spec: secret ? { secretRef: { name: 's' }, ...spec } : spec,
});
const asData = (secret?: Record<string, string>) => secret && Object.fromEntries(Object.entries(secret).map(([k, v]) => [k, Buffer.from(v)]));

/** Delivers one event as the dispatcher does (build's requests, or the type's own delivery); returns what the loopback saw. */
async function deliver(spec: Provider['spec'], secret?: Record<string, string>, event: FluxEvent = info, extra: (s: Record<string, unknown>) => void = () => undefined): Promise<Recorded[]> {
  const resolved = await resolveProvider(provider(spec, !!secret), async () => asData(secret));
  resolved.settings.alert = { name: 'ops', namespace: 'apps', uid: 'alert-uid-9' };
  extra(resolved.settings as unknown as Record<string, unknown>);
  lb.requests.length = 0;
  const n = notifiers[spec.type]!;
  if (n.deliver) await n.deliver(event, resolved.settings, { exchange: (r) => exchange(r, resolved.transport), transport: resolved.transport });
  else for (const req of n.build!(event, resolved.settings)) await send(req, resolved.transport);
  return [...lb.requests];
}
const one = async (...a: Parameters<typeof deliver>) => {
  const r = await deliver(...a);
  assert.equal(r.length, 1);
  return r[0]!;
};
const body = (r: Recorded) => r.json as Record<string, any>;
const refused = (spec: Provider['spec'], secret: Record<string, string> | undefined, why: RegExp) =>
  assert.rejects(resolveProvider(provider(spec, !!secret), async () => asData(secret)), (e: Error) => why.test(e.message));

test('every provider type Flux 2.9 accepts has a Sluice notifier', () => {
  assert.deepEqual(PROVIDER_TYPES.filter((t) => !notifiers[t]), []);
});

test('rocket: Slack-format attachment, blue for info, red for errors, kind in lower case', async () => {
  const r = await one({ type: 'rocket', address: `${lb.url}/hooks/abc`, channel: '#ops', username: 'flux' }, undefined, error);
  assert.equal(r.path, '/hooks/abc');
  assert.equal(body(r).channel, '#ops');
  assert.equal(body(r).attachments[0].color, '#FF0000');
  assert.equal(body(r).attachments[0].author_name, 'kustomization/web.apps');
  assert.deepEqual(body(r).attachments[0].fields.map((f: { title: string }) => f.title), ['revision', 'summary']);
  assert.equal(body(await one({ type: 'rocket', address: `${lb.url}/hooks/abc` })).attachments[0].color, '#0076D7');
});

test('webex: POST /v1/messages with the bot token and roomId, Markdown text', async () => {
  const r = await one({ type: 'webex', address: `${lb.url}/v1/messages`, channel: 'Y2lzY29zcGFyazovL3VzL1JPT00v' }, { token: 'bot-tok' });
  assert.equal(r.method, 'POST');
  assert.equal(r.headers.authorization, 'Bearer bot-tok');
  assert.equal(body(r).roomId, 'Y2lzY29zcGFyazovL3VzL1JPT00v');
  assert.match(body(r).markdown, /^✅ \*\*kustomization\/web\.apps\*\*\nReconciliation finished in 2s\n>\*\*revision\*\*: main@sha1:/);
  await refused({ type: 'webex', address: `${lb.url}/v1/messages` }, { token: 't' }, /room ID/);
  await refused({ type: 'webex', address: `${lb.url}/v1/messages`, channel: 'r' }, undefined, /access token/);
});

test('lark: an interactive card, red header for errors', async () => {
  const b = body(await one({ type: 'lark', address: `${lb.url}/open-apis/bot/v2/hook/x` }, undefined, error));
  assert.equal(b.msg_type, 'interactive');
  assert.equal(b.card.header.template, 'red');
  assert.equal(b.card.header.title.content, '🚨 kustomization/web.apps');
  assert.equal(b.card.elements[0].text.tag, 'lark_md');
  assert.match(b.card.elements[0].text.content, /^\*\*Deployment\/apps\/web not ready\*\*\n\nrevision: /);
});

test('zulip: a form to /api/v1/messages, stream and topic from the channel, basic auth', async () => {
  const r = await one({ type: 'zulip', address: `${lb.url}/anything`, channel: 'deploys/flux' }, { username: 'bot@zulip.example', password: 'api-key' });
  assert.equal(r.path, '/api/v1/messages');
  assert.equal(r.headers['content-type'], 'application/x-www-form-urlencoded');
  assert.equal(r.headers.authorization, `Basic ${Buffer.from('bot@zulip.example:api-key').toString('base64')}`);
  const form = new URLSearchParams(r.body);
  assert.deepEqual([form.get('type'), form.get('to'), form.get('topic')], ['stream', 'deploys', 'flux']);
  assert.equal(form.get('content'), `## Flux Status\n\nℹ️ Kustomization/apps/web\n\nReconciliation finished in 2s\n\nMetadata:\n* \`revision\`: main@sha1:${SHA}\n* \`summary\`: prod\n`);
  await refused({ type: 'zulip', address: lb.url, channel: 'no-topic' }, { username: 'u', password: 'p' }, /<channel>\/<topic>/);
});

test('datadog: POST /api/v1/events with DD-API-KEY, lower-case tags, alert type', async () => {
  const r = await one({ type: 'datadog', address: `${lb.url}/ignored/path` }, { token: 'dd-key' }, error);
  assert.equal(r.path, '/api/v1/events');
  assert.equal(r.headers['dd-api-key'], 'dd-key');
  assert.equal(body(r).title, 'Events from the Kustomization web/apps');
  assert.equal(body(r).alert_type, 'error');
  assert.equal(body(r).source_type_name, 'fluxcd');
  assert.equal(body(r).date_happened, Date.parse(info.timestamp) / 1000);
  assert.ok(body(r).tags.includes('kube_kind:kustomization'));
  assert.ok(body(r).tags.includes('flux_reason:healthcheckfailed'));
  await refused({ type: 'datadog', address: lb.url }, undefined, /API key/);
});

test('sentry: an envelope to /api/<project>/envelope/ with the DSN key; errors as events, info as transactions', async () => {
  const dsn = `${lb.url.replace('://', '://pubkey123@')}/42`;
  const r = await one({ type: 'sentry', address: dsn, channel: 'production' }, undefined, error);
  assert.equal(r.path, '/api/42/envelope/');
  assert.equal(r.headers['content-type'], 'application/x-sentry-envelope');
  assert.match(String(r.headers['x-sentry-auth']), /^Sentry sentry_version=7, .*sentry_key=pubkey123/);
  const [head, itemHead, payload] = r.body.trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.equal(itemHead.type, 'event');
  assert.equal(itemHead.length, Buffer.byteLength(JSON.stringify(payload)));
  assert.equal(head.event_id, payload.event_id);
  assert.deepEqual([payload.level, payload.server_name, payload.transaction, payload.environment, payload.message], ['error', 'kustomize-controller', 'Kustomization: apps/web', 'production', error.message]);
  assert.equal(payload.extra.summary, 'prod');
  const t = await one({ type: 'sentry', address: dsn });
  const [, tHead, tx] = t.body.trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.equal(tHead.type, 'transaction');
  assert.equal(tx.spans.length, 1);
  assert.equal(tx.tags.flux_reason, 'ReconciliationSucceeded');
  assert.match(tx.contexts.trace.trace_id, /^[0-9a-f]{32}$/);
  await refused({ type: 'sentry', address: 'https://sentry.io/42' }, undefined, /DSN/);
});

test('githubdispatch: POST /repos/{owner}/{repo}/dispatches, event_type and the event as client_payload', async () => {
  const r = await one({ type: 'githubdispatch', address: `${lb.url}/acme/fleet` }, { token: 'ghp_d' });
  assert.equal(r.path, '/api/v3/repos/acme/fleet/dispatches');
  assert.equal(r.headers.authorization, 'Bearer ghp_d');
  assert.equal(body(r).event_type, 'Kustomization/web.apps');
  assert.deepEqual(body(r).client_payload, info);
});

test('otel: one OTLP/HTTP JSON span, trace and span IDs from the UIDs and the revision, as Flux makes them', async () => {
  const r = await one({ type: 'otel', address: `${lb.url}/v1/traces` }, { token: 'otel-tok' }, error);
  assert.equal(r.path, '/v1/traces');
  assert.equal(r.headers.authorization, 'Bearer otel-tok');
  const rs = body(r).resourceSpans[0];
  assert.deepEqual(rs.resource.attributes[0], { key: 'service.name', value: { stringValue: 'apps/ops' } });
  const span = rs.scopeSpans[0].spans[0];
  const sha = (s: string) => createHash('sha256').update(s).digest('hex');
  assert.equal(span.traceId, sha(`alert-uid-9:main@sha1:${SHA}`).slice(0, 32));
  assert.equal(span.spanId, sha(`obj-uid-1:main@sha1:${SHA}`).slice(0, 16));
  assert.equal(span.name, 'Kustomization: apps/web');
  assert.deepEqual(span.status, { code: 2, message: error.message });
  assert.equal(span.startTimeUnixNano, `${Date.parse(info.timestamp)}000000`);
  assert.ok(span.attributes.some((a: { key: string }) => a.key === 'object.kind'));
});

test('otel: the span sits in its root Kustomization\'s trace, under the Kustomization or source above it, as Flux walks the hierarchy', async () => {
  const sha = (s: string) => createHash('sha256').update(s).digest('hex');
  const ROOT_REV = `main@sha1:${SHA}`;
  const objects: Record<string, KubeObject> = {
    'Kustomization/flux-system/flux-system': { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'flux-system', namespace: 'flux-system', uid: 'ks-root' }, status: { lastAppliedRevision: ROOT_REV } },
    'Kustomization/flux-system/apps': { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'apps', namespace: 'flux-system', uid: 'ks-apps', labels: { 'kustomize.toolkit.fluxcd.io/name': 'flux-system', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' } }, status: { lastAppliedRevision: ROOT_REV } },
    'GitRepository/flux-system/podinfo': { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name: 'podinfo', namespace: 'flux-system', uid: 'git-podinfo', labels: { 'kustomize.toolkit.fluxcd.io/name': 'apps', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' } } },
  };
  const lookup = (kind: string, ns: string, name: string) => objects[`${kind}/${ns}/${name}`];
  const spanOf = async (e: FluxEvent) => body(await one({ type: 'otel', address: `${lb.url}/v1/traces` }, undefined, e, (s) => (s.lookup = lookup))).resourceSpans[0].scopeSpans[0].spans[0];
  // A source applied by apps: the trace of the root's revision, its parent span apps' (at apps' revision).
  const gitRev = 'v6.0.0@sha1:89abcdef0123456789abcdef0123456789abcdef';
  const git = await spanOf({ ...info, involvedObject: { kind: 'GitRepository', namespace: 'flux-system', name: 'podinfo', uid: 'git-podinfo' }, metadata: { revision: gitRev } });
  assert.equal(git.traceId, sha(`alert-uid-9:${ROOT_REV}`).slice(0, 32));
  assert.equal(git.spanId, sha(`git-podinfo:${gitRev}`).slice(0, 16));
  assert.equal(git.parentSpanId, sha(`ks-apps:${ROOT_REV}`).slice(0, 16));
  // A Kustomization at the root's revision: its parent is the root.
  const apps = await spanOf({ ...info, involvedObject: { kind: 'Kustomization', namespace: 'flux-system', name: 'apps', uid: 'ks-apps' }, metadata: { revision: ROOT_REV } });
  assert.equal(apps.traceId, git.traceId, 'one trace per root revision');
  assert.equal(apps.parentSpanId, sha(`ks-root:${ROOT_REV}`).slice(0, 16));
  // The root itself has no parent.
  const root = await spanOf({ ...info, involvedObject: { kind: 'Kustomization', namespace: 'flux-system', name: 'flux-system', uid: 'ks-root' }, metadata: { revision: ROOT_REV } });
  assert.equal(root.parentSpanId, undefined);
  assert.equal(root.spanId, apps.parentSpanId);
});

test('githubpullrequestcomment: creates the comment with its marker, then edits its own one', async () => {
  const event: FluxEvent = { ...info, metadata: { ...info.metadata, change_request: '7' } };
  const marker = `<!-- flux-pr-comment-key:${UID}/Kustomization/apps/web -->`;
  let existing: unknown[] = [];
  lb.respond = (r) => {
    if (r.method === 'GET' && r.path === '/api/v3/user') return { status: 200, body: JSON.stringify({ login: 'flux-bot' }) };
    if (r.method === 'GET' && r.path.startsWith('/api/v3/repos/acme/app/issues/7/comments')) return { status: 200, body: JSON.stringify(existing) };
    return { status: 201, body: '{}' };
  };
  try {
    const spec = { type: 'githubpullrequestcomment' as const, address: `${lb.url}/acme/app` };
    const first = await deliver(spec, { token: 'ghp_c' }, event);
    assert.deepEqual(first.map((r) => `${r.method} ${r.path}`), ['GET /api/v3/user', 'GET /api/v3/repos/acme/app/issues/7/comments?sort=created&direction=asc&per_page=100', 'POST /api/v3/repos/acme/app/issues/7/comments']);
    assert.equal(first[2]!.headers.authorization, 'Bearer ghp_c');
    const text = body(first[2]!).body as string;
    assert.ok(text.startsWith(`${marker}\n\n## Flux Status\n\nℹ️ Kustomization/apps/web`));
    assert.ok(!text.includes('change_request'), 'the change_request key is not listed');
    // Someone else's comment with the marker is left alone; the bot's own is edited.
    existing = [{ id: 11, user: { login: 'someone' }, body: marker }, { id: 12, user: { login: 'flux-bot' }, body: `${marker}\nold` }];
    const second = await deliver(spec, { token: 'ghp_c' }, event);
    assert.equal(`${second[2]!.method} ${second[2]!.path}`, 'PATCH /api/v3/repos/acme/app/issues/comments/12');
    await assert.rejects(deliver(spec, { token: 'ghp_c' }, info), /missing "change_request"/);
  } finally {
    lb.respond = undefined;
  }
});

test('gitlabmergerequestcomment and giteapullrequestcomment: the notes and comments APIs', async () => {
  const event: FluxEvent = { ...info, metadata: { ...info.metadata, change_request: '3' } };
  lb.respond = (r) => {
    if (r.path === '/api/v4/user') return { status: 200, body: JSON.stringify({ username: 'flux' }) };
    if (r.method === 'GET' && r.path.includes('/merge_requests/3/notes')) return { status: 200, body: JSON.stringify([{ id: 5, author: { username: 'flux' }, body: `<!-- flux-mr-comment-key:${UID}/Kustomization/apps/web -->` }]) };
    if (r.path === '/api/v1/user') return { status: 200, body: JSON.stringify({ login: 'flux' }) };
    if (r.method === 'GET' && r.path.includes('/issues/3/comments')) return { status: 200, body: '[]' };
    return { status: 201, body: '{}' };
  };
  try {
    const gl = await deliver({ type: 'gitlabmergerequestcomment', address: `${lb.url}/group/sub/app` }, { token: 'glpat' }, event);
    assert.deepEqual(gl.map((r) => `${r.method} ${r.path}`), [
      'GET /api/v4/user',
      'GET /api/v4/projects/group%2Fsub%2Fapp/merge_requests/3/notes?sort=asc&order_by=created_at&per_page=100',
      'PUT /api/v4/projects/group%2Fsub%2Fapp/merge_requests/3/notes/5',
    ]);
    assert.equal(gl[2]!.headers['private-token'], 'glpat');
    const gt = await deliver({ type: 'giteapullrequestcomment', address: `${lb.url}/acme/app` }, { token: 'gt' }, event);
    assert.deepEqual(gt.map((r) => `${r.method} ${r.path}`), ['GET /api/v1/user', 'GET /api/v1/repos/acme/app/issues/3/comments?page=1&limit=100', 'POST /api/v1/repos/acme/app/issues/3/comments']);
    assert.equal(gt[2]!.headers.authorization, 'token gt');
  } finally {
    lb.respond = undefined;
  }
});

test('azureeventhub: the event to <hub>/messages with a SAS token signed from the connection string', async () => {
  const tls = await generateTls();
  const secure = await startLoopback({ key: tls.serverKey, cert: tls.serverCert });
  try {
    const host = new URL(secure.url).host;
    const conn = `Endpoint=sb://${host}/;SharedAccessKeyName=send;SharedAccessKey=c2VjcmV0;EntityPath=flux-events`;
    const p = provider({ type: 'azureeventhub', secretRef: { name: 's' }, certSecretRef: { name: 'ca' } });
    const resolved = await resolveProvider(p, async (_ns, name): Promise<Record<string, Buffer>> => (name === 'ca' ? { 'ca.crt': Buffer.from(tls.caCert) } : { address: Buffer.from(conn) }));
    for (const req of notifiers.azureeventhub!.build!(info, resolved.settings)) await send(req, resolved.transport);
    const r = secure.requests[0]!;
    assert.equal(r.path, '/flux-events/messages?timeout=60&api-version=2014-01');
    assert.deepEqual(JSON.parse(r.body), info);
    const sas = new URLSearchParams(String(r.headers.authorization).replace(/^SharedAccessSignature /, ''));
    assert.equal(sas.get('sr'), `https://${host}/flux-events`);
    assert.equal(sas.get('skn'), 'send');
    const expected = createHmac('sha256', 'c2VjcmV0').update(`${encodeURIComponent(sas.get('sr')!)}\n${sas.get('se')}`).digest('base64');
    assert.equal(sas.get('sig'), expected, 'the signature verifies with the shared key');
    assert.ok(Number(sas.get('se')) > Date.now() / 1000);
  } finally {
    await secure.close();
    await tls.dispose();
  }
  await refused({ type: 'azureeventhub', address: 'Endpoint=sb://x/;SharedAccessKeyName=a;SharedAccessKey=b' }, undefined, /EntityPath/);
  await refused({ type: 'azureeventhub', address: 'hub' }, undefined, /JWT|workload identity/);
});

test('googlepubsub: a service account key exchanged for a token, then topics.publish with the event and attributes', async () => {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const pem = await exportPKCS8(privateKey);
  const key = JSON.stringify({ type: 'service_account', client_email: 'flux@proj.iam.gserviceaccount.com', private_key: pem, private_key_id: 'kid1', token_uri: `${lb.url}/token` });
  let assertion: Record<string, unknown> | undefined;
  lb.respond = (r) => {
    if (r.path === '/token') {
      const form = new URLSearchParams(r.body);
      assert.equal(form.get('grant_type'), 'urn:ietf:params:oauth:grant-type:jwt-bearer');
      return { status: 200, body: JSON.stringify({ access_token: 'ya29.test', expires_in: 3600, token_type: 'Bearer', _a: form.get('assertion') }) };
    }
    return undefined;
  };
  const saved = process.env.PUBSUB_EMULATOR_HOST;
  process.env.PUBSUB_EMULATOR_HOST = new URL(lb.url).host;
  try {
    const rs = await deliver({ type: 'googlepubsub', address: 'my-proj', channel: 'flux' }, { token: key, headers: 'Team: platform' });
    assert.deepEqual(rs.map((r) => `${r.method} ${r.path}`), ['POST /token', 'POST /v1/projects/my-proj/topics/flux:publish']);
    const jwt = new URLSearchParams(rs[0]!.body).get('assertion')!;
    assertion = (await jwtVerify(jwt, publicKey, { issuer: 'flux@proj.iam.gserviceaccount.com', audience: `${lb.url}/token` })).payload as Record<string, unknown>;
    assert.equal(assertion.scope, 'https://www.googleapis.com/auth/pubsub');
    const pub = rs[1]!;
    assert.equal(pub.headers.authorization, 'Bearer ya29.test');
    const msg = body(pub).messages[0];
    assert.deepEqual(JSON.parse(Buffer.from(msg.data, 'base64').toString('utf8')), info);
    assert.deepEqual(msg.attributes, { Team: 'platform' }, 'attribute names keep their case');
    // The token is kept until it nears expiry: the next event only publishes.
    const again = await deliver({ type: 'googlepubsub', address: 'my-proj', channel: 'flux' }, { token: key });
    assert.deepEqual(again.map((r) => r.path), ['/v1/projects/my-proj/topics/flux:publish']);
  } finally {
    lb.respond = undefined;
    if (saved === undefined) delete process.env.PUBSUB_EMULATOR_HOST;
    else process.env.PUBSUB_EMULATOR_HOST = saved;
  }
  await refused({ type: 'googlepubsub', address: 'my-proj', channel: 'flux' }, undefined, /workload identity/);
  await refused({ type: 'googlepubsub', address: 'my-proj', channel: 'flux' }, { token: '{"nope":1}' }, /client_email/);
});

let nats: NatsStandIn;
test('nats: CONNECT with the Secret\'s user and password, PUB of the event JSON on the subject; a refused login fails the delivery', async () => {
  nats = await startNatsStandIn({ user: 'flux', pass: 's3cret' });
  try {
    const address = `nats://127.0.0.1:${nats.port}`;
    await deliver({ type: 'nats', address, channel: 'flux.events' }, { username: 'flux', password: 's3cret' });
    assert.equal(nats.published.length, 1);
    assert.equal(nats.published[0]!.subject, 'flux.events');
    assert.deepEqual(JSON.parse(nats.published[0]!.payload), info);
    assert.equal(nats.connects[0]!.user, 'flux');
    assert.equal(nats.connects[0]!.name, 'NATS Provider Publisher');
    await assert.rejects(deliver({ type: 'nats', address, channel: 'flux.events' }, { username: 'flux', password: 'wrong' }), /Authorization|auth/i);
    assert.equal(nats.published.length, 1);
    await refused({ type: 'nats', address: 'http://x', channel: 's' }, undefined, /nats:\/\//);
    await refused({ type: 'nats', address }, undefined, /subject/);
  } finally {
    await nats.close();
  }
});
