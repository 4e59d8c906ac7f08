// The native build path: the spec-level transforms of a Flux Kustomization
// that need no kustomize run, with kustomize's own semantics (as of kustomize
// v5.8.2, the version src/tools/gotool.ts pins), and Flux's commonMetadata.
//
// The native path covers targetNamespace, namePrefix and nameSuffix on a
// directory without a kustomization file. Kustomize also rewrites references
// between objects when it renames or moves them (a Deployment's
// serviceAccountName, a RoleBinding's subjects, a webhook's service, ...).
// Rather than re-implement that machinery, `nativeBlocker` detects every
// object set where such a rewrite could happen, and the build then runs the
// real kustomize instead. The equivalence test in test/build/ holds the native
// output against kustomize's for a varied fixture set.
import type { KubeObject, Manifest } from './manifests.ts';
import { objectRef } from './manifests.ts';

/**
 * Kinds kustomize takes as cluster-scoped: those its built-in OpenAPI schema
 * (Kubernetes 1.21.2, plus a few it adds by hand) declares without a
 * namespace, keyed by exact apiVersion. Anything else, custom resources of
 * cluster-scoped CRDs included, kustomize treats as namespaced and gives
 * `targetNamespace`.
 */
const KUSTOMIZE_CLUSTER_SCOPED = new Set(
  [
    'admissionregistration.k8s.io/v1 MutatingWebhookConfiguration',
    'admissionregistration.k8s.io/v1 ValidatingWebhookConfiguration',
    'admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy',
    'admissionregistration.k8s.io/v1 ValidatingAdmissionPolicyBinding',
    'admissionregistration.k8s.io/v1beta1 MutatingWebhookConfiguration',
    'admissionregistration.k8s.io/v1beta1 ValidatingWebhookConfiguration',
    'apiextensions.k8s.io/v1 CustomResourceDefinition',
    'apiextensions.k8s.io/v1beta1 CustomResourceDefinition',
    'apiregistration.k8s.io/v1 APIService',
    'apiregistration.k8s.io/v1beta1 APIService',
    'certificates.k8s.io/v1 CertificateSigningRequest',
    'certificates.k8s.io/v1beta1 CertificateSigningRequest',
    'flowcontrol.apiserver.k8s.io/v1beta1 FlowSchema',
    'flowcontrol.apiserver.k8s.io/v1beta1 PriorityLevelConfiguration',
    'networking.k8s.io/v1 IngressClass',
    'networking.k8s.io/v1beta1 IngressClass',
    'node.k8s.io/v1 RuntimeClass',
    'node.k8s.io/v1beta1 RuntimeClass',
    'policy/v1beta1 PodSecurityPolicy',
    'rbac.authorization.k8s.io/v1 ClusterRole',
    'rbac.authorization.k8s.io/v1 ClusterRoleBinding',
    'rbac.authorization.k8s.io/v1beta1 ClusterRole',
    'rbac.authorization.k8s.io/v1beta1 ClusterRoleBinding',
    'scheduling.k8s.io/v1 PriorityClass',
    'scheduling.k8s.io/v1beta1 PriorityClass',
    'storage.k8s.io/v1 CSIDriver',
    'storage.k8s.io/v1 CSINode',
    'storage.k8s.io/v1 StorageClass',
    'storage.k8s.io/v1 VolumeAttachment',
    'storage.k8s.io/v1beta1 CSIDriver',
    'storage.k8s.io/v1beta1 CSINode',
    'storage.k8s.io/v1beta1 StorageClass',
    'storage.k8s.io/v1beta1 VolumeAttachment',
    'v1 ComponentStatus',
    'v1 Namespace',
    'v1 Node',
    'v1 NodeProxyOptions',
    'v1 PersistentVolume',
  ],
);

/** Whether kustomize (v5.8.2) leaves this kind's namespace alone. */
export function isClusterScopedForKustomize(apiVersion: string, kind: string): boolean {
  return KUSTOMIZE_CLUSTER_SCOPED.has(`${apiVersion} ${kind}`);
}

function group(apiVersion: string): string {
  const i = apiVersion.indexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
}

/**
 * Kinds kustomize's name-reference transformer can rewrite references to
 * (taken in any group, to be safe). IngressClass is in kustomize's list too,
 * but under the group "networking.k8s.io/v1", which matches no object, so
 * kustomize never rewrites an ingressClassName.
 */
const REFERENCE_TARGET_KINDS = new Set([
  'Deployment', 'ReplicationController', 'ReplicaSet', 'StatefulSet', 'ConfigMap', 'Secret', 'Service',
  'Role', 'ClusterRole', 'ServiceAccount', 'PersistentVolumeClaim', 'PersistentVolume', 'StorageClass',
  'PriorityClass', 'ValidatingAdmissionPolicy',
]);

/** Kinds whose name kustomize's prefix/suffix transformers never change. */
function keepsName(obj: KubeObject): boolean {
  return (
    obj.kind === 'CustomResourceDefinition' ||
    obj.kind === 'Namespace' ||
    (obj.kind === 'APIService' && group(obj.apiVersion) === 'apiregistration.k8s.io')
  );
}

export interface NativeTransformSpec {
  targetNamespace?: string;
  namePrefix?: string;
  nameSuffix?: string;
}

type Json = unknown;

function isObj(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every string in a value, with its path, skipping label maps and selectors (kustomize never rewrites those). */
function* strings(v: Json, path: string[] = []): Generator<{ path: string[]; value: string }> {
  if (typeof v === 'string') yield { path, value: v };
  else if (Array.isArray(v)) for (const x of v) yield* strings(x, path);
  else if (isObj(v)) {
    for (const [k, x] of Object.entries(v)) {
      if (k === 'labels' || k === 'matchLabels' || k === 'selector') continue;
      yield* strings(x, [...path, k]);
    }
  }
}

/**
 * Why the native path cannot produce what kustomize would for these objects
 * and this spec, or undefined when it can.
 */
export function nativeBlocker(objects: KubeObject[], spec: NativeTransformSpec): string | undefined {
  const ns = spec.targetNamespace;
  if (ns) {
    const serviceAccounts = new Set(objects.filter((o) => o.kind === 'ServiceAccount').map((o) => o.metadata.name));
    const hasService = objects.some((o) => o.kind === 'Service');
    for (const o of objects) {
      const ref = objectRef(o);
      if ((o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') && Array.isArray(o.subjects)) {
        for (const s of o.subjects) {
          if (isObj(s) && s.kind === 'ServiceAccount' && serviceAccounts.has(s.name as string)) {
            return `${ref} binds ServiceAccount ${String(s.name)}, which is part of the build`;
          }
        }
      }
      if ((o.kind === 'MutatingWebhookConfiguration' || o.kind === 'ValidatingWebhookConfiguration') && hasService) {
        return `${ref} may call a Service that is part of the build`;
      }
      if (o.kind === 'APIService' && group(o.apiVersion) === 'apiregistration.k8s.io') {
        return `${ref} has a service namespace that kustomize sets`;
      }
      if (o.kind === 'CustomResourceDefinition') {
        const conv = (o.spec as { conversion?: { webhook?: { clientConfig?: { service?: unknown } } } } | undefined)?.conversion;
        if (conv?.webhook?.clientConfig?.service !== undefined) return `${ref} has a conversion webhook service`;
      }
      if (o.kind === 'StorageClass' && isObj(o.parameters) && 'secretRef' in o.parameters) {
        return `${ref} refers to a Secret by namespace`;
      }
    }
  }
  if (spec.namePrefix || spec.nameSuffix) {
    const renamed = new Set<string>();
    for (const o of objects) {
      if (REFERENCE_TARGET_KINDS.has(o.kind) && !keepsName(o) && o.metadata.name) renamed.add(o.metadata.name);
    }
    if (renamed.size > 0) {
      for (const o of objects) {
        for (const { path, value } of strings(o)) {
          if (path.length === 2 && path[0] === 'metadata' && path[1] === 'name') continue;
          const annotation = path[0] === 'metadata' && path[1] === 'annotations';
          const slash = value.lastIndexOf('/');
          if (renamed.has(value) || (annotation && slash >= 0 && renamed.has(value.slice(slash + 1)))) {
            return `${objectRef(o)} has the value ${JSON.stringify(value)} at ${path.join('.')}, which may refer to an object kustomize renames`;
          }
        }
      }
    }
  }
  return undefined;
}

/** Annotations kustomize uses while building and removes from its output. */
const KUSTOMIZE_BUILD_ANNOTATIONS = [
  'internal.config.kubernetes.io/previousKinds',
  'internal.config.kubernetes.io/previousNames',
  'internal.config.kubernetes.io/prefixes',
  'internal.config.kubernetes.io/suffixes',
  'internal.config.kubernetes.io/previousNamespaces',
  'internal.config.kubernetes.io/allowNameChange',
  'internal.config.kubernetes.io/allowKindChange',
  'internal.config.kubernetes.io/refBy',
  'internal.config.kubernetes.io/generatorBehavior',
  'internal.config.kubernetes.io/needsHashSuffix',
  'internal.config.kubernetes.io/helm-generated',
  'internal.config.kubernetes.io/path',
  'internal.config.kubernetes.io/index',
  'internal.config.kubernetes.io/seqindent',
  'internal.config.kubernetes.io/id',
  'internal.config.kubernetes.io/annotations-migration-resource-id',
  'config.kubernetes.io/path',
  'config.kubernetes.io/index',
  'config.k8s.io/id',
  'config.kubernetes.io/origin',
  'alpha.config.kubernetes.io/transformations',
];

/**
 * Removes what kustomize removes from every object it outputs: its internal
 * annotations, and an annotations map that is then empty (or was null).
 */
export function cleanLikeKustomize(obj: KubeObject): void {
  const md = obj.metadata;
  if (!('annotations' in md)) return;
  const ann = md.annotations;
  if (isObj(ann)) for (const k of KUSTOMIZE_BUILD_ANNOTATIONS) delete ann[k];
  if (!isObj(ann) || Object.keys(ann).length === 0) delete md.annotations;
}

function effectiveId(o: KubeObject): string {
  const ns = isClusterScopedForKustomize(o.apiVersion, o.kind) ? '' : o.metadata.namespace || 'default';
  return `${o.apiVersion}|${o.kind}|${ns}|${o.metadata.name ?? ''}`;
}

/** Fails, as kustomize does, when two objects have the same identity. */
export function checkUniqueIds(manifests: Manifest[], after?: string): void {
  const seen = new Map<string, Manifest>();
  for (const m of manifests) {
    const id = effectiveId(m.object);
    const prev = seen.get(id);
    if (prev) {
      const where = (x: Manifest) => `${x.origin.file}${x.origin.line ? `:${x.origin.line}` : ''}`;
      throw new Error(
        `${objectRef(m.object)} is defined twice${after ? ` after ${after}` : ''}: in ${where(prev)} and in ${where(m)}`,
      );
    }
    seen.set(id, m);
  }
}

/**
 * Applies targetNamespace, namePrefix and nameSuffix as kustomize does to a
 * set for which `nativeBlocker` found nothing. Returns new objects.
 */
export function applyNativeTransforms(manifests: Manifest[], spec: NativeTransformSpec): Manifest[] {
  checkUniqueIds(manifests);
  const out = manifests.map((m) => ({ object: structuredClone(m.object), origin: m.origin }));
  const ns = spec.targetNamespace;
  if (ns) {
    for (const { object: o } of out) {
      if (!isClusterScopedForKustomize(o.apiVersion, o.kind)) o.metadata.namespace = ns;
      if (o.kind === 'Namespace' && o.apiVersion === 'v1' && 'name' in o.metadata) o.metadata.name = ns;
      if ((o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') && Array.isArray(o.subjects)) {
        for (const s of o.subjects) if (isObj(s) && s.name === 'default') s.namespace = ns;
      }
    }
    checkUniqueIds(out, `setting namespace ${ns}`);
  }
  if (spec.namePrefix || spec.nameSuffix) {
    for (const { object: o } of out) {
      if (keepsName(o) || typeof o.metadata.name !== 'string') continue;
      o.metadata.name = `${spec.namePrefix ?? ''}${o.metadata.name}${spec.nameSuffix ?? ''}`;
    }
  }
  for (const m of out) cleanLikeKustomize(m.object);
  return out;
}

export interface CommonMetadata {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/**
 * Flux's commonMetadata: merges labels and annotations into every object's
 * metadata (overriding same-named keys), and nowhere else (not selectors or
 * pod templates). Flux does this after variable substitution. Returns new objects.
 */
export function applyCommonMetadata(manifests: Manifest[], cm: CommonMetadata | undefined): Manifest[] {
  const labels = cm?.labels ?? {};
  const annotations = cm?.annotations ?? {};
  if (Object.keys(labels).length === 0 && Object.keys(annotations).length === 0) return manifests;
  return manifests.map((m) => {
    const object = structuredClone(m.object);
    const md = object.metadata;
    if (Object.keys(labels).length > 0) md.labels = { ...(isObj(md.labels) ? md.labels : {}), ...labels };
    if (Object.keys(annotations).length > 0) md.annotations = { ...(isObj(md.annotations) ? md.annotations : {}), ...annotations };
    return { object, origin: m.origin };
  });
}
