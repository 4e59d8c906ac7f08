import type { KubeClient } from '../kube/client.ts';
import type { KubeObject, ManagedFieldsEntry } from '../kube/object.ts';
import { LAST_APPLIED_ANNOTATION } from './annotations.ts';

/**
 * Field managers whose fields Sluice takes over, so a cluster moves from
 * Flux or kubectl to Sluice without conflicts: Flux's controllers, kubectl's
 * client-side apply (and the `before-first-apply` entry the server makes
 * when it converts a client-side-applied object) and kubectl's server-side apply.
 */
export const DEFAULT_TAKEOVER_MANAGERS = [
  'kustomize-controller',
  'helm-controller',
  'kubectl-client-side-apply',
  'before-first-apply',
  'kubectl',
];

function takenOver(entry: ManagedFieldsEntry, managers: string[]): boolean {
  return !entry.subresource && !!entry.manager && managers.includes(entry.manager);
}

export function needsTakeover(live: KubeObject, managers: string[]): boolean {
  return (
    (live.metadata.managedFields ?? []).some((e) => takenOver(e, managers)) ||
    live.metadata.annotations?.[LAST_APPLIED_ANNOTATION] !== undefined
  );
}

/** Union of two fieldsV1 tries (`{"f:spec": {"f:replicas": {}}}`). */
export function mergeFieldSets(a: Record<string, unknown> = {}, b: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      prev && typeof prev === 'object' && v && typeof v === 'object'
        ? mergeFieldSets(prev as Record<string, unknown>, v as Record<string, unknown>)
        : (prev ?? v);
  }
  return out;
}

/**
 * The managed fields after the takeover: every field owned by a taken-over
 * manager becomes owned by `manager` through an Apply, so that the next apply
 * removes what Git no longer declares instead of leaving orphans behind.
 */
export function transferOwnership(
  entries: ManagedFieldsEntry[],
  managers: string[],
  manager: string,
  apiVersion: string,
): ManagedFieldsEntry[] {
  const kept: ManagedFieldsEntry[] = [];
  let fields: Record<string, unknown> | undefined;
  let own: ManagedFieldsEntry | undefined;
  for (const e of entries) {
    if (takenOver(e, managers)) {
      fields = mergeFieldSets(fields, e.fieldsV1);
    } else if (e.manager === manager && e.operation === 'Apply' && !e.subresource) {
      own = e;
    } else {
      kept.push(e);
    }
  }
  if (!fields) return entries;
  const merged: ManagedFieldsEntry = {
    manager,
    operation: 'Apply',
    apiVersion: own?.apiVersion ?? apiVersion,
    time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    fieldsType: 'FieldsV1',
    fieldsV1: mergeFieldSets(own?.fieldsV1, fields),
  };
  return [...kept, merged];
}

/**
 * Rewrites the live object's managedFields (and drops kubectl's
 * last-applied annotation) before Sluice applies it, guarded by the
 * resourceVersion so a concurrent writer makes it fail rather than be lost.
 */
export async function takeOver(
  client: KubeClient,
  path: string,
  live: KubeObject,
  managers: string[],
  manager: string,
): Promise<void> {
  const ops: unknown[] = [{ op: 'test', path: '/metadata/resourceVersion', value: live.metadata.resourceVersion }];
  const entries = live.metadata.managedFields ?? [];
  const next = transferOwnership(entries, managers, manager, live.apiVersion);
  if (next !== entries) ops.push({ op: 'replace', path: '/metadata/managedFields', value: next });
  if (live.metadata.annotations?.[LAST_APPLIED_ANNOTATION] !== undefined) {
    ops.push({ op: 'remove', path: `/metadata/annotations/${LAST_APPLIED_ANNOTATION.replace(/~/g, '~0').replace(/\//g, '~1')}` });
  }
  if (ops.length === 1) return;
  await client.request({
    method: 'PATCH',
    path,
    query: { fieldManager: manager },
    body: ops,
    contentType: 'application/json-patch+json',
  });
}
