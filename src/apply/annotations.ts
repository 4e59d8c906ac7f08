import type { KubeObject } from '../kube/object.ts';

// Flux's per-object annotations keep their meaning in Sluice.
export const SSA_ANNOTATION = 'kustomize.toolkit.fluxcd.io/ssa';
export const FORCE_ANNOTATION = 'kustomize.toolkit.fluxcd.io/force';
export const PRUNE_ANNOTATION = 'kustomize.toolkit.fluxcd.io/prune';
export const RECONCILE_ANNOTATION = 'kustomize.toolkit.fluxcd.io/reconcile';
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

export type SsaPolicy = 'Override' | 'Merge' | 'IfNotPresent' | 'Ignore';

function ann(obj: KubeObject | undefined, key: string): string | undefined {
  return obj?.metadata?.annotations?.[key];
}

/** The object's SSA policy; unknown values fall back to Override, as in Flux. */
export function ssaPolicy(obj: KubeObject): SsaPolicy {
  const v = ann(obj, SSA_ANNOTATION)?.toLowerCase();
  if (v === 'merge') return 'Merge';
  if (v === 'ifnotpresent') return 'IfNotPresent';
  if (v === 'ignore') return 'Ignore';
  return 'Override';
}

export function forceEnabled(obj: KubeObject | undefined): boolean {
  return ann(obj, FORCE_ANNOTATION)?.toLowerCase() === 'enabled';
}

export function pruneDisabled(obj: KubeObject | undefined): boolean {
  return ann(obj, PRUNE_ANNOTATION)?.toLowerCase() === 'disabled';
}

export function reconcileDisabled(obj: KubeObject | undefined): boolean {
  return ann(obj, RECONCILE_ANNOTATION)?.toLowerCase() === 'disabled';
}
