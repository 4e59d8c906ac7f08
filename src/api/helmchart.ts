import { Type, type Static } from '@sinclair/typebox';
import { Artifact, SOURCE_GROUP } from './gitrepository.ts';
import { Condition, Duration, Enum, LocalObjectReference, ReconcileRequestStatus, readyColumns, artifactColumns, sourceCategories, type KindDefinition, type ApiObject, statusOptions, MatchOIDCIdentity } from './schema.ts';

export const HelmChartSourceRef = Type.Object(
  {
    apiVersion: Type.Optional(Type.String({ description: 'API version of the referent.' })),
    kind: Enum(['HelmRepository', 'GitRepository', 'Bucket'] as const, 'Kind of the referent.'),
    name: Type.String({ description: 'Name of the referent.' }),
  },
  { description: 'The source the chart comes from, in the same namespace.' },
);

export const HelmChartVerify = Type.Object(
  {
    provider: Enum(['cosign', 'notation'] as const, 'Verification provider.', { default: 'cosign' }),
    secretRef: Type.Optional(LocalObjectReference('Secret with the trusted public keys.')),
    matchOIDCIdentity: Type.Optional(MatchOIDCIdentity()),
  },
  { description: 'Signature verification of OCI charts.' },
);

export const HelmChartSpec = Type.Object({
  chart: Type.String({ description: 'Name of the chart in a HelmRepository, or path of the chart directory in a GitRepository or Bucket (the source root when empty).' }),
  version: Type.Optional(
    Type.String({ description: 'SemVer range of chart versions (HelmRepository only); the highest match is used.', default: '*' }),
  ),
  sourceRef: HelmChartSourceRef,
  interval: Duration('How often to check the source for a new chart.'),
  reconcileStrategy: Type.Optional(
    Enum(['ChartVersion', 'Revision'] as const, 'What makes a new artifact: a new chart version, or any new source revision.', { default: 'ChartVersion' }),
  ),
  valuesFiles: Type.Optional(
    Type.Array(Type.String(), { description: 'Values files, relative to the source root, merged in order into the chart\'s values.yaml.' }),
  ),
  valuesFile: Type.Optional(Type.String({ description: 'Deprecated: one values file, merged before valuesFiles.' })),
  ignoreMissingValuesFiles: Type.Optional(Type.Boolean({ description: 'Skip values files that do not exist instead of failing.' })),
  suspend: Type.Optional(Type.Boolean({ description: 'Stop reconciling this chart.' })),
  verify: Type.Optional(HelmChartVerify),
}, {
  'x-kubernetes-validations': [
    { rule: "!has(self.verify) || self.sourceRef.kind == 'HelmRepository'", message: "spec.verify is only supported when spec.sourceRef.kind is 'HelmRepository'" },
  ],
});

export const HelmChartStatus = Type.Object({
  observedGeneration: Type.Optional(Type.Integer({ format: 'int64' })),
  observedSourceArtifactRevision: Type.Optional(Type.String({ description: 'Revision of the source artifact the chart was built from.' })),
  observedChartName: Type.Optional(Type.String({ description: 'Name of the chart last built.' })),
  observedValuesFiles: Type.Optional(Type.Array(Type.String(), { description: 'Values files that were found and merged.' })),
  conditions: Type.Optional(Type.Array(Condition)),
  url: Type.Optional(Type.String({ description: 'Dynamic fetch link for the latest artifact.' })),
  artifact: Type.Optional(Artifact),
  ...ReconcileRequestStatus,
}, statusOptions);

export type HelmChartSpec = Static<typeof HelmChartSpec>;
export type HelmChartStatus = Static<typeof HelmChartStatus>;
/** A HelmChart object. */
export type HelmChart = ApiObject<HelmChartSpec, HelmChartStatus>;

const columns = [
  { name: 'Chart', type: 'string' as const, jsonPath: '.spec.chart' },
  { name: 'Version', type: 'string' as const, jsonPath: '.spec.version' },
  { name: 'Source Kind', type: 'string' as const, jsonPath: '.spec.sourceRef.kind' },
  { name: 'Source Name', type: 'string' as const, jsonPath: '.spec.sourceRef.name' },
  ...readyColumns,
  ...artifactColumns,
];

export const helmChartKind: KindDefinition = {
  group: SOURCE_GROUP,
  kind: 'HelmChart',
  plural: 'helmcharts',
  singular: 'helmchart',
  shortNames: ['hc'],
  categories: sourceCategories,
  description: 'HelmChart produces a chart package artifact from a HelmRepository, or from a chart directory in a GitRepository or Bucket.',
  versions: [
    { name: 'v1', spec: HelmChartSpec, status: HelmChartStatus, columns },
    {
      name: 'v1beta2',
      spec: HelmChartSpec,
      status: HelmChartStatus,
      columns,
      deprecated: 'source.toolkit.fluxcd.io/v1beta2 HelmChart is deprecated, upgrade to v1',
    },
  ],
};
