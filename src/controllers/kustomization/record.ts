// Sluice's own record of a Kustomization's revisions (what Flux's
// status.history has no field for) and the pure decisions about rollback:
// which revision to run, whether a failed revision is tried again, and what
// to roll back to. No I/O here; recordstore.ts keeps the record in a
// ConfigMap and rollback.ts acts on these decisions.
import { createHash } from 'node:crypto';
import type { KustomizationSpec } from '../../api/kustomization.ts';
import type { ArtifactRef } from '../../runtime/artifacts.ts';

/** Opt-in per Kustomization: `sluice.dev/rollback: auto`. */
export const ROLLBACK_ANNOTATION = 'sluice.dev/rollback';
/** A manual pin: the revision to run instead of the source's, until removed. */
export { SLUICE_PIN as PIN_ANNOTATION } from '../../api/annotations.ts';
/** Entries kept in the record by default. */
export const HISTORY_LIMIT = 10;

/** What made a revision be applied. */
export type Trigger = 'commit' | 'spec' | 'requestedAt' | 'rollback' | 'pin' | 'first';

/** One applied revision. */
export interface RevisionEntry {
  revision: string;
  /** The source artifact's digest. */
  digest?: string;
  generation: number;
  trigger: Trigger;
  /** When it was applied (RFC 3339). */
  applied: string;
  /** When its health checks passed. */
  healthy?: string;
  /** When it failed, and why. */
  failed?: string;
  reason?: string;
  /** Objects in the inventory after the apply. */
  inventory: number;
}

/** The last revision that was healthy, with what is needed to build it again. */
export interface HealthyRevision {
  revision: string;
  digest?: string;
  generation: number;
  /** The spec it was built with (a spec change can be what broke it). */
  spec: KustomizationSpec;
  /** Its source artifact: a second way to build it while the source still keeps it. */
  artifact?: ArtifactRef;
}

/** A rollback of a failed revision to a healthy one, and how far it got. */
export interface RollbackState {
  /** The revision whose health checks failed, and the attempt it was (generation, requestedAt). */
  failedRevision: string;
  failedGeneration: number;
  failedRequestedAt?: string;
  /** Why it failed: the health check's message. */
  failure: string;
  /** The revision rolled back to. */
  to: string;
  /** `started`: persisted before anything is applied, so a restarted controller knows; `done`; `failed`: the rollback itself failed. */
  phase: 'started' | 'done' | 'failed';
  /** The rollback's own failure. */
  error?: string;
  since: string;
}

export interface RevisionRecord {
  entries: RevisionEntry[];
  healthy?: HealthyRevision;
  rollback?: RollbackState;
}

/** What one reconcile is: the identity of the attempt that a failed one is compared with. */
export interface AttemptId {
  revision: string;
  generation: number;
  requestedAt?: string;
}

/** The source revision as pinned: its commit, when the revision names one. */
export function commitOf(revision: string): string | undefined {
  return /(?:^|@)sha1:([0-9a-f]{40})$/.exec(revision)?.[1];
}

/** Whether auto rollback is on for an object: its annotation, else the controller's flag. */
export function rollbackEnabled(annotations: Record<string, string> | undefined, all: boolean): boolean {
  const v = annotations?.[ROLLBACK_ANNOTATION];
  if (v === 'auto') return true;
  if (v === 'disabled' || v === 'off') return false;
  return all;
}

/** What a reconcile does, before anything is applied. */
export type Plan =
  /** Apply the source's revision, as Flux does. */
  | { kind: 'normal' }
  /** Run the pinned revision. */
  | { kind: 'pinned'; revision: string }
  /** The source is still at a revision that was rolled back: keep the healthy one, do not try it again. */
  | { kind: 'hold'; state: RollbackState }
  /** A rollback was started and not finished (the controller stopped): finish it. */
  | { kind: 'resume'; state: RollbackState }
  /** The rollback of this attempt failed: say so and stop, until something changes. */
  | { kind: 'stopped'; state: RollbackState };

/** Decides what a reconcile does from the attempt, the pin and the record. */
export function plan(at: AttemptId, pin: string | undefined, record: RevisionRecord | undefined): Plan {
  if (pin) return { kind: 'pinned', revision: pin };
  const rb = record?.rollback;
  if (!rb || !sameAttempt(rb, at)) return { kind: 'normal' };
  if (rb.phase === 'started') return { kind: 'resume', state: rb };
  if (rb.phase === 'failed') return { kind: 'stopped', state: rb };
  return { kind: 'hold', state: rb };
}

/**
 * The failed attempt again: same revision, same generation, no new
 * requestedAt. Anything else (a new commit, a spec change, `sluice reconcile`)
 * tries the source's revision again.
 */
export function sameAttempt(rb: RollbackState, at: AttemptId): boolean {
  return rb.failedRevision === at.revision && rb.failedGeneration === at.generation && (rb.failedRequestedAt ?? '') === (at.requestedAt ?? '');
}

/**
 * After the health checks of `at` failed: the healthy revision to roll back
 * to, or why there is none. Rolling back to the same revision built from the
 * same spec would apply the same objects again, so that is no rollback.
 */
export function rollbackTarget(at: AttemptId, spec: KustomizationSpec, record: RevisionRecord | undefined): HealthyRevision | { none: string } {
  const h = record?.healthy;
  if (!h) return { none: 'no revision of this Kustomization has been healthy yet' };
  if (h.revision === at.revision && specHash(h.spec) === specHash(spec)) return { none: `the last healthy revision is ${h.revision} itself` };
  return h;
}

/** A stable hash of a spec, to tell whether two specs build the same. */
export function specHash(spec: KustomizationSpec): string {
  return createHash('sha256').update(stableJson(spec)).digest('hex').slice(0, 16);
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as { [k: string]: unknown };
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Why this revision is applied, from what changed since the last attempt. */
export function triggerOf(at: AttemptId, prev: { lastAppliedRevision?: string; observedGeneration?: number; lastHandledReconcileAt?: string }): Trigger {
  if (!prev.lastAppliedRevision) return 'first';
  if (at.revision !== prev.lastAppliedRevision) return 'commit';
  if (at.generation !== prev.observedGeneration) return 'spec';
  if (at.requestedAt && at.requestedAt !== prev.lastHandledReconcileAt) return 'requestedAt';
  return 'commit';
}

/**
 * The entries after an apply: a new head when the revision, generation or
 * trigger kind differs from the head's, else the head as it was (a steady
 * re-apply is no new entry, so nothing is written).
 */
export function recordApplied(entries: RevisionEntry[], e: Omit<RevisionEntry, 'healthy' | 'failed' | 'reason'>, limit = HISTORY_LIMIT): RevisionEntry[] {
  const head = entries[0];
  if (head && head.revision === e.revision && head.generation === e.generation && (head.trigger === 'rollback') === (e.trigger === 'rollback') && (head.trigger === 'pin') === (e.trigger === 'pin')) {
    if (head.inventory === e.inventory) return entries;
    return [{ ...head, inventory: e.inventory }, ...entries.slice(1)];
  }
  return [{ ...e }, ...entries].slice(0, limit);
}

/** The head entry's verdict: healthy at `when`, or failed with `reason`. Unchanged when the head already says so. */
export function recordVerdict(entries: RevisionEntry[], when: string, failure?: string): RevisionEntry[] {
  const head = entries[0];
  if (!head) return entries;
  if (failure === undefined) {
    if (head.healthy && !head.failed) return entries;
    const { failed: _f, reason: _r, ...rest } = head;
    return [{ ...rest, healthy: when }, ...entries.slice(1)];
  }
  // The first failure is the one kept: retries of the same revision write nothing more.
  if (head.failed) return entries;
  return [{ ...head, failed: when, reason: failure }, ...entries.slice(1)];
}

/** Picks the revision `--to previous` means: the newest healthy entry that is not the one running now. */
export function previousHealthy(entries: RevisionEntry[], running: string | undefined): string | undefined {
  return entries.find((e) => e.healthy && !e.failed && e.revision !== running)?.revision;
}
