import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { InventoryEntry } from './kustomization.ts';
import {
  Condition,
  Duration,
  Enum,
  Free,
  FreeObject,
  KubeConfigReference,
  LocalObjectReference,
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

export const HELM_GROUP = 'helm.toolkit.fluxcd.io';

const Selector = Type.Object(
  {
    group: Type.Optional(Type.String()),
    version: Type.Optional(Type.String()),
    kind: Type.Optional(Type.String()),
    namespace: Type.Optional(Type.String()),
    name: Type.Optional(Type.String()),
    annotationSelector: Type.Optional(Type.String()),
    labelSelector: Type.Optional(Type.String()),
  },
  { description: 'Selects objects by group, version, kind, namespace, name (regular expressions) and label or annotation selectors.' },
);

const Patch = Type.Object({
  patch: Type.String({ description: 'A strategic merge patch or a JSON 6902 patch, as YAML.' }),
  target: Type.Optional(Selector),
});

const Json6902Patch = Type.Object({
  target: Type.Object({
    group: Type.Optional(Type.String()),
    version: Type.Optional(Type.String()),
    kind: Type.String(),
    namespace: Type.Optional(Type.String()),
    name: Type.String(),
  }),
  patch: Type.Array(
    Type.Object({
      op: Enum(['test', 'remove', 'add', 'replace', 'move', 'copy'] as const, 'JSON patch operation.'),
      path: Type.String(),
      from: Type.Optional(Type.String()),
      value: Type.Optional(Free('Value of the operation.')),
    }),
  ),
});

const Image = Type.Object({
  name: Type.String({ description: 'Image name to match.' }),
  newName: Type.Optional(Type.String()),
  newTag: Type.Optional(Type.String()),
  digest: Type.Optional(Type.String()),
});

const PostRenderer = Type.Object(
  {
    kustomize: Type.Optional(
      Type.Object({
        patches: Type.Optional(Type.Array(Patch)),
        patchesStrategicMerge: Type.Optional(Type.Array(FreeObject('A strategic merge patch (deprecated).'))),
        patchesJson6902: Type.Optional(Type.Array(Json6902Patch, { description: 'JSON 6902 patches (deprecated).' })),
        images: Type.Optional(Type.Array(Image)),
      }),
    ),
  },
  { description: 'A post-renderer: kustomize patches and images applied to the rendered manifests.' },
);

/** Whether Helm applies an upgrade or rollback server-side; auto (the default) does what the release it follows did. */
const ServerSideApply = (action: string) =>
  Enum(['enabled', 'disabled', 'auto'] as const, `Server-side apply for the ${action}: enabled, disabled, or auto (as the release was made).`);

const CrdsPolicy = (d: string) => Enum(['Skip', 'Create', 'CreateReplace'] as const, d);

const Remediation = (install: boolean) =>
  Type.Object({
    retries: Type.Optional(Type.Integer({ description: 'Retries after a failure, remediating in between; negative means unlimited.' })),
    ignoreTestFailures: Type.Optional(Type.Boolean({ description: 'Do not remediate failed tests; test.ignoreFailures by default.' })),
    remediateLastFailure: Type.Optional(Type.Boolean({ description: 'Remediate the last failure when no retries remain.' })),
    ...(install ? {} : { strategy: Type.Optional(Enum(['rollback', 'uninstall'] as const, 'How to remediate a failed upgrade; rollback by default.')) }),
  });

const Strategy = (action: 'install' | 'upgrade') =>
  Type.Object(
    {
      name: Enum(
        ['RemediateOnFailure', 'RetryOnFailure'] as const,
        action === 'install'
          ? 'After a failed install: remediate as install.remediation says (RemediateOnFailure, the default), or keep the failed release and retry it with an upgrade after retryInterval (RetryOnFailure).'
          : 'After a failed upgrade: remediate as upgrade.remediation says (RemediateOnFailure, the default), or keep the failed release and retry the upgrade after retryInterval (RetryOnFailure).',
      ),
      retryInterval: Type.Optional(Duration('Time between retries with RetryOnFailure; 5m by default.')),
    },
    {
      description: `What the controller does when a Helm ${action} fails.`,
      // Flux words the rule differently for install and upgrade; the API server's message is Flux's for both.
      'x-kubernetes-validations': [
        action === 'install'
          ? { rule: "!has(self.retryInterval) || self.name != 'RemediateOnFailure'", message: ".retryInterval cannot be set when .name is 'RemediateOnFailure'" }
          : { rule: "!has(self.retryInterval) || self.name == 'RetryOnFailure'", message: ".retryInterval can only be set when .name is 'RetryOnFailure'" },
      ],
    },
  );

export const HelmChartTemplate = Type.Object(
  {
    metadata: Type.Optional(
      Type.Object({ labels: Type.Optional(StringMap('Labels of the HelmChart.')), annotations: Type.Optional(StringMap('Annotations of the HelmChart.')) }),
    ),
    spec: Type.Object({
      chart: Type.String({ description: 'Chart name (HelmRepository) or path (GitRepository, Bucket).', minLength: 1, maxLength: 2048 }),
      version: Type.Optional(Type.String({ description: 'SemVer range, for HelmRepository sources.', default: '*' })),
      sourceRef: Type.Object({
        apiVersion: Type.Optional(Type.String()),
        kind: Enum(['HelmRepository', 'GitRepository', 'Bucket'] as const, 'Kind of the source.'),
        name: Type.String({ minLength: 1, maxLength: 253 }),
        namespace: Type.Optional(Type.String({ minLength: 1, maxLength: 63, description: 'Namespace of the source; the HelmRelease\'s by default.' })),
      }),
      interval: Type.Optional(Duration('How often to check the source; the HelmRelease\'s interval by default.')),
      reconcileStrategy: Type.Optional(Enum(['ChartVersion', 'Revision'] as const, 'What makes a new chart artifact.', { default: 'ChartVersion' })),
      valuesFiles: Type.Optional(Type.Array(Type.String())),
      valuesFile: Type.Optional(Type.String({ description: 'Deprecated: one values file.' })),
      ignoreMissingValuesFiles: Type.Optional(Type.Boolean()),
      verify: Type.Optional(
        Type.Object({ provider: Enum(['cosign', 'notation'] as const, 'Provider.', { default: 'cosign' }), secretRef: Type.Optional(LocalObjectReference('Keys.')) }),
      ),
    }),
  },
  { description: 'Template of the HelmChart made for this release, named <namespace>-<name> in the namespace of the source.' },
);

const installFields = {
  timeout: Type.Optional(Duration('Timeout of the install.')),
  remediation: Type.Optional(Remediation(true)),
  disableWait: Type.Optional(Type.Boolean()),
  disableWaitForJobs: Type.Optional(Type.Boolean()),
  disableHooks: Type.Optional(Type.Boolean()),
  disableOpenAPIValidation: Type.Optional(Type.Boolean()),
  disableSchemaValidation: Type.Optional(Type.Boolean()),
  disableTakeOwnership: Type.Optional(Type.Boolean()),
  serverSideApply: Type.Optional(Type.Boolean({ description: 'Server-side apply for the install; true by default.' })),
  replace: Type.Optional(Type.Boolean()),
  skipCRDs: Type.Optional(Type.Boolean({ description: 'Deprecated: use crds: Skip.' })),
  crds: Type.Optional(CrdsPolicy('CRDs of the chart\'s crds/ directory: Skip, Create (default) or CreateReplace.')),
  createNamespace: Type.Optional(Type.Boolean()),
};

const upgradeFields = {
  timeout: Type.Optional(Duration('Timeout of the upgrade.')),
  remediation: Type.Optional(Remediation(false)),
  disableWait: Type.Optional(Type.Boolean()),
  disableWaitForJobs: Type.Optional(Type.Boolean()),
  disableHooks: Type.Optional(Type.Boolean()),
  disableOpenAPIValidation: Type.Optional(Type.Boolean()),
  disableSchemaValidation: Type.Optional(Type.Boolean()),
  disableTakeOwnership: Type.Optional(Type.Boolean()),
  serverSideApply: Type.Optional(ServerSideApply('upgrade')),
  force: Type.Optional(Type.Boolean()),
  preserveValues: Type.Optional(Type.Boolean()),
  cleanupOnFail: Type.Optional(Type.Boolean()),
  crds: Type.Optional(CrdsPolicy('CRDs on upgrade: Skip (default), Create or CreateReplace.')),
  chartNameChangeStrategy: Type.Optional(Enum(['Reinstall', 'InPlaceUpdate'] as const, 'What a new chart name does.')),
};

/** The spec, with the install and upgrade settings of an API version. */
const helmReleaseSpec = <I extends TSchema, U extends TSchema>(install: I, upgrade: U) => Type.Object({
  chart: Type.Optional(HelmChartTemplate),
  chartRef: Type.Optional(
    Type.Object(
      {
        apiVersion: Type.Optional(Type.String()),
        kind: Enum(['OCIRepository', 'HelmChart', 'ExternalArtifact'] as const, 'Kind of the chart source.'),
        name: Type.String({ minLength: 1, maxLength: 253 }),
        namespace: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
      },
      { description: 'An existing source object whose artifact is the chart.' },
    ),
  ),
  interval: Duration('How often to reconcile the release.'),
  kubeConfig: Type.Optional(KubeConfigReference('Release to a remote cluster with this kubeconfig.')),
  suspend: Type.Optional(Type.Boolean({ description: 'Stop reconciling; the release stays as it is.' })),
  releaseName: Type.Optional(Type.String({ minLength: 1, maxLength: 53, description: 'Name of the Helm release; [<targetNamespace>-]<name> by default.' })),
  targetNamespace: Type.Optional(Type.String({ minLength: 1, maxLength: 63, description: 'Namespace of the release\'s objects.' })),
  storageNamespace: Type.Optional(Type.String({ minLength: 1, maxLength: 63, description: 'Namespace of the Helm storage.' })),
  dependsOn: Type.Optional(Type.Array(DependencyReference('A HelmRelease that must be ready first.'))),
  healthCheckExprs: HealthCheckExprs('CEL expressions judging the health of custom resources, by kind; used when a Helm action waits.'),
  timeout: Type.Optional(Duration('Timeout of each Helm action; 5m by default.')),
  maxHistory: Type.Optional(Type.Integer({ description: 'Release revisions Helm keeps; 5 by default, 0 for unlimited.' })),
  serviceAccountName: Type.Optional(Type.String({ minLength: 1, maxLength: 253, description: 'Service account to impersonate.' })),
  persistentClient: Type.Optional(Type.Boolean({ description: 'Reuse the API clients (discovery, OpenAPI schema) between actions; true by default.' })),
  driftDetection: Type.Optional(
    Type.Object({
      mode: Type.Optional(Enum(['enabled', 'warn', 'disabled'] as const, 'Correct drift (enabled), report it (warn) or do not look (disabled).')),
      ignore: Type.Optional(
        Type.Array(Type.Object({ paths: Type.Array(Type.String(), { description: 'JSON pointers to ignore.' }), target: Type.Optional(Selector) })),
      ),
    }),
  ),
  install: Type.Optional(install),
  upgrade: Type.Optional(upgrade),
  test: Type.Optional(
    Type.Object({
      enable: Type.Optional(Type.Boolean({ description: 'Run the chart\'s tests after install and upgrade.' })),
      timeout: Type.Optional(Duration('Timeout of the tests.')),
      ignoreFailures: Type.Optional(Type.Boolean()),
      filters: Type.Optional(Type.Array(Type.Object({ name: Type.String({ minLength: 1, maxLength: 253, description: 'Name of the test.' }), exclude: Type.Optional(Type.Boolean()) }))),
    }),
  ),
  rollback: Type.Optional(
    Type.Object({
      timeout: Type.Optional(Duration('Timeout of a rollback.')),
      disableWait: Type.Optional(Type.Boolean()),
      disableWaitForJobs: Type.Optional(Type.Boolean()),
      disableHooks: Type.Optional(Type.Boolean()),
      recreate: Type.Optional(Type.Boolean({ description: 'Deprecated: no effect with Helm 4; a rollback with it set gets a Warning event.' })),
      force: Type.Optional(Type.Boolean()),
      cleanupOnFail: Type.Optional(Type.Boolean()),
      serverSideApply: Type.Optional(ServerSideApply('rollback')),
    }),
  ),
  uninstall: Type.Optional(
    Type.Object({
      timeout: Type.Optional(Duration('Timeout of an uninstall.')),
      disableHooks: Type.Optional(Type.Boolean()),
      keepHistory: Type.Optional(Type.Boolean()),
      disableWait: Type.Optional(Type.Boolean()),
      deletionPropagation: Type.Optional(Enum(['background', 'foreground', 'orphan'] as const, 'Deletion propagation.', { default: 'background' })),
    }),
  ),
  valuesFrom: Type.Optional(
    Type.Array(
      Type.Object({
        kind: Enum(['ConfigMap', 'Secret'] as const, 'Kind of the values source.'),
        name: Type.String({ minLength: 1, maxLength: 253 }),
        valuesKey: Type.Optional(Type.String({ maxLength: 253, pattern: '^[\\-._a-zA-Z0-9]+$', description: 'Data key holding the values; values.yaml by default.' })),
        targetPath: Type.Optional(
          Type.String({ maxLength: 250, pattern: '^([a-zA-Z0-9_\\-.\\\\\\/]|\\[[0-9]{1,5}\\])+$', description: 'Path (helm --set syntax) to put the single value at.' }),
        ),
        optional: Type.Optional(Type.Boolean({ description: 'Go on when the object or key does not exist.' })),
        literal: Type.Optional(Type.Boolean({ description: 'With targetPath: take the value verbatim (helm --set-literal).' })),
      }),
      { description: 'ConfigMaps and Secrets with values, merged in order, before the inline values.' },
    ),
  ),
  // Any JSON, as Flux's schema has it; the controller refuses what is not a map (prepare.ts).
  values: Type.Optional(Free<Record<string, unknown>>('Inline values, merged last.')),
  postRenderers: Type.Optional(Type.Array(PostRenderer, { description: 'Post-renderers, applied in order.' })),
  commonMetadata: Type.Optional(
    Type.Object({ labels: Type.Optional(StringMap('Labels for every object.')), annotations: Type.Optional(StringMap('Annotations for every object.')) }),
  ),
  postRenderStrategy: Type.Optional(
    Enum(['nohooks', 'combined', 'separate'] as const, 'What the post-renderers get: templates and hooks together (combined, the default), apart (separate), or templates only (nohooks).'),
  ),
  waitStrategy: Type.Optional(
    Type.Object(
      { name: Enum(['poller', 'legacy'] as const, "poller (kstatus, the default) or legacy (Helm 3's wait).") },
      { description: 'How to wait for the applied objects to become ready.' },
    ),
  ),
}, {
  'x-kubernetes-validations': [
    { rule: '(has(self.chart) && !has(self.chartRef)) || (!has(self.chart) && has(self.chartRef))', message: 'either chart or chartRef must be set' },
  ],
});

export const HelmReleaseSpec = helmReleaseSpec(
  Type.Object({ ...installFields, strategy: Type.Optional(Strategy('install')) }),
  Type.Object({ ...upgradeFields, strategy: Type.Optional(Strategy('upgrade')) }),
);
/** v2beta1 and v2beta2 are frozen: Flux added the install and upgrade strategies to v2 only. */
const HelmReleaseSpecBeta = helmReleaseSpec(Type.Object(installFields), Type.Object(upgradeFields));

const TestHookStatus = Type.Object({
  lastStarted: Type.Optional(Type.String({ format: 'date-time' })),
  lastCompleted: Type.Optional(Type.String({ format: 'date-time' })),
  phase: Type.Optional(Type.String()),
});

export const Snapshot = Type.Object({
  apiVersion: Type.Optional(Type.String()),
  digest: Type.String({ description: 'Checksum of the release object in storage, algo:checksum.' }),
  name: Type.String(),
  namespace: Type.String(),
  version: Type.Integer(),
  status: Type.String(),
  chartName: Type.String(),
  chartVersion: Type.String(),
  appVersion: Type.Optional(Type.String()),
  configDigest: Type.String(),
  firstDeployed: Type.String({ format: 'date-time' }),
  lastDeployed: Type.String({ format: 'date-time' }),
  deleted: Type.Optional(Type.String({ format: 'date-time' })),
  testHooks: Type.Optional(Type.Unsafe<Record<string, Static<typeof TestHookStatus>>>({ type: 'object', additionalProperties: TestHookStatus })),
  ociDigest: Type.Optional(Type.String()),
  action: Type.Optional(Type.String()),
});

export const HelmReleaseStatus = Type.Object({
  observedGeneration: Type.Optional(Type.Integer({ format: 'int64' })),
  observedPostRenderersDigest: Type.Optional(Type.String()),
  observedCommonMetadataDigest: Type.Optional(Type.String()),
  lastAttemptedGeneration: Type.Optional(Type.Integer({ format: 'int64' })),
  conditions: Type.Optional(Type.Array(Condition)),
  helmChart: Type.Optional(Type.String({ description: '<namespace>/<name> of the HelmChart made for this release.' })),
  storageNamespace: Type.Optional(Type.String({ minLength: 1, maxLength: 63, description: 'Namespace of the Helm storage of the current release.' })),
  history: Type.Optional(Type.Array(Snapshot, { description: 'Releases made for this HelmRelease, newest first, down to the last successful one.' })),
  lastAttemptedReleaseAction: Type.Optional(Enum(['install', 'upgrade'] as const, 'The last release action attempted.')),
  lastAttemptedReleaseActionDuration: Type.Optional(Type.String()),
  failures: Type.Optional(Type.Integer({ format: 'int64' })),
  installFailures: Type.Optional(Type.Integer({ format: 'int64' })),
  upgradeFailures: Type.Optional(Type.Integer({ format: 'int64' })),
  lastAppliedRevision: Type.Optional(Type.String({ description: 'Deprecated: the chart version last released successfully.' })),
  lastAttemptedRevision: Type.Optional(Type.String()),
  lastAttemptedRevisionDigest: Type.Optional(Type.String()),
  lastAttemptedValuesChecksum: Type.Optional(Type.String({ description: 'Deprecated: SHA1 of the values last attempted.' })),
  lastReleaseRevision: Type.Optional(Type.Integer({ description: 'Deprecated: the revision of the last successful release.' })),
  lastAttemptedConfigDigest: Type.Optional(Type.String()),
  lastHandledForceAt: Type.Optional(Type.String()),
  lastHandledResetAt: Type.Optional(Type.String()),
  inventory: Type.Optional(Type.Object({ entries: Type.Array(InventoryEntry) })),
  ...ReconcileRequestStatus,
}, statusOptions);

export type HelmReleaseSpec = Static<typeof HelmReleaseSpec>;
export type HelmReleaseStatus = Static<typeof HelmReleaseStatus>;
/** A HelmRelease object. */
export type HelmRelease = ApiObject<HelmReleaseSpec, HelmReleaseStatus>;
export type Snapshot = Static<typeof Snapshot>;

const helmReleaseColumns = [...readyColumns, ...getColumns('.status.history[0].chartVersion', { pin: true, attempted: true })];

export const helmReleaseKind: KindDefinition = {
  group: HELM_GROUP,
  kind: 'HelmRelease',
  plural: 'helmreleases',
  singular: 'helmrelease',
  shortNames: ['hr'],
  categories: applierCategories,
  description: 'HelmRelease keeps a Helm release installed and equal to a chart and values.',
  versions: [
    { name: 'v2', spec: HelmReleaseSpec, status: HelmReleaseStatus, columns: helmReleaseColumns },
    {
      name: 'v2beta2',
      spec: HelmReleaseSpecBeta,
      status: HelmReleaseStatus,
      columns: helmReleaseColumns,
      deprecated: 'helm.toolkit.fluxcd.io/v2beta2 HelmRelease is deprecated, upgrade to v2',
    },
    {
      name: 'v2beta1',
      spec: HelmReleaseSpecBeta,
      status: HelmReleaseStatus,
      columns: helmReleaseColumns,
      deprecated: 'helm.toolkit.fluxcd.io/v2beta1 HelmRelease is deprecated, upgrade to v2',
    },
  ],
};
