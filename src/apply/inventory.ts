import { objectId, parseApiVersion, parseObjectId, type KubeObject, type ObjectRef } from '../kube/object.ts';
import { stageOf } from './stages.ts';
import type { ChangeSetEntry } from './changeset.ts';

/** Flux's ResourceInventory: `{ entries: [{ id: "<ns>_<name>_<group>_<kind>", v: "<version>" }] }`. */
export interface InventoryEntry {
  id: string;
  v: string;
}

export interface Inventory {
  entries: InventoryEntry[];
}

export function inventoryOf(objects: KubeObject[]): Inventory {
  const entries = objects.map((o) => ({ id: objectId(o), v: parseApiVersion(o.apiVersion).version }));
  entries.sort((a, b) => a.id.localeCompare(b.id));
  return { entries };
}

/** The inventory of what an apply handled, from its change set. */
export function inventoryFromChangeSet(entries: ChangeSetEntry[]): Inventory {
  return { entries: entries.map((e) => ({ id: e.id, v: e.version })).sort((a, b) => a.id.localeCompare(b.id)) };
}

export interface StaleObject extends ObjectRef {
  id: string;
  apiVersion: string;
}

/** Entries of `old` that `current` no longer holds, in deletion order (reverse stages). */
export function staleEntries(old: Inventory | undefined, current: Inventory): StaleObject[] {
  if (!old) return [];
  const keep = new Set(current.entries.map((e) => e.id));
  const stale = old.entries
    .filter((e) => !keep.has(e.id))
    .map((e) => {
      const ref = parseObjectId(e.id);
      return { ...ref, id: e.id, apiVersion: ref.group ? `${ref.group}/${e.v}` : e.v };
    });
  return stale.sort((a, b) => stageOf(b) - stageOf(a));
}
