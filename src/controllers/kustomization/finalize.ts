// Deletion: garbage-collect what the Kustomization applied, as its
// deletionPolicy says (optionally waiting until the objects are gone), then
// drop the finalizer and forget what the controller kept for it.
import { formatChangeSet } from '../../apply/changeset.ts';
import type { ResourceManager } from '../../apply/manager.ts';
import { entryRef } from '../../apply/pipeline.ts';
import { pruneStale } from '../../apply/prune.ts';
import { staleEntries } from '../../apply/inventory.ts';
import type { WaitRef } from '../../health/wait.ts';
import type { KubeClient } from '../../kube/client.ts';
import { endDeletion } from '../../runtime/lifecycle.ts';
import type { ReconcileOutcome } from '../../runtime/queue.ts';
import { formatDuration, parseDuration } from '../../util/duration.ts';
import type { Logger } from '../../util/log.ts';
import { targetFor } from './apply.ts';
import type { Env } from './attempt.ts';
import { NAME_LABEL, NAMESPACE_LABEL, type Kustomization } from './names.ts';

export async function finalize(env: Env, obj: Kustomization, log: Logger): Promise<ReconcileOutcome> {
  const policy = obj.spec.deletionPolicy ?? 'MirrorPrune';
  const gc = !obj.spec.suspend && (policy === 'Delete' || policy === 'WaitForTermination' || (policy === 'MirrorPrune' && obj.spec.prune));
  const inv = obj.status?.inventory;
  if (gc && inv?.entries.length) {
    const name = obj.metadata.name!;
    const namespace = obj.metadata.namespace!;
    try {
      const target = await targetFor(env, obj);
      const stale = staleEntries(inv, { entries: [] });
      const deleted = await pruneStale(target.rm, stale, {
        ownerLabels: { [NAME_LABEL]: name, [NAMESPACE_LABEL]: namespace },
        allowMassPrune: true,
        inventorySize: inv.entries.length,
        newSetSize: 0,
      });
      if (policy === 'WaitForTermination') {
        const refs = deleted.filter((e) => e.action === 'deleted').map(entryRef);
        await waitGone(target.client, target.rm, refs, obj.spec.timeout ? parseDuration(obj.spec.timeout) : 5 * 60_000);
      }
      if (deleted.length) await env.o.events.record(obj, 'Normal', 'GarbageCollectionSucceeded', formatChangeSet(deleted));
    } catch (err) {
      log.error('garbage collection failed', { error: (err as Error).message });
      await env.o.events.record(obj, 'Warning', 'GarbageCollectionFailed', (err as Error).message);
      return { error: err };
    }
  }
  await endDeletion(env.lifecycle, obj);
  const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
  env.memos.delete(key);
  env.builds.delete(key);
  return {};
}

/** Waits until every object of `refs` is gone from the cluster (their finalizers done). */
async function waitGone(client: KubeClient, rm: ResourceManager, refs: WaitRef[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const ref of refs) {
    const m = await rm.discovery.mapping(ref.apiVersion, ref.kind);
    if (!m) continue;
    const base = m.group ? `/apis/${m.group}/${m.version}` : `/api/${m.version}`;
    const path = `${base}${m.namespaced && ref.namespace ? `/namespaces/${ref.namespace}` : ''}/${m.resource}/${ref.name}`;
    while ((await client.getOrUndefined(path)) !== undefined) {
      if (Date.now() > deadline) throw new Error(`${ref.kind}/${ref.name} still terminating after ${formatDuration(timeoutMs)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
