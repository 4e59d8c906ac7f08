import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { testNamespace, type TestNamespace } from './harness.ts';
import { ResourceManager } from '../src/apply/manager.ts';
import { inventoryOf, staleEntries } from '../src/apply/inventory.ts';
import { pruneStale, PruneRefusedError } from '../src/apply/prune.ts';
import { waitForSet } from '../src/health/wait.ts';
import type { KubeObject } from '../src/kube/object.ts';

let ns: TestNamespace;
let rm: ResourceManager;

before(async () => {
  ns = await testNamespace('prune-wait');
  rm = new ResourceManager(ns.client);
});
after(async () => {
  await ns?.cleanup();
});

const owner = { 'sluice.test/owner': 'app' };
const cm = (name: string, annotations?: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns.name, annotations },
  data: { n: name },
});
const exists = async (name: string) =>
  (await ns.client.getOrUndefined(`/api/v1/namespaces/${ns.name}/configmaps/${name}`)) !== undefined;

/** Applies `next` after `prev` the way `sluice apply --prune` does, returning the prune entries. */
async function applyAndPrune(prev: KubeObject[], next: KubeObject[], allowMassPrune = false) {
  await rm.apply(next, { ownerLabels: owner });
  const stale = staleEntries(inventoryOf(prev), inventoryOf(next));
  return pruneStale(rm, stale, { ownerLabels: owner, inventorySize: prev.length, newSetSize: next.length, allowMassPrune });
}

describe('prune', () => {
  test('deletes what left the set, keeps prune-disabled objects and objects of another owner', async () => {
    const v1 = ['a', 'b', 'c', 'd', 'e', 'f'].map((n) => cm(`p-${n}`));
    v1[4] = cm('p-e', { 'kustomize.toolkit.fluxcd.io/prune': 'Disabled' });
    await rm.apply(v1, { ownerLabels: owner });
    // p-f is adopted by someone else: its owner label changed.
    await ns.client.request({
      method: 'PATCH',
      path: `/api/v1/namespaces/${ns.name}/configmaps/p-f`,
      contentType: 'application/merge-patch+json',
      body: { metadata: { labels: { 'sluice.test/owner': 'someone-else' } } },
    });
    const v2 = v1.slice(0, 3); // drop d, e, f: half of six
    const pruned = await applyAndPrune(v1, v2);
    const byName = Object.fromEntries(pruned.map((e) => [e.subject.split('/').pop(), `${e.action}${e.reason ? ` (${e.reason})` : ''}`]));
    assert.deepEqual(byName, { 'p-d': 'deleted', 'p-e': 'skipped (prune disabled)', 'p-f': 'skipped (now owned by another)' });
    assert.equal(await exists('p-d'), false);
    assert.equal(await exists('p-e'), true);
    assert.equal(await exists('p-f'), true);
    assert.equal(await exists('p-a'), true);
  });

  test('refuses to delete more than half of the inventory, or all of it, unless allowed', async () => {
    const v1 = ['a', 'b', 'c', 'd'].map((n) => cm(`s-${n}`));
    await rm.apply(v1, { ownerLabels: owner });
    await assert.rejects(applyAndPrune(v1, v1.slice(0, 1)), (err: unknown) => {
      assert.ok(err instanceof PruneRefusedError);
      assert.match(err.message, /refusing to prune 3 of 4 objects \(more than half of the inventory\); if that is intended, pass --allow-mass-prune/);
      return true;
    });
    for (const n of ['a', 'b', 'c', 'd']) assert.equal(await exists(`s-${n}`), true, `s-${n} must survive the refusal`);
    // An empty render never wipes what was deployed.
    await assert.rejects(applyAndPrune(v1, []), /the new set is empty and would delete all 4 objects/);
    assert.equal(await exists('s-a'), true);
    // Explicitly allowed, it goes through.
    const pruned = await applyAndPrune(v1, [], true);
    assert.equal(pruned.filter((e) => e.action === 'deleted').length, 4);
    assert.equal(await exists('s-a'), false);
  });

  test('deletes in reverse stage order: objects before their namespace', async () => {
    const extra = `${ns.name}-gone`;
    const set: KubeObject[] = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: extra } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'inside', namespace: extra }, data: {} },
    ];
    await rm.apply(set, { ownerLabels: owner });
    const stale = staleEntries(inventoryOf(set), inventoryOf([]));
    assert.deepEqual(stale.map((s) => s.kind), ['ConfigMap', 'Namespace']);
    const pruned = await pruneStale(rm, stale, { ownerLabels: owner, inventorySize: 2, newSetSize: 0, allowMassPrune: true });
    assert.deepEqual(pruned.map((e) => e.subject), [`ConfigMap/${extra}/inside`, `Namespace/${extra}`]);
  });
});

describe('wait', () => {
  const deployment = (name: string, spec: Record<string, unknown> = {}): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns.name },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image: 'example.invalid/app:1' }] } },
      ...spec,
    },
  });
  const ref = (o: KubeObject) => ({ apiVersion: o.apiVersion, kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name! });

  test('a Deployment that KWOK makes Available is Current', async () => {
    const d = deployment('ready');
    await rm.apply([d, cm('alongside')]);
    const res = await waitForSet(ns.client, rm.discovery, [ref(d), ref(cm('alongside'))], { timeoutMs: 60_000 });
    assert.equal(res.ok, true, res.message);
    assert.deepEqual(res.objects.map((o) => o.result.status), ['Current', 'Current']);
  });

  test('a Deployment that can never schedule fails on its progress deadline, with the reason', async () => {
    const d = deployment('stuck', {
      progressDeadlineSeconds: 3,
      template: {
        metadata: { labels: { app: 'stuck' } },
        spec: { nodeSelector: { 'sluice.test/no-such-node': 'true' }, containers: [{ name: 'main', image: 'example.invalid/app:1' }] },
      },
    });
    await rm.apply([d]);
    const started = Date.now();
    const res = await waitForSet(ns.client, rm.discovery, [ref(d)], { timeoutMs: 60_000 });
    assert.equal(res.ok, false);
    assert.equal(res.timedOut, false, 'a Failed object ends the wait before the timeout');
    assert.equal(res.notReady[0]!.result.status, 'Failed');
    assert.match(res.message, new RegExp(`Deployment/${ns.name}/stuck: Failed: .*(progress deadline|ProgressDeadlineExceeded)`, 'i'));
    assert.ok(Date.now() - started < 50_000);
  });

  test('a timeout names each object that is not ready and why', async () => {
    const d = deployment('slow', {
      template: {
        metadata: { labels: { app: 'slow' } },
        spec: { nodeSelector: { 'sluice.test/no-such-node': 'true' }, containers: [{ name: 'main', image: 'example.invalid/app:1' }] },
      },
    });
    await rm.apply([d]);
    const res = await waitForSet(ns.client, rm.discovery, [ref(d), { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns.name, name: 'never-created' }], {
      timeoutMs: 3_000,
    });
    assert.equal(res.ok, false);
    assert.equal(res.timedOut, true);
    assert.match(res.message, new RegExp(`Deployment/${ns.name}/slow: InProgress: .*0 of 2`));
    assert.match(res.message, new RegExp(`ConfigMap/${ns.name}/never-created: NotFound`));
  });

  test('a running Job is not healthy yet; a completed one is', async () => {
    const job: KubeObject = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'task', namespace: ns.name },
      spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'example.invalid/task:1' }] } } },
    };
    await rm.apply([job]);
    const seen: string[] = [];
    const res = await waitForSet(ns.client, rm.discovery, [ref(job)], {
      timeoutMs: 60_000,
      onProgress: (objs) => seen.push(objs[0]!.result.status),
    });
    // KWOK's pod-complete stage finishes Job pods, so the Job completes.
    assert.equal(res.ok, true, res.message);
    assert.ok(seen.includes('InProgress'), `statuses seen: ${seen.join(', ')}`);
  });
});
