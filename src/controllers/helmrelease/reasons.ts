// Flux's reasons for HelmRelease conditions and events, in a file of their
// own because every step of a reconcile (preparation, each action, drift,
// status) writes them and none of those steps should import another for it.

/** Flux's reasons for HelmRelease conditions. */
export const Reason = {
  InstallSucceeded: 'InstallSucceeded',
  InstallFailed: 'InstallFailed',
  UpgradeSucceeded: 'UpgradeSucceeded',
  UpgradeFailed: 'UpgradeFailed',
  TestSucceeded: 'TestSucceeded',
  TestFailed: 'TestFailed',
  RollbackSucceeded: 'RollbackSucceeded',
  RollbackFailed: 'RollbackFailed',
  UninstallSucceeded: 'UninstallSucceeded',
  UninstallFailed: 'UninstallFailed',
  ArtifactFailed: 'ArtifactFailed',
  /** A source reference the controller may not follow (cross-namespace, a feature gate that is off). */
  AccessDenied: 'AccessDenied',
  InitFailed: 'InitFailed',
  GetLastReleaseFailed: 'GetLastReleaseFailed',
  DependencyNotReady: 'DependencyNotReady',
  InvalidCELExpression: 'InvalidCELExpression',
  SourceNotReady: 'SourceNotReady',
  ValuesError: 'ValuesError',
  PostRendererError: 'PostRendererError',
  RetriesExceeded: 'RetriesExceeded',
  PendingRelease: 'PendingRelease',
  Progressing: 'Progressing',
  DriftDetected: 'DriftDetected',
  NoDriftDetected: 'NoDriftDetected',
  /** Sluice's own: the Helm release of this name belongs to something else. */
  ReleaseOwnershipConflict: 'ReleaseOwnershipConflict',
} as const;

/** Reasons whose action already recorded its own event: a failed reconcile does not record a second one. */
const ACTION_REASONS: ReadonlySet<string> = new Set([
  Reason.InstallFailed,
  Reason.UpgradeFailed,
  Reason.TestFailed,
  Reason.RollbackSucceeded,
  Reason.RollbackFailed,
  Reason.UninstallSucceeded,
  Reason.UninstallFailed,
  Reason.PendingRelease,
]);

export function isActionReason(reason: string): boolean {
  return ACTION_REASONS.has(reason);
}
