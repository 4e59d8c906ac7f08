import { createHash } from 'node:crypto';
import { canonicalJson, mergeValues, parseValues, type Values } from '../util/values.ts';

export { canonicalJson, mergeValues, parseValues, type Values } from '../util/values.ts';

/** One segment of a --set path: a map key, or a list index. */
type Segment = { key: string } | { index: number };

/** Splits a helm --set path: `a.b\.c[0].d` → a, b.c, [0], d. */
export function parsePath(path: string): Segment[] {
  const out: Segment[] = [];
  let cur = '';
  const flush = () => {
    if (cur) out.push({ key: cur });
    cur = '';
  };
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (c === '\\' && i + 1 < path.length) {
      cur += path[++i];
    } else if (c === '.') {
      if (!cur && !(out.length && 'index' in out[out.length - 1]!)) throw new Error(`invalid path '${path}': empty key`);
      flush();
    } else if (c === '[') {
      flush();
      const end = path.indexOf(']', i);
      if (end < 0) throw new Error(`invalid path '${path}': missing ']'`);
      const n = Number(path.slice(i + 1, end));
      if (!Number.isInteger(n) || n < 0) throw new Error(`invalid path '${path}': bad list index '${path.slice(i + 1, end)}'`);
      out.push({ index: n });
      i = end;
    } else cur += c;
  }
  flush();
  if (!out.length || !('key' in out[0]!)) throw new Error(`invalid path '${path}'`);
  return out;
}

/** A --set value typed as helm does: true/false, null, integers without a leading zero; {a,b} is a list. */
export function typedValue(raw: string): unknown {
  if (raw.startsWith('{') && raw.endsWith('}')) return raw.slice(1, -1).split(',').filter((s) => s !== '').map(typedValue);
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (raw === 'null') return null;
  if (raw === '0') return 0;
  if (/^[-+]?[1-9]\d*$/.test(raw) && Number.isSafeInteger(Number(raw))) return Number(raw);
  return raw;
}

/**
 * Puts one value at a --set style path inside `values` (changed in place), as
 * Flux does for valuesFrom with targetPath: quoted values and `literal` ones
 * stay strings, others are typed like helm --set.
 */
export function setPathValue(values: Values, path: string, raw: string, literal = false): void {
  const segs = parsePath(path);
  let value: unknown;
  if (literal) value = raw;
  else if (raw.length >= 2 && ((raw.startsWith('"') && raw.endsWith('"')) || (raw.startsWith("'") && raw.endsWith("'")))) value = raw.slice(1, -1);
  else value = typedValue(raw);
  let node: unknown = values;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    const last = i === segs.length - 1;
    const next = segs[i + 1];
    const fresh = () => (next && 'index' in next ? [] : {});
    if ('key' in seg) {
      const m = node as Values;
      if (last) m[seg.key] = value;
      else {
        const child = m[seg.key];
        if (!(typeof child === 'object' && child !== null) || (next && 'index' in next) !== Array.isArray(child)) m[seg.key] = fresh();
        node = m[seg.key];
      }
    } else {
      const list = node as unknown[];
      while (list.length <= seg.index) list.push(null);
      if (last) list[seg.index] = value;
      else {
        const child = list[seg.index];
        if (!(typeof child === 'object' && child !== null) || (next && 'index' in next) !== Array.isArray(child)) list[seg.index] = fresh();
        node = list[seg.index];
      }
    }
  }
}

export interface ValuesReference {
  kind: 'ConfigMap' | 'Secret';
  name: string;
  valuesKey?: string;
  targetPath?: string;
  optional?: boolean;
  literal?: boolean;
}

/** Why a values reference could not be used; the message follows Flux's wording. */
export class ValuesReferenceError extends Error {
  constructor(ref: ValuesReference, namespace: string, reason: string) {
    super(
      `could not resolve${ref.optional ? ' optional' : ''} ${ref.kind} chart values reference '${namespace}/${ref.name}' with key '${ref.valuesKey ?? 'values.yaml'}': ${reason}`,
    );
    this.name = 'ValuesReferenceError';
  }
}

/** Data of a ConfigMap (strings) or a Secret (decoded from base64). */
export type ValuesSource = (kind: 'ConfigMap' | 'Secret', name: string) => Promise<Record<string, string> | undefined>;

/**
 * The values of a release, composed as helm-controller does: the references
 * in order (each merged over the previous, or with targetPath put at its
 * path), then the inline values merged over everything.
 */
export async function composeValues(namespace: string, inline: Values | undefined, refs: ValuesReference[], source: ValuesSource): Promise<Values> {
  let result: Values = {};
  const cache = new Map<string, Record<string, string> | undefined>();
  for (const ref of refs) {
    const id = `${ref.kind}/${ref.name}`;
    if (!cache.has(id)) cache.set(id, await source(ref.kind, ref.name));
    const data = cache.get(id);
    if (!data) {
      if (ref.optional) continue;
      throw new ValuesReferenceError(ref, namespace, 'resource not found');
    }
    const key = ref.valuesKey ?? 'values.yaml';
    const text = data[key];
    if (text === undefined) {
      if (ref.optional) continue;
      throw new ValuesReferenceError(ref, namespace, 'key not found');
    }
    if (ref.targetPath) {
      try {
        setPathValue(result, ref.targetPath, text, ref.literal);
      } catch (err) {
        throw new ValuesReferenceError(ref, namespace, `failed to merge value: ${(err as Error).message}`);
      }
      continue;
    }
    let v: Values;
    try {
      v = parseValues(text, `key '${key}'`);
    } catch (err) {
      throw new ValuesReferenceError(ref, namespace, `failed to read values data: ${(err as Error).message}`);
    }
    result = mergeValues(result, v);
  }
  return mergeValues(result, inline ?? {});
}

/** Flux's config digest: sha256 over the canonical JSON of the values. */
export function configDigest(values: Values): string {
  return `sha256:${createHash('sha256').update(canonicalJson(values ?? {})).digest('hex')}`;
}

/** The deprecated lastAttemptedValuesChecksum: SHA1 of the values. */
export function valuesChecksum(values: Values): string {
  return createHash('sha1').update(canonicalJson(values ?? {})).digest('hex');
}
