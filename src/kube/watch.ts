import { createInterface } from 'node:readline';
import type { IncomingMessage } from 'node:http';
import type { KubeClient } from './client.ts';
import { KubeApiError } from './errors.ts';
import type { KubeObject } from './object.ts';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface ListWatchOptions {
  /** Collection path, e.g. /apis/apps/v1/namespaces/demo/deployments or /api/v1/pods for all namespaces. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Called after every (re)list with the full set, and for every change. */
  onSync?: (objects: Map<string, KubeObject>) => void;
  onEvent?: (type: WatchEventType, obj: KubeObject) => void;
  /** A stream with no event or bookmark for this long is taken as stalled and reopened. */
  idleTimeoutMs?: number;
  /** Server-side watch timeout; the server closes the stream after it and we resume. */
  watchTimeoutSeconds?: number;
  onError?: (err: unknown) => void;
}

interface WatchEvent {
  type: WatchEventType | 'BOOKMARK' | 'ERROR';
  object: KubeObject & { code?: number; reason?: string; message?: string };
}

function keyOf(obj: KubeObject): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : String(obj.metadata.name);
}

/**
 * A reflector in client-go's sense: lists a collection, then watches it from
 * the list's resourceVersion with bookmarks, keeping a local copy. It
 * resumes from the last seen resourceVersion when a stream ends, re-lists on
 * 410 Gone, reconnects with jittered exponential backoff, and reopens a
 * stream that went silent.
 */
export class ListWatch {
  readonly store = new Map<string, KubeObject>();
  private resourceVersion = '';
  private stopped = false;
  private current: IncomingMessage | undefined;
  private synced!: Promise<void>;
  private resolveSynced!: () => void;
  private rejectSynced!: (err: unknown) => void;
  private hasSynced = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: ListWatchOptions,
  ) {
    this.synced = new Promise((res, rej) => {
      this.resolveSynced = res;
      this.rejectSynced = rej;
    });
    this.synced.catch(() => {});
  }

  /** Starts the loop; resolves once the first list is in the store. */
  start(): Promise<void> {
    this.loop ??= this.run();
    return this.synced;
  }

  stop(): void {
    this.stopped = true;
    this.current?.destroy();
  }

  get isSynced(): boolean {
    return this.hasSynced;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        if (!this.resourceVersion) await this.list();
        await this.watch();
        failures = 0;
      } catch (err) {
        if (this.stopped) break;
        if (err instanceof KubeApiError && err.status === 410) {
          this.resourceVersion = ''; // too old: list again
          continue;
        }
        this.opts.onError?.(err);
        if (!this.hasSynced && err instanceof KubeApiError && (err.status === 403 || err.status === 404)) {
          this.rejectSynced(err);
        }
        failures++;
        await sleep(backoff(failures));
      }
    }
  }

  private async list(): Promise<void> {
    const list = await this.client.request<{ metadata: { resourceVersion: string }; items: KubeObject[]; kind?: string }>({
      path: this.opts.path,
      query: { labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector },
    });
    const kind = list.kind?.replace(/List$/, '');
    const apiVersion = (list as { apiVersion?: string }).apiVersion;
    this.store.clear();
    for (const item of list.items) {
      // Items of a list carry no kind and apiVersion; restore them.
      if (kind && !item.kind) item.kind = kind;
      if (apiVersion && !item.apiVersion) item.apiVersion = apiVersion;
      this.store.set(keyOf(item), item);
    }
    this.resourceVersion = list.metadata.resourceVersion;
    this.opts.onSync?.(this.store);
    if (!this.hasSynced) {
      this.hasSynced = true;
      this.resolveSynced();
    }
  }

  private async watch(): Promise<void> {
    const res = await this.client.stream({
      path: this.opts.path,
      query: {
        watch: 'true',
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: 'true',
        timeoutSeconds: this.opts.watchTimeoutSeconds ?? 300,
        labelSelector: this.opts.labelSelector,
        fieldSelector: this.opts.fieldSelector,
      },
    });
    this.current = res;
    const idleMs = this.opts.idleTimeoutMs ?? 90_000;
    let idle = setTimeout(() => res.destroy(new Error('watch stream stalled')), idleMs);
    const lines = createInterface({ input: res, crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        clearTimeout(idle);
        idle = setTimeout(() => res.destroy(new Error('watch stream stalled')), idleMs);
        if (!line.trim()) continue;
        const ev = JSON.parse(line) as WatchEvent;
        if (ev.type === 'ERROR') {
          const code = ev.object.code ?? 500;
          throw new KubeApiError(code, ev.object.reason ?? 'WatchError', ev.object.message ?? 'watch error');
        }
        const rv = ev.object.metadata?.resourceVersion;
        if (rv) this.resourceVersion = rv;
        if (ev.type === 'BOOKMARK') continue;
        const key = keyOf(ev.object);
        if (ev.type === 'DELETED') this.store.delete(key);
        else this.store.set(key, ev.object);
        this.opts.onEvent?.(ev.type, ev.object);
      }
    } finally {
      clearTimeout(idle);
      this.current = undefined;
    }
  }
}

function backoff(failures: number): number {
  const base = Math.min(30_000, 200 * 2 ** Math.min(failures, 8));
  return base / 2 + Math.random() * (base / 2);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
