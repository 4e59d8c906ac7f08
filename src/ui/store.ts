// The dashboard's live state: one informer per kind (the controller's own
// caches in the cluster, the dashboard's own locally), the overview rows
// derived from them, the condition changes seen since start, and the
// listeners (open pages) that get each change, coalesced over a few
// milliseconds so a burst of writes is one message.
import { KubeApiError } from '../kube/errors.ts';
import type { Informer } from '../kube/informer.ts';
import type { KubeObject } from '../kube/object.ts';
import { UI_KINDS, type UiKind } from './kinds.ts';
import { conditionsOf, packRows, rowOf, type Row } from './rows.ts';

export interface RowChanges {
  upsert: Row[];
  remove: string[];
}

export interface ConditionChange {
  at: string;
  type: string;
  status: string;
  reason: string;
  message: string;
}

const HISTORY_PER_OBJECT = 20;
const FLUSH_MS = 40;

export class DashboardStore {
  private readonly rows = new Map<string, Row>();
  private readonly history = new Map<string, ConditionChange[]>();
  private readonly listeners = new Set<(c: RowChanges) => void>();
  private readonly informers = new Map<string, Informer>();
  private pending: RowChanges = { upsert: [], remove: [] };
  private timer: NodeJS.Timeout | undefined;
  private snapshotJson: string | undefined;
  private readonly unsubscribe: Array<() => void> = [];
  /** Kinds that could not be listed, and why (shown on the page). */
  readonly unavailable = new Map<string, string>();

  /**
   * `informerFor` hands out the cache of a kind. `owned`: the store started
   * them and stops them (local mode); else they belong to the controller.
   */
  constructor(
    private readonly informerFor: (k: UiKind) => Informer,
    private readonly owned: boolean,
  ) {}

  async start(): Promise<void> {
    await Promise.all(
      UI_KINDS.map(async (k) => {
        const inf = this.informerFor(k);
        this.informers.set(k.kind, inf);
        const handler = (type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject, old?: KubeObject) => this.onEvent(k.kind, type, obj, old);
        inf.on(handler);
        this.unsubscribe.push(() => inf.off(handler));
        // A cache not yet running is not anyone else's: this store runs it.
        if (!inf.synced) await inf.start().catch((err: unknown) => {
          // A kind the user may not list, or whose CRD is missing, shows no rows and says why, instead of stopping the dashboard.
          if (!this.owned) throw err;
          this.unavailable.set(k.kind, err instanceof KubeApiError ? err.serverMessage : String(err));
        });
        for (const o of inf.list()) this.put({ ...o, kind: k.kind });
      }),
    );
    this.snapshotJson = undefined;
  }

  stop(): void {
    clearTimeout(this.timer);
    for (const u of this.unsubscribe) u();
    if (this.owned) for (const i of this.informers.values()) i.stop();
    this.listeners.clear();
  }

  /** Every row, packed (rows.ts), as the JSON an opening page gets; built once per change, shared by every page. */
  snapshot(): string {
    this.snapshotJson ??= JSON.stringify(packRows(this.rows.values()));
    return this.snapshotJson;
  }

  get size(): number {
    return this.rows.size;
  }

  row(id: string): Row | undefined {
    return this.rows.get(id);
  }

  object(kind: string, namespace: string, name: string): KubeObject | undefined {
    const o = this.informers.get(kind)?.get(namespace, name);
    return o ? { ...o, kind } : undefined;
  }

  conditionHistory(id: string): ConditionChange[] {
    return this.history.get(id) ?? [];
  }

  subscribe(listener: (c: RowChanges) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private onEvent(kind: string, type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject, old?: KubeObject): void {
    // Lists carry no kind on their items; the cache's kind is the object's.
    const o = obj.kind ? obj : { ...obj, kind };
    if (type === 'DELETED') {
      const id = `${kind}/${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
      if (this.rows.delete(id)) {
        this.history.delete(id);
        this.pending.remove.push(id);
        this.changed();
      }
      return;
    }
    if (old) this.recordConditions(o, old);
    this.put(o, true);
  }

  private put(o: KubeObject, notify = false): void {
    const row = rowOf(o);
    const before = this.rows.get(row.id);
    if (before && JSON.stringify(before) === JSON.stringify(row)) return;
    this.rows.set(row.id, row);
    if (notify) {
      this.pending.upsert.push(row);
      this.changed();
    } else this.snapshotJson = undefined;
  }

  private recordConditions(now: KubeObject, old: KubeObject): void {
    const id = `${now.kind}/${now.metadata.namespace ?? ''}/${now.metadata.name ?? ''}`;
    const before = new Map(conditionsOf(old).map((c) => [c.type, c]));
    for (const c of conditionsOf(now)) {
      const b = before.get(c.type);
      if (b && b.status === c.status && b.reason === c.reason && b.message === c.message) continue;
      const list = this.history.get(id) ?? [];
      list.unshift({ at: c.lastTransitionTime ?? new Date().toISOString(), type: c.type, status: c.status, reason: c.reason ?? '', message: (c.message ?? '').slice(0, 400) });
      list.length = Math.min(list.length, HISTORY_PER_OBJECT);
      this.history.set(id, list);
    }
  }

  private changed(): void {
    this.snapshotJson = undefined;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      const batch = this.pending;
      this.pending = { upsert: [], remove: [] };
      // The last write of an object in the batch wins.
      const latest = new Map(batch.upsert.map((r) => [r.id, r]));
      const out = { upsert: [...latest.values()].filter((r) => this.rows.get(r.id) === r), remove: batch.remove.filter((id) => !this.rows.has(id)) };
      for (const l of this.listeners) l(out);
    }, FLUSH_MS);
  }
}
