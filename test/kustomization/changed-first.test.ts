import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { GitOps, configMap } from '../gitops.ts';
import type { KubeObject } from '../../src/kube/object.ts';

// After a commit to a monorepo, the Kustomizations whose files changed are
// reconciled before the ones the commit only moved to a new revision.

let g: GitOps;
const N = 12;

before(async () => {
  // One reconcile at a time, so the order is the queue's.
  g = await GitOps.start('changed-first', { concurrency: 1 });
  await g.push({ 'README.md': 'order' }, 'init');
  await g.createGitRepository('app', { interval: '1h' });
});
after(async () => {
  await g?.close();
});

test('the Kustomization a commit changed goes first, the unchanged ones follow', async () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < N; i++) files[`apps/a${i}/cm.yaml`] = configMap(`a${i}`, { v: '1' });
  const rev = await g.pushAndFetch(files);
  for (let i = 0; i < N; i++) await g.createKustomization(`a${i}`, { path: `./apps/a${i}`, targetNamespace: g.ns.name, interval: '1h' });
  for (let i = 0; i < N; i++) await g.untilReady(`a${i}`, rev);

  const order: string[] = [];
  const ks = g.operator.kustomizations;
  const reconcile = ks.reconcile.bind(ks);
  ks.reconcile = async (key, signal) => {
    order.push(key.split('/')[1]!);
    return reconcile(key, signal);
  };
  try {
    // Change the one whose key would otherwise come last.
    const changed = `a${N - 1}`;
    const next = await g.pushAndFetch({ [`apps/${changed}/cm.yaml`]: configMap(changed, { v: '2' }) });
    for (let i = 0; i < N; i++) await g.untilReady(`a${i}`, next);
    assert.equal(order[0], changed, `reconcile order after the commit: ${order.join(' ')}`);
    assert.equal(new Set(order).size, N, 'every Kustomization still moved to the new revision');
    const cm = await g.get<KubeObject & { data: Record<string, string> }>(g.path('configmaps', changed));
    assert.equal(cm?.data.v, '2');
  } finally {
    ks.reconcile = reconcile;
  }
});
