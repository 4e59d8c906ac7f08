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

function keyOf(obj: KubeObject): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : String(obj.metadata.name);
}
