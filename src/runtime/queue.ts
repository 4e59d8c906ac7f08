// The work queue every controller runs on (client-go's semantics, with
// Flux's exponential backoff for failed reconciles).
export interface QueueOptions {
  /** Reconciles running at once. */
  concurrency: number;
  /** First retry delay after a failure; doubles per consecutive failure. */
  baseDelayMs?: number;
  /** Longest retry delay. */
  maxDelayMs?: number;
}

export type ReconcileOutcome =
  /** Done; look again after this many ms (the object's interval), or never. */
  | { requeueAfterMs?: number }
  /**
   * Failed; retried with exponential backoff, or after `retryAfterMs` when
   * given; `retryWithinMs` caps the backoff (an object's interval: a failing
   * object is never looked at less often than a healthy one).
   */
  | { error: unknown; retryAfterMs?: number; retryWithinMs?: number };

export type Reconciler = (key: string, signal: AbortSignal) => Promise<ReconcileOutcome>;

/**
 * A work queue in client-go's sense: keys are de-duplicated while waiting,
 * the same key never runs twice at once (a key added while it runs is run
 * again afterwards), failures back off exponentially per key, and at most
 * `concurrency` reconciles run together.
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly running = new Set<string>();
  /** Keys added while running: run once more when the current run ends. */
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<string, number>();
  private readonly abort = new AbortController();
  private active = 0;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];
  /** Callers waiting for some keys to be through (see whenDone). */
  private doneWaiters: Array<{ keys: string[]; resolve: () => void }> = [];

  constructor(
    private readonly reconcile: Reconciler,
    private readonly opts: QueueOptions,
    private readonly onResult?: (key: string, outcome: ReconcileOutcome, ms: number) => void,
  ) {}

  /** Queues `key` now. */
  add(key: string): void {
    if (this.stopped) return;
    this.clearTimer(key);
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  /** Queues `key` after `ms`, unless it is due sooner already. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Forgets a key's scheduled run and its failure count (the object is gone). */
  forget(key: string): void {
    this.clearTimer(key);
    this.failures.delete(key);
  }

  /** Resolves once none of `keys` is waiting, running, or due to run again. */
  whenDone(keys: string[]): Promise<void> {
    if (this.allDone(keys)) return Promise.resolve();
    return new Promise((resolve) => this.doneWaiters.push({ keys, resolve }));
  }

  private allDone(keys: string[]): boolean {
    return this.stopped || keys.every((k) => !this.queued.has(k) && !this.running.has(k) && !this.dirty.has(k));
  }

  get depth(): number {
    return this.queue.length;
  }

  get inFlight(): number {
    return this.active;
  }

  /**
   * Stops taking work. With `drainMs`, running reconciles get that long to
   * finish before they are aborted through their signal.
   */
  async shutDown(drainMs = 0): Promise<void> {
    this.stopped = true;
    for (const w of this.doneWaiters.splice(0)) w.resolve();
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.queue.length = 0;
    this.queued.clear();
    if (this.active === 0) return;
    const idle = new Promise<void>((r) => this.idleWaiters.push(r));
    // Cleared once work is idle, so a finished drain does not keep the process alive for drainMs.
    let drainTimer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((r) => (drainTimer = setTimeout(r, drainMs)));
    await Promise.race([idle, timeout]);
    clearTimeout(drainTimer);
    this.abort.abort();
    await idle;
  }

  private clearTimer(key: string): void {
    const t = this.timers.get(key);
    if (t) {
      clearTimeout(t.timer);
      this.timers.delete(key);
    }
  }

  private pump(): void {
    while (!this.stopped && this.active < this.opts.concurrency && this.queue.length > 0) {
      const key = this.queue.shift()!;
      this.queued.delete(key);
      this.running.add(key);
      this.active++;
      void this.runOne(key);
    }
  }

  private async runOne(key: string): Promise<void> {
    const started = performance.now();
    let outcome: ReconcileOutcome;
    try {
      outcome = await this.reconcile(key, this.abort.signal);
    } catch (error) {
      outcome = { error };
    }
    this.onResult?.(key, outcome, performance.now() - started);
    this.running.delete(key);
    this.active--;
    if ('error' in outcome) {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      const base = this.opts.baseDelayMs ?? 500;
      const backoff = Math.min(this.opts.maxDelayMs ?? 5 * 60_000, base * 2 ** (n - 1));
      this.addAfter(key, outcome.retryAfterMs ?? Math.min(backoff, outcome.retryWithinMs ?? backoff));
    } else {
      this.failures.delete(key);
      if (outcome.requeueAfterMs !== undefined) this.addAfter(key, outcome.requeueAfterMs);
    }
    if (this.dirty.delete(key)) this.add(key);
    if (this.active === 0 && (this.stopped || this.queue.length === 0)) {
      for (const w of this.idleWaiters.splice(0)) w();
    }
    if (this.doneWaiters.length) {
      const waiting = this.doneWaiters;
      this.doneWaiters = [];
      for (const w of waiting) {
        if (this.allDone(w.keys)) w.resolve();
        else this.doneWaiters.push(w);
      }
    }
    this.pump();
  }
}

let jitterFraction = 0.05;

/** Flux's --interval-jitter-percentage, for the whole process (0 turns jitter off). */
export function setIntervalJitter(percent: number): void {
  if (!(percent >= 0 && percent < 100)) throw new Error(`interval jitter must be from 0 to 99 %, got ${percent}`);
  jitterFraction = percent / 100;
}

/**
 * An interval moved by up to ±5 % (--interval-jitter-percentage) at random,
 * as Flux's controllers do, so objects created together (a thousand
 * Kustomizations of one commit) do not poll together forever.
 */
export function jittered(intervalMs: number, random: () => number = Math.random): number {
  return Math.round(intervalMs * (1 + (random() * 2 - 1) * jitterFraction));
}
