// Flux's ignore rules (Kustomization spec.ignore): JSON pointers of fields
// that drift detection and apply leave as the cluster has them, on the
// objects a rule's target selects. Pure functions: compile the rules once,
// then, per object about to be applied over a live one, carry the live
// values of the ignored fields into the object sent. The dry run then finds
// no drift where only ignored fields differ, and an apply (for other changes)
// writes back what the cluster holds there instead of reverting it.
import { parseApiVersion, type KubeObject } from '../kube/object.ts';

/** A rule as the API carries it. */
export interface IgnoreRuleSpec {
  paths: string[];
  target?: {
    group?: string;
    version?: string;
    kind?: string;
    name?: string;
    namespace?: string;
    labelSelector?: string;
    annotationSelector?: string;
  };
}

/** A rule ready to match: anchored regular expressions and parsed selectors. */
export interface IgnoreRule {
  /** Each path split into its unescaped segments. */
  paths: string[][];
  match: (obj: KubeObject) => boolean;
}

export class IgnoreRuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IgnoreRuleError';
  }
}

/** Compiles rules; a bad pointer, regular expression or selector fails with where it is (`field` is e.g. spec.ignore). */
export function compileIgnoreRules(rules: IgnoreRuleSpec[] | undefined, field = 'spec.ignore'): IgnoreRule[] {
  return (rules ?? []).map((r, i) => {
    const at = `${field}[${i}]`;
    const paths = (r.paths ?? []).map((p, j) => {
      try {
        return parsePointer(p);
      } catch (err) {
        throw new IgnoreRuleError(`${at}.paths[${j}]: ${(err as Error).message}`);
      }
    });
    return { paths, match: compileTarget(r.target, `${at}.target`) };
  });
}

/** The paths (as segments) that the rules ignore on `obj`. */
export function ignoredPaths(rules: IgnoreRule[], obj: KubeObject): string[][] {
  return rules.filter((r) => r.match(obj)).flatMap((r) => r.paths);
}

/**
 * `desired` with the live object's values at the ignored paths, or undefined
 * when nothing changes. A path the desired object lacks stays absent (the
 * apply does not touch it, so the cluster keeps its value); a path the live
 * object lacks keeps the desired value (there is nothing to keep, so the
 * object gets what the source says, as on create).
 */
export function adoptIgnored(desired: KubeObject, live: KubeObject, paths: string[][]): KubeObject | undefined {
  let out: KubeObject | undefined;
  for (const segs of paths) {
    if (segs.length === 0) continue; // the whole object: Flux ignores nothing for ""
    const want = lookup(desired, segs);
    const have = lookup(live, segs);
    if (!want.found || !have.found || JSON.stringify(want.value) === JSON.stringify(have.value)) continue;
    out ??= structuredClone(desired);
    assign(out, segs, structuredClone(have.value));
  }
  return out;
}

/** RFC 6901: "" is the whole document, otherwise "/a/b" with ~1 for / and ~0 for ~. */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`${JSON.stringify(pointer)} is not a JSON pointer (it must start with /)`);
  return pointer
    .slice(1)
    .split('/')
    .map((s) => {
      if (/~[^01]|~$/.test(s)) throw new Error(`${JSON.stringify(pointer)} has an invalid escape (only ~0 and ~1 are allowed)`);
      return s.replace(/~1/g, '/').replace(/~0/g, '~');
    });
}

function lookup(doc: unknown, segs: string[]): { found: boolean; value?: unknown } {
  let node: unknown = doc;
  for (const s of segs) {
    if (Array.isArray(node)) {
      const i = arrayIndex(s);
      if (i === undefined || i >= node.length) return { found: false };
      node = node[i];
    } else if (typeof node === 'object' && node !== null && Object.hasOwn(node, s)) {
      node = (node as Record<string, unknown>)[s];
    } else return { found: false };
  }
  return { found: true, value: node };
}

/** Sets the value at `segs`, whose parent exists (lookup found the path in the desired object). */
function assign(doc: unknown, segs: string[], value: unknown): void {
  let node = doc as Record<string, unknown> | unknown[];
  for (const s of segs.slice(0, -1)) node = (Array.isArray(node) ? node[arrayIndex(s)!] : node[s]) as Record<string, unknown> | unknown[];
  const last = segs[segs.length - 1]!;
  if (Array.isArray(node)) node[arrayIndex(last)!] = value;
  else node[last] = value;
}

function arrayIndex(s: string): number | undefined {
  return /^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : undefined;
}

function compileTarget(t: IgnoreRuleSpec['target'], at: string): (obj: KubeObject) => boolean {
  if (!t) return () => true;
  const re = (field: keyof NonNullable<IgnoreRuleSpec['target']>): RegExp | undefined => {
    const v = t[field];
    if (!v) return undefined;
    try {
      // Anchored, as Flux anchors its selector expressions.
      return new RegExp(`^(?:${v})$`);
    } catch (err) {
      throw new IgnoreRuleError(`${at}.${field}: invalid regular expression ${JSON.stringify(v)}: ${(err as Error).message}`);
    }
  };
  const group = re('group');
  const version = re('version');
  const kind = re('kind');
  const name = re('name');
  const namespace = re('namespace');
  const labels = t.labelSelector ? parseSelector(t.labelSelector, `${at}.labelSelector`) : undefined;
  const annotations = t.annotationSelector ? parseSelector(t.annotationSelector, `${at}.annotationSelector`) : undefined;
  return (obj) => {
    const gv = parseApiVersion(obj.apiVersion);
    return (
      (!group || group.test(gv.group)) &&
      (!version || version.test(gv.version)) &&
      (!kind || kind.test(obj.kind)) &&
      (!name || name.test(obj.metadata.name ?? '')) &&
      (!namespace || namespace.test(obj.metadata.namespace ?? '')) &&
      (!labels || labels(obj.metadata.labels ?? {})) &&
      (!annotations || annotations(obj.metadata.annotations ?? {}))
    );
  };
}

type Requirement = (set: Record<string, string>) => boolean;

/**
 * A Kubernetes label selector: `k=v`, `k==v`, `k!=v`, `k`, `!k`,
 * `k in (a,b)`, `k notin (a,b)`, comma-separated, all must hold.
 */
export function parseSelector(text: string, at = 'selector'): (set: Record<string, string>) => boolean {
  const reqs: Requirement[] = [];
  for (const raw of text.match(/[^,(]+(\([^)]*\))?/g) ?? []) {
    const p = raw.trim();
    if (!p) continue;
    let m: RegExpExecArray | null;
    if ((m = /^([^\s!=]+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(p))) {
      const [, key, op, list] = m as unknown as [string, string, string, string];
      const values = list.split(',').map((s) => s.trim());
      reqs.push(op === 'in' ? (s) => Object.hasOwn(s, key) && values.includes(s[key]!) : (s) => !Object.hasOwn(s, key) || !values.includes(s[key]!));
    } else if ((m = /^([^\s!=]+)\s*!=\s*([^\s=!]*)$/.exec(p))) {
      const [, key, value] = m as unknown as [string, string, string];
      reqs.push((s) => s[key] !== value);
    } else if ((m = /^([^\s!=]+)\s*==?\s*([^\s=!]*)$/.exec(p))) {
      const [, key, value] = m as unknown as [string, string, string];
      reqs.push((s) => Object.hasOwn(s, key) && s[key] === value);
    } else if ((m = /^!\s*([^\s!=]+)$/.exec(p))) {
      const key = m[1]!;
      reqs.push((s) => !Object.hasOwn(s, key));
    } else if ((m = /^([^\s!=]+)$/.exec(p))) {
      const key = m[1]!;
      reqs.push((s) => Object.hasOwn(s, key));
    } else throw new IgnoreRuleError(`${at}: cannot parse ${JSON.stringify(p)} in selector ${JSON.stringify(text)}`);
  }
  return (set) => reqs.every((r) => r(set));
}
