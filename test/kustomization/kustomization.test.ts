import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { GitOps, configMap, deployment, ready } from '../gitops.ts';
import { eventually } from '../harness.ts';
import type { KubeObject } from '../../src/kube/object.ts';

// The Kustomization behaviours Flux's own controller tests cover, on the
// real control plane with a real git server.

let g: GitOps;

before(async () => {
  g = await GitOps.start('ks');
  await g.push({ 'README.md': 'kustomization tests' }, 'init');
  await g.createGitRepository();
});
after(async () => {
  await g?.close();
});

type Data = KubeObject & { data?: Record<string, string> };

describe('Kustomization', () => {
  test('transformers: namePrefix, commonMetadata, patches, images', async () => {
    const rev = await g.pushAndFetch({
      'tr/web.yaml': deployment('web', { replicas: 1, image: 'example.invalid/web:1.0' }),
      'tr/cm.yaml': configMap('settings', { a: '1' }),
    });
    await g.createKustomization('transformers', {
      path: './tr',
      targetNamespace: g.ns.name,
      namePrefix: 'tr-',
      commonMetadata: { labels: { team: 'blue' }, annotations: { 'example.com/owner': 'blue' } },
      patches: [{ patch: 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n', target: { kind: 'Deployment' } }],
      images: [{ name: 'example.invalid/web', newTag: '2.0' }],
    });
    await g.untilReady('transformers', rev);
    const dep = await g.get<KubeObject & { spec: { replicas: number; template: { spec: { containers: Array<{ image: string }> } } } }>(g.path('deployments', 'tr-web'));
    assert.ok(dep, 'the Deployment is renamed with the prefix');
    assert.equal(dep.spec.replicas, 3);
    assert.equal(dep.spec.template.spec.containers[0]!.image, 'example.invalid/web:2.0');
    assert.equal(dep.metadata.labels?.team, 'blue');
    assert.equal(dep.metadata.annotations?.['example.com/owner'], 'blue');
    assert.ok(await g.get(g.path('configmaps', 'tr-settings')));
  });

  test('post-build substitution from the spec, ConfigMaps and Secrets, with defaults and opt-out', async () => {
    await g.client.request({ method: 'POST', path: `/api/v1/namespaces/${g.ns.name}/configmaps`, body: { metadata: { name: 'vars' }, data: { region: 'eu-west', tier: 'from-configmap' } } });
    await g.client.request({ method: 'POST', path: `/api/v1/namespaces/${g.ns.name}/secrets`, body: { metadata: { name: 'secret-vars' }, stringData: { token: 's3cr3t-t0ken', tier: 'from-secret' } } });
    const rev = await g.pushAndFetch({
      'subst/cm.yaml': configMap('substituted', { cluster: '${cluster_name}', region: '${region}', tier: '${tier}', token: '${token}', fallback: '${missing:=the-default}' }),
      'subst/raw.yaml': configMap('raw', { text: '${cluster_name}' }, '  annotations:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\n'),
    });
    await g.createKustomization('subst', {
      path: './subst',
      targetNamespace: g.ns.name,
      postBuild: {
        substitute: { cluster_name: 'prod-1' },
        substituteFrom: [
          { kind: 'ConfigMap', name: 'vars' },
          { kind: 'Secret', name: 'secret-vars' },
          { kind: 'ConfigMap', name: 'not-there', optional: true },
        ],
      },
    });
    await g.untilReady('subst', rev);
    const cm = await g.get<Data>(g.path('configmaps', 'substituted'));
    assert.deepEqual(cm?.data, { cluster: 'prod-1', region: 'eu-west', tier: 'from-secret', token: 's3cr3t-t0ken', fallback: 'the-default' });
    assert.deepEqual((await g.get<Data>(g.path('configmaps', 'raw')))?.data, { text: '${cluster_name}' });

    // A secret value that breaks the YAML is reported without the value.
    await g.client.request({
      method: 'PATCH',
      path: g.path('secrets', 'secret-vars'),
      contentType: 'application/merge-patch+json',
      body: { stringData: { token: 'leaky: [unclosed' } },
    });
    const bad = await g.pushAndFetch({ 'subst/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: substituted\ndata:\n  token: ${token}\n' });
    const failed = await g.untilKs('subst', 'build failure', (s) => s.lastAttemptedRevision === bad && ready(s)?.status === 'False');
    assert.equal(ready(failed)!.reason, 'BuildFailed');
    assert.ok(!ready(failed)!.message.includes('leaky'), `secret value leaked into: ${ready(failed)!.message}`);
    const events = await g.client.request<{ items: Array<{ message: string }> }>({ path: `/api/v1/namespaces/${g.ns.name}/events` });
    assert.ok(!events.items.some((e) => e.message.includes('leaky')), 'secret value leaked into an event');
  });

  test('an invalid object fails the reconcile with the server reason and applies nothing', async () => {
    const rev = await g.pushAndFetch({
      'invalid/ok.yaml': configMap('valid-neighbour', { a: '1' }),
      'invalid/bad.yaml': deployment('bad-replicas', { replicas: -1 }),
    });
    await g.createKustomization('invalid', { path: './invalid', targetNamespace: g.ns.name });
    const s = await g.untilKs('invalid', 'failed', (st) => st.lastAttemptedRevision === rev && ready(st)?.status === 'False');
    assert.equal(ready(s)!.reason, 'ReconciliationFailed');
    assert.match(ready(s)!.message, /Deployment\/.*\/bad-replicas: .*replicas/);
    assert.equal(await g.get(g.path('configmaps', 'valid-neighbour')), undefined);
  });

  test('wait: a workload that never gets ready fails the health check at the timeout, naming it', async () => {
    const rev = await g.pushAndFetch({
      'stuck/dep.yaml': deployment('stuck', { podSpec: "      nodeSelector: {sluice.test/none: 'true'}\n" }),
    });
    await g.createKustomization('stuck', { path: './stuck', targetNamespace: g.ns.name, wait: true, timeout: '3s' });
    const s = await g.untilKs('stuck', 'health check failed', (st) => st.lastAttemptedRevision === rev && ready(st)?.reason === 'HealthCheckFailed');
    assert.match(ready(s)!.message, new RegExp(`timeout waiting for: \\[Deployment/${g.ns.name}/stuck status: 'InProgress'`));
    assert.equal(s.conditions!.find((c) => c.type === 'Healthy')?.status, 'False');
  });

  test('a new revision arriving while health checks wait cancels them and applies the new one', async () => {
    const rev = await g.pushAndFetch({
      'cancel/dep.yaml': deployment('waiting', { podSpec: "      nodeSelector: {sluice.test/none: 'true'}\n" }),
    });
    await g.createKustomization('cancel', { path: './cancel', targetNamespace: g.ns.name, wait: true, timeout: '2m' });
    const waiting = await g.untilKs('cancel', 'waiting on health checks', (s) => s.lastAttemptedRevision === rev);
    // A long attempt shows itself: Ready is Unknown, not the previous verdict.
    const ready = waiting.conditions!.find((c) => c.type === 'Ready');
    assert.equal(ready?.status, 'Unknown');
    assert.equal(ready?.reason, 'Progressing');
    await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    const fixed = await g.pushAndFetch({ 'cancel/dep.yaml': deployment('waiting') });
    await g.untilReady('cancel', fixed, 30_000);
    assert.ok(Date.now() - t0 < 30_000, 'the new revision must not wait for the old health checks to time out');
  });

  test('healthChecks name the objects to wait for', async () => {
    const rev = await g.pushAndFetch({ 'hc/dep.yaml': deployment('checked', { replicas: 2 }) });
    await g.createKustomization('hc', {
      path: './hc',
      targetNamespace: g.ns.name,
      timeout: '30s',
      healthChecks: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'checked', namespace: g.ns.name }],
    });
    const s = await g.untilReady('hc', rev);
    assert.equal(s.conditions!.find((c) => c.type === 'Healthy')?.status, 'True');
    const dep = await g.get<KubeObject & { status: { availableReplicas?: number } }>(g.path('deployments', 'checked'));
    assert.equal(dep?.status.availableReplicas, 2);
  });

  test('force recreates objects whose immutable fields changed; without it the reconcile says why', async () => {
    const svc = (ip: string) => `apiVersion: v1\nkind: Service\nmetadata:\n  name: fixed-ip\nspec:\n  clusterIP: ${ip}\n  ports: [{port: 80}]\n`;
    const rev = await g.pushAndFetch({ 'force/svc.yaml': svc('10.0.201.10') });
    await g.createKustomization('force', { path: './force', targetNamespace: g.ns.name });
    await g.untilReady('force', rev);
    const changed = await g.pushAndFetch({ 'force/svc.yaml': svc('10.0.201.11') });
    const s = await g.untilKs('force', 'immutable failure', (st) => st.lastAttemptedRevision === changed && ready(st)?.status === 'False');
    assert.match(ready(s)!.message, /immutable field changed.*kustomize\.toolkit\.fluxcd\.io\/force: Enabled/);
    await g.patchKs('force', { spec: { force: true } });
    await g.untilReady('force', changed);
    const live = await g.get<KubeObject & { spec: { clusterIP: string } }>(g.path('services', 'fixed-ip'));
    assert.equal(live?.spec.clusterIP, '10.0.201.11');
  });

  test('serviceAccountName: applies impersonate the tenant, and RBAC confines it', async () => {
    const ns = g.ns.name;
    await g.client.request({ method: 'POST', path: `/api/v1/namespaces/${ns}/serviceaccounts`, body: { metadata: { name: 'tenant' } } });
    await g.client.request({
      method: 'POST',
      path: `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`,
      body: { metadata: { name: 'tenant' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] }] },
    });
    await g.client.request({
      method: 'POST',
      path: `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`,
      body: { metadata: { name: 'tenant' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'tenant' }, subjects: [{ kind: 'ServiceAccount', name: 'tenant', namespace: ns }] },
    });
    const rev = await g.pushAndFetch({
      'tenant/cm.yaml': configMap('tenant-config', { a: '1' }),
      'tenant/secret.yaml': 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: tenant-secret\nstringData:\n  k: v\n',
    });
    await g.createKustomization('tenant', { path: './tenant', targetNamespace: ns, serviceAccountName: 'tenant' });
    const denied = await g.untilKs('tenant', 'denied', (s) => s.lastAttemptedRevision === rev && ready(s)?.status === 'False');
    assert.match(ready(denied)!.message, new RegExp(`Secret/${ns}/tenant-secret: .*forbidden.*system:serviceaccount:${ns}:tenant`));
    assert.equal(await g.get(g.path('configmaps', 'tenant-config')), undefined, 'nothing is applied when one object is denied');
    // Without the Secret, the tenant's own objects go through.
    const allowed = await g.pushAndFetch({ 'tenant/secret.yaml': null });
    await g.untilReady('tenant', allowed);
    const cm = await g.get<KubeObject>(g.path('configmaps', 'tenant-config'));
    assert.ok(cm?.metadata.managedFields?.some((f) => f.manager === 'sluice'));
  });

  test('suspend stops applying; resuming applies the latest revision', async () => {
    const rev = await g.pushAndFetch({ 'susp/cm.yaml': configMap('suspended', { v: '1' }) });
    await g.createKustomization('susp', { path: './susp', targetNamespace: g.ns.name });
    await g.untilReady('susp', rev);
    await g.patchKs('susp', { spec: { suspend: true } });
    await new Promise((r) => setTimeout(r, 300));
    const next = await g.pushAndFetch({ 'susp/cm.yaml': configMap('suspended', { v: '2' }) });
    await new Promise((r) => setTimeout(r, 2_000));
    assert.equal((await g.get<Data>(g.path('configmaps', 'suspended')))?.data?.v, '1');
    await g.patchKs('susp', { spec: { suspend: false } });
    await g.untilReady('susp', next);
    assert.equal((await g.get<Data>(g.path('configmaps', 'suspended')))?.data?.v, '2');
  });

  test('deletionPolicy: Orphan keeps the objects, Delete removes them even without prune', async () => {
    const rev = await g.pushAndFetch({ 'orphan/cm.yaml': configMap('orphaned', { a: '1' }), 'delete/cm.yaml': configMap('deleted', { a: '1' }) });
    await g.createKustomization('orphan', { path: './orphan', targetNamespace: g.ns.name, deletionPolicy: 'Orphan' });
    await g.createKustomization('delete', { path: './delete', targetNamespace: g.ns.name, prune: false, deletionPolicy: 'Delete' });
    await g.untilReady('orphan', rev);
    await g.untilReady('delete', rev);
    await g.client.request({ method: 'DELETE', path: g.ksPath('orphan') });
    await g.client.request({ method: 'DELETE', path: g.ksPath('delete') });
    await eventually('both Kustomizations gone', async () =>
      (await g.get(g.ksPath('orphan'))) === undefined && (await g.get(g.ksPath('delete'))) === undefined ? true : undefined,
    );
    assert.ok(await g.get(g.path('configmaps', 'orphaned')), 'Orphan keeps the objects');
    await eventually('Delete removes the objects', async () => ((await g.get(g.path('configmaps', 'deleted'))) === undefined ? true : undefined));
  });

  test('prune survivors: objects with prune disabled stay when they leave Git', async () => {
    const rev = await g.pushAndFetch({
      'surv/keep.yaml': configMap('survivor', { a: '1' }, '  annotations:\n    kustomize.toolkit.fluxcd.io/prune: disabled\n'),
      'surv/go.yaml': configMap('goner', { a: '1' }),
      'surv/stay.yaml': configMap('stayer', { a: '1' }),
      'surv/stay2.yaml': configMap('stayer2', { a: '1' }),
    });
    await g.createKustomization('surv', { path: './surv', targetNamespace: g.ns.name });
    await g.untilReady('surv', rev);
    const next = await g.pushAndFetch({ 'surv/keep.yaml': null, 'surv/go.yaml': null });
    await g.untilReady('surv', next);
    assert.ok(await g.get(g.path('configmaps', 'survivor')));
    assert.equal(await g.get(g.path('configmaps', 'goner')), undefined);
  });
});
