// The Git source (Flux's GitRepository, source.toolkit.fluxcd.io/v1) as a
// library: a mirror cache over the system git, artifact building and storage,
// an HTTP server for artifacts, and the reconcile core.
export * from './types.ts';
export { reconcileGitRepository, shortMessage } from './reconcile.ts';
export type { ReconcileDeps, ReconcileResult, ReconcileOutcome, IncludedArtifactRef } from './reconcile.ts';
export { MirrorCache, DEFAULT_BRANCH } from './mirror.ts';
export type { ResolvedRevision, MirrorStats } from './mirror.ts';
export { Storage } from '../storage/storage.ts';
export type { StorageOptions } from '../storage/storage.ts';
export { startStorageServer } from '../storage/server.ts';
export type { StorageServer, StorageServerOptions } from '../storage/server.ts';
export { SourceIgnore, DEFAULT_EXCLUSIONS, EXCLUDE_VCS } from '../ignore.ts';
export { DEFAULT_LIMITS, type ArtifactLimits } from '../artifact.ts';
export { parseDuration } from '../../runtime/conditions.ts';
export type { SecretData } from './auth.ts';
export { GitError } from './errors.ts';
