import type { Discovery } from '../kube/discovery.ts';
import { objectId, parseApiVersion, subject, type KubeObject } from '../kube/object.ts';
import { stageOf } from './stages.ts';
import type { ApplyOptions, Planned } from './types.ts';

export interface Problem {
  subject: string;
  message: string;
}

/** The API server refuses requests over 3 MiB, and etcd objects over 1.5 MiB. */
export const MAX_OBJECT_BYTES = 1.5 * 1024 * 1024;

/**
 * Checks a set before any write, with no request but discovery: every
 * object has a kind the server (or a CRD in the same set) knows, a name, a
 * namespace when its kind needs one, fits the size limit, and appears once.
 * Returns copies ready to apply (namespace defaulted, owner labels added).
 */
export async function validateSet(
  objects: KubeObject[],
  discovery: Discovery,
  opts: ApplyOptions,
): Promise<{ planned: Planned[]; problems: Problem[] }> {
  const problems: Problem[] = [];
  const planned: Planned[] = [];
  const crdKinds = new Set<string>();
  const namespacesInSet = new Set<string>();
  for (const o of objects) {
    if (o.kind === 'CustomResourceDefinition' && o.spec) {
      const spec = o.spec as { group?: string; names?: { kind?: string }; versions?: Array<{ name: string }> };
      for (const v of spec.versions ?? []) crdKinds.add(`${spec.group}/${v.name}/${spec.names?.kind}`);
    }
    if (o.kind === 'Namespace' && o.apiVersion === 'v1' && o.metadata?.name) namespacesInSet.add(o.metadata.name);
  }
  const seen = new Map<string, number>();

  for (const [index, original] of objects.entries()) {
    const label = describe(original, index);
    if (!original || typeof original !== 'object' || !original.apiVersion || !original.kind) {
      problems.push({ subject: label, message: 'document has no apiVersion or kind' });
      continue;
    }
    if (!original.metadata?.name) {
      problems.push({ subject: label, message: 'object has no metadata.name' });
      continue;
    }
    const obj = structuredClone(original);
    const mapping = await discovery.mapping(obj.apiVersion, obj.kind);
    const { group, version } = parseApiVersion(obj.apiVersion);
    const definedInSet = crdKinds.has(`${group}/${version}/${obj.kind}`);
    if (!mapping && !definedInSet) {
      problems.push({
        subject: label,
        message: `unknown kind ${obj.kind} in ${obj.apiVersion}: the server has no such resource (is its CustomResourceDefinition installed?)`,
      });
      continue;
    }
    const namespaced = mapping ? mapping.namespaced : isNamespacedCrdKind(objects, group, obj.kind);
    if (namespaced) {
      obj.metadata.namespace ||= opts.defaultNamespace;
      if (!obj.metadata.namespace) {
        problems.push({ subject: label, message: `${obj.kind} is namespaced but names no namespace, and no default namespace was given` });
        continue;
      }
    } else if (obj.metadata.namespace) {
      delete obj.metadata.namespace; // cluster-scoped: a namespace means nothing, as kubectl treats it
    }
    if (opts.ownerLabels) obj.metadata.labels = { ...obj.metadata.labels, ...opts.ownerLabels };
    const id = objectId(obj);
    const dup = seen.get(id);
    if (dup !== undefined) {
      problems.push({ subject: subject(obj), message: `appears more than once in the set (documents ${dup + 1} and ${index + 1})` });
      continue;
    }
    seen.set(id, index);
    const json = JSON.stringify(obj);
    const size = Buffer.byteLength(json);
    if (size > MAX_OBJECT_BYTES) {
      problems.push({ subject: subject(obj), message: `is ${(size / 1024 / 1024).toFixed(2)} MiB, over the API's limit of 1.5 MiB per object` });
      continue;
    }
    planned.push({
      obj,
      index: planned.length,
      stage: stageOf(obj),
      mapping,
      decision: mapping ? 'create' : 'deferred',
      takeover: false,
      namespaceInSet: !!obj.metadata.namespace && namespacesInSet.has(obj.metadata.namespace),
      json,
    });
  }
  return { planned, problems };
}

function isNamespacedCrdKind(objects: KubeObject[], group: string, kind: string): boolean {
  const crd = objects.find(
    (o) =>
      o.kind === 'CustomResourceDefinition' &&
      (o.spec as { group?: string })?.group === group &&
      (o.spec as { names?: { kind?: string } })?.names?.kind === kind,
  );
  return (crd?.spec as { scope?: string } | undefined)?.scope !== 'Cluster';
}

function describe(obj: KubeObject | undefined, index: number): string {
  if (obj?.kind && obj.metadata?.name) return subject(obj);
  return `document ${index + 1}${obj?.kind ? ` (${obj.kind})` : ''}`;
}
