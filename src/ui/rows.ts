// One overview row per object: a pure summary of its status (state, reason,
// revision, when it was applied, what it depends on). Rows are what the
// browser receives for the overview, so they hold nothing from spec or
// status that could carry a secret: only names, conditions' reasons and
// messages, revisions and times.
import type { KubeObject } from '../kube/object.ts';
import { FETCH_DURATION_METADATA } from '../api/annotations.ts';

export type RowState = 'failed' | 'progressing' | 'suspended' | 'ready' | 'unknown';

/** Overview order: what needs a look first. */
export const STATE_RANK: Record<RowState, number> = { failed: 0, progressing: 1, unknown: 2, suspended: 3, ready: 4 };

export interface Row {
  /** kind/namespace/name */
  id: string;
  kind: string;
  ns: string;
  name: string;
  state: RowState;
  reason: string;
  message: string;
  revision: string;
  /** When the running revision was applied or fetched (RFC 3339), if known. */
  at: string;
  /** dependsOn as namespace/name of the same kind. */
  deps: string[];
  /** The source as Kind/namespace/name, for appliers. */
  source: string;
  /** Sources: their artifact and the verification of it. */
  artifact?: SourceArtifact;
}

export interface SourceArtifact {
  size?: number;
  digest?: string;
  /** When the artifact was last stored. */
  fetched?: string;
  /** How long that fetch took (the artifact's sluice.dev/fetch-duration, e.g. "1.23s"). */
  took?: string;
  /** The SourceVerified condition: True, False, or '' when the source verifies nothing. */
  verified: string;
  verifyMessage: string;
}

interface Cond {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export function conditionsOf(o: KubeObject): Cond[] {
  const c = o.status?.conditions;
  return Array.isArray(c) ? (c as Cond[]) : [];
}

const MAX_MESSAGE = 400;

/** The state a person would call it: suspended, failed, progressing, ready. */
export function stateOf(o: KubeObject): { state: RowState; reason: string; message: string } {
  const spec = (o.spec ?? {}) as { suspend?: boolean };
  const conds = conditionsOf(o);
  const ready = conds.find((c) => c.type === 'Ready');
  const stalled = conds.find((c) => c.type === 'Stalled' && c.status === 'True');
  const reconciling = conds.find((c) => c.type === 'Reconciling' && c.status === 'True');
  const reason = ready?.reason ?? '';
  const message = (stalled?.message ?? ready?.message ?? '').slice(0, MAX_MESSAGE);
  if (spec.suspend === true) return { state: 'suspended', reason: reason || 'Suspended', message };
  if (o.metadata.deletionTimestamp) return { state: 'progressing', reason: 'Terminating', message };
  if (stalled) return { state: 'failed', reason: stalled.reason ?? reason, message };
  if (!ready) return { state: reconciling ? 'progressing' : 'unknown', reason: reconciling?.reason ?? '', message: reconciling?.message?.slice(0, MAX_MESSAGE) ?? '' };
  const observed = (o.status as { observedGeneration?: number } | undefined)?.observedGeneration;
  const stale = observed !== undefined && o.metadata.generation !== undefined && observed < o.metadata.generation;
  if (ready.status === 'True') return { state: stale ? 'progressing' : 'ready', reason, message };
  if (ready.status === 'Unknown' || reconciling || reason === 'DependencyNotReady' || reason === 'Progressing') return { state: 'progressing', reason, message };
  return { state: 'failed', reason, message };
}

/** The revision the object runs (appliers) or serves (sources). */
export function revisionOf(o: KubeObject): string {
  const s = (o.status ?? {}) as Record<string, any>;
  if (o.kind === 'Kustomization') return String(s.lastAppliedRevision ?? s.lastAttemptedRevision ?? '');
  if (o.kind === 'HelmRelease') {
    const h = Array.isArray(s.history) ? s.history[0] : undefined;
    return h ? `${h.chartName ?? ''}@${h.chartVersion ?? ''}` : String(s.lastAttemptedRevision ?? '');
  }
  return String(s.artifact?.revision ?? '');
}

/** When the running revision was applied or fetched. */
export function appliedAt(o: KubeObject): string {
  const s = (o.status ?? {}) as Record<string, any>;
  const h = Array.isArray(s.history) ? s.history[0] : undefined;
  const when = o.kind === 'HelmRelease' ? h?.lastDeployed : o.kind === 'Kustomization' ? h?.lastReconciled : s.artifact?.lastUpdateTime;
  if (typeof when === 'string') return when;
  return conditionsOf(o).find((c) => c.type === 'Ready')?.lastTransitionTime ?? '';
}

function dependsOn(o: KubeObject): string[] {
  const d = (o.spec as { dependsOn?: Array<{ name?: string; namespace?: string }> } | undefined)?.dependsOn;
  if (!Array.isArray(d)) return [];
  return d.filter((x) => x?.name).map((x) => `${x.namespace || o.metadata.namespace}/${x.name}`);
}

function sourceRef(o: KubeObject): string {
  const spec = (o.spec ?? {}) as Record<string, any>;
  const ref = o.kind === 'Kustomization' ? spec.sourceRef : o.kind === 'HelmRelease' ? (spec.chartRef ?? spec.chart?.spec?.sourceRef) : o.kind === 'HelmChart' ? spec.sourceRef : undefined;
  if (!ref?.kind || !ref?.name) return '';
  return `${ref.kind}/${ref.namespace || o.metadata.namespace}/${ref.name}`;
}

const SOURCE_KINDS = new Set(['GitRepository', 'OCIRepository', 'HelmRepository', 'HelmChart', 'Bucket']);

function artifactOf(o: KubeObject): SourceArtifact | undefined {
  if (!SOURCE_KINDS.has(o.kind)) return undefined;
  const a = (o.status as { artifact?: { size?: number; digest?: string; lastUpdateTime?: string; metadata?: Record<string, unknown> } } | undefined)?.artifact;
  const v = conditionsOf(o).find((c) => c.type === 'SourceVerified');
  const took = a?.metadata?.[FETCH_DURATION_METADATA];
  return {
    size: a?.size,
    digest: a?.digest,
    fetched: a?.lastUpdateTime,
    ...(typeof took === 'string' && took ? { took: took.slice(0, 32) } : {}),
    verified: v?.status ?? '',
    verifyMessage: (v?.message ?? '').slice(0, MAX_MESSAGE),
  };
}

export function rowOf(o: KubeObject): Row {
  const ns = o.metadata.namespace ?? '';
  const name = o.metadata.name ?? '';
  const st = stateOf(o);
  return {
    id: `${o.kind}/${ns}/${name}`,
    kind: o.kind,
    ns,
    name,
    ...st,
    revision: revisionOf(o),
    at: appliedAt(o),
    deps: dependsOn(o),
    source: sourceRef(o),
    ...(SOURCE_KINDS.has(o.kind) ? { artifact: artifactOf(o) } : {}),
  };
}

/** Rows in overview order: failing and progressing first, then by namespace and name. */
export function compareRows(a: Row, b: Row): number {
  return STATE_RANK[a.state] - STATE_RANK[b.state] || (a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : 0) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) || (a.kind < b.kind ? -1 : 1);
}

/**
 * The rows as an opening page gets them: every distinct string once, rows
 * as indices into that table. Thousands of objects share their kind,
 * namespace, state, reason, message and revision, so this is several times
 * smaller and faster to parse than the rows themselves.
 */
export interface PackedRows {
  strings: string[];
  /** kind, ns, name, state, reason, message, revision, at, source, deps..., then the artifact (or 0). */
  rows: Array<Array<number | number[] | SourceArtifact | 0>>;
}

export function packRows(rows: Iterable<Row>): PackedRows {
  const strings: string[] = [];
  const index = new Map<string, number>();
  const s = (v: string) => {
    let i = index.get(v);
    if (i === undefined) {
      i = strings.push(v) - 1;
      index.set(v, i);
    }
    return i;
  };
  const out: PackedRows['rows'] = [];
  for (const r of rows) out.push([s(r.kind), s(r.ns), s(r.name), s(r.state), s(r.reason), s(r.message), s(r.revision), s(r.at), s(r.source), r.deps.map(s), r.artifact ?? 0]);
  return { strings, rows: out };
}

export function unpackRows(p: PackedRows): Row[] {
  const t = p.strings;
  return p.rows.map((x) => {
    const [kind, ns, name, state, reason, message, revision, at, source] = (x.slice(0, 9) as number[]).map((i) => t[i]!) as [string, string, string, RowState, string, string, string, string, string];
    const row: Row = { id: `${kind}/${ns}/${name}`, kind, ns, name, state, reason, message, revision, at, source, deps: (x[9] as number[]).map((i) => t[i]!) };
    if (x[10]) row.artifact = x[10] as SourceArtifact;
    return row;
  });
}
