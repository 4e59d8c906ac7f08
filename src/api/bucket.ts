// Bucket (source.toolkit.fluxcd.io/v1): the objects under a prefix of an
// S3-compatible bucket, as an artifact. Flux's schema, with its validation
// rules; Sluice reconciles the generic (S3 API) provider.
import { Type, type Static } from '@sinclair/typebox';
import { Artifact, SOURCE_GROUP } from './gitrepository.ts';
import { Condition, Duration, ShortDuration, Enum, LocalObjectReference, ReconcileRequestStatus, readyColumns, sourceCategories, statusOptions, type ApiObject, type KindDefinition } from './schema.ts';

export const BucketSTSSpec = Type.Object(
  {
    provider: Enum(['aws', 'ldap'] as const, 'The Security Token Service provider.'),
    endpoint: Type.String({ description: 'HTTP/S endpoint of the Security Token Service.', pattern: '^(http|https)://.*$' }),
    secretRef: Type.Optional(LocalObjectReference('Secret with the STS credentials (ldap only).')),
    certSecretRef: Type.Optional(LocalObjectReference('Secret with TLS material for the STS endpoint (ldap only).')),
  },
  { description: 'A Security Token Service to get temporary credentials from.' },
);

export const BucketSpec = Type.Object(
  {
    provider: Type.Optional(Enum(['generic', 'aws', 'gcp', 'azure'] as const, 'The S3 API flavour: generic (any S3-compatible store), aws, gcp or azure.', { default: 'generic' })),
    bucketName: Type.String({ description: 'The bucket.' }),
    endpoint: Type.String({ description: 'Host (and port) of the object store, without scheme.' }),
    sts: Type.Optional(BucketSTSSpec),
    insecure: Type.Optional(Type.Boolean({ description: 'Plain HTTP instead of HTTPS.' })),
    region: Type.Optional(Type.String({ description: 'Region of the bucket; us-east-1 by default.' })),
    prefix: Type.Optional(Type.String({ description: 'Only the objects whose keys start with this.' })),
    secretRef: Type.Optional(LocalObjectReference('Secret with accesskey and secretkey.')),
    serviceAccountName: Type.Optional(Type.String({ description: 'Service account for cloud workload identity (not the generic provider).' })),
    certSecretRef: Type.Optional(LocalObjectReference('Secret with ca.crt (and tls.crt, tls.key) for the endpoint.')),
    proxySecretRef: Type.Optional(LocalObjectReference('Secret with the proxy address, username and password.')),
    interval: Duration('How often the bucket is listed.'),
    timeout: Type.Optional(ShortDuration('Timeout for bucket operations such as a download.', { default: '60s' })),
    ignore: Type.Optional(Type.String({ description: 'Patterns in .gitignore format of objects left out; added to a .sourceignore object at the root.' })),
    suspend: Type.Optional(Type.Boolean({ description: 'Stop reconciling.' })),
  },
  {
    description: 'Which bucket, where, and with what credentials.',
    'x-kubernetes-validations': [
      { rule: "self.provider == 'aws' || self.provider == 'generic' || !has(self.sts)", message: "STS configuration is only supported for the 'aws' and 'generic' Bucket providers" },
      { rule: "self.provider != 'aws' || !has(self.sts) || self.sts.provider == 'aws'", message: "'aws' is the only supported STS provider for the 'aws' Bucket provider" },
      { rule: "self.provider != 'generic' || !has(self.sts) || self.sts.provider == 'ldap'", message: "'ldap' is the only supported STS provider for the 'generic' Bucket provider" },
      { rule: "!has(self.sts) || self.sts.provider != 'aws' || !has(self.sts.secretRef)", message: "spec.sts.secretRef is not required for the 'aws' STS provider" },
      { rule: "!has(self.sts) || self.sts.provider != 'aws' || !has(self.sts.certSecretRef)", message: "spec.sts.certSecretRef is not required for the 'aws' STS provider" },
      { rule: "self.provider != 'generic' || !has(self.serviceAccountName)", message: "ServiceAccountName is not supported for the 'generic' Bucket provider" },
      { rule: '!has(self.secretRef) || !has(self.serviceAccountName)', message: 'cannot set both .spec.secretRef and .spec.serviceAccountName' },
    ],
  },
);

export const BucketStatus = Type.Object(
  {
    observedGeneration: Type.Optional(Type.Integer({ format: 'int64', description: 'The last generation reconciled.' })),
    conditions: Type.Optional(Type.Array(Condition)),
    url: Type.Optional(Type.String({ description: 'Address of the latest artifact.' })),
    artifact: Type.Optional(Artifact),
    observedIgnore: Type.Optional(Type.String({ description: 'The ignore patterns used for the current artifact.' })),
    ...ReconcileRequestStatus,
  },
  statusOptions,
);

export type BucketSpec = Static<typeof BucketSpec>;
export type BucketStatus = Static<typeof BucketStatus>;
/** A Bucket object. */
export type Bucket = ApiObject<BucketSpec, BucketStatus>;

export const bucketKind: KindDefinition = {
  group: SOURCE_GROUP,
  kind: 'Bucket',
  plural: 'buckets',
  singular: 'bucket',
  categories: sourceCategories,
  description: 'Bucket makes the objects under a prefix of an S3-compatible bucket an artifact.',
  versions: [{ name: 'v1', spec: BucketSpec, status: BucketStatus, columns: [{ name: 'Endpoint', type: 'string', jsonPath: '.spec.endpoint' }, ...readyColumns] }],
};
