import type { KubeClient } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import type { KubeObject } from '../kube/object.ts';
import type { Storage } from './git/index.ts';
import type { Metrics } from '../runtime/metrics.ts';
import { addFinalizer, removeFinalizer } from '../runtime/status.ts';
import type { Conditions } from '../runtime/conditions.ts';

export const SOURCE_FINALIZER = 'finalizers.fluxcd.io';

export interface SourceLifecycle {
  client: KubeClient;
  storage: Storage;
  metrics: Metrics;
  kind: string;
  plural: string;
  /** Storage directory kind, e.g. gitrepository. */
  storageKind: string;
}

/**
 * What every source controller does before its own work: forget objects
 * that are gone, remove a deleted object's artifacts and finalizer, add the
 * finalizer to a live one, and record whether it is suspended. Returns true
 * when the reconcile should go on.
 */
export async function sourceLifecycle(o: SourceLifecycle, obj: KubeObject | undefined, namespace: string, name: string): Promise<boolean> {
  if (!obj) {
    o.metrics.forget(o.kind, namespace, name);
    return false;
  }
  if (obj.metadata.deletionTimestamp) {
    await o.storage.removeAll(o.storageKind, namespace, name);
    await removeFinalizer(o.client, obj, o.plural, SOURCE_FINALIZER).catch((err) => {
      if (!isNotFound(err)) throw err;
    });
    o.metrics.forget(o.kind, namespace, name);
    return false;
  }
  await addFinalizer(o.client, obj, o.plural, SOURCE_FINALIZER);
  o.metrics.suspended.set({ kind: o.kind, namespace, name }, (obj.spec as { suspend?: boolean } | undefined)?.suspend ? 1 : 0);
  return true;
}

/** A source failure as its conditions need it. */
export interface SourceFailure {
  reason: string;
  message: string;
  /** The negative-polarity condition it sets (FetchFailed, BuildFailed, ...). */
  condition: string;
  /** A spec problem no retry fixes: Stalled until the spec changes. */
  stalled: boolean;
}

/**
 * Conditions of a failed source reconcile, as source-controller sets them:
 * the failure's own condition (after clearing the other failure kinds), Ready
 * False, and either Stalled (with the generation observed, since retrying
 * the same spec is pointless) or Reconciling with a retry.
 */
export function markSourceFailure(
  conds: Conditions,
  status: { observedGeneration?: number },
  generation: number,
  f: SourceFailure,
  failureKinds: string[],
): void {
  for (const t of failureKinds) conds.delete(t);
  conds.set(f.condition, 'True', f.reason, f.message);
  conds.set('Ready', 'False', f.reason, f.message);
  if (f.stalled) {
    conds.set('Stalled', 'True', f.reason, f.message);
    conds.delete('Reconciling');
    status.observedGeneration = generation;
  } else {
    conds.delete('Stalled');
    conds.set('Reconciling', 'True', 'ProgressingWithRetry', f.message);
  }
}
