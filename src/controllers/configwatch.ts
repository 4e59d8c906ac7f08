// The ConfigMaps and Secrets the appliers watch, as Flux's
// --watch-configs-label-selector picks them (by default those labelled
// reconcile.fluxcd.io/watch: Enabled): one shared cache of each, so a change
// in one that a Kustomization or a HelmRelease uses re-reconciles it at once
// instead of at its next interval.
import type { Informer } from '../kube/informer.ts';
import type { KubeObject } from '../kube/object.ts';
import type { ControllerManager } from '../runtime/manager.ts';

export const WATCH_LABEL = 'reconcile.fluxcd.io/watch';
/** Flux's default for --watch-configs-label-selector. */
export const DEFAULT_WATCH_CONFIGS_SELECTOR = `${WATCH_LABEL}=Enabled`;

export interface ConfigInformers {
  configMaps: Informer;
  secrets: Informer;
}

/** The shared caches of watched ConfigMaps and Secrets; an empty selector watches all of them. */
export function configInformers(manager: ControllerManager, selector = DEFAULT_WATCH_CONFIGS_SELECTOR): ConfigInformers {
  const query = selector ? `?labelSelector=${encodeURIComponent(selector)}` : '';
  return { configMaps: manager.informer(`/api/v1/configmaps${query}`), secrets: manager.informer(`/api/v1/secrets${query}`) };
}

/**
 * Whether a watch event is worth a reconcile of the objects that use the
 * ConfigMap or Secret: it appeared, went away (even an optional reference
 * counts, as in Flux), or its data changed (not a label or an annotation).
 */
export function configDataChanged(type: string, obj: KubeObject, old?: KubeObject): boolean {
  if (type !== 'MODIFIED' || !old) return true;
  return JSON.stringify(obj.data ?? null) !== JSON.stringify(old.data ?? null) || JSON.stringify(obj.binaryData ?? null) !== JSON.stringify(old.binaryData ?? null);
}
