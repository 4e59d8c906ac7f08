/** A Kubernetes object as JSON, with the fields Sluice reads typed. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: Array<{ apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }>;
  managedFields?: ManagedFieldsEntry[];
  [key: string]: unknown;
}

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: 'Apply' | 'Update';
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

export function gvkOf(obj: Pick<KubeObject, 'apiVersion' | 'kind'>): GroupVersionKind {
  return { ...parseApiVersion(obj.apiVersion), kind: obj.kind };
}

/**
 * The identity of an object in Flux's inventory format,
 * `<namespace>_<name>_<group>_<kind>` (empty namespace for cluster-scoped
 * objects, empty group for the core group).
 */
export function objectId(obj: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>): string {
  const { group } = parseApiVersion(obj.apiVersion);
  return `${obj.metadata.namespace ?? ''}_${obj.metadata.name ?? ''}_${group}_${obj.kind}`;
}

export interface ObjectRef {
  namespace: string;
  name: string;
  group: string;
  kind: string;
}

export function parseObjectId(id: string): ObjectRef {
  // Names and namespaces cannot hold "_", but groups can hold neither; the
  // kind is last and the group may contain dots only.
  const parts = id.split('_');
  if (parts.length !== 4) throw new Error(`malformed inventory id "${id}"`);
  const [namespace, name, group, kind] = parts as [string, string, string, string];
  return { namespace, name, group, kind };
}

/** How a person names an object in logs: `Kind/namespace/name` or `Kind/name`. */
export function subject(obj: { kind: string; metadata: { namespace?: string; name?: string } } | ObjectRef): string {
  const ns = 'metadata' in obj ? obj.metadata.namespace : obj.namespace;
  const name = 'metadata' in obj ? obj.metadata.name : obj.name;
  return ns ? `${obj.kind}/${ns}/${name}` : `${obj.kind}/${name}`;
}

export function annotation(obj: { metadata?: ObjectMeta } | undefined, key: string): string | undefined {
  return obj?.metadata?.annotations?.[key];
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

export function conditionsOf(obj: { status?: Record<string, unknown> } | undefined): Condition[] {
  const c = obj?.status?.conditions;
  return Array.isArray(c) ? (c as Condition[]) : [];
}

export function findCondition(obj: { status?: Record<string, unknown> } | undefined, type: string): Condition | undefined {
  return conditionsOf(obj).find((c) => c.type === type);
}
