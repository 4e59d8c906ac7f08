import type { KubeClient } from '../kube/client.ts';
import { resourcePath, type Discovery } from '../kube/discovery.ts';
import { subject, type KubeObject } from '../kube/object.ts';
import { ListWatch } from '../kube/watch.ts';
import type { SharedInformers } from '../kube/informer.ts';
import { computeHealth } from './index.ts';
import type { HealthResult } from './types.ts';

export interface WaitRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  /** The generation an apply just produced: an object seen at an older one (a cache behind the apply) is not judged yet. */
  generation?: number;
}

export interface ObjectHealth {
  subject: string;
  ref: WaitRef;
  result: HealthResult;
}

export interface WaitOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Called whenever an object's status changes. */
  onProgress?: (objects: ObjectHealth[]) => void;
  /** Shared caches to read objects from, instead of a list+watch per call (controllers). */
  informers?: SharedInformers;
  /** How each object is judged; the built-in rules by default (see CustomHealth.rule for healthCheckExprs). */
  health?: (obj: KubeObject) => HealthResult;
  /** Settle as soon as one object is Failed (default), rather than wait for all or the timeout. */
  failFast?: boolean;
}

export interface WaitResult {
  /** Every object is Current. */
  ok: boolean;
  timedOut: boolean;
  objects: ObjectHealth[];
  /** Objects that are not Current, each with why. */
  notReady: ObjectHealth[];
  /** One line per object that is not ready: `Deployment/ns/web: InProgress: ...`. */
  message: string;
}

/**
 * Follows a set of objects until every one is Current, one is Failed, the
 * timeout passes or the signal aborts. Objects are watched, not polled: one
 * list+watch per resource and namespace (narrowed to the object's name when
 * there is only one), or the shared caches a controller passes in.
 */
export async function waitForSet(
  client: KubeClient,
  discovery: Discovery,
  refs: WaitRef[],
  opts: WaitOptions,
): Promise<WaitResult> {
  const judge = opts.health ?? computeHealth;
  const health = new Map<string, ObjectHealth>();
  const groups = new Map<string, { path: string; refs: WaitRef[] }>();
  for (const ref of refs) {
    const key = subject({ kind: ref.kind, metadata: ref });
    health.set(key, { subject: key, ref, result: { status: 'Unknown', message: 'not observed yet' } });
    const mapping = await discovery.mapping(ref.apiVersion, ref.kind);
    if (!mapping) {
      health.set(key, { subject: key, ref, result: { status: 'NotFound', message: `unknown kind ${ref.kind}` } });
      continue;
    }
    const path = resourcePath(mapping, ref.namespace);
    const g = groups.get(path) ?? { path, refs: [] };
    g.refs.push(ref);
    groups.set(path, g);
  }

  let settle!: () => void;
  let done = false;
  const settled = new Promise<void>((r) => (settle = () => ((done = true), r())));
  const snapshot = () => [...health.values()];
  const evaluate = () => {
    const all = snapshot();
    opts.onProgress?.(all);
    if (all.every((o) => o.result.status === 'Current') || (opts.failFast !== false && all.some((o) => o.result.status === 'Failed'))) settle();
  };

  const refresh = (g: { refs: WaitRef[] }, lookup: (name: string) => KubeObject | undefined) => {
    for (const ref of g.refs) {
      const key = subject({ kind: ref.kind, metadata: ref });
      const obj = lookup(ref.name);
      const behind = obj && ref.generation !== undefined && typeof obj.metadata.generation === 'number' && obj.metadata.generation < ref.generation;
      const result = !obj
        ? { status: 'NotFound' as const, message: 'object not found' }
        : behind
          ? { status: 'InProgress' as const, message: `generation ${ref.generation} not seen yet` }
          : judge(obj);
      health.set(key, { subject: key, ref, result });
    }
  };
  const starters: Array<() => Promise<void>> = [];
  const stoppers: Array<() => void> = [];
  for (const g of groups.values()) {
    const names = new Set(g.refs.map((r) => r.name));
    if (opts.informers) {
      // Shared caches: no request per wait once a collection is watched.
      const informers = opts.informers;
      starters.push(async () => {
        const { informer, release } = await informers.acquire(g.path);
        const ns = g.refs[0]!.namespace;
        const onChange = (_t: string, obj: KubeObject) => {
          if (obj.metadata.namespace !== ns && ns !== undefined) return;
          if (!names.has(obj.metadata.name!)) return;
          refresh(g, (n) => informer.get(ns, n));
          evaluate();
        };
        informer.on(onChange);
        stoppers.push(() => {
          informer.off(onChange);
          release();
        });
        refresh(g, (n) => informer.get(ns, n));
      });
      continue;
    }
    const lw = new ListWatch(client, {
      path: g.path,
      fieldSelector: names.size === 1 ? `metadata.name=${[...names][0]}` : undefined,
      onSync: (store) => {
        refresh(g, (n) => [...store.values()].find((o) => o.metadata.name === n));
        evaluate();
      },
      onEvent: () => {
        refresh(g, (n) => [...lw.store.values()].find((o) => o.metadata.name === n));
        evaluate();
      },
    });
    starters.push(() => lw.start());
    stoppers.push(() => lw.stop());
  }

  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const onAbort = () => settle();
  opts.signal?.addEventListener('abort', onAbort);
  try {
    await Promise.all(starters.map((st) => st()));
    evaluate();
    // Most waits of a steady reconcile end here, from the caches: no timer for them.
    if (!done) {
      timer = setTimeout(() => {
        timedOut = true;
        settle();
      }, opts.timeoutMs);
    }
    await settled;
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    for (const st of stoppers) st();
  }
  const objects = snapshot();
  const notReady = objects.filter((o) => o.result.status !== 'Current');
  return {
    ok: notReady.length === 0,
    timedOut: timedOut && notReady.length > 0,
    objects,
    notReady,
    message: notReady.map((o) => `${o.subject}: ${o.result.status}: ${o.result.message}`).join('\n'),
  };
}
