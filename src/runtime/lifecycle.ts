// The start and end of every reconcile, the same for all kinds: forget an
// object that is gone, hand a deleted one to its finalization, keep the
// finalizer on a live one and record whether it is suspended; after
// finalization, drop the finalizer.
import { FINALIZER } from '../api/annotations.ts';
import type { KubeClient } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import type { Informer } from '../kube/informer.ts';
import type { KubeObject } from '../kube/object.ts';
import type { Metrics } from './metrics.ts';
import { addFinalizer, removeFinalizer } from './status.ts';
import type { NamespaceTeardown } from './teardown.ts';

export { FINALIZER };

export interface LifecycleOptions {
  client: KubeClient;
  metrics: Metrics;
  kind: string;
  plural: string;
  /** The controller's own namespace, whose objects are released when it is deleted (teardown.ts). */
  teardown?: NamespaceTeardown;
}

/**
 * Where a reconcile stands once the object is read: `gone` (nothing to do, its
 * metrics forgotten), `deleting` (finalize, then call `endDeletion`), or `live`
 * (finalizer in place; `suspended` tells whether spec.suspend is set).
 */
export type Begun<T extends KubeObject> = { phase: 'gone' } | { phase: 'deleting'; obj: T } | { phase: 'live'; obj: T; suspended: boolean };

/** Reads the object of `key` from the cache and does what every reconcile does first. */
export async function beginReconcile<T extends KubeObject>(o: LifecycleOptions, objects: Informer, key: string): Promise<Begun<T>> {
  const [namespace, name] = key.split('/') as [string, string];
  const obj = objects.get(namespace, name) as T | undefined;
  if (!obj) {
    o.metrics.forget(o.kind, namespace, name);
    return { phase: 'gone' };
  }
  if (obj.metadata.deletionTimestamp) {
    if (await o.teardown?.releases(obj)) {
      await endDeletion(o, obj);
      return { phase: 'gone' };
    }
    return { phase: 'deleting', obj };
  }
  await addFinalizer(o.client, obj, o.plural, FINALIZER);
  const suspended = !!(obj.spec as { suspend?: boolean } | undefined)?.suspend;
  o.metrics.suspended.set({ kind: o.kind, namespace, name }, suspended ? 1 : 0);
  return { phase: 'live', obj, suspended };
}

/** After finalization: the finalizer goes (an object already gone is fine) and the metrics are forgotten. */
export async function endDeletion(o: LifecycleOptions, obj: KubeObject): Promise<void> {
  await removeFinalizer(o.client, obj, o.plural, FINALIZER).catch((err) => {
    if (!isNotFound(err)) throw err;
  });
  o.metrics.forget(o.kind, obj.metadata.namespace!, obj.metadata.name!);
}
