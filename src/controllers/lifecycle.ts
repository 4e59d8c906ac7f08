import type { KubeClient } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import type { KubeObject } from '../kube/object.ts';
import type { Storage } from '../source/index.ts';
import type { Metrics } from './metrics.ts';
import { addFinalizer, removeFinalizer } from './status.ts';

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
