import type { KubeClient } from './client.ts';
import type { KubeObject } from './object.ts';
import { ListWatch, type WatchEventType } from './watch.ts';

export type Handler = (type: WatchEventType, obj: KubeObject, old?: KubeObject) => void;

/**
 * One shared cache per kind (cluster-wide or one namespace): a single
 * list+watch feeds every controller that needs the kind, instead of a watch
 * per object. After a re-list, objects that vanished meanwhile are reported
 * as deleted and changed ones as modified, so handlers miss nothing.
 */
export class Informer {
  private readonly lw: ListWatch;
  private readonly handlers: Handler[] = [];
  private known = new Map<string, KubeObject>();

  constructor(
    client: KubeClient,
    readonly path: string,
    opts: { labelSelector?: string; onError?: (err: unknown) => void } = {},
  ) {
    this.lw = new ListWatch(client, {
      path,
      labelSelector: opts.labelSelector,
      onError: opts.onError,
      onSync: (store) => this.resync(store),
      onEvent: (type, obj) => this.dispatch(type, obj),
    });
  }

  on(handler: Handler): void {
    this.handlers.push(handler);
  }

  off(handler: Handler): void {
    const i = this.handlers.indexOf(handler);
    if (i >= 0) this.handlers.splice(i, 1);
  }

  start(): Promise<void> {
    return this.lw.start();
  }

  stop(): void {
    this.lw.stop();
  }

  get synced(): boolean {
    return this.lw.isSynced;
  }

  get(namespace: string | undefined, name: string): KubeObject | undefined {
    return this.lw.store.get(namespace ? `${namespace}/${name}` : name);
  }

  list(namespace?: string): KubeObject[] {
    const all = [...this.lw.store.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
  }

  private dispatch(type: WatchEventType, obj: KubeObject): void {
    const key = keyOf(obj);
    const old = this.known.get(key);
    if (type === 'DELETED') this.known.delete(key);
    else this.known.set(key, obj);
    for (const h of this.handlers) h(type, obj, old);
  }

  private resync(store: Map<string, KubeObject>): void {
    const previous = this.known;
    this.known = new Map(store);
    for (const [key, obj] of store) {
      const old = previous.get(key);
      if (!old) for (const h of this.handlers) h('ADDED', obj);
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) for (const h of this.handlers) h('MODIFIED', obj, old);
    }
    for (const [key, obj] of previous) {
      if (!store.has(key)) for (const h of this.handlers) h('DELETED', obj);
    }
  }
}

/**
 * Informers started on demand and shared by everyone who asks for the same
 * collection (e.g. the health checks of many Kustomizations), stopped when
 * nobody has used them for a while.
 */
export class SharedInformers {
  private readonly entries = new Map<string, { informer: Informer; started: Promise<void>; users: number; idleSince: number }>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly client: KubeClient,
    private readonly idleMs = 5 * 60_000,
  ) {
    this.timer = setInterval(() => this.collect(), Math.min(idleMs, 60_000));
    this.timer.unref();
  }

  /** A synced informer for `path`; call `release` when done with it. */
  async acquire(path: string): Promise<{ informer: Informer; release(): void }> {
    let e = this.entries.get(path);
    if (!e) {
      const informer = new Informer(this.client, path);
      e = { informer, started: informer.start(), users: 0, idleSince: Date.now() };
      this.entries.set(path, e);
      // Forbidden or not found: drop it, and stop its retry loop with it.
      e.started.catch(() => {
        informer.stop();
        this.entries.delete(path);
      });
    }
    e.users++;
    const entry = e;
    try {
      await entry.started;
    } catch (err) {
      entry.users--;
      throw err;
    }
    let released = false;
    return {
      informer: entry.informer,
      release: () => {
        if (released) return;
        released = true;
        entry.users--;
        if (entry.users === 0) entry.idleSince = Date.now();
      },
    };
  }

  stop(): void {
    clearInterval(this.timer);
    for (const e of this.entries.values()) e.informer.stop();
    this.entries.clear();
  }

  private collect(): void {
    for (const [path, e] of this.entries) {
      if (e.users === 0 && Date.now() - e.idleSince > this.idleMs) {
        e.informer.stop();
        this.entries.delete(path);
      }
    }
  }
}

function keyOf(obj: KubeObject): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : String(obj.metadata.name);
}
