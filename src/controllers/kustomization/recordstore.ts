// Where Sluice keeps a Kustomization's revision record: a ConfigMap beside it
// (`sluice-history-<name>`), owned by it so the garbage collector removes it
// with the Kustomization. A ConfigMap rather than an annotation: the record
// is written by the controller only, and an annotation write would change
// the Flux object itself (a new resourceVersion, a watch event to every
// client of Kustomizations, a difference for whoever applies the object from
// Git). The record is read once per process and key, then kept in memory;
// it is written only when it changes, so a steady reconcile costs nothing.
import { createHash } from 'node:crypto';
import type { KubeClient } from '../../kube/client.ts';
import { isConflict, isNotFound } from '../../kube/errors.ts';
import type { KubeObject } from '../../kube/object.ts';
import { sameJson } from '../../runtime/status.ts';
import type { RevisionRecord } from './record.ts';

/** The label that marks a record and names its Kustomization. */
export const RECORD_LABEL = 'sluice.dev/history-of';

interface RecordConfigMap extends KubeObject {
  data?: { [key: string]: string };
}

/** The record ConfigMap's name for a Kustomization. */
export function recordName(ks: string): string {
  const name = `sluice-history-${ks}`;
  if (name.length <= 253) return name;
  return `${name.slice(0, 236)}-${createHash('sha256').update(ks).digest('hex').slice(0, 16)}`;
}

export function recordPath(namespace: string, ks: string): string {
  return `/api/v1/namespaces/${namespace}/configmaps/${recordName(ks)}`;
}

/** The record a ConfigMap holds (an empty one for a missing or unreadable ConfigMap). */
export function parseRecord(cm: RecordConfigMap | undefined): RevisionRecord {
  const d = cm?.data ?? {};
  const json = <T>(k: string): T | undefined => {
    try {
      return d[k] ? (JSON.parse(d[k]) as T) : undefined;
    } catch {
      return undefined;
    }
  };
  return { entries: json('history') ?? [], healthy: json('healthy'), rollback: json('rollback') };
}

function recordData(r: RevisionRecord): { [key: string]: string } {
  return {
    history: JSON.stringify(r.entries),
    ...(r.healthy ? { healthy: JSON.stringify(r.healthy) } : {}),
    ...(r.rollback ? { rollback: JSON.stringify(r.rollback) } : {}),
  };
}

/** Reads and writes records, with one cached copy per Kustomization. */
export class RecordStore {
  private readonly cache = new Map<string, { uid: string; record: RevisionRecord; resourceVersion?: string }>();
  /** API requests made, for tests and the benchmark. */
  readonly stats = { reads: 0, writes: 0 };

  constructor(private readonly client: KubeClient) {}

  /** The record of a Kustomization; read from the API once per process (and after a write conflict). */
  async load(ks: KubeObject): Promise<RevisionRecord> {
    const key = `${ks.metadata.namespace}/${ks.metadata.name}`;
    const c = this.cache.get(key);
    if (c && c.uid === ks.metadata.uid) return structuredClone(c.record);
    return structuredClone(await this.read(ks));
  }

  /** Whether the record is in memory (a steady reconcile needs no read). */
  cached(ks: KubeObject): RevisionRecord | undefined {
    const c = this.cache.get(`${ks.metadata.namespace}/${ks.metadata.name}`);
    return c && c.uid === ks.metadata.uid ? structuredClone(c.record) : undefined;
  }

  private async read(ks: KubeObject): Promise<RevisionRecord> {
    const key = `${ks.metadata.namespace}/${ks.metadata.name}`;
    this.stats.reads++;
    const cm = await this.client.getOrUndefined<RecordConfigMap>(recordPath(ks.metadata.namespace!, ks.metadata.name!));
    // A record of an earlier Kustomization of the same name belongs to no one: start afresh.
    const owned = cm && (!ks.metadata.uid || cm.metadata.ownerReferences?.some((o) => o.uid === ks.metadata.uid));
    const record = owned ? parseRecord(cm) : { entries: [] };
    this.cache.set(key, { uid: ks.metadata.uid ?? '', record, resourceVersion: cm?.metadata.resourceVersion });
    return record;
  }

  /** Writes the record when it differs from the stored one. */
  async save(ks: KubeObject, record: RevisionRecord): Promise<void> {
    const key = `${ks.metadata.namespace}/${ks.metadata.name}`;
    let c = this.cache.get(key);
    if (!c || c.uid !== ks.metadata.uid) {
      await this.read(ks);
      c = this.cache.get(key)!;
    }
    if (sameJson(c.record, record)) return;
    const path = recordPath(ks.metadata.namespace!, ks.metadata.name!);
    const body = (resourceVersion?: string): RecordConfigMap => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: recordName(ks.metadata.name!),
        namespace: ks.metadata.namespace,
        ...(resourceVersion ? { resourceVersion } : {}),
        labels: { [RECORD_LABEL]: ks.metadata.name!.length <= 63 ? ks.metadata.name! : createHash('sha256').update(ks.metadata.name!).digest('hex').slice(0, 63) },
        ownerReferences: ks.metadata.uid
          ? [{ apiVersion: ks.apiVersion!, kind: ks.kind!, name: ks.metadata.name!, uid: ks.metadata.uid }]
          : undefined,
      },
      data: recordData(record),
    });
    for (let tries = 0; ; tries++) {
      this.stats.writes++;
      try {
        const res = c.resourceVersion
          ? await this.client.request<RecordConfigMap>({ method: 'PUT', path, body: body(c.resourceVersion) })
          : await this.client.request<RecordConfigMap>({ method: 'POST', path: path.slice(0, path.lastIndexOf('/')), body: body() });
        this.cache.set(key, { uid: ks.metadata.uid ?? '', record: structuredClone(record), resourceVersion: res.metadata.resourceVersion });
        return;
      } catch (err) {
        // Another replica (before a leader change) or a deleted ConfigMap: take what is there and write over it.
        if (tries >= 2 || !(isConflict(err) || isNotFound(err) || (err as { status?: number }).status === 409)) throw err;
        await this.read(ks);
        c = this.cache.get(key)!;
      }
    }
  }

  forget(key: string): void {
    this.cache.delete(key);
  }
}
