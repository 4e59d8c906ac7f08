import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChangeSetEntry } from './changeset.ts';
import type { ResourceManager } from './manager.ts';
import { appliedRefs, applySet, unionInventories } from './pipeline.ts';
import { PruneRefusedError } from './prune.ts';

const entry = (id: string, version: string, action: ChangeSetEntry['action']): ChangeSetEntry => ({ subject: id, id, version, action });

/** A manager whose apply returns a fixed change set and that must not be asked anything else. */
const fakeManager = (applied: ChangeSetEntry[]) => ({ apply: async () => applied }) as unknown as ResourceManager;

test('applied refs skip skipped objects and name the group version', () => {
  const refs = appliedRefs([entry('apps_web_apps_Deployment', 'v1', 'created'), entry('_ns__Namespace', 'v1', 'skipped'), entry('apps_cfg__ConfigMap', 'v1', 'unchanged')]);
  assert.deepEqual(refs, [
    { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'apps', name: 'web' },
    { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'apps', name: 'cfg' },
  ]);
});

test('the union of inventories is sorted by id, the second one winning', () => {
  const u = unionInventories({ entries: [{ id: 'b', v: 'v1' }, { id: 'a', v: 'v1beta1' }] }, { entries: [{ id: 'a', v: 'v1' }, { id: 'c', v: 'v1' }] });
  assert.deepEqual(u, { entries: [{ id: 'a', v: 'v1' }, { id: 'b', v: 'v1' }, { id: 'c', v: 'v1' }] });
  assert.deepEqual(unionInventories(undefined, { entries: [{ id: 'x', v: 'v1' }] }), { entries: [{ id: 'x', v: 'v1' }] });
});

test('without prune, the previous inventory is read after the apply and nothing is pruned', async () => {
  const order: string[] = [];
  const rm = { apply: async () => (order.push('apply'), [entry('apps_web_apps_Deployment', 'v1', 'created')]) } as unknown as ResourceManager;
  const r = await applySet(rm, [], { apply: {}, previous: () => (order.push('previous'), { entries: [{ id: 'apps_old__ConfigMap', v: 'v1' }] }) });
  assert.deepEqual(order, ['apply', 'previous']);
  assert.equal(r.ok, true);
  assert.deepEqual(r.ok && r.pruned, []);
  assert.deepEqual(r.inventory, { entries: [{ id: 'apps_web_apps_Deployment', v: 'v1' }] });
  assert.deepEqual(r.previous, { entries: [{ id: 'apps_old__ConfigMap', v: 'v1' }] });
});

test('a refused prune is returned with an inventory that keeps the stale objects', async () => {
  const r = await applySet(fakeManager([]), [], {
    apply: {},
    previous: () => ({ entries: [{ id: 'apps_a__ConfigMap', v: 'v1' }, { id: 'apps_b_apps_Deployment', v: 'v1' }] }),
    prune: { allowHint: 'pass --allow-mass-prune' },
  });
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.ok(r.pruneError instanceof PruneRefusedError);
  assert.match((r.pruneError as Error).message, /the new set is empty and would delete all 2 objects/);
  assert.deepEqual(r.keep, { entries: [{ id: 'apps_a__ConfigMap', v: 'v1' }, { id: 'apps_b_apps_Deployment', v: 'v1' }] });
});
