import { createTwoFilesPatch } from 'diff';
import { stringify } from 'yaml';
import type { KubeObject } from '../kube/object.ts';
import { subject } from '../kube/object.ts';
import type { ApplyOptions, Planned, ResourceManager } from './manager.ts';

export interface ObjectDiff {
  subject: string;
  /** created: not in the cluster yet; configured: would change; unchanged; skipped by an annotation. */
  action: 'created' | 'configured' | 'unchanged' | 'skipped' | 'recreated';
  /** Unified YAML diff, live → result of the apply; empty when unchanged. */
  patch: string;
}

/**
 * What an apply would do, object by object, without writing: the dry-run
 * result against the live object, as a unified YAML diff. Secret values are
 * masked on both sides.
 */
export async function diffObjects(rm: ResourceManager, objects: KubeObject[], opts: ApplyOptions = {}, view: (o: KubeObject) => KubeObject = (o) => o): Promise<ObjectDiff[]> {
  const plan = await rm.plan(objects, opts);
  return plan.map((p) => diffOne(p, view));
}

/** `view` turns each side into what may be shown (the dashboard hides what a Flux object holds of secrets). */
function diffOne(p: Planned, view: (o: KubeObject) => KubeObject): ObjectDiff {
  const patchOf = (name: string, before: KubeObject | undefined, after: KubeObject) => patchText(name, before && view(before), view(after));
  const name = subject(p.obj);
  switch (p.decision) {
    case 'skip':
      return { subject: name, action: 'skipped', patch: '' };
    case 'unchanged':
      return { subject: name, action: 'unchanged', patch: '' };
    case 'deferred':
      // Its namespace or CRD comes with the same set: all of it is new.
      return { subject: name, action: 'created', patch: patchOf(name, undefined, p.obj) };
    case 'recreate':
      return { subject: name, action: 'recreated', patch: patchOf(name, p.live, p.obj) };
    default: {
      const after = p.merged ?? p.obj;
      const patch = patchOf(name, p.live, after);
      // Only bookkeeping differs (e.g. ownership moves to Sluice): nothing to show.
      return { subject: name, action: p.live ? (patch ? 'configured' : 'unchanged') : 'created', patch };
    }
  }
}

function patchText(name: string, before: KubeObject | undefined, after: KubeObject): string {
  const [b, a] = maskSecrets(before && clean(before), clean(after));
  const bText = b ? stringify(b, { sortMapEntries: true }) : '';
  const aText = stringify(a, { sortMapEntries: true });
  if (bText === aText) return '';
  return createTwoFilesPatch(`live/${name}`, `merged/${name}`, bText, aText, undefined, undefined, { context: 3 });
}

/** Drops what a person does not want in a diff: server bookkeeping and status. */
function clean(obj: KubeObject): KubeObject {
  const { status: _s, ...rest } = obj;
  const { managedFields: _m, resourceVersion: _r, generation: _g, uid: _u, creationTimestamp: _c, ...meta } = obj.metadata;
  return { ...rest, metadata: meta } as KubeObject;
}

/**
 * Replaces Secret values with `***`, as kubectl diff does, marking values
 * that differ so a change still shows without revealing either side.
 */
export function maskSecrets(before: KubeObject | undefined, after: KubeObject): [KubeObject | undefined, KubeObject] {
  if (after.kind !== 'Secret' || after.apiVersion !== 'v1') return [before, after];
  const b = before ? structuredClone(before) : undefined;
  const a = structuredClone(after);
  // kubectl apply's copy of the object holds its data in clear: masked as one value.
  const LAST = 'kubectl.kubernetes.io/last-applied-configuration';
  const bl = b?.metadata.annotations?.[LAST];
  const al = a.metadata.annotations?.[LAST];
  if (b && bl !== undefined) b.metadata.annotations = { ...b.metadata.annotations, [LAST]: bl !== al ? '*** (before)' : '***' };
  if (al !== undefined) a.metadata.annotations = { ...a.metadata.annotations, [LAST]: bl !== al ? '*** (after)' : '***' };
  for (const field of ['data', 'stringData'] as const) {
    const bv = (b?.[field] ?? {}) as Record<string, string>;
    const av = (a[field] ?? {}) as Record<string, string>;
    for (const k of new Set([...Object.keys(bv), ...Object.keys(av)])) {
      const changed = bv[k] !== av[k];
      if (k in bv) bv[k] = changed ? '*** (before)' : '***';
      if (k in av) av[k] = changed ? '*** (after)' : '***';
    }
  }
  return [b, a];
}
