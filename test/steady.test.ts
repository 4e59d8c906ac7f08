import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { GitOps, configMap, deployment } from './gitops.ts';
import { testKubeconfig } from './harness.ts';
import { KubeClient } from '../src/kube/client.ts';

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
