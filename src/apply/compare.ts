import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from '../kube/object.ts';
import { KubeApiError } from '../kube/errors.ts';

/**
 * The parts of an object a server-side apply can change, for comparing a
 * dry-run result with the live object: bookkeeping that moves on every
 * write (managedFields, resourceVersion, generation) and status, which
 * controllers own, are left out.
 */
export function comparable(obj: KubeObject): KubeObject {
  const { metadata, status: _status, ...rest } = obj;
  const { managedFields: _m, resourceVersion: _rv, generation: _g, ...meta } = metadata;
  return { ...rest, metadata: meta } as KubeObject;
}

export function sameContent(a: KubeObject, b: KubeObject): boolean {
  return isDeepStrictEqual(comparable(a), comparable(b));
}

/** Does `manager` own fields of this object through an Apply? */
export function appliedBy(obj: KubeObject, manager: string): boolean {
  return (obj.metadata.managedFields ?? []).some((f) => f.manager === manager && f.operation === 'Apply');
}

// What the API server says when an update touches a field that cannot change.
const IMMUTABLE = [
  /field is immutable/i,
  /cannot change/i,
  /cannot be changed/i,
  /may not change once set/i,
  /spec: Forbidden: updates to \S+ spec for fields other than/i,
];

export function isImmutableError(err: unknown): boolean {
  if (!(err instanceof KubeApiError) || err.status !== 422) return false;
  const texts = [err.serverMessage, ...(err.body?.details?.causes ?? []).map((c) => c.message ?? '')];
  return texts.some((t) => IMMUTABLE.some((re) => re.test(t)));
}

/** The fields an immutable-field error names, e.g. "spec.clusterIPs[0], spec.selector". */
export function immutableFields(err: KubeApiError): string {
  const fields = (err.body?.details?.causes ?? []).map((c) => c.field).filter((f): f is string => !!f);
  return fields.length ? [...new Set(fields)].join(', ') : err.serverMessage;
}
