import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import type { KubeClient, RequestOptions } from '../../kube/client.ts';
import type { Informer } from '../../kube/informer.ts';
import type { KubeObject } from '../../kube/object.ts';
import { silentLogger } from '../../util/log.ts';
import { ReceiverServer } from './server.ts';

// The receiver server with an in-memory cache and a client that records
// its patches: suspension, rate limiting and the reconcile requests.

const PATH = '/hook/abc';
const receiver = (spec: Record<string, unknown> = {}): KubeObject =>
  ({
    apiVersion: 'notification.toolkit.fluxcd.io/v1',
    kind: 'Receiver',
    metadata: { name: 'r', namespace: 'apps' },
    spec: { type: 'generic-hmac', secretRef: { name: 's' }, resources: [{ kind: 'Kustomization', name: 'web' }, { kind: 'GitRepository', name: 'app', namespace: 'src' }], ...spec },
    status: { webhookPath: PATH, conditions: [{ type: 'Ready', status: 'True' }] },
  }) as KubeObject;

let current = receiver();
const patches: string[] = [];
const client = { request: async (o: RequestOptions) => void patches.push(`${o.method} ${o.path} ${JSON.stringify(o.body)}`) } as unknown as KubeClient;
const receivers = { list: () => [current] } as unknown as Informer;
const server = new ReceiverServer({ address: '127.0.0.1:0', client, receivers, readSecret: async () => ({ token: Buffer.from('tok') }), log: silentLogger, rate: { perSecond: 1, burst: 3 } });
await server.start();
after(() => server.stop());

const call = (body = '{}', sig = `sha256=${createHmac('sha256', 'tok').update(body).digest('hex')}`) =>
  fetch(`${server.url}${PATH}`, { method: 'POST', body, headers: { 'x-signature': sig } });

test('a valid call patches requestedAt on each resource, in its namespace (the Receiver\'s by default)', async () => {
  const res = await call();
  assert.equal(res.status, 200);
  assert.equal(patches.length, 2);
  assert.match(patches.find((p) => p.includes('kustomizations'))!, /^PATCH \/apis\/kustomize\.toolkit\.fluxcd\.io\/v1\/namespaces\/apps\/kustomizations\/web \{"metadata":\{"annotations":\{"reconcile\.fluxcd\.io\/requestedAt":"/);
  assert.ok(patches.some((p) => p.startsWith('PATCH /apis/source.toolkit.fluxcd.io/v1/namespaces/src/gitrepositories/app ')));
});

test('suspended or not Ready: 503 and nothing patched', async () => {
  patches.length = 0;
  current = receiver({ suspend: true });
  assert.equal((await call()).status, 503);
  current = { ...receiver(), status: { webhookPath: PATH, conditions: [{ type: 'Ready', status: 'False' }] } } as KubeObject;
  assert.equal((await call()).status, 503);
  assert.equal(patches.length, 0);
  current = receiver();
});

test('beyond the rate limit: 429', async () => {
  await new Promise((r) => setTimeout(r, 3_100));
  const answers = [];
  for (let i = 0; i < 5; i++) answers.push((await call()).status);
  assert.deepEqual(answers, [200, 200, 200, 429, 429]);
});
