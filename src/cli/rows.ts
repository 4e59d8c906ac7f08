// What `sluice get` shows and what `sluice reconcile` waits for, as pure
// functions of the objects: rows, their order, alignment and colour, the
// status selector, and the outcome of a requested reconcile.
import type { KubeObject } from '../kube/object.ts';
import { findCondition } from '../kube/object.ts';
import type { CliKind } from './args.ts';
import { SLUICE_PIN } from '../api/annotations.ts';

export interface TableOptions {
  /** -A: a NAMESPACE column first. */
  allNamespaces?: boolean;
  /** -o wide: SOURCE and AGE columns too. */
  wide?: boolean;
  /** `get all`: names as kind/name, so the kinds' tables can be told apart. */
  kindPrefix?: boolean;
  /** For AGE; now by default. */
  now?: number;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));
const rec = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});

/** The revision a row shows: the artifact's for a source, the last applied for a Kustomization, the chart version for a HelmRelease. */
export function revisionOf(k: CliKind, obj: KubeObject): string {
  const status = rec(obj.status);
  if (k.source) return str(rec(status.artifact).revision);
  if (k.def.kind === 'HelmRelease') {
    const history = Array.isArray(status.history) ? status.history : [];
    const latest = rec(history[0]);
    const pin = obj.metadata.annotations?.[SLUICE_PIN];
    const rev = str(latest.chartVersion) || str(status.lastAttemptedRevision);
    return pin ? `${rev} (pinned to Helm revision ${pin})` : rev;
  }
  // A pin (sluice rollback --to) shows beside the revision it holds.
  const pin = obj.metadata.annotations?.[SLUICE_PIN];
  return pin ? `${str(status.lastAppliedRevision)} (pinned)` : str(status.lastAppliedRevision);
}

/** READY and MESSAGE: the Ready condition, or Unknown while no controller has looked at the object. */
export function readyOf(obj: KubeObject): { status: string; message: string } {
  const c = findCondition(obj, 'Ready');
  if (!c) return { status: 'Unknown', message: 'waiting to be reconciled' };
  return { status: c.status, message: oneLine(c.message ?? '') };
}

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ').trim();

export const isSuspended = (obj: KubeObject): boolean => rec(obj.spec).suspend === true;

/** Where an object comes from, for -o wide. */
export function sourceOf(k: CliKind, obj: KubeObject): string {
  const spec = rec(obj.spec);
  const ref = (r: Record<string, unknown>) => (r.kind ? `${str(r.kind)}/${r.namespace ? `${str(r.namespace)}/` : ''}${str(r.name)}` : '');
  switch (k.def.kind) {
    case 'HelmChart':
      return `${ref(rec(spec.sourceRef))}${spec.chart ? ` ${str(spec.chart)}` : ''}`;
    case 'Kustomization':
      return `${ref(rec(spec.sourceRef))}${spec.path ? ` ${str(spec.path)}` : ''}`;
    case 'HelmRelease': {
      if (spec.chartRef) return ref(rec(spec.chartRef));
      const tpl = rec(rec(spec.chart).spec);
      const version = str(tpl.version);
      return `${ref(rec(tpl.sourceRef))} ${str(tpl.chart)}${version && version !== '*' ? `@${version}` : ''}`.trim();
    }
    default:
      return str(spec.url);
  }
}

/** A duration as kubectl's AGE column shows it: 45s, 12m, 5h, 3d. */
export function age(since: string | undefined, now: number): string {
  const t = since ? Date.parse(since) : NaN;
  if (Number.isNaN(t)) return '';
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 120 * 60) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

export function header(opts: TableOptions): string[] {
  return [
    ...(opts.allNamespaces ? ['NAMESPACE'] : []),
    'NAME',
    'REVISION',
    'SUSPENDED',
    'READY',
    ...(opts.wide ? ['SOURCE', 'AGE'] : []),
    'MESSAGE',
  ];
}

export function row(k: CliKind, obj: KubeObject, opts: TableOptions): string[] {
  const ready = readyOf(obj);
  const name = str(obj.metadata.name);
  return [
    ...(opts.allNamespaces ? [str(obj.metadata.namespace)] : []),
    opts.kindPrefix ? `${k.word}/${name}` : name,
    shortDigests(revisionOf(k, obj)),
    isSuspended(obj) ? 'True' : 'False',
    ready.status,
    ...(opts.wide ? [sourceOf(k, obj), age(obj.metadata.creationTimestamp, opts.now ?? Date.now())] : []),
    shortDigests(ready.message),
  ];
}

/**
 * Digests in a table cut to 8 hex digits, as flux's tables show them
 * (`main@sha1:0123abcd`), in the revision and in the message alike; json
 * and yaml output keep them whole.
 */
export function shortDigests(text: string): string {
  return text.replace(/\b(sha1|sha256|sha384|sha512):([0-9a-f]{8})[0-9a-f]+/g, '$1:$2');
}

/** The order rows are shown in: the ones not Ready first, then by namespace and name. */
export function sortObjects<T extends KubeObject>(objects: readonly T[]): T[] {
  // Keys worked out once per object, not per comparison: 10,000 rows sort in a few milliseconds.
  const keyed = objects.map((o) => ({ o, ready: readyOf(o).status === 'True' ? 1 : 0, key: `${str(o.metadata.namespace)}\u0000${str(o.metadata.name)}` }));
  keyed.sort((a, b) => a.ready - b.ready || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map((k) => k.o);
}

const ANSI = { red: '\x1b[31m', green: '\x1b[32m', yellow: '\x1b[33m', reset: '\x1b[0m' };

/** Whether to colour: only a terminal, and never with NO_COLOR set (https://no-color.org). */
export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && !env.NO_COLOR;
}

function paint(column: string, value: string): string | undefined {
  if (column === 'READY') return value === 'True' ? ANSI.green : value === 'False' ? ANSI.red : ANSI.yellow;
  if (column === 'SUSPENDED' && value === 'True') return ANSI.yellow;
  return undefined;
}

/**
 * Column widths for a header and rows; `min` carries widths over from
 * earlier output (a watch prints rows one at a time under the same header).
 */
export function widths(head: string[], rows: string[][], min: number[] = []): number[] {
  return head.map((h, i) => Math.max(min[i] ?? 0, h.length, ...rows.map((r) => (r[i] ?? '').length)));
}

/** One line: columns padded to their widths, three spaces apart, the last not padded; colour added after padding. */
export function formatLine(head: string[], cells: string[], w: number[], color: boolean, isHeader = false): string {
  const out = cells.map((c, i) => {
    const padded = i === cells.length - 1 ? c : c.padEnd(w[i] ?? 0);
    const code = color && !isHeader ? paint(head[i]!, c) : undefined;
    return code ? `${code}${c}${ANSI.reset}${padded.slice(c.length)}` : padded;
  });
  return out.join('   ').trimEnd();
}

export function formatTable(head: string[], rows: string[][], color: boolean): string {
  const w = widths(head, rows);
  return [formatLine(head, head, w, color, true), ...rows.map((r) => formatLine(head, r, w, color))].map((l) => `${l}\n`).join('');
}

/** --status-selector TYPE=STATUS, e.g. ready=false: the condition type and status, both case-insensitive. */
export interface StatusSelector {
  type: string;
  status: string;
}

export function parseStatusSelector(text: string): StatusSelector {
  const m = /^\s*([A-Za-z][A-Za-z0-9]*)\s*=\s*(true|false|unknown)\s*$/i.exec(text);
  if (!m) throw new Error(`invalid --status-selector "${text}": use CONDITION=true|false|unknown, e.g. ready=false`);
  return { type: m[1]!.toLowerCase(), status: m[2]!.toLowerCase() };
}

/** Whether an object has the condition in that state; a missing Ready counts as Unknown, as the table shows it. */
export function matchesStatus(obj: KubeObject, sel: StatusSelector): boolean {
  const conditions = Array.isArray(rec(obj.status).conditions) ? (rec(obj.status).conditions as Array<{ type?: string; status?: string }>) : [];
  const c = conditions.find((x) => str(x.type).toLowerCase() === sel.type);
  const status = c ? str(c.status).toLowerCase() : sel.type === 'ready' ? 'unknown' : undefined;
  return status === sel.status;
}

/** How a requested reconcile ended, once it has. */
export type Outcome = { done: false } | { done: true; ready: boolean; message: string; revision: string };

/**
 * Whether the controller has handled the request stamped `requestedAt` and
 * settled: lastHandledReconcileAt carries it, the status is of the current
 * generation, and Ready is True or False (Unknown means still progressing).
 */
export function reconcileOutcome(k: CliKind, obj: KubeObject, requestedAt: string): Outcome {
  const status = rec(obj.status);
  if (str(status.lastHandledReconcileAt) !== requestedAt) return { done: false };
  const generation = obj.metadata.generation;
  if (generation !== undefined && status.observedGeneration !== generation) return { done: false };
  const ready = findCondition(obj, 'Ready');
  if (!ready || ready.status === 'Unknown') return { done: false };
  if (generation !== undefined && ready.observedGeneration !== undefined && ready.observedGeneration !== generation) return { done: false };
  return { done: true, ready: ready.status === 'True', message: oneLine(ready.message ?? ''), revision: revisionOf(k, obj) };
}

/** The verb Flux's CLI uses for what a kind did at a revision. */
export function revisionVerb(k: CliKind): string {
  return k.source ? 'fetched' : 'applied';
}
