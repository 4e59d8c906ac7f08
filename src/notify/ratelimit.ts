// Per-Alert rate limiting of identical events: an event that an Alert already
// sent within the interval (Flux's --rate-limit-interval, five minutes) is
// not sent again. Pure, with the clock passed in.
import { createHash } from 'node:crypto';
import type { FluxEvent } from '../runtime/eventsink.ts';

/**
 * What makes two events "the same" for rate limiting, as Flux keys them: the
 * object, severity, reason, message and revision (a new revision is news).
 */
export function eventKey(alertKey: string, e: FluxEvent): string {
  const o = e.involvedObject;
  const revision = Object.entries(e.metadata ?? {}).find(([k]) => k === 'revision' || k.endsWith('/revision'))?.[1] ?? '';
  return createHash('sha256')
    .update([alertKey, o.kind, o.namespace ?? '', o.name, e.severity, e.reason, e.message, revision].join('\u0000'))
    .digest('hex');
}

export class RateLimiter {
  private readonly seen = new Map<string, number>();

  constructor(private readonly intervalMs: number, private readonly maxKeys = 50_000) {}

  /** True (and remembered) when the key was not let through within the interval; false for a repeat. */
  allow(key: string, now: number): boolean {
    if (this.intervalMs <= 0) return true;
    const at = this.seen.get(key);
    if (at !== undefined && now - at < this.intervalMs) return false;
    this.seen.set(key, now);
    if (this.seen.size > this.maxKeys) this.prune(now);
    return true;
  }

  /** Forgets a key, e.g. when its delivery failed for good, so the next one is tried. */
  forget(key: string): void {
    this.seen.delete(key);
  }

  get size(): number {
    return this.seen.size;
  }

  private prune(now: number): void {
    for (const [k, at] of this.seen) if (now - at >= this.intervalMs) this.seen.delete(k);
    // Still full: drop the oldest (a Map iterates in insertion order).
    for (const k of this.seen.keys()) {
      if (this.seen.size <= this.maxKeys) break;
      this.seen.delete(k);
    }
  }
}
