import { isDeepStrictEqual } from 'node:util';
import type { KubeClient } from '../kube/client.ts';
import { resourcePath, type Discovery } from '../kube/discovery.ts';
import { isNotFound } from '../kube/errors.ts';
import { parseApiVersion, subject, type KubeObject } from '../kube/object.ts';

export const DRIFT_DISABLED_KEY = 'helm.toolkit.fluxcd.io/driftDetection';
const FIELD_MANAGER = 'helm-controller';

export interface IgnoreRule {
  paths: string[];
  target?: { group?: string; version?: string; kind?: string; name?: string; namespace?: string; labelSelector?: string; annotationSelector?: string };
}

export interface DriftEntry {
  subject: string;
  object: KubeObject;
  action: 'create' | 'update';
  /** JSON pointers of the fields that differ (update). */
  paths: string[];
}

export interface DriftReport {
  drifted: DriftEntry[];
  /** Objects that could not be compared, with why. */
  errors: Array<{ subject: string; message: string }>;
}

/** Does a label selector (k=v, k==v, k!=v, k, !k, k in (a,b), k notin (a,b)) match `labels`? */
export function matchSelector(selector: string, labels: Record<string, string>): boolean {
  const parts = selector.match(/[^,(]+(\([^)]*\))?/g) ?? [];
  return parts.every((raw) => {
    const p = raw.trim();
    if (!p) return true;
    let m: RegExpExecArray | null;
    if ((m = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(p))) {
      const set = m[3]!.split(',').map((s) => s.trim());
      const has = m[1]! in labels && set.includes(labels[m[1]!]!);
      return m[2] === 'in' ? has : !has;
    }
    if ((m = /^(\S+?)\s*!=\s*(\S*)$/.exec(p))) return labels[m[1]!] !== m[2];
    if ((m = /^(\S+?)\s*==?\s*(\S*)$/.exec(p))) return labels[m[1]!] === m[2];
    if (p.startsWith('!')) return !(p.slice(1) in labels);
    return p in labels;
  });
}

function matchRe(pattern: string | undefined, value: string): boolean {
  if (!pattern) return true;
  return new RegExp(`^(?:${pattern})$`).test(value);
}

export function ruleTargets(rule: IgnoreRule, obj: KubeObject): boolean {
  const t = rule.target;
  if (!t) return true;
  const { group, version } = parseApiVersion(obj.apiVersion);
  return (
    matchRe(t.group, group) &&
    matchRe(t.version, version) &&
    matchRe(t.kind, obj.kind) &&
    matchRe(t.name, obj.metadata.name ?? '') &&
    matchRe(t.namespace, obj.metadata.namespace ?? '') &&
    (!t.labelSelector || matchSelector(t.labelSelector, obj.metadata.labels ?? {})) &&
    (!t.annotationSelector || matchSelector(t.annotationSelector, obj.metadata.annotations ?? {}))
  );
}

function unescape(seg: string): string {
  return seg.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** Removes the value at a JSON pointer from `doc` (changed in place); a missing path is fine. */
export function removePointer(doc: unknown, pointer: string): void {
  if (pointer === '' || pointer === '/') return;
  const segs = pointer.replace(/^\//, '').split('/').map(unescape);
  let node: unknown = doc;
  for (let i = 0; i < segs.length - 1; i++) {
    if (typeof node !== 'object' || node === null) return;
    node = (node as Record<string, unknown>)[segs[i]!];
  }
  if (typeof node !== 'object' || node === null) return;
  const last = segs[segs.length - 1]!;
  if (Array.isArray(node)) {
    const i = Number(last);
    if (Number.isInteger(i) && i >= 0 && i < node.length) node.splice(i, 1);
  } else delete (node as Record<string, unknown>)[last];
}

/** What drift detection compares: no bookkeeping, no status. */
function comparable(obj: KubeObject): Record<string, unknown> {
  const { status: _s, metadata, ...rest } = obj;
  const { managedFields: _m, resourceVersion: _rv, generation: _g, creationTimestamp: _c, uid: _u, ...meta } = metadata;
  return structuredClone({ ...rest, metadata: meta });
}

/** JSON pointers at which `a` and `b` differ. */
export function diffPaths(a: unknown, b: unknown, base = ''): string[] {
  if (isDeepStrictEqual(a, b)) return [];
  const isObj = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
    return [...keys].flatMap((k) =>
      diffPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${base}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`),
    );
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) return a.flatMap((v, i) => diffPaths(v, b[i], `${base}/${i}`));
  return [base || '/'];
}

/**
 * The release's objects as Helm applies them: with its ownership label and
 * annotations, which are not in the stored manifest. Helm 4 applies them
 * server-side as the same field manager drift correction uses, so a
 * comparison without them would see them as drift and a correction would
 * strip them.
 */
export function withHelmOwnership(objects: KubeObject[], releaseName: string, releaseNamespace: string): KubeObject[] {
  return objects.map((o) => ({
    ...o,
    metadata: {
      ...o.metadata,
      labels: { ...(o.metadata.labels ?? {}), 'app.kubernetes.io/managed-by': 'Helm' },
      annotations: { ...(o.metadata.annotations ?? {}), 'meta.helm.sh/release-name': releaseName, 'meta.helm.sh/release-namespace': releaseNamespace },
    },
  }));
}

function disabled(obj: KubeObject): boolean {
  return obj.metadata.labels?.[DRIFT_DISABLED_KEY] === 'disabled' || obj.metadata.annotations?.[DRIFT_DISABLED_KEY] === 'disabled';
}

/**
 * Compares the release's objects with the cluster through a server-side
 * dry-run apply of each, as helm-controller does: a missing object, or a
 * field the dry run would change, is drift. Ignore rules drop JSON pointers
 * from both sides first; objects labelled or annotated
 * helm.toolkit.fluxcd.io/driftDetection: disabled are skipped.
 */
export async function detectDrift(
  client: KubeClient,
  discovery: Discovery,
  objects: KubeObject[],
  releaseNamespace: string,
  ignore: IgnoreRule[] = [],
): Promise<DriftReport> {
  const report: DriftReport = { drifted: [], errors: [] };
  await Promise.all(
    objects.map(async (desired) => {
      if (disabled(desired)) return;
      const m = await discovery.mapping(desired.apiVersion, desired.kind);
      const obj: KubeObject = structuredClone(desired);
      if (m?.namespaced && !obj.metadata.namespace) obj.metadata.namespace = releaseNamespace;
      if (m && !m.namespaced) delete obj.metadata.namespace;
      const subj = subject(obj);
      if (!m) {
        report.errors.push({ subject: subj, message: `unknown kind ${obj.apiVersion}/${obj.kind}` });
        return;
      }
      const rules = ignore.filter((r) => ruleTargets(r, obj));
      if (rules.some((r) => r.paths.includes(''))) return;
      const path = resourcePath(m, obj.metadata.namespace, obj.metadata.name);
      try {
        const live = await client.getOrUndefined<KubeObject>(path);
        if (!live) {
          report.drifted.push({ subject: subj, object: obj, action: 'create', paths: [] });
          return;
        }
        if (disabled(live)) return;
        const merged = await client.request<KubeObject>({
          method: 'PATCH',
          path,
          query: { fieldManager: FIELD_MANAGER, force: 'true', dryRun: 'All' },
          contentType: 'application/apply-patch+yaml',
          body: obj,
        });
        const a = comparable(live);
        const b = comparable(merged);
        for (const r of rules) for (const p of r.paths) {
          removePointer(a, p);
          removePointer(b, p);
        }
        const paths = diffPaths(a, b);
        if (paths.length) report.drifted.push({ subject: subj, object: obj, action: 'update', paths });
      } catch (err) {
        report.errors.push({ subject: subj, message: (err as Error).message });
      }
    }),
  );
  report.drifted.sort((x, y) => x.subject.localeCompare(y.subject));
  return report;
}

/**
 * Corrects drift: creates what is missing and applies the release's fields
 * over what changed (server-side apply, forcing conflicts). Ignored paths
 * are removed from what is applied, so they keep their live values.
 */
export async function correctDrift(
  client: KubeClient,
  discovery: Discovery,
  report: DriftReport,
  ignore: IgnoreRule[] = [],
): Promise<Array<{ subject: string; action: 'created' | 'configured'; error?: string }>> {
  return Promise.all(
    report.drifted.map(async (d) => {
      const m = (await discovery.mapping(d.object.apiVersion, d.object.kind))!;
      const obj = structuredClone(d.object);
      for (const r of ignore.filter((r) => ruleTargets(r, obj))) for (const p of r.paths) removePointer(obj, p);
      const action = d.action === 'create' ? ('created' as const) : ('configured' as const);
      try {
        await client.request({
          method: 'PATCH',
          path: resourcePath(m, obj.metadata.namespace, obj.metadata.name),
          query: { fieldManager: FIELD_MANAGER, force: 'true' },
          contentType: 'application/apply-patch+yaml',
          body: obj,
        });
        return { subject: d.subject, action };
      } catch (err) {
        return { subject: d.subject, action, error: isNotFound(err) ? 'namespace not found' : (err as Error).message };
      }
    }),
  );
}
