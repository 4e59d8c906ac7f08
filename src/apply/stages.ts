import { parseApiVersion, type KubeObject } from '../kube/object.ts';

/**
 * Apply order, as Flux does it: definitions that other objects depend on
 * first (CRDs, Namespaces, ClusterRoles), then class kinds (StorageClass,
 * IngressClass, PriorityClass, RuntimeClass...), then everything else.
 * Deletion runs in the reverse order.
 */
export type Stage = 0 | 1 | 2;

export function stageOf(obj: Pick<KubeObject, 'apiVersion' | 'kind'>): Stage {
  const { group } = parseApiVersion(obj.apiVersion);
  if (obj.kind === 'CustomResourceDefinition' && group === 'apiextensions.k8s.io') return 0;
  if (obj.kind === 'Namespace' && group === '') return 0;
  if (obj.kind === 'ClusterRole' && group === 'rbac.authorization.k8s.io') return 0;
  if (obj.kind.endsWith('Class')) return 1;
  return 2;
}

/** Splits objects into their stages, keeping the input order within a stage. */
export function byStage<T extends Pick<KubeObject, 'apiVersion' | 'kind'>>(objects: T[]): [T[], T[], T[]] {
  const out: [T[], T[], T[]] = [[], [], []];
  for (const o of objects) out[stageOf(o)].push(o);
  return out;
}
