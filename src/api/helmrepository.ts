import { Type, type Static } from '@sinclair/typebox';
import { Artifact, SOURCE_GROUP } from './gitrepository.ts';
import { Condition, Duration, ShortDuration, Enum, LocalObjectReference, ReconcileRequestStatus, readyColumns, artifactColumns, sourceCategories, type KindDefinition, type ApiObject, statusOptions } from './schema.ts';

export const HelmRepositorySpec = Type.Object({
  url: Type.String({ description: 'Address of the repository: http(s):// for an index-based repository, oci:// for an OCI registry.', pattern: '^(http|https|oci)://.*$' }),
  type: Type.Optional(Enum(['default', 'oci'] as const, 'Repository type: default (an index.yaml over HTTP) or oci.')),
  secretRef: Type.Optional(
    LocalObjectReference('Secret with the credentials: username and password, with optional ca.crt, tls.crt and tls.key.'),
  ),
  certSecretRef: Type.Optional(LocalObjectReference('Secret with ca.crt, and tls.crt and tls.key for TLS client authentication.')),
  passCredentials: Type.Optional(
    Type.Boolean({ description: 'Send the credentials to hosts other than the repository\'s own (charts whose URLs point elsewhere).' }),
  ),
  interval: Type.Optional(Duration('How often to fetch the index; 1m by default.')),
  timeout: Type.Optional(ShortDuration('Timeout for fetching the index; 60s by default.')),
  insecure: Type.Optional(Type.Boolean({ description: 'Allow plain HTTP to an OCI registry.' })),
  provider: Type.Optional(Enum(['generic', 'aws', 'azure', 'gcp'] as const, 'OIDC provider for OCI registries; generic uses secretRef.', { default: 'generic' })),
  accessFrom: Type.Optional(
    Type.Object(
      {
        namespaceSelectors: Type.Array(
          Type.Object({ matchLabels: Type.Optional(Type.Unsafe<Record<string, string>>({ type: 'object', additionalProperties: { type: 'string' } })) }),
        ),
      },
      { description: 'Deprecated: namespaces that may use this repository.' },
    ),
  ),
  suspend: Type.Optional(Type.Boolean({ description: 'Stop reconciling this repository.' })),
});

export const HelmRepositoryStatus = Type.Object({
  observedGeneration: Type.Optional(Type.Integer({ format: 'int64' })),
  conditions: Type.Optional(Type.Array(Condition)),
  url: Type.Optional(Type.String({ description: 'Dynamic fetch link for the latest artifact.' })),
  artifact: Type.Optional(Artifact),
  ...ReconcileRequestStatus,
}, statusOptions);

export type HelmRepositorySpec = Static<typeof HelmRepositorySpec>;
export type HelmRepositoryStatus = Static<typeof HelmRepositoryStatus>;
/** A HelmRepository object. */
export type HelmRepository = ApiObject<HelmRepositorySpec, HelmRepositoryStatus>;

const columns = [{ name: 'URL', type: 'string' as const, jsonPath: '.spec.url' }, ...readyColumns, ...artifactColumns];

export const helmRepositoryKind: KindDefinition = {
  group: SOURCE_GROUP,
  kind: 'HelmRepository',
  plural: 'helmrepositories',
  singular: 'helmrepository',
  shortNames: ['helmrepo'],
  categories: sourceCategories,
  description: 'HelmRepository follows a Helm chart repository: it fetches the index of an HTTP repository and stores it as an artifact.',
  versions: [
    { name: 'v1', spec: HelmRepositorySpec, status: HelmRepositoryStatus, columns },
    {
      name: 'v1beta2',
      spec: HelmRepositorySpec,
      status: HelmRepositoryStatus,
      columns,
      deprecated: 'source.toolkit.fluxcd.io/v1beta2 HelmRepository is deprecated, upgrade to v1',
    },
  ],
};
