import { createInterface, type Interface } from 'node:readline';
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
  private currentLines: Interface | undefined;
  /** Aborts the watch request in flight (before and after its headers). */
  private currentAbort: AbortController | undefined;
  /** Ends a backoff sleep early (stop). */
  private wake: (() => void) | undefined;
  /** The last watch request was answered: the server is reachable again. */
  private opened = false;
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
    // Closing the line reader ends the for-await loop at once; destroying the
    // response alone leaves readline waiting for an 'end' that never comes.
    this.currentLines?.close();
    this.current?.destroy();
    this.currentAbort?.abort();
    this.wake?.();
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
        // A stream that was open broke: start the backoff over instead of
        // carrying the count of an earlier outage into this one.
        if (this.opened) failures = 0;
        if (!this.hasSynced && err instanceof KubeApiError && (err.status === 403 || err.status === 404)) {
          this.rejectSynced(err);
        }
        failures++;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, backoff(failures));
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wake = undefined;
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
    const idleMs = this.opts.idleTimeoutMs ?? 90_000;
    // A connection that never answers (a half-open TCP connection, a stalled
    // proxy) must not hang the reflector before the stream starts either.
    const abort = new AbortController();
    this.currentAbort = abort;
    this.opened = false;
    const noHeaders = setTimeout(() => abort.abort(), idleMs);
    let res: IncomingMessage;
    try {
      res = await this.client.stream({
        signal: abort.signal,
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
    } catch (err) {
      if (abort.signal.aborted && !this.stopped) throw new Error(`watch request stalled: no response within ${idleMs} ms`);
      throw err;
    } finally {
      clearTimeout(noHeaders);
      this.currentAbort = undefined;
    }
    if (this.stopped) {
      res.destroy();
      return;
    }
    this.opened = true;
    this.current = res;
    let idle = setTimeout(() => res.destroy(new Error('watch stream stalled')), idleMs);
    const lines = createInterface({ input: res, crlfDelay: Infinity });
    // readline's iterator waits for 'end', which a destroyed stream (stop())
    // never emits: end it on 'close' too (an error still throws first).
    res.once('close', () => lines.close());
    this.currentLines = lines;
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
      this.currentLines = undefined;
    }
  }
}

function backoff(failures: number): number {
  const base = Math.min(30_000, 200 * 2 ** Math.min(failures, 8));
  return base / 2 + Math.random() * (base / 2);
}
