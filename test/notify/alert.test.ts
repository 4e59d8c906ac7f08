import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { GitOps, configMap } from '../gitops.ts';
import { eventually } from '../harness.ts';
import { startLoopback, type Loopback } from './loopback.ts';
import type { KubeObject } from '../../src/kube/object.ts';

// Issue 16, events out: a Kustomization's events reach Alerts in the same
// process and go to their Providers; a commit status goes pending, then
// success, for the exact commit; broken Alerts and Providers say so in
// their Ready condition and do not stop the others.

const NG = 'notification.toolkit.fluxcd.io';
let g: GitOps;
let hook: Loopback;
let forge: Loopback;

const secret = (name: string, data: Record<string, string>) =>
  g.client.request({ method: 'POST', path: `/api/v1/namespaces/${g.ns.name}/secrets`, body: { apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: data } });
const provider = (name: string, spec: Record<string, unknown>) => g.create(`${NG}/v1beta3`, 'Provider', 'providers', name, spec);
const alert = (name: string, spec: Record<string, unknown>) => g.create(`${NG}/v1beta3`, 'Alert', 'alerts', name, spec);
const readyOf = async (plural: string, name: string) => {
  const o = await g.get<KubeObject>(`/apis/${NG}/v1beta3/namespaces/${g.ns.name}/${plural}/${name}`);
  return (o?.status?.conditions as Array<{ type: string; status: string; reason: string; message: string }> | undefined)?.find((c) => c.type === 'Ready');
};
const untilCondition = (plural: string, name: string, status: string, reason: string) =>
  eventually(`${plural}/${name} Ready=${status} ${reason}`, async () => {
    const c = await readyOf(plural, name);
    return c?.status === status && c.reason === reason ? c : undefined;
  }, 20_000);

before(async () => {
  hook = await startLoopback();
  forge = await startLoopback();
  forge.answer = (r) => (r.method === 'POST' ? 201 : 200);
  g = await GitOps.start('notify-alert', { notificationRetry: { retries: 2, baseMs: 50 } });
  await g.push({ 'README.md': 'notify' }, 'init');
  await g.createGitRepository('app', { interval: '1h' });
  await secret('hmac', { token: 's3cr3t-hmac-key' });
  await secret('forge', { token: 'ghp_forgetoken123' });
  await provider('hook', { type: 'generic-hmac', address: `${hook.url}/events`, secretRef: { name: 'hmac' } });
  await provider('forge', { type: 'github', address: `${forge.url}/acme/app`, secretRef: { name: 'forge' } });
  await alert('all', { providerRef: { name: 'hook' }, eventSources: [{ kind: 'Kustomization', name: '*' }], eventMetadata: { env: 'test' } });
  await alert('status', { providerRef: { name: 'forge' }, eventSources: [{ kind: 'Kustomization', name: 'web' }] });
  // Broken ones, side by side with the good ones.
  await alert('orphan', { providerRef: { name: 'nope' }, eventSources: [{ kind: 'Kustomization', name: '*' }] });
  await alert('badregex', { providerRef: { name: 'hook' }, eventSources: [{ kind: 'Kustomization', name: '*' }], inclusionList: ['(unclosed'] });
  await provider('nosecret', { type: 'slack', address: 'https://hooks.slack.invalid/x', secretRef: { name: 'missing' } });
  await secret('badca', { 'ca.crt': 'not a certificate' });
  await provider('badcert', { type: 'generic', address: 'https://127.0.0.1:1/x', certSecretRef: { name: 'badca' } });
  await provider('badaddress', { type: 'generic', address: 'not a url' });
  // Valid settings, but nothing listens there.
  await provider('down', { type: 'generic', address: 'http://127.0.0.1:1/secret-path' });
  await alert('down', { providerRef: { name: 'down' }, eventSources: [{ kind: 'Kustomization', name: '*' }] });
});
after(async () => {
  await g?.close();
  await hook?.close();
  await forge?.close();
});

test('broken Alerts and Providers each get a clear Ready condition', async () => {
  assert.match((await untilCondition('alerts', 'orphan', 'False', 'ProviderNotFound')).message, /Provider .*\/nope not found/);
  assert.match((await untilCondition('alerts', 'badregex', 'False', 'ValidationFailed')).message, /inclusionList: "\(unclosed"/);
  assert.match((await untilCondition('providers', 'nosecret', 'False', 'TokenNotFound')).message, /missing not found/);
  assert.match((await untilCondition('providers', 'badcert', 'False', 'ValidationFailed')).message, /ca\.crt .* not a PEM certificate/);
  assert.match((await untilCondition('providers', 'badaddress', 'False', 'ValidationFailed')).message, /not a valid URL/);
  await untilCondition('providers', 'hook', 'True', 'Succeeded');
  await untilCondition('alerts', 'all', 'True', 'Succeeded');
});

test('a Kustomization\'s events reach generic-hmac signed, and a GitHub commit status goes pending then success', async () => {
  const rev = await g.pushAndFetch({ 'web/cm.yaml': configMap('web', { a: '1' }) }, 'web v1');
  const sha = rev.split(':')[1]!;
  await g.createKustomization('web', { path: './web', targetNamespace: g.ns.name });
  await g.untilReady('web', rev);

  const events = await eventually('the succeeded event at the hook', async () => {
    const got = hook.requests.filter((r) => (r.json as { reason?: string })?.reason === 'ReconciliationSucceeded');
    return got.length ? got : undefined;
  }, 20_000);
  const r = events[0]!;
  assert.equal(r.method, 'POST');
  assert.equal(r.path, '/events');
  assert.equal(r.headers['x-signature'], `sha256=${createHmac('sha256', 's3cr3t-hmac-key').update(r.body).digest('hex')}`);
  assert.equal(r.headers['gotk-component'], 'kustomize-controller');
  const e = r.json as { involvedObject: { kind: string; name: string; namespace: string }; severity: string; metadata: Record<string, string> };
  assert.deepEqual([e.involvedObject.kind, e.involvedObject.name, e.involvedObject.namespace, e.severity], ['Kustomization', 'web', g.ns.name, 'info']);
  assert.equal(e.metadata.revision, rev);
  assert.equal(e.metadata.env, 'test');
  // The Alert with the broken regular expression sent nothing: every event at the hook came once (from 'all').
  const keys = hook.requests.map((x) => x.body);
  assert.equal(new Set(keys).size, keys.length);

  const statuses = await eventually('pending and success statuses', async () => {
    const got = forge.requests.filter((x) => x.path === `/api/v3/repos/acme/app/statuses/${sha}`);
    return got.some((x) => (x.json as { state: string }).state === 'success') ? got : undefined;
  }, 20_000);
  const states = statuses.map((x) => (x.json as { state: string }).state);
  assert.deepEqual(states, ['pending', 'success']);
  const body = statuses[1]!.json as { context: string; description: string };
  assert.match(body.context, /^kustomization\/web\/[0-9a-f]{8}$/);
  assert.equal(body.description, 'reconciliation succeeded');
  assert.equal(statuses[1]!.headers.authorization, 'Bearer ghp_forgetoken123');
});

test('a failing revision sets failure on its own commit', async () => {
  const rev = await g.pushAndFetch({ 'web/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata: [broken' }, 'web broken');
  const sha = rev.split(':')[1]!;
  const failure = await eventually('a failure status', async () => forge.requests.find((x) => x.path.endsWith(`/statuses/${sha}`) && (x.json as { state: string }).state === 'failure'), 30_000);
  assert.match((failure.json as { context: string }).context, /^kustomization\/web\//);
});

test('a Provider nobody answers at: DeliveryFailed on it, ProviderNotReady on its Alert, the others delivered', async () => {
  const c = await untilCondition('providers', 'down', 'False', 'DeliveryFailed');
  assert.match(c.message, /^the last delivery failed: http:\/\/127\.0\.0\.1:1: connect ECONNREFUSED/);
  assert.ok(!c.message.includes('secret-path'));
  await untilCondition('alerts', 'down', 'False', 'ProviderNotReady');
  assert.ok(hook.requests.length > 0);
  await untilCondition('alerts', 'all', 'True', 'Succeeded');
});

test('the finalizer earlier Flux releases put on Alerts is taken off, so they can be deleted', async () => {
  await g.create(`${NG}/v1beta3`, 'Alert', 'alerts', 'fromflux', { providerRef: { name: 'hook' }, eventSources: [{ kind: 'Kustomization', name: '*' }] }, { finalizers: ['finalizers.fluxcd.io'] });
  await eventually('the finalizer gone', async () => {
    const a = await g.get<KubeObject>(`/apis/${NG}/v1beta3/namespaces/${g.ns.name}/alerts/fromflux`);
    return a && !a.metadata.finalizers?.length ? true : undefined;
  }, 20_000);
});
