// The GitRepository API (source.toolkit.fluxcd.io): TypeBox schemas of its
// spec, status and artifact, the types derived from them, and its CRD definition.
import { Type, type Static } from '@sinclair/typebox';
import { Condition, Duration, ShortDuration, Enum, LocalObjectReference, ReconcileRequestStatus, StringMap, readyColumns, artifactColumns, sourceCategories, type KindDefinition, type ApiObject, statusOptions } from './schema.ts';

export const SOURCE_GROUP = 'source.toolkit.fluxcd.io';

export const GitRepositoryRef = Type.Object(
  {
    branch: Type.Optional(Type.String({ description: 'Git branch to check out; the default branch when nothing else is set.' })),
    tag: Type.Optional(Type.String({ description: 'Git tag to check out; takes precedence over branch.' })),
    semver: Type.Optional(Type.String({ description: 'SemVer range over the tags; the highest match is checked out. Takes precedence over tag.' })),
    name: Type.Optional(
      Type.String({ description: 'Full Git reference (refs/heads/main, refs/tags/v1, refs/pull/1/head); takes precedence over branch, tag and semver.' }),
    ),
    commit: Type.Optional(Type.String({ description: 'Full commit SHA; takes precedence over every other field, and may be combined with branch.' })),
  },
  { description: 'The Git reference to check out and follow.' },
);

export const Artifact = Type.Object(
  {
    path: Type.String({ description: 'Path of the artifact in the storage, relative to its root.' }),
    url: Type.String({ description: 'HTTP address from which the artifact can be downloaded.' }),
    revision: Type.String({ description: 'Revision in the origin, e.g. main@sha1:<hash>.' }),
    digest: Type.String({ description: 'Digest of the artifact file, algo:checksum.', pattern: '^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$' }),
    lastUpdateTime: Type.String({ description: 'When the artifact was last updated.', format: 'date-time' }),
    size: Type.Optional(Type.Integer({ description: 'Size of the artifact file in bytes.', format: 'int64' })),
    metadata: Type.Optional(StringMap('Metadata of the artifact.')),
  },
  { description: 'An artifact produced from a source.' },
);

export const GitRepositoryInclude = Type.Object({
  repository: LocalObjectReference('The GitRepository whose artifact is included.'),
  fromPath: Type.Optional(Type.String({ description: 'Path in the included artifact to copy from; the root by default.' })),
  toPath: Type.Optional(Type.String({ description: 'Path in this artifact to copy to; the included repository\'s name by default.' })),
});

export const GitRepositorySpec = Type.Object({
  url: Type.String({ description: 'Repository URL: an HTTP(S) or SSH address.', pattern: '^(http|https|ssh)://.*$' }),
  secretRef: Type.Optional(
    LocalObjectReference(
      'Secret with the credentials: username and password, or bearerToken, with optional ca.crt, tls.crt and tls.key for HTTPS; identity, identity.pub and known_hosts for SSH.',
    ),
  ),
  provider: Type.Optional(Enum(['generic', 'aws', 'azure', 'github'] as const, 'Provider used for authentication; generic uses secretRef (Sluice reconciles only generic).')),
  serviceAccountName: Type.Optional(Type.String({ description: "Service account for cloud workload identity ('aws' and 'azure' providers; not supported by Sluice)." })),
  interval: Duration('How often to check the repository for new revisions.'),
  timeout: Type.Optional(ShortDuration('Timeout for Git operations such as a fetch.', { default: '60s' })),
  ref: Type.Optional(GitRepositoryRef),
  verify: Type.Optional(
    Type.Object(
      {
        mode: Type.Optional(Enum(['head', 'HEAD', 'Tag', 'TagAndHEAD'] as const, 'What to verify: the commit HEAD points to, the tag, or both.', { default: 'HEAD' })),
        secretRef: LocalObjectReference('Secret with the trusted public keys (OpenPGP armored keys or SSH authorized keys).'),
      },
      { description: 'Verification of commit or tag signatures.' },
    ),
  ),
  proxySecretRef: Type.Optional(LocalObjectReference('Secret with the proxy address and credentials.')),
  ignore: Type.Optional(Type.String({ description: 'Patterns in .gitignore format to exclude from the artifact, replacing the defaults.' })),
  suspend: Type.Optional(Type.Boolean({ description: 'Stop reconciling this source.' })),
  recurseSubmodules: Type.Optional(Type.Boolean({ description: 'Check out submodules too.' })),
  include: Type.Optional(Type.Array(GitRepositoryInclude, { description: 'Artifacts of other GitRepositories to copy into this one.' })),
  sparseCheckout: Type.Optional(Type.Array(Type.String(), { description: 'Directories to check out; everything when empty.' })),
}, {
  'x-kubernetes-validations': [
    { rule: "!has(self.serviceAccountName) || (has(self.provider) && (self.provider == 'azure' || self.provider == 'aws'))", message: "serviceAccountName can only be set when provider is 'azure' or 'aws'" },
  ],
});

export const GitRepositoryStatus = Type.Object({
  observedGeneration: Type.Optional(Type.Integer({ format: 'int64', description: 'The last generation reconciled.' })),
  conditions: Type.Optional(Type.Array(Condition)),
  artifact: Type.Optional(Artifact),
  includedArtifacts: Type.Optional(Type.Array(Artifact, { description: 'Artifacts included from other sources.' })),
  observedIgnore: Type.Optional(Type.String({ description: 'The ignore patterns used for the current artifact.' })),
  observedRecurseSubmodules: Type.Optional(Type.Boolean()),
  observedInclude: Type.Optional(Type.Array(GitRepositoryInclude)),
  observedSparseCheckout: Type.Optional(Type.Array(Type.String())),
  sourceVerificationMode: Type.Optional(Type.String({ description: 'The verification mode of the last verified artifact.' })),
  ...ReconcileRequestStatus,
}, statusOptions);

export type GitRepositoryRef = Static<typeof GitRepositoryRef>;
export type Artifact = Static<typeof Artifact>;
export type GitRepositoryInclude = Static<typeof GitRepositoryInclude>;
export type GitRepositorySpec = Static<typeof GitRepositorySpec>;
export type GitRepositoryStatus = Static<typeof GitRepositoryStatus>;
/** A GitRepository object. */
export type GitRepository = ApiObject<GitRepositorySpec, GitRepositoryStatus>;

export const gitRepositoryKind: KindDefinition = {
  group: SOURCE_GROUP,
  kind: 'GitRepository',
  plural: 'gitrepositories',
  singular: 'gitrepository',
  shortNames: ['gitrepo'],
  categories: sourceCategories,
  description: 'GitRepository follows a Git repository and produces an artifact of the checked-out revision.',
  versions: [
    { name: 'v1', spec: GitRepositorySpec, status: GitRepositoryStatus, columns: [{ name: 'URL', type: 'string', jsonPath: '.spec.url' }, ...readyColumns, ...artifactColumns] },
    {
      name: 'v1beta2',
      spec: GitRepositorySpec,
      status: GitRepositoryStatus,
      columns: [{ name: 'URL', type: 'string', jsonPath: '.spec.url' }, ...readyColumns, ...artifactColumns],
      deprecated: 'source.toolkit.fluxcd.io/v1beta2 GitRepository is deprecated, upgrade to v1',
    },
  ],
};
