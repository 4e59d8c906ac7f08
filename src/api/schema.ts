// src/api: the CRD schemas, one file per kind. Each TypeBox definition gives
// both the OpenAPI schema `sluice install` writes and, through Static<>, the
// one TypeScript type the rest of the code uses for that object.
import { Type, type Static, type TSchema, type SchemaOptions } from '@sinclair/typebox';
import type { KubeObject } from '../kube/object.ts';

/**
 * Helpers over TypeBox: one definition gives both the TypeScript type
 * (`Static<typeof X>`) and the OpenAPI v3 schema the CRD carries, so the
 * controller's types and `kubectl explain` never disagree.
 */

/** A Go duration such as 1m30s, validated by the API server with Flux's pattern. */
export const Duration = (description: string, options: SchemaOptions = {}) =>
  Type.String({ description, pattern: '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$', ...options });

/**
 * A source's network timeout: Flux's pattern there has no hours (a fetch
 * that may take an hour is a mistake), so an object Sluice accepts is one
 * Flux accepts.
 */
export const ShortDuration = (description: string, options: SchemaOptions = {}) =>
  Type.String({ description, pattern: '^([0-9]+(\\.[0-9]+)?(ms|s|m))+$', ...options });

export const LocalObjectReference = (description: string) =>
  Type.Object({ name: Type.String({ description: 'Name of the referent.' }) }, { description });

export const NamespacedObjectReference = (description: string) =>
  Type.Object(
    {
      name: Type.String({ description: 'Name of the referent.' }),
      namespace: Type.Optional(Type.String({ description: 'Namespace of the referent, defaults to the namespace of the object that refers to it.' })),
    },
    { description },
  );

export const NamespacedObjectKindReference = (description: string, kinds: string[]) =>
  Type.Object(
    {
      apiVersion: Type.Optional(Type.String({ description: 'API version of the referent.' })),
      kind: Type.String({ description: 'Kind of the referent.', enum: kinds }),
      name: Type.String({ description: 'Name of the referent.' }),
      namespace: Type.Optional(Type.String({ description: 'Namespace of the referent, defaults to the namespace of the object that refers to it.' })),
    },
    { description },
  );

/**
 * spec.kubeConfig of the appliers (Kustomization, HelmRelease): a kubeconfig
 * in a Secret, or the parameters to build one in a ConfigMap (Flux's
 * secret-less authentication); exactly one, as Flux's CEL rules say.
 */
export const KubeConfigReference = (description: string) =>
  Type.Object(
    {
      configMapRef: Type.Optional(
        LocalObjectReference(
          'ConfigMap with the keys provider (aws, azure, gcp or generic), cluster, address, ca.crt, audiences and serviceAccountName to build a kubeconfig from. Mutually exclusive with secretRef.',
        ),
      ),
      secretRef: Type.Optional(
        Type.Object(
          {
            name: Type.String({ description: 'Name of the Secret.' }),
            key: Type.Optional(Type.String({ description: 'Key of the kubeconfig in the Secret: value or value.yaml by default.' })),
          },
          { description: 'Secret with a kubeconfig. Mutually exclusive with configMapRef.' },
        ),
      ),
    },
    {
      description,
      'x-kubernetes-validations': [
        { rule: 'has(self.configMapRef) || has(self.secretRef)', message: 'exactly one of spec.kubeConfig.configMapRef or spec.kubeConfig.secretRef must be specified' },
        { rule: '!has(self.configMapRef) || !has(self.secretRef)', message: 'exactly one of spec.kubeConfig.configMapRef or spec.kubeConfig.secretRef must be specified' },
      ],
    },
  );

/** A string enum, as Kubernetes schemas want it (no anyOf). */
export const Enum = <T extends string>(values: readonly T[], description: string, options: SchemaOptions = {}) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], description, ...options });

export const StringMap = (description: string) =>
  Type.Unsafe<Record<string, string>>({ type: 'object', additionalProperties: { type: 'string' }, description });

/** Any JSON value, kept as the user wrote it (Helm values, patches). */
export const Free = <T = unknown>(description: string) =>
  Type.Unsafe<T>({ 'x-kubernetes-preserve-unknown-fields': true, description });

export const FreeObject = <T = Record<string, unknown>>(description: string) =>
  Type.Unsafe<T>({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true, description });

/**
 * What the API server allows as a condition type and reason: the patterns of
 * Kubernetes' metav1.Condition, which Flux's CRDs carry too. Every type and
 * reason the controllers write is an identifier that matches them
 * (src/runtime/conditions.test.ts checks the Reason tables).
 */
export const CONDITION_TYPE_PATTERN = '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$';
export const CONDITION_REASON_PATTERN = '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$';

/**
 * Options of every kind's status schema: the API server starts a new
 * object's status at observedGeneration -1, "never reconciled", as Flux's
 * CRDs have it. The controllers only ever compare observedGeneration with
 * metadata.generation, so -1 reads as "not observed yet" everywhere (as an
 * absent field did).
 */
export const statusOptions = { default: { observedGeneration: -1 } };

export const Condition = Type.Object(
  {
    type: Type.String({ description: 'Type of the condition, e.g. Ready.', maxLength: 316, pattern: CONDITION_TYPE_PATTERN }),
    status: Enum(['True', 'False', 'Unknown'] as const, 'Status of the condition.'),
    observedGeneration: Type.Optional(Type.Integer({ description: 'The generation the condition was set for.', format: 'int64', minimum: 0 })),
    lastTransitionTime: Type.String({ description: 'When the condition last changed from one status to another.', format: 'date-time' }),
    reason: Type.String({ description: 'CamelCase reason for the last transition.', maxLength: 1024, minLength: 1, pattern: CONDITION_REASON_PATTERN }),
    message: Type.String({ description: 'Human readable details of the last transition.', maxLength: 32768 }),
  },
  { description: 'Condition in the kstatus-compatible format Flux uses.' },
);
export type Condition = Static<typeof Condition>;

/** An object of one of Sluice's kinds as the API server stores it: the kind's spec and status types on a Kubernetes object. */
export interface ApiObject<Spec extends Record<string, unknown>, Status extends Record<string, unknown>> extends KubeObject {
  spec: Spec;
  status?: Status;
}

export const ReconcileRequestStatus = {
  lastHandledReconcileAt: Type.Optional(
    Type.String({ description: 'The value of the reconcile.fluxcd.io/requestedAt annotation last handled.' }),
  ),
};

/**
 * Turns a TypeBox schema into a Kubernetes structural schema: plain JSON
 * without TypeBox's symbols, `additionalProperties: false` removed (the API
 * server prunes unknown fields itself).
 */
export function toStructural(schema: TSchema): Record<string, unknown> {
  const json = JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
  const walk = (s: Record<string, unknown>) => {
    delete s.$id;
    if (s.additionalProperties === false) delete s.additionalProperties;
    for (const v of Object.values((s.properties as Record<string, Record<string, unknown>>) ?? {})) walk(v);
    if (s.items && typeof s.items === 'object') walk(s.items as Record<string, unknown>);
    if (s.additionalProperties && typeof s.additionalProperties === 'object') walk(s.additionalProperties as Record<string, unknown>);
  };
  walk(json);
  return json;
}

export interface PrinterColumn {
  name: string;
  type: 'string' | 'date' | 'integer' | 'boolean' | 'number';
  jsonPath: string;
  description?: string;
  priority?: number;
}

export const readyColumns: PrinterColumn[] = [
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  { name: 'Status', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].message' },
];

/**
 * Columns Sluice adds after Flux's, at priority 1 (\`kubectl get -o wide\`
 * shows them; the default view is Flux's): with them \`sluice get\` reads its
 * whole table from the API server's Table of the printer columns without
 * the objects, a tenth of the bytes of the objects themselves.
 */
export const getColumns = (revisionPath: string, o: { pin?: boolean; attempted?: boolean } = {}): PrinterColumn[] => [
  { name: 'Revision', type: 'string', jsonPath: revisionPath, priority: 1, description: 'The revision `sluice get` shows.' },
  ...(o.attempted ? [{ name: 'Attempted', type: 'string' as const, jsonPath: '.status.lastAttemptedRevision', priority: 1, description: 'The revision last attempted.' }] : []),
  { name: 'Suspended', type: 'boolean', jsonPath: '.spec.suspend', priority: 1, description: 'Whether reconciliation is suspended.' },
  ...(o.pin ? [{ name: 'Pinned To', type: 'string' as const, jsonPath: '.metadata.annotations.sluice\\.dev/rollback-to', priority: 1, description: 'The revision `sluice rollback` pinned it to.' }] : []),
];
export const artifactColumns = getColumns('.status.artifact.revision');

/** The categories Flux gives its kinds (`kubectl get fluxcd`, `kubectl get all`). */
export const sourceCategories = ['all', 'fluxcd', 'fluxcd-sources'];
export const applierCategories = ['all', 'fluxcd', 'fluxcd-appliers'];

export interface KindDefinition {
  group: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames?: string[];
  categories: string[];
  description: string;
  /** Served versions; the first is the storage version. */
  versions: Array<{ name: string; spec: TSchema; status: TSchema; columns: PrinterColumn[]; deprecated?: string }>;
}

/** The CustomResourceDefinition for a kind. */
export function crdFor(def: KindDefinition): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${def.plural}.${def.group}`, labels: { 'app.kubernetes.io/part-of': 'sluice' } },
    spec: {
      group: def.group,
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        ...(def.shortNames ? { shortNames: def.shortNames } : {}),
        categories: def.categories,
      },
      scope: 'Namespaced',
      versions: def.versions.map((v, i) => ({
        name: v.name,
        served: true,
        storage: i === 0,
        ...(v.deprecated ? { deprecated: true, deprecationWarning: v.deprecated } : {}),
        additionalPrinterColumns: v.columns,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            description: def.description,
            properties: {
              apiVersion: { type: 'string', description: 'APIVersion of this representation of the object.' },
              kind: { type: 'string', description: 'Kind of the object.' },
              metadata: { type: 'object' },
              spec: toStructural(v.spec),
              status: toStructural(v.status),
            },
          },
        },
      })),
    },
  };
}

/** Cosign keyless identities a signature may have (OCIRepository and HelmChart verify.matchOIDCIdentity). */
export const MatchOIDCIdentity = () =>
  Type.Array(
    Type.Object(
      {
        issuer: Type.String({ description: 'Regular expression the OIDC issuer of the Fulcio certificate must match.' }),
        subject: Type.String({ description: 'Regular expression the identity subject of the Fulcio certificate must match.' }),
      },
      { description: 'An issuer and subject a keyless signature may have.' },
    ),
    { description: 'Identities accepted for Cosign keyless signatures (not supported by Sluice).' },
  );
