import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { GitOps, configMap, deployment, ready } from '../gitops.ts';
import { eventually } from '../harness.ts';
import type { KubeObject } from '../../src/kube/object.ts';

// spec.ignore: a field an ignore rule names, changed in the cluster, is not
// reverted by drift correction, while every other drift is.

let g: GitOps;

before(async () => {
  g = await GitOps.start('ks-ignore');
  await g.push({ 'README.md': 'ignore tests' }, 'init');
  await g.createGitRepository();
});
after(async () => {
  await g?.close();
});

type Dep = KubeObject & { spec: { replicas: number; minReadySeconds?: number } };
type Data = KubeObject & { data?: Record<string, string> };

/** What `kubectl scale` / `kubectl edit` would do: a write by another manager. */
async function edit(path: string, patch: Record<string, unknown>): Promise<void> {
  await g.client.request({ method: 'PATCH', path, contentType: 'application/merge-patch+json', body: patch, query: { fieldManager: 'someone-else' } });
}

test('an ignored field changed in the cluster stays; other drift is corrected', async () => {
  const rev = await g.pushAndFetch({
    'app/web.yaml': deployment('web', { replicas: 1, extraSpec: '  minReadySeconds: 1\n' }),
    'app/cm.yaml': configMap('settings', { a: '1', b: '2' }),
  });
  await g.createKustomization('ignoring', {
    path: './app',
    targetNamespace: g.ns.name,
    ignore: [
      { paths: ['/spec/replicas'], target: { kind: 'Deployment', name: 'web' } },
      { paths: ['/data/b'], target: { kind: 'ConfigMap', labelSelector: 'no-such-label' } }, // targets nothing
    ],
  });
  await g.untilReady('ignoring', rev);

  // Someone scales the Deployment and edits both the Deployment and the ConfigMap elsewhere.
  await edit(g.path('deployments', 'web'), { spec: { replicas: 4, minReadySeconds: 9 } });
  await edit(g.path('configmaps', 'settings'), { data: { b: 'changed' } });
  await g.requestReconcile(g.ksPath('ignoring'));

  await eventually('drift outside the ignored fields corrected', async () => {
    const dep = await g.get<Dep>(g.path('deployments', 'web'));
    const cm = await g.get<Data>(g.path('configmaps', 'settings'));
    return dep?.spec.minReadySeconds === 1 && cm?.data?.b === '2' ? true : undefined;
  });
  const dep = (await g.get<Dep>(g.path('deployments', 'web')))!;
  assert.equal(dep.spec.replicas, 4, 'the ignored replicas keep the value set in the cluster');
  const s = await g.untilReady('ignoring', rev);
  assert.equal(ready(s)!.status, 'True');

  // Only the ignored field differs now: a reconcile changes nothing. (Not
  // the resourceVersion: the deployment controller writes the status after a
  // scale; Sluice's own managed-fields entry tells whether Sluice wrote.)
  await edit(g.path('deployments', 'web'), { spec: { replicas: 6 } });
  const sluiceEntry = (o: Dep | undefined) => JSON.stringify((o?.metadata.managedFields ?? []).filter((m: { manager?: string }) => m.manager === 'sluice'));
  const afterScale = sluiceEntry(await g.get<Dep>(g.path('deployments', 'web')));
  const handled = new Date().toISOString();
  await g.client.request({
    method: 'PATCH',
    path: g.ksPath('ignoring'),
    contentType: 'application/merge-patch+json',
    body: { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': handled } } },
  });
  await g.untilKs('ignoring', 'handled the request', (st) => (st as { lastHandledReconcileAt?: string }).lastHandledReconcileAt === handled && ready(st)?.status === 'True');
  const final = (await g.get<Dep>(g.path('deployments', 'web')))!;
  assert.equal(final.spec.replicas, 6);
  assert.notEqual(afterScale, '[]');
  assert.equal(sluiceEntry(final), afterScale, 'Sluice wrote nothing: only an ignored field differed');
});

test('the rule stops applying when it is removed: the source value returns', async () => {
  const dep = await g.get<Dep>(g.path('deployments', 'web'));
  assert.notEqual(dep?.spec.replicas, 1);
  await g.patchKs('ignoring', { spec: { ignore: null } });
  await eventually('replicas back to the source value', async () => ((await g.get<Dep>(g.path('deployments', 'web')))?.spec.replicas === 1 ? true : undefined));
});

test('a rule with a bad pointer fails the Kustomization, naming the rule', async () => {
  await g.createKustomization('bad-rule', { path: './app', targetNamespace: g.ns.name, prune: false, ignore: [{ paths: ['spec/replicas'] }] });
  const s = await g.untilKs('bad-rule', 'failed', (st) => ready(st)?.status === 'False');
  assert.match(ready(s)!.message, /spec\.ignore\[0\]\.paths\[0\]: "spec\/replicas" is not a JSON pointer/);
});
