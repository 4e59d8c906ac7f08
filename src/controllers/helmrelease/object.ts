// The HelmRelease object as the controller sees it, and the names derived
// from it (its Helm release's name, the labels that tie a release to it, the
// annotations that request a reconcile). Kept apart from the controller so the
// reconcile steps can use them without importing the controller.
import { createHash } from 'node:crypto';
import type { HelmReleaseRecord } from '../../helm/release.ts';

export const HR_PLURAL = 'helmreleases';
export const HR_NAME_LABEL = 'helm.toolkit.fluxcd.io/name';
export const HR_NAMESPACE_LABEL = 'helm.toolkit.fluxcd.io/namespace';
export { FORCE_AT, REQUESTED_AT, RESET_AT } from '../../api/annotations.ts';

/** A HelmRelease object (the API's type, under the name this controller has always used). */
export type { HelmRelease as HelmReleaseObject } from '../../api/helmrelease.ts';
import type { HelmRelease as HelmReleaseObject } from '../../api/helmrelease.ts';

/** Flux's release name: releaseName, or [<targetNamespace>-]<name>, hashed down to 53 characters. */
export function releaseNameOf(obj: HelmReleaseObject): string {
  if (obj.spec.releaseName) return obj.spec.releaseName;
  const name = obj.spec.targetNamespace ? `${obj.spec.targetNamespace}-${obj.metadata.name}` : obj.metadata.name!;
  if (name.length <= 53) return name;
  return `${name.slice(0, 40)}-${createHash('sha256').update(name).digest('hex').slice(0, 12)}`;
}

/** Labels on the release itself, so another HelmRelease cannot take it by accident. */
export function releaseLabels(namespace: string, name: string): Record<string, string> {
  return { [HR_NAME_LABEL]: name, [HR_NAMESPACE_LABEL]: namespace };
}

/** Does a stored release say which HelmRelease it belongs to, and is it this one? undefined: it says nothing. */
export function ownedBy(rel: HelmReleaseRecord, namespace: string, name: string): boolean | undefined {
  const n = rel.labels?.[HR_NAME_LABEL];
  const ns = rel.labels?.[HR_NAMESPACE_LABEL];
  if (!n && !ns) return undefined;
  return n === name && ns === namespace;
}
