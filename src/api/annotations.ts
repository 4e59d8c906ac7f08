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
