// Helm values as plain trees: the merge, parse and canonical-JSON rules both
// chart sourcing (valuesFiles) and releases (values, valuesFrom) follow.
import { parse } from 'yaml';

export type Values = Record<string, unknown>;

export function isMap(v: unknown): v is Values {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge: maps merge key by key, anything else in `b` replaces what `a` has. Neither input changes. */
export function mergeValues(a: Values, b: Values): Values {
  const out: Values = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] = isMap(cur) && isMap(v) ? mergeValues(cur, v) : v;
  }
  return out;
}

/** Parses a values document; an empty document is {}, anything but a map is an error. */
export function parseValues(text: string, what: string): Values {
  let v: unknown;
  try {
    v = parse(text, { uniqueKeys: false });
  } catch (err) {
    throw new Error(`${what} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (v === null || v === undefined) return {};
  if (!isMap(v)) throw new Error(`${what} is not a YAML map of values`);
  return v;
}

/** JSON with map keys sorted at every level (Go's encoding/json order). */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isMap(v)) {
    return `{${Object.keys(v)
      .sort()
      .filter((k) => v[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

