import { resourcePath } from '../kube/discovery.ts';
import { isNotFound } from '../kube/errors.ts';
import { subject, type KubeObject } from '../kube/object.ts';
import { pruneDisabled } from './annotations.ts';
import type { ChangeSetEntry } from './changeset.ts';
import type { StaleObject } from './inventory.ts';
import { errorText, type ResourceManager } from './manager.ts';
import { mapSettled } from '../util/pool.ts';
import { stageOf } from './stages.ts';

export type Propagation = 'Background' | 'Foreground' | 'Orphan';

export interface PruneOptions {
  propagation?: Propagation;
  /** Objects no longer carrying all of these labels have a new owner and are left alone. */
  ownerLabels?: Record<string, string>;
  /** Allow deleting more than half of the inventory, or all of it. */
  allowMassPrune?: boolean;
  /** How to allow a mass prune, for the refusal message (the CLI flag or the annotation). */
  allowHint?: string;
  /** Size of the previous inventory. */
  inventorySize: number;
  /** Size of the set just applied. */
  newSetSize: number;
  concurrency?: number;
  onEntry?: (e: ChangeSetEntry) => void;
}

export class PruneRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PruneRefusedError';
  }
}

/**
 * Refuses a prune that would remove most of what was deployed: more than
 * half of the previous inventory, or everything (an empty render, a
 * mistyped path). Such a commit is far more often a mistake than intent.
 */
export function checkPruneSafety(staleCount: number, opts: PruneOptions): void {
  if (staleCount === 0 || opts.allowMassPrune) return;
  const hint = opts.allowHint ?? 'pass --allow-mass-prune';
  if (opts.newSetSize === 0) {
    throw new PruneRefusedError(
      `refusing to prune: the new set is empty and would delete all ${staleCount} objects of the inventory; if that is intended, ${hint}`,
    );
  }
  if (staleCount * 2 > opts.inventorySize) {
    throw new PruneRefusedError(
      `refusing to prune ${staleCount} of ${opts.inventorySize} objects (more than half of the inventory); if that is intended, ${hint}`,
    );
  }
}

/** Deletes stale objects in reverse stage order; objects of one stage go concurrently. */
export async function pruneStale(
  manager: ResourceManager,
  stale: StaleObject[],
  opts: PruneOptions,
): Promise<ChangeSetEntry[]> {
  checkPruneSafety(stale.length, opts);
  const out: ChangeSetEntry[] = [];
  for (const stage of [2, 1, 0]) {
    const items = stale.filter((s) => stageOf(s) === stage);
    const results = await mapSettled(items, opts.concurrency ?? 16, async (s) => {
      const entry = await pruneOne(manager, s, opts);
      if (entry) opts.onEntry?.(entry);
      return entry;
    });
    const failed: string[] = [];
    results.forEach((r, i) => {
      if (r.error) failed.push(`${subject(items[i]!)}: ${errorText(r.error)}`);
      else if (r.value) out.push(r.value);
    });
    if (failed.length) throw new Error(`prune failed:\n  ${failed.join('\n  ')}`);
  }
  return out;
}

async function pruneOne(manager: ResourceManager, s: StaleObject, opts: PruneOptions): Promise<ChangeSetEntry | undefined> {
  const base = { subject: subject(s), id: s.id, version: s.apiVersion.split('/').pop()! };
  const mapping = await manager.discovery.mapping(s.apiVersion, s.kind);
  if (!mapping) return undefined; // its API is gone (CRD deleted), so is the object
  const path = resourcePath(mapping, s.namespace || undefined, s.name);
  const live = await manager.client.getOrUndefined<KubeObject>(path);
  if (!live) return undefined;
  if (live.metadata.deletionTimestamp) return { ...base, action: 'deleted' };
  if (pruneDisabled(live)) return { ...base, action: 'skipped', reason: 'prune disabled' };
  for (const [k, v] of Object.entries(opts.ownerLabels ?? {})) {
    if (live.metadata.labels?.[k] !== v) return { ...base, action: 'skipped', reason: 'now owned by another' };
  }
  try {
    await manager.client.request({
      method: 'DELETE',
      path,
      body: { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: opts.propagation ?? 'Background' },
    });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  return { ...base, action: 'deleted' };
}
