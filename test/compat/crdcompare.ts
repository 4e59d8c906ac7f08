// Field-by-field comparison of two sets of CustomResourceDefinitions: Flux's
// (the reference) and Sluice's. Pure: plain objects in, a list of
// differences out; no files, no cluster. Descriptions are never compared.
//
// What is compared, per kind that both define:
//   - CRD level: scope, names (listKind, plural, singular), shortNames,
//     categories;
//   - per API version (the union of both sides): served, storage,
//     deprecated and its warning, additionalPrinterColumns (in order),
//     subresources, and the openAPIV3Schema walked path by path.
// A kind only Flux defines is one difference (aspect `kind`); a kind only
// Sluice serves is not reported (Flux has nothing to compare it with).
//
// Paths: `spec.interval`, `spec.dependsOn[].name` (array items),
// `spec.commonMetadata.labels{}` (map values), `.` for the schema's root.
// A field present on one side only is reported once, at the top of the
// missing subtree (aspect `field`), and not walked further.

export type Schema = Record<string, unknown>;
export type Crd = Record<string, unknown>;

export interface CrdDifference {
  kind: string;
  /** The API version, or '' for a CRD-level difference. */
  version: string;
  /** The schema path, or '' for a version- or CRD-level difference. */
  path: string;
  aspect: string;
  /** Flux's value; undefined when Flux has none. */
  flux: unknown;
  /** Sluice's value; undefined when Sluice has none. */
  sluice: unknown;
}

/** JSON with object keys sorted, so equal values always print alike. */
export function stableJson(v: unknown): string {
  if (v === undefined) return '-';
  return JSON.stringify(sortKeys(v));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/**
 * The one-line form of a difference, stable across runs:
 * `Kind/version path aspect: flux=<json> sluice=<json>` (`-` for no value;
 * the version and path are left out when empty).
 */
export function differenceLine(d: CrdDifference): string {
  const where = [d.version ? `${d.kind}/${d.version}` : d.kind, ...(d.path ? [d.path] : [])].join(' ');
  return `${where} ${d.aspect}: flux=${stableJson(d.flux)} sluice=${stableJson(d.sluice)}`;
}

const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const same = (a: unknown, b: unknown) => stableJson(a) === stableJson(b);

export function crdKind(crd: Crd): string {
  return String(obj(obj(obj(crd).spec).names).kind ?? '');
}

/** Every difference between Flux's CRDs and Sluice's, in a stable order. */
export function compareCrdSets(flux: Crd[], sluice: Crd[]): CrdDifference[] {
  const byKind = (crds: Crd[]) => new Map(crds.map((c) => [crdKind(c), c]));
  const s = byKind(sluice);
  const out: CrdDifference[] = [];
  for (const [kind, f] of [...byKind(flux)].sort(([a], [b]) => a.localeCompare(b))) {
    const mine = s.get(kind);
    if (!mine) {
      out.push({ kind, version: '', path: '', aspect: 'kind', flux: String(obj(f.spec).group), sluice: undefined });
      continue;
    }
    out.push(...compareCrd(f, mine));
  }
  return out;
}

/** The differences between one kind's CRD in Flux and in Sluice. */
export function compareCrd(flux: Crd, sluice: Crd): CrdDifference[] {
  const kind = crdKind(flux) || crdKind(sluice);
  const out: CrdDifference[] = [];
  const add = (version: string, path: string, aspect: string, f: unknown, s: unknown) => {
    if (!same(f, s)) out.push({ kind, version, path, aspect, flux: f, sluice: s });
  };
  const fs = obj(flux.spec);
  const ss = obj(sluice.spec);
  const fn = obj(fs.names);
  const sn = obj(ss.names);
  add('', '', 'group', fs.group, ss.group);
  add('', '', 'scope', fs.scope, ss.scope);
  for (const n of ['listKind', 'plural', 'singular']) add('', '', n, fn[n], sn[n]);
  add('', '', 'shortNames', sorted(fn.shortNames), sorted(sn.shortNames));
  add('', '', 'categories', sorted(fn.categories), sorted(sn.categories));

  const versions = (spec: Record<string, unknown>) => new Map(arr(spec.versions).map((v) => [String(obj(v).name), obj(v)]));
  const fv = versions(fs);
  const sv = versions(ss);
  const names = [...new Set([...fv.keys(), ...sv.keys()])].sort();
  for (const name of names) {
    const f = fv.get(name);
    const s = sv.get(name);
    if (!f || !s) {
      add(name, '', 'version', f && versionSummary(f), s && versionSummary(s));
      continue;
    }
    add(name, '', 'served', f.served === true, s.served === true);
    add(name, '', 'storage', f.storage === true, s.storage === true);
    add(name, '', 'deprecated', f.deprecated === true, s.deprecated === true);
    add(name, '', 'deprecationWarning', f.deprecationWarning, s.deprecationWarning);
    add(name, '', 'printerColumns', columns(f), columns(s));
    add(name, '', 'subresources', f.subresources ?? {}, s.subresources ?? {});
    compareSchema(obj(obj(f.schema).openAPIV3Schema), obj(obj(s.schema).openAPIV3Schema), '', (path, aspect, a, b) => add(name, path, aspect, a, b));
  }
  return out;
}

function sorted(v: unknown): string[] | undefined {
  return Array.isArray(v) ? v.map(String).sort() : undefined;
}

/** A version that only one side has, in a word or two: `served, storage, deprecated`. */
function versionSummary(v: Record<string, unknown>): string {
  return [v.served === true ? 'served' : 'not served', ...(v.storage === true ? ['storage'] : []), ...(v.deprecated === true ? ['deprecated'] : [])].join(', ');
}

/** Printer columns, in order, each as `Name type jsonPath` (and its priority when not 0). */
function columns(v: Record<string, unknown>): string[] {
  return arr(v.additionalPrinterColumns).map((c) => {
    const col = obj(c);
    const prio = typeof col.priority === 'number' && col.priority !== 0 ? ` priority=${col.priority}` : '';
    return `${String(col.name)} ${String(col.type)} ${String(col.jsonPath)}${prio}`;
  });
}

/** The scalar keywords compared at every common path, each its own aspect. */
const KEYWORDS = [
  'type',
  'format',
  'default',
  'pattern',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'uniqueItems',
  'multipleOf',
  'nullable',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
] as const;

/** Keywords whose absence means false: `nullable: false` and no `nullable` are the same. */
const FALSE_BY_DEFAULT = new Set(['nullable', 'uniqueItems', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string', 'x-kubernetes-embedded-resource']);

type Report = (path: string, aspect: string, flux: unknown, sluice: unknown) => void;

const child = (path: string, name: string) => (path ? `${path}.${name}` : name);

/** Walks two schemas side by side, reporting each difference at its path. */
export function compareSchema(f: Schema, s: Schema, path: string, report: Report): void {
  const at = path || '.';
  for (const k of KEYWORDS) {
    const norm = (v: unknown) => (FALSE_BY_DEFAULT.has(k) && v === false ? undefined : v);
    const a = norm(f[k]);
    const b = norm(s[k]);
    if (!same(a, b)) report(at, k, a, b);
  }
  const enumOf = (x: Schema) => (Array.isArray(x.enum) ? x.enum.map((e) => stableJson(e)).sort().map((e) => JSON.parse(e) as unknown) : undefined);
  if (!same(enumOf(f), enumOf(s))) report(at, 'enum', enumOf(f), enumOf(s));

  // CEL rules, matched by their rule text.
  const rules = (x: Schema) => new Map(arr(x['x-kubernetes-validations']).map((r) => [String(obj(r).rule), obj(r)]));
  const fr = rules(f);
  const sr = rules(s);
  for (const rule of [...new Set([...fr.keys(), ...sr.keys()])].sort()) {
    const a = fr.get(rule);
    const b = sr.get(rule);
    if (!same(a, b)) report(at, 'rule', a, b);
  }

  // Compositions are rare in CRDs; compared whole.
  for (const k of ['anyOf', 'oneOf', 'allOf', 'not']) {
    if (!same(stripDescriptions(f[k]), stripDescriptions(s[k]))) report(at, k, stripDescriptions(f[k]), stripDescriptions(s[k]));
  }

  // Children: properties, array items, map values.
  const fp = obj(f.properties);
  const sp = obj(s.properties);
  const freq = new Set(arr(f.required).map(String));
  const sreq = new Set(arr(s.required).map(String));
  for (const name of [...new Set([...Object.keys(fp), ...Object.keys(sp)])].sort()) {
    const p = child(path, name);
    const a = fp[name];
    const b = sp[name];
    if (a === undefined || b === undefined) {
      report(p, 'field', a === undefined ? undefined : fieldSummary(obj(a), freq.has(name)), b === undefined ? undefined : fieldSummary(obj(b), sreq.has(name)));
      continue;
    }
    if (freq.has(name) !== sreq.has(name)) report(p, 'required', freq.has(name), sreq.has(name));
    compareSchema(obj(a), obj(b), p, report);
  }
  // A required name that is not a property (a schema mistake on either side).
  for (const name of [...freq].filter((n) => !(n in fp) && n in sp)) report(child(path, name), 'required', true, sreq.has(name));
  for (const name of [...sreq].filter((n) => !(n in sp) && n in fp)) report(child(path, name), 'required', freq.has(name), true);

  compareChild(f.items, s.items, `${path}[]`, report);
  const mapValues = (x: unknown) => (x && typeof x === 'object' ? x : x === true ? {} : undefined);
  compareChild(mapValues(f.additionalProperties), mapValues(s.additionalProperties), `${path}{}`, report);
}

function compareChild(a: unknown, b: unknown, path: string, report: Report): void {
  if (a === undefined && b === undefined) return;
  if (a === undefined || b === undefined) {
    report(path, 'field', a === undefined ? undefined : fieldSummary(obj(a), false), b === undefined ? undefined : fieldSummary(obj(b), false));
    return;
  }
  compareSchema(obj(a), obj(b), path, report);
}

/** A field only one side has, in a word: its type (`any` when untyped), `, required` when it is. */
function fieldSummary(s: Schema, required: boolean): string {
  const type = typeof s.type === 'string' ? s.type : s['x-kubernetes-int-or-string'] === true ? 'int-or-string' : 'any';
  return required ? `${type}, required` : type;
}

function stripDescriptions(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripDescriptions);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== 'description') out[k] = stripDescriptions(x);
    return out;
  }
  return v;
}
