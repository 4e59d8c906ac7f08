// What the Git source needs of Flux's GitRepository (source.toolkit.fluxcd.io/v1)
// beyond its API types: constants, condition types and Flux's reasons.

export const GITREPOSITORY_API_VERSION = 'source.toolkit.fluxcd.io/v1';
export const GITREPOSITORY_KIND = 'GitRepository';
export const GITREPOSITORY_GROUP = 'source.toolkit.fluxcd.io';

/** Annotation a user sets to ask for an immediate reconcile. */
export { REQUESTED_AT as RECONCILE_REQUEST_ANNOTATION } from '../../api/annotations.ts';

// The API types (spec, status, artifact, condition) are the TypeBox schemas'
// own (src/api); this file re-exports them for the Git source.
export type { Artifact, GitRepository, GitRepositoryInclude, GitRepositoryRef, GitRepositorySpec, GitRepositoryStatus } from '../../api/gitrepository.ts';
export type { Condition } from '../../api/schema.ts';
import type { GitRepositorySpec } from '../../api/gitrepository.ts';
import type { Condition } from '../../api/schema.ts';

export type ConditionStatus = Condition['status'];
export type GitVerificationMode = NonNullable<NonNullable<GitRepositorySpec['verify']>['mode']>;

/** Condition types used by the GitRepository API. */
export const ConditionType = {
  Ready: 'Ready',
  Reconciling: 'Reconciling',
  Stalled: 'Stalled',
  ArtifactInStorage: 'ArtifactInStorage',
  ArtifactOutdated: 'ArtifactOutdated',
  FetchFailed: 'FetchFailed',
  SourceVerified: 'SourceVerified',
  IncludeUnavailable: 'IncludeUnavailable',
  StorageOperationFailed: 'StorageOperationFailed',
} as const;

/** Condition and event reasons, as Flux spells them. */
export const Reason = {
  Succeeded: 'Succeeded',
  Failed: 'Failed',
  Progressing: 'Progressing',
  ProgressingWithRetry: 'ProgressingWithRetry',
  NewRevision: 'NewRevision',
  IncludeChange: 'IncludeChange',
  NewArtifact: 'NewArtifact',
  ArtifactUpToDate: 'ArtifactUpToDate',
  GitOperationFailed: 'GitOperationFailed',
  GitOperationSucceeded: 'GitOperationSucceeded',
  AuthenticationFailed: 'AuthenticationFailed',
  URLInvalid: 'URLInvalid',
  VerificationError: 'VerificationError',
  InvalidCommitSignature: 'InvalidCommitSignature',
  InvalidTagSignature: 'InvalidTagSignature',
  InvalidGitObject: 'InvalidGitObject',
  InvalidVerificationMode: 'InvalidVerificationMode',
  InvalidProviderConfiguration: 'InvalidProviderConfiguration',
  NotFound: 'NotFound',
  NoArtifact: 'NoArtifact',
  IllegalPath: 'IllegalPath',
  CopyFailure: 'CopyFailure',
  ArchiveOperationFailed: 'ArchiveOperationFailed',
  DirCreationFailed: 'DirectoryCreationFailed',
  StatOperationFailed: 'StatOperationFailed',
  EmptyGitRepository: 'EmptyGitRepository',
} as const;

export type { SourceEvent } from '../shell.ts';
