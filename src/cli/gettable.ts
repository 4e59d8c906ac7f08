// `sluice get`'s fast path: the rows read from the API server's Table of the
// CRD's printer columns, without the objects (includeObject=None). Sluice's
// CRDs carry, at priority 1, every column `get` shows (src/api/schema.ts
// getColumns), so 10,000 Kustomizations come as 1.2 MB of cells instead of
// 13 MB of objects, which the API server encodes and Node parses in a
// fraction of the time (bench/getlist.ts). CRDs without those columns
// (Flux's own, or Sluice's from before them) get undefined, and the caller
// lists the objects as before.
import type { KubeClient } from '../kube/client.ts';
import type { KubeObject } from '../kube/object.ts';
import { isNotFound, KubeApiError } from '../kube/errors.ts';
import { SLUICE_PIN } from '../api/annotations.ts';
import { mapSettled } from '../util/pool.ts';
import { collectionPath, type CliKind } from './args.ts';

const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io';

interface Table {
  columnDefinitions?: Array<{ name: string }>;
  rows?: Array<{ cells: unknown[] }>;
}

/** The Table columns `get` needs for a kind, by the names the CRDs give them. */
function neededColumns(kind: CliKind): string[] {
  const applier = !kind.source;
  return ['Name', 'Ready', 'Status', 'Revision', 'Suspended', ...(applier ? ['Pinned To'] : []), ...(kind.def.kind === 'HelmRelease' ? ['Attempted'] : [])];
}

/**
 * One namespace's (or, with undefined, every namespace's) objects of a kind,
 * as just what a `get` row shows; undefined when the CRD lacks the columns.
 * For every namespace the Table has no namespace of its own (it comes with
 * the object's metadata, which is most of the bytes: managed fields), so
 * the namespaces are listed and asked one by one, in parallel.
 */
export async function listForTable(client: KubeClient, kind: CliKind, namespace: string | undefined): Promise<KubeObject[] | undefined> {
  if (namespace !== undefined) return tableOf(client, kind, namespace);
  const names = await namespaces(client);
  if (!names) return undefined;
  const parts = await mapSettled(names, 16, (ns) => tableOf(client, kind, ns));
  const out: KubeObject[] = [];
  for (const p of parts) {
    if (p.error) throw p.error;
    if (!p.value) return undefined;
    out.push(...p.value);
  }
  return out;
}

/** More namespaces than this and one request per namespace costs more than the objects: list them instead. */
const MAX_NAMESPACES = 200;

async function namespaces(client: KubeClient): Promise<string[] | undefined> {
  let t: Table;
  try {
    t = await client.request<Table>({ path: '/api/v1/namespaces', accept: TABLE, query: { includeObject: 'None' } });
  } catch (err) {
    // Allowed to list the kind everywhere but not the namespaces: the objects then.
    if (err instanceof KubeApiError && err.status === 403) return undefined;
    throw err;
  }
  const rows = t.rows ?? [];
  if (rows.length > MAX_NAMESPACES) return undefined;
  return rows.map((r) => String(r.cells[0]));
}

async function tableOf(client: KubeClient, kind: CliKind, namespace: string): Promise<KubeObject[] | undefined> {
  let t: Table;
  try {
    t = await client.request<Table>({ path: collectionPath(kind, namespace), accept: TABLE, query: { includeObject: 'None' } });
  } catch (err) {
    if (isNotFound(err)) throw new Error(`the API server does not serve ${kind.def.plural}.${kind.def.group}: are the CRDs installed? (sluice install)`);
    throw err;
  }
  return rowsToObjects(kind, namespace, t);
}

/** The Table's rows as objects holding only what `get`'s row, order and ready selector read (src/cli/rows.ts). */
export function rowsToObjects(kind: CliKind, namespace: string, t: Table): KubeObject[] | undefined {
  const names = (t.columnDefinitions ?? []).map((c) => c.name);
  const at: Record<string, number> = {};
  for (const c of neededColumns(kind)) {
    const i = names.indexOf(c);
    if (i < 0) return undefined;
    at[c] = i;
  }
  const text = (cells: unknown[], c: string): string => {
    const v = cells[at[c]!];
    return typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v);
  };
  return (t.rows ?? []).map(({ cells }) => {
    const ready = text(cells, 'Ready');
    const revision = text(cells, 'Revision');
    const pin = kind.source ? '' : text(cells, 'Pinned To');
    const status: Record<string, unknown> = ready ? { conditions: [{ type: 'Ready', status: ready, message: text(cells, 'Status') }] } : {};
    if (kind.source) status.artifact = { revision };
    else if (kind.def.kind === 'HelmRelease') {
      if (revision) status.history = [{ chartVersion: revision }];
      status.lastAttemptedRevision = text(cells, 'Attempted');
    } else status.lastAppliedRevision = revision;
    return {
      apiVersion: `${kind.def.group}/${kind.def.versions[0]!.name}`,
      kind: kind.def.kind,
      metadata: { name: text(cells, 'Name'), namespace, ...(pin ? { annotations: { [SLUICE_PIN]: pin } } : {}) },
      spec: { suspend: cells[at.Suspended!] === true },
      status,
    } as KubeObject;
  });
}
