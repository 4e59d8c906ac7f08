// The status of an attempt: Ready=Unknown while new work is attempted
// (written only if the attempt takes a while), and the verdict at the end:
// conditions, observedGeneration, the Ready metric, a Warning event on a
// failure and a Normal one when Ready turns True, and when to come back.
import type { ChangeSetEntry } from '../../apply/changeset.ts';
import { findCondition } from '../../kube/object.ts';
import type { ReconcileOutcome } from '../../runtime/queue.ts';
import { patchStatus } from '../../runtime/status.ts';
import { formatDuration } from '../../util/duration.ts';
import type { Attempt, Env, Failure } from './attempt.ts';
import { updateHistory } from './history.ts';
import { KS_PLURAL, Reason, revisionAnnotation } from './names.ts';
import { jittered } from '../../runtime/queue.ts';

/**
 * How long an attempt at new work runs before its Ready=Unknown status is
 * written. Shorter attempts report their verdict directly: at a thousand
 * Kustomizations that is a thousand status writes fewer per commit.
 */
const PROGRESS_STATUS_DELAY_MS = 3_000;

/** The progress write, if it started, lands before any later status write. */
export async function settleProgress(a: Attempt): Promise<void> {
  clearTimeout(a.progress.timer);
  await a.progress.write;
}

/** The revision about to be attempted: recorded, and shown as in progress if it is new work. */
export function markAttempted(env: Env, a: Attempt, revision: string): void {
  const { status, conds } = a;
  status.lastAttemptedRevision = revision;
  const newWork = revision !== a.prev.lastAppliedRevision || a.generation !== a.prev.observedGeneration;
  if (!newWork) return;
  // kstatus: while a new revision is attempted, Ready is Unknown, not the
  // verdict of the previous attempt (which a waiter would take for this one's).
  conds.set('Reconciling', 'True', Reason.Progressing, `Fetching manifests for revision ${revision} with a timeout of ${formatDuration(a.timeout)}`);
  // As Flux's MarkReconciling: a Stalled from an earlier generation (an invalid
  // expression since fixed) does not stay on while the new one is attempted.
  conds.delete('Stalled');
  conds.set('Ready', 'Unknown', Reason.Progressing, 'Reconciliation in progress');
  // Written only if the attempt takes a while: a revision that changes
  // nothing (most Kustomizations of a monorepo commit) ends with one status
  // write instead of two, and a quick apply shows its verdict directly.
  const snapshot = structuredClone({ ...status, conditions: conds.toArray() });
  a.progress.timer = setTimeout(() => {
    a.progress.write = patchStatus(env.o.client, a.obj, KS_PLURAL, snapshot).catch((err) =>
      a.log.debug('progress status not written', { error: (err as Error).message }),
    );
  }, PROGRESS_STATUS_DELAY_MS);
}

/** Ends the attempt: the failure's verdict, or (without one) what `extra` sets on success. */
export async function finish(env: Env, a: Attempt, failure?: Failure, extra?: () => void): Promise<ReconcileOutcome> {
  const { conds, status, obj } = a;
  await settleProgress(a);
  if (failure) {
    conds.set('Ready', 'False', failure.reason, failure.message);
    if (failure.stalled) {
      conds.set('Stalled', 'True', failure.reason, failure.message);
      conds.delete('Reconciling');
    } else {
      conds.delete('Stalled');
      conds.set('Reconciling', 'True', 'ProgressingWithRetry', failure.message);
    }
  } else {
    conds.delete('Reconciling');
    conds.delete('Stalled');
  }
  failure?.extra?.();
  extra?.();
  status.observedGeneration = a.generation;
  status.conditions = conds.toArray();
  const wrote = await patchStatus(env.o.client, obj, KS_PLURAL, status);
  env.o.metrics.recordCondition(env.kind, a.namespace, a.name, 'Ready', conds.get('Ready')?.status);
  if (failure) {
    const prevReady = findCondition(obj, 'Ready');
    if (wrote || prevReady?.message !== failure.message) {
      await env.o.events.record(obj, 'Warning', failure.reason, failure.message, revisionAnnotation(status.lastAttemptedRevision, a.originRevision));
    }
    a.log.error('reconciliation failed', { reason: failure.reason, error: failure.message });
    // A stalled failure may still ask to be looked at (a rolled-back Kustomization corrects drift of what it runs).
    if (failure.stalled) return failure.retryAfterMs !== undefined ? { requeueAfterMs: failure.retryAfterMs } : {};
    return { requeueAfterMs: failure.retryAfterMs ?? a.retryInterval };
  }
  a.log.debug('reconciled', { durationMs: Date.now() - a.started });
  return { requeueAfterMs: jittered(a.interval) };
}

/** Ends a successful attempt: Ready=True, the applied revision, the history, and an event when Ready turns True or its message changes. */
export function succeed(env: Env, a: Attempt, revision: string, digest: string, changes: ChangeSetEntry[]): Promise<ReconcileOutcome> {
  const message = `Applied revision: ${revision}`;
  const wasReady = findCondition(a.obj, 'Ready');
  return finish(env, a, undefined, () => {
    a.conds.set('Ready', 'True', Reason.Succeeded, message);
    a.status.lastAppliedRevision = revision;
    // Flux writes the origin revision of what it applied, and clears it for an artifact without one.
    if (a.originRevision) a.status.lastAppliedOriginRevision = a.originRevision;
    else delete a.status.lastAppliedOriginRevision;
    a.status.history = updateHistory(a.prev.history, digest, revision, changes, a.now, Date.now() - a.started, a.originRevision);
    if (wasReady?.status !== 'True' || wasReady.message !== message) {
      void env.o.events.record(
        a.obj,
        'Normal',
        Reason.Succeeded,
        `Reconciliation finished in ${formatDuration(Date.now() - a.started)}, next run in ${formatDuration(a.interval)}`,
        revisionAnnotation(revision, a.originRevision),
      );
    }
  });
}

