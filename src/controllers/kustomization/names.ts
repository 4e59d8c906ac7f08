// The names the Kustomization controller shares with Flux and with its own
// stages: the kind's plural, labels and annotations it reads or writes, the
// condition reasons, and the object's type (the API's spec and status).

export { FINALIZER } from '../../runtime/lifecycle.ts';

export const KS_PLURAL = 'kustomizations';
export { KS_NAME_LABEL as NAME_LABEL, KS_NAMESPACE_LABEL as NAMESPACE_LABEL } from '../../api/kustomization.ts';
export { REQUESTED_AT } from '../../api/annotations.ts';
/** Sluice's own opt-in for a prune of more than half of the inventory. */
export const ALLOW_MASS_PRUNE = 'sluice.dev/allow-mass-prune';

export type { Kustomization } from '../../api/kustomization.ts';

/** Flux's reasons for Kustomization conditions. */
export const Reason = {
  Succeeded: 'ReconciliationSucceeded',
  Failed: 'ReconciliationFailed',
  Progressing: 'Progressing',
  ArtifactFailed: 'ArtifactFailed',
  BuildFailed: 'BuildFailed',
  HealthCheckFailed: 'HealthCheckFailed',
  DependencyNotReady: 'DependencyNotReady',
  PruneFailed: 'PruneFailed',
  AccessDenied: 'AccessDenied',
  HealthCheckCanceled: 'HealthCheckCanceled',
  InvalidCELExpression: 'InvalidCELExpression',
} as const;

/** The metadata key of an artifact's origin revision: the revision of the code it was built from (Flux's OCIArtifactOriginRevisionAnnotation). */
export const ORIGIN_REVISION_KEY = 'org.opencontainers.image.revision';

/** The annotations Flux puts on a Kustomization's events to name the source revision and, when the artifact has one, its origin revision. */
export function revisionAnnotation(revision: string | undefined, originRevision?: string): Record<string, string> | undefined {
  if (!revision && !originRevision) return undefined;
  return {
    ...(revision ? { 'kustomize.toolkit.fluxcd.io/revision': revision } : {}),
    ...(originRevision ? { 'kustomize.toolkit.fluxcd.io/originRevision': originRevision } : {}),
  };
}
