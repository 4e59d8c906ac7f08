// Moving Flux objects written for older API versions to the versions Flux 2.9
// serves (what `sluice migrate` does to files and to the cluster). Flux's own
// `flux migrate` changes the apiVersion line only; fields that exist only in
// the betas would then be dropped by the API server without a word, so here
// each one is rewritten to its current equivalent, or removed with a note
// saying why that loses nothing. Pure: an object in, edits and notes out.
import { stringify } from 'yaml';

/** One edit of an object, by path from its root. */
export type Edit = { op: 'set'; path: Array<string | number>; value: unknown } | { op: 'delete'; path: Array<string | number> };

export interface Migration {
  /** The apiVersion to write. */
  apiVersion: string;
  /** Edits after the apiVersion, in order. */
  edits: Edit[];
  /** What was rewritten or removed, and why, one line each. */
  notes: string[];
}

/** The current version of each Flux kind (Flux 2.9), by group and kind. */
export const CURRENT_VERSIONS: Record<string, Record<string, string>> = {
  'source.toolkit.fluxcd.io': { GitRepository: 'v1', OCIRepository: 'v1', HelmRepository: 'v1', HelmChart: 'v1', Bucket: 'v1', ExternalArtifact: 'v1' },
  'kustomize.toolkit.fluxcd.io': { Kustomization: 'v1' },
  'helm.toolkit.fluxcd.io': { HelmRelease: 'v2' },
  'notification.toolkit.fluxcd.io': { Receiver: 'v1', Alert: 'v1beta3', Provider: 'v1beta3' },
  'image.toolkit.fluxcd.io': { ImageRepository: 'v1', ImagePolicy: 'v1', ImageUpdateAutomation: 'v1' },
};

type Obj = Record<string, unknown>;
type Path = Array<string | number>;
/** `spec.postRenderers[0].kustomize.patches` */
const show = (path: Path) => path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${p}` : p)).join('');
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Flux patches (v1 `patches` entries) for the beta `patchesStrategicMerge` and `patchesJson6902` of one object at `base`. */
function betaPatches(at: Obj, base: Path, notes: string[]): Edit[] {
  const edits: Edit[] = [];
  const smp = at.patchesStrategicMerge;
  const json = at.patchesJson6902;
  if (smp === undefined && json === undefined) return edits;
  const patches: unknown[] = Array.isArray(at.patches) ? [...at.patches] : [];
  if (Array.isArray(smp)) {
    for (const p of smp) patches.push({ patch: typeof p === 'string' ? p : stringify(p).trimEnd() });
    notes.push(`${show([...base, 'patchesStrategicMerge'])}: ${smp.length} patch(es) moved to ${show([...base, 'patches'])} (a strategic-merge patch without a target applies to the object it names)`);
    edits.push({ op: 'delete', path: [...base, 'patchesStrategicMerge'] });
  }
  if (Array.isArray(json)) {
    for (const p of json) {
      if (!isObj(p)) continue;
      patches.push({ patch: stringify(p.patch ?? []).trimEnd(), ...(p.target !== undefined ? { target: p.target } : {}) });
    }
    notes.push(`${show([...base, 'patchesJson6902'])}: ${json.length} patch(es) moved to ${show([...base, 'patches'])} with their targets`);
    edits.push({ op: 'delete', path: [...base, 'patchesJson6902'] });
  }
  edits.push({ op: 'set', path: [...base, 'patches'], value: patches });
  return edits;
}

/** The singular beta `valuesFile`, put first in `valuesFiles` (where Flux merged it before them). */
function valuesFile(at: Obj, base: Path, notes: string[]): Edit[] {
  if (typeof at.valuesFile !== 'string') return [];
  const files = Array.isArray(at.valuesFiles) ? at.valuesFiles : [];
  notes.push(`${show([...base, 'valuesFile'])}: moved to the front of ${show([...base, 'valuesFiles'])}`);
  return [
    { op: 'set', path: [...base, 'valuesFiles'], value: [at.valuesFile, ...files.filter((f) => f !== at.valuesFile)] },
    { op: 'delete', path: [...base, 'valuesFile'] },
  ];
}

function drop(at: Obj, base: Path, field: string, why: string, notes: string[]): Edit[] {
  if (at[field] === undefined) return [];
  notes.push(`${show([...base, field])}: removed: ${why}`);
  return [{ op: 'delete', path: [...base, field] }];
}

/** The edits of the fields a kind had only in its betas. */
function specEdits(kind: string, spec: Obj, notes: string[]): Edit[] {
  const s: Path = ['spec'];
  switch (kind) {
    case 'Kustomization':
      return [
        ...betaPatches(spec, s, notes),
        ...drop(spec, s, 'validation', 'every apply is validated with a server-side dry run first (what client and server validation meant; none is not offered since v1)', notes),
      ];
    case 'GitRepository':
      return [
        ...drop(spec, s, 'gitImplementation', 'v1 has one Git implementation; the choice between go-git and libgit2 is gone', notes),
        ...drop(spec, s, 'accessFrom', 'cross-namespace access lists were never enforced for Git sources and are gone from v1', notes),
      ];
    case 'HelmChart':
      return [
        ...valuesFile(spec, s, notes),
        ...drop(spec, s, 'accessFrom', 'cross-namespace access lists are gone from v1 HelmCharts', notes),
      ];
    case 'Bucket':
      return drop(spec, s, 'accessFrom', 'cross-namespace access lists are gone from v1 Buckets', notes);
    case 'HelmRelease': {
      const edits: Edit[] = [];
      const chartSpec = isObj(spec.chart) && isObj(spec.chart.spec) ? spec.chart.spec : undefined;
      if (chartSpec) edits.push(...valuesFile(chartSpec, ['spec', 'chart', 'spec'], notes));
      if (Array.isArray(spec.postRenderers)) {
        spec.postRenderers.forEach((pr, i) => {
          if (isObj(pr) && isObj(pr.kustomize)) edits.push(...betaPatches(pr.kustomize, ['spec', 'postRenderers', i, 'kustomize'], notes));
        });
      }
      return edits;
    }
    default:
      return [];
  }
}

/**
 * The migration of one object to its current API version, or undefined when
 * it is not a Flux object or is current already.
 */
export function migrationOf(obj: unknown): Migration | undefined {
  if (!isObj(obj) || typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') return undefined;
  const [group, version] = obj.apiVersion.split('/') as [string, string | undefined];
  const current = CURRENT_VERSIONS[group]?.[obj.kind];
  if (!current || !version || version === current) return undefined;
  const notes: string[] = [];
  const edits = isObj(obj.spec) ? specEdits(obj.kind, obj.spec, notes) : [];
  return { apiVersion: `${group}/${current}`, edits, notes };
}

/** A copy of `obj` with the migration applied. */
export function applyMigration<T>(obj: T, m: Migration): T {
  const out = structuredClone(obj) as Obj;
  out.apiVersion = m.apiVersion;
  for (const e of m.edits) {
    let at: unknown = out;
    for (const key of e.path.slice(0, -1)) at = (at as Record<string | number, unknown>)[key];
    const last = e.path[e.path.length - 1]!;
    if (e.op === 'delete') delete (at as Record<string | number, unknown>)[last];
    else (at as Record<string | number, unknown>)[last] = e.value;
  }
  return out as T;
}
