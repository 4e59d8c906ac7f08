// Whether a remote cluster (an applier's spec.kubeConfig) answers at all,
// checked before work is done there. A cluster that does not answer would
// otherwise hold a worker for every request's full timeout, and with as many
// of its Kustomizations as there are workers, nothing else in the controller
// would run (issue 20: one dead remote cluster took the local
// Kustomizations' push-to-applied time from 3 s to 120 s). With the check,
// a dead cluster costs at most one short probe per `freshMs`; everything
// else for it fails at once with the probe's reason. While a cluster is in
// use it is also probed in the background (`watch`), so that one which dies
// under requests already sent is noticed within seconds and those requests
// are cut (the caller closes the client's connections) instead of each
// waiting for its timeout.
import type { KubeClient } from '../kube/client.ts';
import { KubeApiError } from '../kube/errors.ts';

export interface ReachabilityOptions {
  /** How long a probe may take before the cluster counts as unreachable. */
  probeTimeoutMs?: number;
  /** How long a probe's verdict holds before the next use probes again. */
  freshMs?: number;
  /** How often a cluster in use is probed in the background. */
  heartbeatMs?: number;
  /** A cluster not used for this long is no longer probed in the background. */
  idleMs?: number;
  now?: () => number;
}

interface Watch {
  timer: NodeJS.Timeout;
  lastUsed: number;
  busy: boolean;
}

interface State {
  ok: boolean;
  at: number;
  error?: string;
  probing?: Promise<void>;
}

export class Reachability {
  readonly #states = new Map<string, State>();
  readonly #timeout: number;
  readonly #fresh: number;
  readonly #now: () => number;
  readonly #heartbeat: number;
  readonly #idle: number;
  readonly #watches = new Map<string, Watch>();

  constructor(o: ReachabilityOptions = {}) {
    this.#timeout = o.probeTimeoutMs ?? 3_000;
    this.#fresh = o.freshMs ?? 10_000;
    this.#heartbeat = o.heartbeatMs ?? 1_000;
    this.#idle = o.idleMs ?? 60_000;
    this.#now = o.now ?? Date.now;
  }

  /**
   * Probes the cluster every heartbeatMs while it is in use (each call counts
   * as a use); when a probe fails, records it and calls `onDown` (which cuts
   * the requests under way). Stops by itself after idleMs without use.
   */
  watch(key: string, client: KubeClient, onDown: () => void): void {
    const w = this.#watches.get(key);
    if (w) {
      w.lastUsed = Date.now();
      return;
    }
    const watch: Watch = {
      lastUsed: Date.now(),
      busy: false,
      timer: setInterval(() => {
        if (Date.now() - watch.lastUsed > this.#idle) {
          clearInterval(watch.timer);
          this.#watches.delete(key);
          return;
        }
        if (watch.busy) return;
        watch.busy = true;
        void this.#probe(client).then((error) => {
          watch.busy = false;
          const before = this.#states.get(key);
          if (error === undefined) {
            if (!before?.probing) this.#states.set(key, { ok: true, at: this.#now() });
            return;
          }
          this.#states.set(key, { ok: false, at: this.#now(), error, probing: before?.probing });
          if (before?.ok !== false) onDown();
        });
      }, this.#heartbeat),
    };
    watch.timer.unref();
    this.#watches.set(key, watch);
  }

  /** Stops every background probe. */
  stop(): void {
    for (const w of this.#watches.values()) clearInterval(w.timer);
    this.#watches.clear();
  }

  /**
   * Resolves when the cluster behind `client` answered lately (any HTTP
   * answer counts: it is there); rejects with why not otherwise. While a
   * probe runs, callers wait for it if the cluster was fine before, and
   * fail at once if it was not: one caller, not every worker, pays for
   * finding out whether a dead cluster is back.
   */
  async check(key: string, client: KubeClient): Promise<void> {
    const st = this.#states.get(key);
    if (st && this.#now() - st.at < this.#fresh) return verdict(st);
    if (st?.probing) {
      if (!st.ok) return verdict(st);
      await st.probing;
      return verdict(this.#states.get(key)!);
    }
    const probing = this.#probe(client).then((error) => {
      this.#states.set(key, error === undefined ? { ok: true, at: this.#now() } : { ok: false, at: this.#now(), error });
    });
    // Stale (or never probed) while the probe runs: callers look at `probing`.
    this.#states.set(key, { ok: st?.ok ?? true, at: -Infinity, error: st?.error, probing });
    await probing;
    return verdict(this.#states.get(key)!);
  }

  /** Forgets a cluster (its kubeconfig changed). */
  forget(key: string): void {
    this.#states.delete(key);
    const w = this.#watches.get(key);
    if (w) clearInterval(w.timer);
    this.#watches.delete(key);
  }

  async #probe(client: KubeClient): Promise<string | undefined> {
    try {
      await client.request({ path: '/version', timeoutMs: this.#timeout });
      return undefined;
    } catch (err) {
      // The server answered, if only to refuse: it is reachable; the real request will say what is wrong.
      if (err instanceof KubeApiError) return undefined;
      return (err as Error).message;
    }
  }
}

function verdict(st: State): void {
  if (!st.ok) throw new UnreachableError(st.error ?? 'no answer');
}

export class UnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnreachableError';
  }
}
