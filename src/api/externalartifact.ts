// ExternalArtifact (source.toolkit.fluxcd.io/v1): an artifact that another
// controller (not Flux's, not Sluice's) produced and records in its status,
// for Kustomizations (sourceRef) and HelmReleases (chartRef) to consume
// like any source's. Nothing reconciles the kind itself; its producer writes
// status.artifact. Consumers read it only with Flux's ExternalArtifact
// feature gate, off by default.
import { Type, type Static } from '@sinclair/typebox';
import { Artifact, SOURCE_GROUP } from './gitrepository.ts';
import { Condition, readyColumns, sourceCategories, type ApiObject, type KindDefinition } from './schema.ts';

export const ExternalArtifactSpec = Type.Object(
  {
    sourceRef: Type.Optional(
      Type.Object(
        {
          apiVersion: Type.Optional(Type.String({ description: 'API version of the referent; the preferred version when unset.' })),
          kind: Type.String({ description: 'Kind of the referent.' }),
          name: Type.String({ description: 'Name of the referent.' }),
          namespace: Type.Optional(Type.String({ description: 'Namespace of the referent; the ExternalArtifact\'s own when unset.' })),
        },
        { description: 'The custom resource the artifact is generated for.' },
      ),
    ),
  },
  { description: 'Which object the artifact comes from.' },
);

export const ExternalArtifactStatus = Type.Object(
  {
    artifact: Type.Optional(Artifact),
    conditions: Type.Optional(Type.Array(Condition)),
  },
  { description: 'The artifact, as its producer last wrote it.' },
);

export type ExternalArtifactSpec = Static<typeof ExternalArtifactSpec>;
export type ExternalArtifactStatus = Static<typeof ExternalArtifactStatus>;
/** An ExternalArtifact object. */
export type ExternalArtifact = ApiObject<ExternalArtifactSpec, ExternalArtifactStatus>;

export const externalArtifactKind: KindDefinition = {
  group: SOURCE_GROUP,
  kind: 'ExternalArtifact',
  plural: 'externalartifacts',
  singular: 'externalartifact',
  shortNames: ['ea'],
  categories: sourceCategories,
  description: 'ExternalArtifact holds an artifact produced by a third-party controller, for Kustomizations and HelmReleases to consume.',
  versions: [{ name: 'v1', spec: ExternalArtifactSpec, status: ExternalArtifactStatus, columns: [...readyColumns, { name: 'Source', type: 'string', jsonPath: '.spec.sourceRef.name' }] }],
};
