// Writing status and finalizers: only what changed, through the status subresource.
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
  if (sameJson(prev, next)) return false;
  await client.request({
    method: 'PATCH',
    path: `${objectPath(obj, plural)}/status`,
    contentType: 'application/merge-patch+json',
    body: { status: mergePatch(prev, next) },
  });
  return true;
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The JSON merge patch from `prev` to `next`: a key gone at any depth of
 * nested maps is sent as null (a merge patch merges maps, so a key left out
 * would stay, e.g. one of an artifact's metadata); lists are replaced whole.
 */
export function mergePatch(prev: Record<string, unknown>, next: Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const k of Object.keys(prev)) if (!(k in next) || next[k] === undefined) body[k] = null;
  for (const [k, v] of Object.entries(next)) {
    if (v === undefined) continue;
    const old = prev[k];
    body[k] = isMap(v) && isMap(old) ? mergePatch(old, v) : v;
  }
  return body;
}

/**
 * Whether two values serialize to the same JSON, key order aside: what a
 * JSON round trip and a deep comparison would say (keys whose values JSON
 * omits do not count, `undefined` in arrays is null, toJSON is honoured),
 * without serializing anything. Every reconcile of every object compares its
 * status this way.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  const x = asJson(a);
  const y = asJson(b);
  if (x === y) return true;
  if (typeof x === 'number' || typeof y === 'number') return nonFiniteAsNull(x) === nonFiniteAsNull(y);
  if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null) return false;
  if (Array.isArray(x) || Array.isArray(y)) {
    if (!Array.isArray(x) || !Array.isArray(y) || x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!sameJson(inArray(x[i]), inArray(y[i]))) return false;
    return true;
  }
  const xo = x as Record<string, unknown>;
  const yo = y as Record<string, unknown>;
  let kept = 0;
  for (const k of Object.keys(xo)) {
    const v = asJson(xo[k]);
    if (omitted(v)) continue;
    kept++;
    if (!Object.hasOwn(yo, k) || !sameJson(v, yo[k])) return false;
  }
  for (const k of Object.keys(yo)) if (!omitted(asJson(yo[k]))) kept--;
  return kept === 0;
}

/** What JSON.stringify serializes in place of a value (toJSON applied). */
function asJson(v: unknown): unknown {
  return v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function' ? (v as { toJSON(): unknown }).toJSON() : v;
}

/** Values JSON.stringify leaves out of objects (and writes as null in arrays). */
function omitted(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

function inArray(v: unknown): unknown {
  const j = asJson(v);
  return omitted(j) ? null : j;
}

function nonFiniteAsNull(v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? null : v;
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
