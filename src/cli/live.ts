// The live objects an applier's inventory names, read from the cluster, with
// their health as the controllers judge it (wait, tree).
import { computeHealth, type HealthResult } from '../health/index.ts';
import type { KubeClient } from '../kube/client.ts';
import { Discovery, resourcePath } from '../kube/discovery.ts';
import { parseObjectId, subject, type KubeObject, type ObjectRef } from '../kube/object.ts';

export interface InventoryItem {
  ref: ObjectRef;
  /** The API version the inventory recorded. */
  version: string;
  subject: string;
  /** The live object; undefined when it is gone or its kind is not served. */
  live?: KubeObject;
  health?: HealthResult;
}

const rec = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});

/** The inventory entries of a Kustomization's or HelmRelease's status. */
export function inventoryOf(obj: KubeObject): Array<{ id: string; v: string }> {
  const entries = rec(rec(obj.status).inventory).entries;
  return Array.isArray(entries) ? (entries as Array<{ id: string; v: string }>) : [];
}

/** Reads every inventory entry's live object (eight at a time), with its health when `health` is set. */
export async function readInventory(client: KubeClient, discovery: Discovery, obj: KubeObject, opts: { health?: boolean } = {}): Promise<InventoryItem[]> {
  const items: InventoryItem[] = inventoryOf(obj).map((e) => {
    const ref = parseObjectId(e.id);
    return { ref, version: e.v, subject: subject(ref) };
  });
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      const apiVersion = item.ref.group ? `${item.ref.group}/${item.version}` : item.version;
      const m = await discovery.mapping(apiVersion, item.ref.kind);
      if (m) item.live = await client.getOrUndefined<KubeObject>(resourcePath(m, item.ref.namespace || undefined, item.ref.name));
      if (opts.health) {
        item.health = item.live
          ? computeHealth({ ...item.live, apiVersion: item.live.apiVersion ?? apiVersion, kind: item.live.kind ?? item.ref.kind })
          : { status: 'NotFound', message: m ? 'not found in the cluster' : `the API server does not serve ${apiVersion} ${item.ref.kind}` };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, items.length) }, worker));
  return items;
}

export function newDiscovery(client: KubeClient): Discovery {
  return new Discovery(client);
}
