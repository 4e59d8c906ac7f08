import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { GitOps, configMap, deployment } from '../gitops.ts';
import { eventually, testKubeconfig } from '../harness.ts';
import { KubeClient } from '../../src/kube/client.ts';

// Issue "Benchmarks at scale": when nothing changed, reconciling costs the
// API server nothing: no status write, no event, no dry run.

let g: GitOps;
const sent: string[] = [];

before(async () => {
  const client = await KubeClient.fromFile(await testKubeconfig());
  const original = client.request.bind(client);
  client.request = (async (o: Parameters<KubeClient['request']>[0]) => {
    sent.push(`${o.method ?? 'GET'} ${o.path}${o.query?.dryRun ? ' dry-run' : ''}`);
    return original(o);
  }) as KubeClient['request'];
  g = await GitOps.start('steady', { client });
  await g.push({ 'README.md': 'steady state' }, 'init');
  await g.createGitRepository('app', { interval: '1h' });
});
after(async () => {
  await g?.close();
});

test('steady reconciles of an unchanged Kustomization send no write, no event and no dry run', async () => {
  const rev = await g.pushAndFetch({
    'steady/cm.yaml': configMap('settings', { a: '1' }),
    'steady/web.yaml': deployment('web', { replicas: 0 }),
  });
  await g.createKustomization('steady', { path: './steady', targetNamespace: g.ns.name, interval: '2s', wait: true, prune: true });
  await g.untilReady('steady', rev);
  // Let the Deployment controller finish its own status writes first.
  await new Promise((r) => setTimeout(r, 3_000));

  let reconciles = 0;
  const ks = g.operator.kustomizations;
  const reconcile = ks.reconcile.bind(ks);
  ks.reconcile = async (key, signal) => {
    if (key === `${g.ns.name}/steady`) reconciles++;
    return reconcile(key, signal);
  };
  const rv = (await g.ks('steady')).metadata.resourceVersion;
  sent.length = 0;
  await new Promise((r) => setTimeout(r, 7_000));
  ks.reconcile = reconcile;

  assert.ok(reconciles >= 2, `the Kustomization was reconciled again (${reconciles} times)`);
  assert.equal((await g.ks('steady')).metadata.resourceVersion, rv, 'no status write');
  const mutations = sent.filter((r) => !r.startsWith('GET '));
  assert.deepEqual(mutations, [], 'no writes, events or dry runs');
});

test('a steady reconcile reuses the last build; drift, a new commit, a spec change and a reconcile request still take effect', async () => {
  const cmPath = g.path('configmaps', 'cached');
  const valueOf = async () => (await g.get<{ data?: Record<string, string>; metadata: { labels?: Record<string, string> } }>(cmPath));
  const rev = await g.pushAndFetch({ 'cached/cm.yaml': configMap('cached', { a: '1' }) });
  await g.createKustomization('cached', { path: './cached', targetNamespace: g.ns.name, interval: '1s', prune: true });
  await g.untilReady('cached', rev);
  const key = `${g.ns.name}/cached`;
  const builds = g.operator.kustomizations.builds;
  const first = builds.entry(key)?.set;
  assert.ok(first, 'the build is kept');

  // Steady: the same inputs, the same build.
  await eventually('three reconciles reusing the build', async () => ((builds.entry(key)?.reused ?? 0) >= 3 ? true : undefined), 20_000);
  assert.equal(builds.entry(key)?.set, first, 'not rebuilt while nothing changed');

  // Drift: a hand edit and a deletion are corrected from the reused build.
  await g.client.request({ method: 'PATCH', path: cmPath, contentType: 'application/merge-patch+json', body: { data: { a: 'edited' } } });
  await eventually('the hand edit reverted', async () => ((await valueOf())?.data?.a === '1' ? true : undefined), 20_000);
  await g.client.request({ method: 'DELETE', path: cmPath });
  await eventually('the deleted ConfigMap recreated', async () => ((await valueOf())?.data?.a === '1' ? true : undefined), 20_000);
  assert.equal(builds.entry(key)?.set, first, 'drift was corrected without a rebuild');

  // A new commit is built and applied.
  const rev2 = await g.pushAndFetch({ 'cached/cm.yaml': configMap('cached', { a: '2' }) });
  await g.untilReady('cached', rev2);
  assert.equal((await valueOf())?.data?.a, '2');
  const second = builds.entry(key)?.set;
  assert.notEqual(second, first, 'the new commit was built');

  // A spec change (same commit, new generation) is built and applied.
  await g.patchKs('cached', { spec: { commonMetadata: { labels: { tier: 'cached' } } } });
  await eventually('the new label applied', async () => ((await valueOf())?.metadata.labels?.tier === 'cached' ? true : undefined), 20_000);
  const third = builds.entry(key)?.set;
  assert.notEqual(third, second, 'the spec change was built');

  // A reconcile request (flux reconcile) rebuilds once.
  await eventually('the build reused again', async () => ((builds.entry(key)?.reused ?? 0) >= 1 ? true : undefined), 20_000);
  await g.requestReconcile(g.ksPath('cached'));
  await eventually('rebuilt on request', async () => (builds.entry(key)?.set !== third ? true : undefined), 20_000);
});

test('postBuild.substituteFrom is built every time: a variable changed in its ConfigMap is applied', async () => {
  const vars = `/api/v1/namespaces/${g.ns.name}/configmaps`;
  await g.client.request({ method: 'POST', path: vars, body: { metadata: { name: 'vars' }, data: { greeting: 'hello' } } });
  const rev = await g.pushAndFetch({ 'subst/cm.yaml': configMap('greeting', { text: '${greeting}' }) });
  await g.createKustomization('subst', {
    path: './subst',
    targetNamespace: g.ns.name,
    interval: '1s',
    prune: true,
    postBuild: { substituteFrom: [{ kind: 'ConfigMap', name: 'vars' }] },
  });
  await g.untilReady('subst', rev);
  const text = async () => (await g.get<{ data?: Record<string, string> }>(g.path('configmaps', 'greeting')))?.data?.text;
  assert.equal(await text(), 'hello');
  const uncacheable = g.operator.kustomizations.builds.counts.uncacheable;
  await g.client.request({ method: 'PATCH', path: `${vars}/vars`, contentType: 'application/merge-patch+json', body: { data: { greeting: 'bye' } } });
  await eventually('the new value applied', async () => ((await text()) === 'bye' ? true : undefined), 20_000);
  assert.equal(g.operator.kustomizations.builds.entry(`${g.ns.name}/subst`), undefined, 'nothing kept for it');
  assert.ok(g.operator.kustomizations.builds.counts.uncacheable > uncacheable, 'counted as uncacheable');
});
