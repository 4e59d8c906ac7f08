import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Provider } from '../../src/api/provider.ts';
import { notifiers } from '../../src/notify/providers/index.ts';
import { DeliveryError, send } from '../../src/notify/send.ts';
import { commitStatusKey, resolveProvider } from '../../src/notify/settings.ts';
import type { FluxEvent } from '../../src/runtime/eventsink.ts';
import { generateTls, type TlsMaterial } from '../gitserver/tls.ts';
import { startLoopback, type Loopback, type Recorded } from './loopback.ts';
// test: no cluster

// Every provider type against a loopback server that checks the request as
// the service's API documents it: method, path, authentication and body.

const SHA = '0123456789abcdef0123456789abcdef01234567';
const UID = '4f6d3b2a-1111-2222-3333-444455556666';

const info: FluxEvent = {
  involvedObject: { kind: 'Kustomization', namespace: 'apps', name: 'web', apiVersion: 'kustomize.toolkit.fluxcd.io/v1' },
  severity: 'info',
  timestamp: '2026-12-07T22:00:00Z',
  message: 'Reconciliation finished in 2s, next run in 10m',
  reason: 'ReconciliationSucceeded',
  metadata: { revision: `main@sha1:${SHA}`, summary: 'prod' },
  reportingController: 'kustomize-controller',
  reportingInstance: 'sluice',
};
const error: FluxEvent = { ...info, severity: 'error', reason: 'HealthCheckFailed', message: 'Deployment/apps/web not ready' };
const progressing: FluxEvent = { ...info, reason: 'Progressing', message: 'ConfigMap/apps/web configured' };

let lb: Loopback;
before(async () => {
  lb = await startLoopback();
});
after(async () => {
  await lb.close();
});

async function deliver(spec: Provider['spec'], secret?: Record<string, string>, event: FluxEvent = info): Promise<Recorded> {
  const p: Provider = { apiVersion: 'notification.toolkit.fluxcd.io/v1beta3', kind: 'Provider', metadata: { name: 'p', namespace: 'apps', uid: UID }, spec: secret ? { secretRef: { name: 's' }, ...spec } : spec };
  const data = secret && Object.fromEntries(Object.entries(secret).map(([k, v]) => [k, Buffer.from(v)]));
  const resolved = await resolveProvider(p, async () => data);
  resolved.settings.commitStatusKey = commitStatusKey(event.involvedObject.kind, event.involvedObject.name, UID);
  lb.requests.length = 0;
  for (const req of notifiers[spec.type]!.build!(event, resolved.settings)) await send(req, resolved.transport);
  assert.equal(lb.requests.length, 1);
  return lb.requests[0]!;
}
const body = (r: Recorded) => r.json as Record<string, any>;

test('generic: the event JSON, gotk-component, headers from the Secret', async () => {
  const r = await deliver({ type: 'generic', address: `${lb.url}/flux` }, { headers: 'X-Team: platform\nAuthorization: Bearer abc' });
  assert.equal(r.method, 'POST');
  assert.equal(r.path, '/flux');
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(r.headers['gotk-component'], 'kustomize-controller');
  assert.equal(r.headers['x-team'], 'platform');
  assert.equal(r.headers.authorization, 'Bearer abc');
  assert.deepEqual(body(r), info);
});

test('generic-hmac: X-Signature is the HMAC-SHA256 of the body with the token', async () => {
  const r = await deliver({ type: 'generic-hmac', address: `${lb.url}/hmac` }, { token: 'k3y' });
  assert.equal(r.headers['x-signature'], `sha256=${createHmac('sha256', 'k3y').update(r.body).digest('hex')}`);
});

test('slack: incoming webhook; bot token to chat.postMessage with channel', async () => {
  const r = await deliver({ type: 'slack', address: `${lb.url}/services/T0/B0/x`, channel: '#ops', username: 'flux' }, undefined, error);
  const b = body(r);
  assert.equal(b.channel, '#ops');
  assert.equal(b.username, 'flux');
  assert.equal(b.attachments[0].color, 'danger');
  assert.equal(b.attachments[0].author_name, 'Kustomization/web.apps');
  assert.equal(b.attachments[0].text, error.message);
  assert.deepEqual(b.attachments[0].fields.map((f: { title: string }) => f.title), ['revision', 'summary']);
  assert.equal(r.headers.authorization, undefined);
  const bot = await deliver({ type: 'slack', address: `${lb.url}/api/chat.postMessage`, channel: 'C123' }, { token: 'xoxb-1' });
  assert.equal(bot.path, '/api/chat.postMessage');
  assert.equal(bot.headers.authorization, 'Bearer xoxb-1');
  assert.equal(body(bot).channel, 'C123');
  await assert.rejects(
    resolveProvider({ apiVersion: '', kind: 'Provider', metadata: { name: 'p', namespace: 'a' }, spec: { type: 'slack', address: `${lb.url}/api/chat.postMessage`, secretRef: { name: 's' } } }, async () => ({ token: Buffer.from('x') })),
    /a Slack bot token needs spec.channel/,
  );
});

test('discord: the Slack-format message at <webhook>/slack', async () => {
  const r = await deliver({ type: 'discord', address: `${lb.url}/api/webhooks/1/tok` });
  assert.equal(r.path, '/api/webhooks/1/tok/slack');
  assert.equal(body(r).attachments[0].text, info.message);
});

test('msteams: an Adaptive Card message', async () => {
  const b = body(await deliver({ type: 'msteams', address: `${lb.url}/workflows/1` }));
  assert.equal(b.type, 'message');
  assert.equal(b.attachments[0].contentType, 'application/vnd.microsoft.card.adaptive');
  assert.equal(b.attachments[0].content.type, 'AdaptiveCard');
  assert.ok(JSON.stringify(b).includes(info.message));
});

test('googlechat: a card with header and text paragraphs', async () => {
  const b = body(await deliver({ type: 'googlechat', address: `${lb.url}/v1/spaces/AAA/messages?key=k&token=t` }));
  assert.equal(b.cards[0].header.title, 'Kustomization/web.apps');
  assert.equal(b.cards[0].sections[0].widgets[0].textParagraph.text, info.message);
});

test('telegram: POST /bot<token>/sendMessage with chat_id and MarkdownV2', async () => {
  const r = await deliver({ type: 'telegram', address: lb.url, channel: '-100123' }, { token: '123:ABC' });
  assert.equal(r.path, '/bot123:ABC/sendMessage');
  assert.equal(body(r).chat_id, '-100123');
  assert.equal(body(r).parse_mode, 'MarkdownV2');
  assert.match(body(r).text, /Reconciliation finished in 2s, next run in 10m/);
});

test('matrix: PUT m.room.message with a transaction id and a Bearer token', async () => {
  const r = await deliver({ type: 'matrix', address: lb.url, channel: '!room:example.org' }, { token: 'syt_x' });
  assert.equal(r.method, 'PUT');
  assert.match(r.path, /^\/_matrix\/client\/v3\/rooms\/!room%3Aexample\.org\/send\/m\.room\.message\/[0-9a-f]{32}$/);
  assert.equal(r.headers.authorization, 'Bearer syt_x');
  assert.equal(body(r).msgtype, 'm.text');
});

test('alertmanager: an array of alerts with labels and annotations', async () => {
  const r = await deliver({ type: 'alertmanager', address: `${lb.url}/api/v2/alerts` }, undefined, error);
  const [a] = r.json as Array<Record<string, any>>;
  assert.equal(a!.status, 'firing');
  assert.equal(a!.labels.alertname, 'FluxKustomizationHealthCheckFailed');
  assert.equal(a!.labels.severity, 'error');
  assert.equal(a!.labels.revision, `main@sha1:${SHA}`);
  assert.equal(a!.annotations.message, error.message);
  assert.equal(a!.annotations.summary, 'prod');
  assert.equal(a!.startsAt, error.timestamp);
});

test('grafana: an annotation with time, text and tags; token as Bearer', async () => {
  const r = await deliver({ type: 'grafana', address: `${lb.url}/api/annotations` }, { token: 'glsa_1' });
  assert.equal(r.headers.authorization, 'Bearer glsa_1');
  assert.equal(body(r).time, Date.parse(info.timestamp));
  assert.ok(body(r).tags.includes('flux'));
  const basic = await deliver({ type: 'grafana', address: `${lb.url}/api/annotations` }, { username: 'admin', password: 'pw' });
  assert.equal(basic.headers.authorization, `Basic ${Buffer.from('admin:pw').toString('base64')}`);
});

test('opsgenie: GenieKey authorization, message and details', async () => {
  const r = await deliver({ type: 'opsgenie', address: `${lb.url}/v2/alerts` }, { token: 'og-key' });
  assert.equal(r.headers.authorization, 'GenieKey og-key');
  assert.ok(body(r).message.length <= 130);
  assert.equal(body(r).details.revision, `main@sha1:${SHA}`);
});

test('pagerduty: errors trigger, other events resolve, keyed by the object', async () => {
  const t = await deliver({ type: 'pagerduty', address: lb.url, channel: 'R0UTINGKEY' }, undefined, error);
  assert.equal(t.path, '/v2/enqueue');
  assert.equal(body(t).routing_key, 'R0UTINGKEY');
  assert.equal(body(t).event_action, 'trigger');
  assert.equal(body(t).dedup_key, 'Kustomization/apps/web');
  assert.equal(body(t).payload.severity, 'error');
  assert.equal(body(t).payload.source, 'kustomize-controller');
  const r = await deliver({ type: 'pagerduty', address: lb.url, channel: 'R0UTINGKEY' });
  assert.equal(body(r).event_action, 'resolve');
  assert.equal(body(r).dedup_key, 'Kustomization/apps/web');
});

const KEY = `kustomization/web/${UID.split('-')[0]}`;

test('github: POST /repos/{owner}/{repo}/statuses/{sha} on GitHub Enterprise (/api/v3), pending then success or failure', async () => {
  const spec = { type: 'github' as const, address: `${lb.url}/acme/app.git` };
  const p = await deliver(spec, { token: 'ghp_x' }, progressing);
  assert.equal(p.path, `/api/v3/repos/acme/app/statuses/${SHA}`);
  assert.equal(p.headers.authorization, 'Bearer ghp_x');
  assert.deepEqual(body(p), { state: 'pending', context: KEY, description: 'progressing' });
  assert.equal(body(await deliver(spec, { token: 'ghp_x' })).state, 'success');
  assert.deepEqual(body(await deliver(spec, { token: 'ghp_x' }, error)), { state: 'failure', context: KEY, description: 'health check failed' });
});

test('gitlab: POST /api/v4/projects/{url-encoded path}/statuses/{sha} with PRIVATE-TOKEN', async () => {
  const spec = { type: 'gitlab' as const, address: `${lb.url}/group/sub/app` };
  const r = await deliver(spec, { token: 'glpat' }, progressing);
  assert.equal(r.path, `/api/v4/projects/group%2Fsub%2Fapp/statuses/${SHA}`);
  assert.equal(r.headers['private-token'], 'glpat');
  assert.deepEqual(body(r), { state: 'running', name: KEY, description: 'progressing' });
  assert.equal(body(await deliver(spec, { token: 'glpat' })).state, 'success');
  assert.equal(body(await deliver(spec, { token: 'glpat' }, error)).state, 'failed');
});

test('gitea: POST /api/v1/repos/{owner}/{repo}/statuses/{sha}, Authorization: token', async () => {
  const spec = { type: 'gitea' as const, address: `${lb.url}/acme/app` };
  const r = await deliver(spec, { token: 'gt' });
  assert.equal(r.path, `/api/v1/repos/acme/app/statuses/${SHA}`);
  assert.equal(r.headers.authorization, 'token gt');
  assert.deepEqual(body(r), { state: 'success', context: KEY, description: 'reconciliation succeeded' });
  assert.equal(body(await deliver(spec, { token: 'gt' }, progressing)).state, 'pending');
});

test('bitbucket: POST /2.0/repositories/{ws}/{repo}/commit/{sha}/statuses/build, basic auth, sha1 key', async () => {
  const spec = { type: 'bitbucket' as const, address: `${lb.url}/acme/app` };
  const r = await deliver(spec, { token: 'user:apppw' }, error);
  assert.equal(r.path, `/2.0/repositories/acme/app/commit/${SHA}/statuses/build`);
  assert.equal(r.headers.authorization, `Basic ${Buffer.from('user:apppw').toString('base64')}`);
  assert.equal(body(r).state, 'FAILED');
  assert.equal(body(r).key, createHash('sha1').update(KEY).digest('hex'));
  assert.equal(body(await deliver(spec, { token: 'user:apppw' }, progressing)).state, 'INPROGRESS');
});

test('bitbucketserver: POST /rest/api/latest/projects/{key}/repos/{slug}/commits/{sha}/builds', async () => {
  const r = await deliver({ type: 'bitbucketserver', address: `${lb.url}/scm/PROJ/app.git` }, { token: 'bbs' });
  assert.equal(r.path, `/rest/api/latest/projects/PROJ/repos/app/commits/${SHA}/builds`);
  assert.equal(r.headers.authorization, 'Bearer bbs');
  assert.deepEqual([body(r).state, body(r).key], ['SUCCESSFUL', KEY]);
  const basic = await deliver({ type: 'bitbucketserver', address: `${lb.url}/projects/PROJ/repos/app/browse` }, { username: 'u', password: 'p' });
  assert.equal(basic.path, `/rest/api/latest/projects/PROJ/repos/app/commits/${SHA}/builds`);
});

test('azuredevops: POST {org}/{project}/_apis/git/repositories/{repo}/commits/{sha}/statuses with a PAT', async () => {
  const r = await deliver({ type: 'azuredevops', address: `${lb.url}/org/proj/_git/app` }, { token: 'pat' }, error);
  assert.equal(r.path, `/org/proj/_apis/git/repositories/app/commits/${SHA}/statuses?api-version=6.0`);
  assert.equal(r.headers.authorization, `Basic ${Buffer.from(':pat').toString('base64')}`);
  assert.deepEqual(body(r), { state: 'failed', description: 'health check failed', context: { genre: 'fluxcd', name: KEY } });
});

test('commit status types refuse an event without a commit', async () => {
  const p: Provider = { apiVersion: '', kind: 'Provider', metadata: { name: 'p', namespace: 'apps', uid: UID }, spec: { type: 'github', address: `${lb.url}/a/b`, secretRef: { name: 's' } } };
  const s = await resolveProvider(p, async () => ({ token: Buffer.from('t') }));
  assert.throws(() => notifiers.github!.build!({ ...info, metadata: { revision: 'latest@sha256:abc' } }, s.settings), /no commit hash/);
  assert.throws(() => notifiers.github!.build!({ ...info, metadata: {} }, s.settings), /no revision/);
});

let tls: TlsMaterial;
test('https with the CA from certSecretRef; another CA is refused without retry', async () => {
  tls = await generateTls();
  const secure = await startLoopback({ key: tls.serverKey, cert: tls.serverCert });
  try {
    const spec = { type: 'generic' as const, address: `${secure.url}/x`, certSecretRef: { name: 'ca' } };
    const p: Provider = { apiVersion: '', kind: 'Provider', metadata: { name: 'p', namespace: 'apps', uid: UID }, spec };
    const ok = await resolveProvider(p, async () => ({ 'ca.crt': Buffer.from(tls.caCert) }));
    await send(notifiers.generic!.build!(info, ok.settings)[0]!, ok.transport);
    assert.equal(secure.requests.length, 1);
    const other = await generateTls();
    const bad = await resolveProvider(p, async () => ({ 'ca.crt': Buffer.from(other.caCert) }));
    await assert.rejects(send(notifiers.generic!.build!(info, bad.settings)[0]!, bad.transport), (e: DeliveryError) => e instanceof DeliveryError && !e.retryable && !e.message.includes('/x'));
    await other.dispose();
  } finally {
    await secure.close();
    await tls.dispose();
  }
});

test('through an HTTP proxy (proxySecretRef), CONNECT for https', async () => {
  const seen: string[] = [];
  const proxy = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers['proxy-authorization'] ?? ''}`);
    const u = new URL(req.url!);
    const up = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  proxy.on('connect', (req, socket) => {
    seen.push(`CONNECT ${req.url}`);
    const [h, port] = req.url!.split(':');
    const up = net.connect(Number(port), h, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.pipe(socket);
      socket.pipe(up);
    });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  try {
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const p: Provider = { apiVersion: '', kind: 'Provider', metadata: { name: 'p', namespace: 'apps', uid: UID }, spec: { type: 'generic', address: `${lb.url}/via-proxy`, proxySecretRef: { name: 'proxy' } } };
    const s = await resolveProvider(p, async () => ({ address: Buffer.from(proxyUrl), username: Buffer.from('u'), password: Buffer.from('p') }));
    lb.requests.length = 0;
    await send(notifiers.generic!.build!(info, s.settings)[0]!, s.transport);
    assert.equal(lb.requests[0]!.path, '/via-proxy');
    assert.equal(seen[0], `POST ${lb.url}/via-proxy Basic ${Buffer.from('u:p').toString('base64')}`);
    // https: a CONNECT tunnel, TLS inside it with the Provider's CA.
    const material = await generateTls();
    const secure = await startLoopback({ key: material.serverKey, cert: material.serverCert });
    try {
      const ps: Provider = { ...p, spec: { type: 'generic', address: `${secure.url}/tunnelled`, proxySecretRef: { name: 'proxy' }, certSecretRef: { name: 'ca' } } };
      const t = await resolveProvider(ps, async (_ns, name): Promise<Record<string, Buffer>> => (name === 'ca' ? { 'ca.crt': Buffer.from(material.caCert) } : { address: Buffer.from(proxyUrl) }));
      await send(notifiers.generic!.build!(info, t.settings)[0]!, t.transport);
      assert.equal(secure.requests[0]!.path, '/tunnelled');
      assert.equal(seen.at(-1), `CONNECT 127.0.0.1:${new URL(secure.url).port}`);
    } finally {
      await secure.close();
      await material.dispose();
    }
  } finally {
    proxy.close();
    proxy.closeAllConnections();
  }
});
