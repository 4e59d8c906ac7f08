import { isDeepStrictEqual } from 'node:util';
import type { KubeClient } from '../kube/client.ts';
import type { KubeObject } from '../kube/object.ts';

/** The REST path of a custom object: /apis/<group>/<version>/namespaces/<ns>/<plural>/<name>. */
export function objectPath(obj: KubeObject, plural: string): string {
  return `/apis/${obj.apiVersion}/namespaces/${obj.metadata.namespace}/${plural}/${obj.metadata.name}`;
}

/**
 * Writes `next` through the status subresource when, and only when, it
 * differs from what the object has: a steady-state reconcile writes nothing.
 * Keys the old status had and the new one lacks are removed.
 */
export async function patchStatus(
  client: KubeClient,
  obj: KubeObject,
  plural: string,
  next: Record<string, unknown>,
): Promise<boolean> {
  const prev = (obj.status ?? {}) as Record<string, unknown>;
  if (isDeepStrictEqual(stripUndefined(prev), stripUndefined(next))) return false;
  const body: Record<string, unknown> = {};
  for (const k of Object.keys(prev)) if (!(k in next) || next[k] === undefined) body[k] = null;
  for (const [k, v] of Object.entries(next)) if (v !== undefined) body[k] = v;
  await client.request({
    method: 'PATCH',
    path: `${objectPath(obj, plural)}/status`,
    contentType: 'application/merge-patch+json',
    body: { status: body },
  });
  return true;
}

function stripUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(o)) as Record<string, unknown>;
}

/** Adds a finalizer (guarded by resourceVersion). Returns false when it was there already. */
export async function addFinalizer(client: KubeClient, obj: KubeObject, plural: string, finalizer: string): Promise<boolean> {
  const list = obj.metadata.finalizers ?? [];
  if (list.includes(finalizer)) return false;
  await client.request({
    method: 'PATCH',
    path: objectPath(obj, plural),
    contentType: 'application/merge-patch+json',
    body: { metadata: { finalizers: [...list, finalizer], resourceVersion: obj.metadata.resourceVersion } },
  });
  return true;
}

export async function removeFinalizer(client: KubeClient, obj: KubeObject, plural: string, finalizer: string): Promise<void> {
  const list = obj.metadata.finalizers ?? [];
  if (!list.includes(finalizer)) return;
  await client.request({
    method: 'PATCH',
    path: objectPath(obj, plural),
    contentType: 'application/merge-patch+json',
    body: { metadata: { finalizers: list.filter((f) => f !== finalizer), resourceVersion: obj.metadata.resourceVersion } },
  });
}
