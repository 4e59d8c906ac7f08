// `spec.dependsOn` of the appliers (Kustomization, HelmRelease): whether the
// objects one depends on are ready, and which objects wait on a given one.
import type { Informer } from '../kube/informer.ts';
import { findCondition, type KubeObject } from '../kube/object.ts';

export interface DependencyReference {
  name: string;
  namespace?: string;
}

/** Why a dependency holds an object back. */
export interface UnmetDependency {
  namespace: string;
  name: string;
  /** `crossNamespace`: refused by --no-cross-namespace-refs (a spec problem); `notReady`: wait and look again. */
  problem: 'crossNamespace' | 'notReady';
}

/**
 * Ready in Flux's sense of a dependency: Ready=True for the object's current
 * generation, so a dependency whose spec just changed holds its dependents
 * back until it has reconciled that change.
 */
export function readyAtGeneration(obj: KubeObject | undefined): boolean {
  if (!obj) return false;
  return findCondition(obj, 'Ready')?.status === 'True' && (obj.status?.observedGeneration as number | undefined) === obj.metadata.generation;
}

/** The first dependency, in spec order, that is not met; undefined when all are. */
export function unmetDependency(
  deps: DependencyReference[] | undefined,
  namespace: string,
  objects: Informer,
  o: { noCrossNamespaceRefs?: boolean } = {},
): UnmetDependency | undefined {
  for (const dep of deps ?? []) {
    const depNs = dep.namespace ?? namespace;
    if (o.noCrossNamespaceRefs && depNs !== namespace) return { namespace: depNs, name: dep.name, problem: 'crossNamespace' };
    if (!readyAtGeneration(objects.get(depNs, dep.name))) return { namespace: depNs, name: dep.name, problem: 'notReady' };
  }
  return undefined;
}

/** Keys (namespace/name) of the objects in `objects` whose dependsOn names the given one. */
export function dependentsOf(objects: Informer, namespace: string, name: string): string[] {
  return objects
    .list()
    .filter((k) => ((k.spec as { dependsOn?: DependencyReference[] } | undefined)?.dependsOn ?? []).some((d) => d.name === name && (d.namespace ?? k.metadata.namespace) === namespace))
    .map((k) => `${k.metadata.namespace}/${k.metadata.name}`);
}
