// The apply pipeline shared by `sluice apply` and the Kustomization
// controller: apply a set of objects, take the inventory of what was applied,
// prune what the previous inventory held and the new one does not, then wait
// for the applied objects to become ready. Orchestration only: the steps are
// the ResourceManager, the inventory functions, pruneStale and waitForSet.
// Where the previous inventory lives (a ConfigMap, a status field) and what is
// reported along the way stay with the caller.
import type { KubeObject } from '../kube/object.ts';
import { parseObjectId } from '../kube/object.ts';
import { waitForSet, type WaitOptions, type WaitRef, type WaitResult } from '../health/wait.ts';
import type { ChangeSetEntry } from './changeset.ts';
import { inventoryFromChangeSet, staleEntries, type Inventory } from './inventory.ts';
import type { ResourceManager } from './manager.ts';
import { pruneStale, type PruneOptions } from './prune.ts';
import type { ApplyOptions } from './types.ts';

export interface ApplySetOptions {
  apply: ApplyOptions;
  /**
   * The inventory of the previous apply. Read after the apply, as the steps
   * have always run; not read at all when undefined.
   */
  previous?: () => Inventory | undefined | Promise<Inventory | undefined>;
  /** Prune against the previous inventory, with these options; no prune when undefined. */
  prune?: Omit<PruneOptions, 'inventorySize' | 'newSetSize'>;
}

/** What one run of apply, inventory and prune did. */
export type ApplySetResult = {
  applied: ChangeSetEntry[];
  /** The inventory of the applied objects. */
  inventory: Inventory;
  /** The previous inventory, when it was read. */
  previous?: Inventory;
} & (
  | { ok: true; pruned: ChangeSetEntry[] }
  | {
      ok: false;
      /** The prune's error, as pruneStale threw it. */
      pruneError: unknown;
      /** The inventory to keep: the applied objects and the stale ones, which are not forgotten. */
      keep: Inventory;
    }
);

/**
 * Applies `objects`, then prunes the previous inventory's objects that are no
 * longer in the set. An apply error is thrown; a prune error is returned with
 * the inventory that still holds what could not be pruned.
 */
export async function applySet(rm: ResourceManager, objects: KubeObject[], o: ApplySetOptions): Promise<ApplySetResult> {
  const applied = await rm.apply(objects, o.apply);
  const inventory = inventoryFromChangeSet(applied);
  const previous = o.previous ? await o.previous() : undefined;
  if (!o.prune) return { ok: true, applied, inventory, previous, pruned: [] };
  const stale = staleEntries(previous, inventory);
  try {
    const pruned = await pruneStale(rm, stale, {
      ...o.prune,
      inventorySize: previous?.entries.length ?? 0,
      newSetSize: inventory.entries.length,
    });
    return { ok: true, applied, inventory, previous, pruned };
  } catch (pruneError) {
    const keep = unionInventories({ entries: stale.map((s) => ({ id: s.id, v: s.apiVersion.split('/').pop()! })) }, inventory);
    return { ok: false, applied, inventory, previous, pruneError, keep };
  }
}

/** Objects to wait for after an apply: every applied one but those skipped. */
export function appliedRefs(entries: ChangeSetEntry[]): WaitRef[] {
  return entries.filter((e) => e.action !== 'skipped').map(entryRef);
}

/** The object a change-set entry is about, as a WaitRef. */
export function entryRef(e: ChangeSetEntry): WaitRef {
  const r = parseObjectId(e.id);
  return {
    apiVersion: r.group ? `${r.group}/${e.version}` : e.version,
    kind: r.kind,
    namespace: r.namespace || undefined,
    name: r.name,
    ...(e.generation !== undefined ? { generation: e.generation } : {}),
  };
}

/** The last step: waits until every object of `refs` is ready on the cluster of `rm`. */
export function waitForApplied(rm: ResourceManager, refs: WaitRef[], o: WaitOptions): Promise<WaitResult> {
  return waitForSet(rm.client, rm.discovery, refs, o);
}

/** Both inventories in one, sorted by id; for an id in both, `b`'s entry. */
export function unionInventories(a: Inventory | undefined, b: Inventory): Inventory {
  const byId = new Map((a?.entries ?? []).map((e) => [e.id, e]));
  for (const e of b.entries) byId.set(e.id, e);
  return { entries: [...byId.values()].sort((x, y) => x.id.localeCompare(y.id)) };
}
