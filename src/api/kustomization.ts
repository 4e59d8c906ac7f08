import { Type, type Static } from '@sinclair/typebox';
import {
  Condition,
  Duration,
  Enum,
  KubeConfigReference,
  LocalObjectReference,
  NamespacedObjectKindReference,
  ReconcileRequestStatus,
  StringMap,
  readyColumns,
  getColumns,
  type ApiObject,
  applierCategories,
  type KindDefinition,
  statusOptions,
} from './schema.ts';
import { DependencyReference, HealthCheckExprs } from './applier.ts';

export const KUSTOMIZE_GROUP = 'kustomize.toolkit.fluxcd.io';
/** The labels kustomize-controller puts on what a Kustomization applied, naming it. */
export const KS_NAME_LABEL = `${KUSTOMIZE_GROUP}/name`;
export const KS_NAMESPACE_LABEL = `${KUSTOMIZE_GROUP}/namespace`;

const Selector = Type.Object({
  group: Type.Optional(Type.String()),
  version: Type.Optional(Type.String()),
  kind: Type.Optional(Type.String()),
  namespace: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
  annotationSelector: Type.Optional(Type.String()),
  labelSelector: Type.Optional(Type.String()),
});

export const InventoryEntry = Type.Object({
  id: Type.String({ description: 'Object identity: <namespace>_<name>_<group>_<kind>.' }),
  v: Type.String({ description: 'API version of the object (the version part only).' }),
});

export const ResourceInventory = Type.Object({ entries: Type.Array(InventoryEntry) }, { description: 'What was applied.' });

/** One entry of status.history: a distinct set of applied objects and how its reconciles went. */
export const HistorySnapshot = Type.Object({
  digest: Type.String(),
  firstReconciled: Type.String({ format: 'date-time' }),
  lastReconciled: Type.String({ format: 'date-time' }),
  lastReconciledDuration: Type.String(),
  lastReconciledStatus: Type.String(),
  totalReconciliations: Type.Integer({ format: 'int64' }),
  metadata: Type.Optional(StringMap('Revision and other facts of the snapshot.')),
});

export const KustomizationSpec = Type.Object({
  sourceRef: NamespacedObjectKindReference('The source to build from.', ['GitRepository', 'OCIRepository', 'Bucket', 'ExternalArtifact']),
  path: Type.Optional(Type.String({ description: 'Path to the directory with the kustomization.yaml or plain manifests, relative to the source root.' })),
  interval: Duration('How often to reconcile (re-apply and correct drift).'),
  retryInterval: Type.Optional(Duration('How soon to retry after a failure; interval by default.')),
  timeout: Type.Optional(Duration('Timeout for building, applying and health checks; interval by default.')),
  suspend: Type.Optional(Type.Boolean({ description: 'Stop reconciling; what was applied stays.' })),
  prune: Type.Boolean({ description: 'Delete objects that were applied before and are gone from the source.' }),
  deletionPolicy: Type.Optional(
    Enum(['MirrorPrune', 'Delete', 'WaitForTermination', 'Orphan'] as const, 'What happens to applied objects when this Kustomization is deleted.'),
  ),
  wait: Type.Optional(Type.Boolean({ description: 'Wait for every applied object to become ready (health checks on all of them).' })),
  healthChecks: Type.Optional(
    Type.Array(
      Type.Object({
        apiVersion: Type.Optional(Type.String()),
        kind: Type.String(),
        name: Type.String(),
        namespace: Type.Optional(Type.String({ description: 'Namespace of the object; this Kustomization\'s by default.' })),
      }),
      { description: 'Objects to wait for after applying.' },
    ),
  ),
  healthCheckExprs: HealthCheckExprs('CEL expressions judging the health of custom resources, by kind; used when wait or healthChecks is set.'),
  dependsOn: Type.Optional(Type.Array(DependencyReference('A Kustomization that must be ready first.'), { description: 'Kustomizations that must be ready before this one is applied.' })),
  force: Type.Optional(Type.Boolean({ description: 'Recreate objects whose immutable fields changed.', default: false })),
  targetNamespace: Type.Optional(Type.String({ description: 'Namespace for every namespaced object.', maxLength: 63, minLength: 1 })),
  namePrefix: Type.Optional(Type.String({ description: 'Prefix for the names of all objects.', maxLength: 200, minLength: 1 })),
  nameSuffix: Type.Optional(Type.String({ description: 'Suffix for the names of all objects.', maxLength: 200, minLength: 1 })),
  commonMetadata: Type.Optional(
    Type.Object(
      { labels: Type.Optional(StringMap('Labels for every object.')), annotations: Type.Optional(StringMap('Annotations for every object.')) },
      { description: 'Labels and annotations added to every object.' },
    ),
  ),
  patches: Type.Optional(
    Type.Array(
      Type.Object({ patch: Type.String({ description: 'A strategic merge or JSON 6902 patch.' }), target: Type.Optional(Selector) }),
      { description: 'Patches applied to the rendered objects, in kustomize\'s format.' },
    ),
  ),
  images: Type.Optional(
    Type.Array(
      Type.Object({
        name: Type.String({ description: 'Image name to match.' }),
        newName: Type.Optional(Type.String()),
        newTag: Type.Optional(Type.String()),
        digest: Type.Optional(Type.String()),
      }),
      { description: 'Image overrides, as kustomize\'s images field.' },
    ),
  ),
  components: Type.Optional(Type.Array(Type.String(), { description: 'Kustomize components to include, relative to path.' })),
  postBuild: Type.Optional(
    Type.Object(
      {
        substitute: Type.Optional(StringMap('Variables to substitute: ${var} in the rendered objects.')),
        substituteFrom: Type.Optional(
          Type.Array(
            Type.Object({
              kind: Enum(['ConfigMap', 'Secret'] as const, 'Kind of the object holding variables.'),
              name: Type.String({ minLength: 1, maxLength: 253, description: 'Name of the object.' }),
              optional: Type.Optional(Type.Boolean({ description: 'Go on when the object does not exist.', default: false })),
            }),
            { description: 'ConfigMaps and Secrets holding variables; later ones win.' },
          ),
        ),
        substituteStrategy: Type.Optional(
          Enum(['WithVariables', 'Always'] as const, 'WithVariables (default): substitute only when some variable is defined; Always: substitute even without variables.'),
        ),
      },
      { description: 'Variable substitution after the build.' },
    ),
  ),
  decryption: Type.Optional(
    Type.Object(
      {
        provider: Enum(['sops'] as const, 'Decryption provider.'),
        secretRef: Type.Optional(LocalObjectReference('Secret with the age and OpenPGP private keys.')),
        serviceAccountName: Type.Optional(Type.String({ description: 'Service account for secret-less authentication to cloud KMS services.' })),
      },
      { description: 'Decryption of SOPS-encrypted objects.' },
    ),
  ),
  serviceAccountName: Type.Optional(Type.String({ description: 'Service account to impersonate for every apply in this namespace.' })),
  kubeConfig: Type.Optional(KubeConfigReference('Apply to a remote cluster with this kubeconfig.')),
  ignore: Type.Optional(
    Type.Array(
      Type.Object({
        paths: Type.Array(Type.String(), { description: 'JSON pointers (RFC 6901) of fields that drift detection and apply leave as they are in the cluster.' }),
        target: Type.Optional(Selector),
      }),
      { description: 'Fields to ignore on the applied objects the rule targets (all of them without a target).' },
    ),
  ),
  buildMetadata: Type.Optional(
    Type.Array(Enum(['originAnnotations', 'transformerAnnotations'] as const, 'A kustomize build metadata option.'), {
      description: "Kustomize build metadata to add to the built objects: originAnnotations (where each came from), transformerAnnotations (what transformed it).",
    }),
  ),
  ignoreMissingComponents: Type.Optional(Type.Boolean({ description: 'Leave out spec.components paths that the source lacks instead of failing.' })),
});

export const KustomizationStatus = Type.Object({
  observedGeneration: Type.Optional(Type.Integer({ format: 'int64' })),
  conditions: Type.Optional(Type.Array(Condition)),
  lastAppliedRevision: Type.Optional(Type.String({ description: 'The source revision last applied successfully.' })),
  lastAppliedOriginRevision: Type.Optional(Type.String()),
  lastAttemptedRevision: Type.Optional(Type.String({ description: 'The source revision last attempted.' })),
  inventory: Type.Optional(ResourceInventory),
  history: Type.Optional(Type.Array(HistorySnapshot, { description: 'Snapshots of recent reconciliations.' })),
  ...ReconcileRequestStatus,
}, statusOptions);

export type InventoryEntry = Static<typeof InventoryEntry>;
export type ResourceInventory = Static<typeof ResourceInventory>;
export type HistorySnapshot = Static<typeof HistorySnapshot>;
export type KustomizationSpec = Static<typeof KustomizationSpec>;
export type KustomizationStatus = Static<typeof KustomizationStatus>;
/** A Kustomization object. */
export type Kustomization = ApiObject<KustomizationSpec, KustomizationStatus>;

const kustomizationColumns = [...readyColumns, ...getColumns('.status.lastAppliedRevision', { pin: true })];

export const kustomizationKind: KindDefinition = {
  group: KUSTOMIZE_GROUP,
  kind: 'Kustomization',
  plural: 'kustomizations',
  singular: 'kustomization',
  shortNames: ['ks'],
  categories: applierCategories,
  description: 'Kustomization builds a path of a source and reconciles the cluster to it.',
  versions: [
    { name: 'v1', spec: KustomizationSpec, status: KustomizationStatus, columns: kustomizationColumns },
    {
      name: 'v1beta2',
      spec: KustomizationSpec,
      status: KustomizationStatus,
      columns: kustomizationColumns,
      deprecated: 'kustomize.toolkit.fluxcd.io/v1beta2 Kustomization is deprecated, upgrade to v1',
    },
  ],
};

