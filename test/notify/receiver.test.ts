import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { GitOps, configMap } from '../gitops.ts';
import { eventually } from '../harness.ts';
import type { KubeObject } from '../../src/kube/object.ts';

// Issue 16, webhooks in: a Receiver's path is Flux's digest, its status says
// so, a signed GitHub push reconciles the objects it names at once, and
// everything else is answered with a bare status and no reconcile.

const NG = 'notification.toolkit.fluxcd.io';
const TOKEN = 'receiver-token-42';
let g: GitOps;
let base: string;

const secret = (name: string, data: Record<string, string>) =>
  g.client.request({ method: 'POST', path: `/api/v1/namespaces/${g.ns.name}/secrets`, body: { apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: data } });
const receiver = (name: string, spec: Record<string, unknown>) => g.create(`${NG}/v1`, 'Receiver', 'receivers', name, spec);
const getReceiver = (name: string) => g.get<KubeObject & { status?: { webhookPath?: string; conditions?: Array<{ type: string; status: string; reason: string; message: string }> } }>(`/apis/${NG}/v1/namespaces/${g.ns.name}/receivers/${name}`);
const untilPath = (name: string) =>
  eventually(`Receiver ${name} ready with a path`, async () => {
    const r = await getReceiver(name);
    return r?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? r.status.webhookPath : undefined;
  }, 20_000);
const sign = (body: string, key = TOKEN) => `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
const post = (path: string, body: string, headers: Record<string, string> = {}, method = 'POST') =>
  fetch(`${base}${path}`, { method, body: method === 'GET' ? undefined : body, headers: { 'content-type': 'application/json', ...headers } });
const requestedAt = async (plural: string, group: string, name: string) =>
  (await g.get<KubeObject>(`/apis/${group}/namespaces/${g.ns.name}/${plural}/${name}`))?.metadata.annotations?.['reconcile.fluxcd.io/requestedAt'];

before(async () => {
  g = await GitOps.start('notify-receiver');
  base = g.operator.notifications.receiver!.url;
  await g.push({ 'README.md': 'receiver' }, 'init');
  await g.createGitRepository('app', { interval: '1h' });
  await secret('hook', { token: TOKEN });
});
after(async () => {
  await g?.close();
});

test('the webhook path is sha256(token + name + namespace), in status.webhookPath', async () => {
  await receiver('gh', { type: 'github', events: ['push'], secretRef: { name: 'hook' }, resources: [{ kind: 'GitRepository', name: 'app' }] });
  const path = await untilPath('gh');
  assert.equal(path, `/hook/${createHash('sha256').update(`${TOKEN}gh${g.ns.name}`).digest('hex')}`);
  const r = await getReceiver('gh');
  assert.equal(r!.status!.conditions![0]!.reason, 'Succeeded');
  assert.equal(r!.status!.conditions![0]!.message, `Receiver initialized for path: ${path}`);
});

test('a signed GitHub push reconciles the GitRepository and its Kustomization applies the commit', async () => {
  const first = await g.pushAndFetch({ 'app/cm.yaml': configMap('hooked', { v: '1' }) }, 'v1');
  await g.createKustomization('app', { path: './app', targetNamespace: g.ns.name });
  await g.untilReady('app', first);
  const path = await untilPath('gh');
  // A new commit that the GitRepository (interval 1h) would not see for an hour.
  const rev = await g.push({ 'app/cm.yaml': configMap('hooked', { v: '2' }) }, 'v2');
  const body = JSON.stringify({ ref: 'refs/heads/main', after: rev.split(':')[1] });
  const started = Date.now();
  const res = await post(path!, body, { 'x-github-event': 'push', 'x-hub-signature-256': sign(body) });
  assert.equal(res.status, 200);
  await g.untilReady('app', rev, 20_000);
  const cm = await g.get<{ data: Record<string, string> }>(g.path('configmaps', 'hooked'));
  assert.equal(cm!.data.v, '2');
  assert.ok(Date.now() - started < 15_000);
});

test('ping is answered, wrong signatures are 401, filtered events 400, unknown paths 404, GET 405, oversize 413; bodies say nothing', async () => {
  const path = (await untilPath('gh'))!;
  const before = await requestedAt('gitrepositories', 'source.toolkit.fluxcd.io/v1', 'app');
  const ping = JSON.stringify({ zen: 'Keep it logically awesome.' });
  assert.equal((await post(path, ping, { 'x-github-event': 'ping', 'x-hub-signature-256': sign(ping) })).status, 200);

  const body = JSON.stringify({ ref: 'refs/heads/main' });
  const bad = await post(path, body, { 'x-github-event': 'push', 'x-hub-signature-256': sign(body, 'wrong') });
  assert.equal(bad.status, 401);
  assert.equal(await bad.text(), 'unauthorized\n');
  assert.equal((await post(path, body, { 'x-github-event': 'push' })).status, 401);
  assert.equal((await post(path, body, { 'x-github-event': 'issues', 'x-hub-signature-256': sign(body) })).status, 400);
  const unknown = await post(`/hook/${'0'.repeat(64)}`, body, { 'x-github-event': 'push', 'x-hub-signature-256': sign(body) });
  assert.equal(unknown.status, 404);
  assert.equal(await unknown.text(), 'not found\n');
  assert.equal((await post(path, '', {}, 'GET')).status, 405);
  const big = 'x'.repeat(3 * 1024 * 1024 + 10);
  assert.equal((await post(path, big, { 'x-github-event': 'push', 'x-hub-signature-256': sign(big) })).status, 413);
  // None of these asked for a reconcile.
  assert.equal(await requestedAt('gitrepositories', 'source.toolkit.fluxcd.io/v1', 'app'), before);
});

test('generic-hmac and gitlab receivers; resources by matchLabels', async () => {
  await g.createKustomization('labelled', { path: './app', targetNamespace: g.ns.name, suspend: true });
  await g.client.request({ method: 'PATCH', path: g.ksPath('labelled'), contentType: 'application/merge-patch+json', body: { metadata: { labels: { team: 'a' } } } });
  await receiver('hmac', { type: 'generic-hmac', secretRef: { name: 'hook' }, resources: [{ kind: 'Kustomization', name: '*', matchLabels: { team: 'a' } }] });
  await receiver('gl', { type: 'gitlab', events: ['Push Hook'], secretRef: { name: 'hook' }, resources: [{ kind: 'Kustomization', name: 'app' }] });
  const hmacPath = (await untilPath('hmac'))!;
  const glPath = (await untilPath('gl'))!;
  const body = '{"hello":"world"}';
  assert.equal((await post(hmacPath, body, { 'x-signature': sign(body, 'nope') })).status, 401);
  assert.equal((await post(hmacPath, body, { 'x-signature': sign(body) })).status, 200);
  assert.ok(await requestedAt('kustomizations', 'kustomize.toolkit.fluxcd.io/v1', 'labelled'));
  assert.equal((await post(glPath, body, { 'x-gitlab-token': 'wrong', 'x-gitlab-event': 'Push Hook' })).status, 401);
  const beforeGl = await requestedAt('kustomizations', 'kustomize.toolkit.fluxcd.io/v1', 'app');
  assert.equal((await post(glPath, body, { 'x-gitlab-token': TOKEN, 'x-gitlab-event': 'Push Hook' })).status, 200);
  assert.notEqual(await requestedAt('kustomizations', 'kustomize.toolkit.fluxcd.io/v1', 'app'), beforeGl);
});

test('a Receiver whose Secret is missing says TokenNotFound and serves no path', async () => {
  await receiver('lost', { type: 'generic', secretRef: { name: 'nowhere' }, resources: [{ kind: 'Kustomization', name: 'app' }] });
  const c = await eventually('TokenNotFound', async () => {
    const r = await getReceiver('lost');
    const ready = r?.status?.conditions?.find((x) => x.type === 'Ready');
    return ready?.reason === 'TokenNotFound' ? { ready, path: r!.status!.webhookPath } : undefined;
  }, 20_000);
  assert.equal(c.ready.status, 'False');
  assert.match(c.ready.message, /nowhere/);
  assert.equal(c.path, undefined);
});
