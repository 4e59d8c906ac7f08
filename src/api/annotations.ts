// Flux's annotations that are part of its API: a user (or `flux reconcile`)
// sets them on an object to ask its controller for something now, and the
// controller records in status which request it handled.

/** Reconcile now; the value is recorded in status.lastHandledReconcileAt once handled. */
export const REQUESTED_AT = 'reconcile.fluxcd.io/requestedAt';
/** HelmRelease: run the next Helm action even if the release is in sync. */
export const FORCE_AT = 'reconcile.fluxcd.io/forceAt';
/** HelmRelease: reset the failure counters, so retries start again. */
export const RESET_AT = 'reconcile.fluxcd.io/resetAt';
/**
 * Sluice's pin (`sluice rollback ... --to`): a Kustomization runs this
 * revision instead of its source's; a HelmRelease is left at the Helm
 * revision it was rolled back to, with no upgrade back to Git's, until the
 * annotation is removed.
 */
export const SLUICE_PIN = 'sluice.dev/rollback-to';

/** Flux's finalizer, the same on every kind: the controller cleans up before the object goes. */
export const FINALIZER = 'finalizers.fluxcd.io';

/**
 * Artifact metadata keys Sluice adds to a source's status.artifact.metadata
 * (a map[string]string in Flux's API, so any key is schema-valid), read by
 * the dashboard. GitRepository: the fetched commit's author ("Name <email>"),
 * author date (RFC 3339, UTC) and subject (first line, capped).
 */
export const COMMIT_AUTHOR_METADATA = 'sluice.dev/commit-author';
export const COMMIT_DATE_METADATA = 'sluice.dev/commit-date';
export const COMMIT_SUBJECT_METADATA = 'sluice.dev/commit-subject';
/** Every source kind: how long the reconcile that stored the artifact took (fetch and build), e.g. "1.23s". */
export const FETCH_DURATION_METADATA = 'sluice.dev/fetch-duration';
