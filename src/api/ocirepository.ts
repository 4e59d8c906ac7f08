import { Type, type Static } from '@sinclair/typebox';
import { Artifact, SOURCE_GROUP } from './gitrepository.ts';
import { Condition, Duration, ShortDuration, Enum, LocalObjectReference, ReconcileRequestStatus, readyColumns, artifactColumns, sourceCategories, type KindDefinition, type ApiObject, statusOptions, MatchOIDCIdentity } from './schema.ts';

export const OCIRepositoryRef = Type.Object(
  {
    digest: Type.Optional(Type.String({ description: 'Manifest digest to pull (sha256:…); takes precedence over semver and tag.' })),
    semver: Type.Optional(Type.String({ description: 'SemVer range over the tags; the highest match is pulled. Takes precedence over tag.' })),
    semverFilter: Type.Optional(Type.String({ description: 'Regular expression the tags must match to be considered for semver.' })),
    tag: Type.Optional(Type.String({ description: 'Tag to pull; latest by default.' })),
  },
  { description: 'The OCI reference to pull and follow; the latest tag by default.' },
);

export const OCILayerSelector = Type.Object(
  {
    mediaType: Type.Optional(Type.String({ description: 'Media type of the layer to use; the first layer when unset.' })),
    operation: Type.Optional(
      Enum(['extract', 'copy'] as const, 'extract: unpack the (tar+gzip) layer and archive its files; copy: store the layer as it is.'),
    ),
  },
  { description: 'Which layer of the artifact becomes the source artifact, and how.' },
);

export const OCIRepositorySpec = Type.Object({
  url: Type.String({ description: 'Address of the repository, oci://host[:port]/path, without tag or digest.', pattern: '^oci://.*$' }),
  ref: Type.Optional(OCIRepositoryRef),
  layerSelector: Type.Optional(OCILayerSelector),
  provider: Type.Optional(Enum(['generic', 'aws', 'azure', 'gcp'] as const, 'Authentication provider; generic uses secretRef.', { default: 'generic' })),
  secretRef: Type.Optional(
    LocalObjectReference('Secret with the registry credentials: a .dockerconfigjson (kubernetes.io/dockerconfigjson), or username and password.'),
  ),
  serviceAccountName: Type.Optional(Type.String({ description: 'Service account whose image pull secrets are used (not supported by Sluice).' })),
  certSecretRef: Type.Optional(LocalObjectReference('Secret with ca.crt, and tls.crt and tls.key for TLS client authentication.')),
  proxySecretRef: Type.Optional(LocalObjectReference('Secret with the proxy address and credentials (not supported by Sluice).')),
  interval: Duration('How often to check the repository for a new digest.'),
  timeout: Type.Optional(ShortDuration('Timeout for registry operations such as a pull.', { default: '60s' })),
  ignore: Type.Optional(Type.String({ description: 'Patterns in .gitignore format to exclude from an extracted layer, replacing the defaults.' })),
  insecure: Type.Optional(Type.Boolean({ description: 'Allow plain HTTP to the registry.' })),
  suspend: Type.Optional(Type.Boolean({ description: 'Stop reconciling this source.' })),
  verify: Type.Optional(
    Type.Object(
      {
        provider: Enum(['cosign', 'notation'] as const, 'Verification provider.', { default: 'cosign' }),
        secretRef: Type.Optional(LocalObjectReference('Secret with the trusted public keys.')),
        matchOIDCIdentity: Type.Optional(MatchOIDCIdentity()),
        trustedRootSecretRef: Type.Optional(LocalObjectReference('Secret with a Sigstore trusted_root.json for self-hosted Sigstore (not supported by Sluice).')),
      },
      { description: 'Signature verification (not supported by Sluice: an OCIRepository that asks for it is not reconciled).' },
    ),
  ),
});

export const OCIRepositoryStatus = Type.Object({
  observedGeneration: Type.Optional(Type.Integer({ format: 'int64' })),
  conditions: Type.Optional(Type.Array(Condition)),
  url: Type.Optional(Type.String({ description: 'Dynamic fetch link for the latest artifact.' })),
  artifact: Type.Optional(Artifact),
  observedIgnore: Type.Optional(Type.String({ description: 'The ignore rules of the current artifact.' })),
  observedLayerSelector: Type.Optional(OCILayerSelector),
  ...ReconcileRequestStatus,
}, statusOptions);

export type OCIRepositorySpec = Static<typeof OCIRepositorySpec>;
export type OCIRepositoryStatus = Static<typeof OCIRepositoryStatus>;
/** A OCIRepository object. */
export type OCIRepository = ApiObject<OCIRepositorySpec, OCIRepositoryStatus>;

/** In Flux's order for OCIRepository: Age (readyColumns' first) last. */
const columns = [{ name: 'URL', type: 'string' as const, jsonPath: '.spec.url' }, ...readyColumns.slice(1), readyColumns[0]!, ...artifactColumns];

export const ociRepositoryKind: KindDefinition = {
  group: SOURCE_GROUP,
  kind: 'OCIRepository',
  plural: 'ocirepositories',
  singular: 'ocirepository',
  shortNames: ['ocirepo'],
  categories: sourceCategories,
  description: 'OCIRepository follows an artifact in an OCI registry: it pulls the manifest a tag, SemVer range or digest names, and stores one layer as an artifact.',
  versions: [
    { name: 'v1', spec: OCIRepositorySpec, status: OCIRepositoryStatus, columns },
    {
      name: 'v1beta2',
      spec: OCIRepositorySpec,
      status: OCIRepositoryStatus,
      columns,
      deprecated: 'source.toolkit.fluxcd.io/v1beta2 OCIRepository is deprecated, upgrade to v1',
    },
  ],
};
