// Types for Flux's GitRepository (source.toolkit.fluxcd.io/v1), shaped as the
// API server stores them (JSON field names), so a controller can pass objects
// straight through.

export const GITREPOSITORY_API_VERSION = 'source.toolkit.fluxcd.io/v1';
export const GITREPOSITORY_KIND = 'GitRepository';
export const GITREPOSITORY_GROUP = 'source.toolkit.fluxcd.io';

/** Annotation a user sets to ask for an immediate reconcile. */
export const RECONCILE_REQUEST_ANNOTATION = 'reconcile.fluxcd.io/requestedAt';

export interface LocalObjectReference {
  name: string;
}

export interface GitRepositoryRef {
  /** Branch to check out; 'master' when no other field is set. */
  branch?: string;
  /** Tag to check out; takes precedence over branch. */
  tag?: string;
  /** SemVer range over the tags; takes precedence over tag. */
  semver?: string;
  /** Full reference name (refs/heads/x, refs/pull/1/head); takes precedence over semver. */
  name?: string;
  /** Full commit SHA; takes precedence over everything, may be combined with branch. */
  commit?: string;
}

export type GitVerificationMode = 'HEAD' | 'head' | 'Tag' | 'TagAndHEAD';

export interface GitRepositoryVerification {
  mode?: GitVerificationMode;
  secretRef: LocalObjectReference;
}

export interface GitRepositoryInclude {
  repository: LocalObjectReference;
  fromPath?: string;
  toPath?: string;
}

export interface GitRepositorySpec {
  url: string;
  secretRef?: LocalObjectReference;
  /** Go duration, e.g. '5m0s'. */
  interval: string;
  /** Go duration for Git operations, default '60s'. */
  timeout?: string;
  ref?: GitRepositoryRef;
  verify?: GitRepositoryVerification;
  proxySecretRef?: LocalObjectReference;
  ignore?: string;
  suspend?: boolean;
  recurseSubmodules?: boolean;
  include?: GitRepositoryInclude[];
  sparseCheckout?: string[];
  /** 'generic' (the default) is the only provider supported here. */
  provider?: string;
}

export interface Artifact {
  /** Relative path within the storage, e.g. gitrepository/ns/name/<hex>.tar.gz */
  path: string;
  url: string;
  revision: string;
  /** 'sha256:<hex>' over the tarball bytes. */
  digest?: string;
  /** RFC 3339 time. */
  lastUpdateTime: string;
  size?: number;
  metadata?: Record<string, string>;
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface GitRepositoryStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  artifact?: Artifact;
  includedArtifacts?: Artifact[];
  observedIgnore?: string;
  observedRecurseSubmodules?: boolean;
  observedInclude?: GitRepositoryInclude[];
  observedSparseCheckout?: string[];
  /** The mode (HEAD, Tag, TagAndHEAD) of the last verification; a plain string in the CRD schema. */
  sourceVerificationMode?: string;
  lastHandledReconcileAt?: string;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  generation?: number;
  uid?: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  [key: string]: unknown;
}

export interface GitRepository {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: GitRepositorySpec;
  status?: GitRepositoryStatus;
}

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

export interface SourceEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  /** e.g. source.toolkit.fluxcd.io/revision and source.toolkit.fluxcd.io/digest */
  annotations?: Record<string, string>;
}
