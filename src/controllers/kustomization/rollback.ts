// Running a revision other than the source's: the automatic rollback after a
// new revision's health checks failed, keeping the rolled-back revision in
// place while the source stays at the failed one, and a manual pin. The
// older revision is built from the GitRepository's mirror at its commit (or,
// failing that, from its artifact if the source still keeps it) and applied
// with the same pipeline as any revision: what only the failed revision
// added is pruned under the same safety rules, what it changed is applied
// back, what it pruned comes back.
import type { CustomHealth } from '../../health/cel.ts';
import type { GitRepository } from '../../api/gitrepository.ts';
import type { KubeObject } from '../../kube/object.ts';
import type { ReconcileOutcome } from '../../runtime/queue.ts';
import { rfc3339 } from '../../runtime/conditions.ts';
import { patchStatus } from '../../runtime/status.ts';
import { formatDuration } from '../../util/duration.ts';
import { applyStage } from './apply.ts';
import { Failure, type Attempt, type Env, type Target } from './attempt.ts';
import { buildDir, buildFailure } from './build.ts';
import { finish, settleProgress } from './finish.ts';
import { healthStage } from './health.ts';
import { treeAtRevision } from './mirrortree.ts';
import { KS_PLURAL, Reason, revisionAnnotation, type Kustomization } from './names.ts';
import {
  PIN_ANNOTATION,
  recordApplied,
  recordVerdict,
  specHash,
  type AttemptId,
  type HealthyRevision,
  type RevisionRecord,
  type RollbackState,
} from './record.ts';

/** Sluice's condition for a Kustomization that runs a revision other than its source's. */
export const ROLLED_BACK_CONDITION = 'RolledBack';

/** Sluice's reasons, beside Flux's. */
export const RollbackReason = {
  /** Ready=False: the new revision failed its health checks and the last healthy one runs again. */
  RolledBack: 'RolledBack',
  /** Ready=False: rolling back failed too; nothing more is tried until something changes. */
  RollbackFailed: 'RollbackFailed',
  RollbackInProgress: 'RollbackInProgress',
  /** RolledBack=True: a pin (sluice.dev/rollback-to) chose the revision. */
  Pinned: 'Pinned',
} as const;

/** The objects of `revision` built with `obj`'s spec: kept from the last time, or from the mirror (or the kept artifact). */
async function buildRevision(env: Env, a: Attempt, obj: Kustomization, revision: string, target: Target, artifact?: HealthyRevision['artifact']): Promise<KubeObject[] | Failure> {
  const spec = specHash(obj.spec);
  const kept = env.revisionBuilds.get(a.key);
  if (kept && kept.revision === revision && kept.spec === spec) return structuredClone(kept.objects);
  let objects: KubeObject[];
  const ref = obj.spec.sourceRef;
  const repo = ref.kind === 'GitRepository' ? (env.o.sources.get('GitRepository')?.get(ref.namespace ?? a.namespace, ref.name) as GitRepository | undefined) : undefined;
  try {
    let tree;
    try {
      if (ref.kind !== 'GitRepository') throw new Error(`a ${ref.kind} has no Git mirror`);
      tree = await treeAtRevision(env.o.mirrors, repo, revision);
    } catch (err) {
      // The artifact of that revision, if the source still keeps it.
      if (!artifact) throw err;
      const dir = await env.o.artifacts.resolve(artifact).catch(() => undefined);
      if (!dir) throw err;
      tree = { dir, cleanup: async () => {} };
    }
    try {
      objects = (await buildDir(env, obj, tree.dir, target)).objects;
    } finally {
      await tree.cleanup();
    }
  } catch (err) {
    return buildFailure(err);
  }
  env.revisionBuilds.set(a.key, { revision, spec, objects: structuredClone(objects) });
  return objects;
}

/** The attempt with another spec (the healthy revision's), sharing its status and conditions. */
function withSpec(a: Attempt, spec: Kustomization['spec']): Attempt {
  return { ...a, obj: { ...a.obj, spec } };
}

/** The Ready message of a rolled-back Kustomization. */
export function rolledBackMessage(s: RollbackState): string {
  return `Rolled back to ${s.to}: ${s.failedRevision} failed (${s.failure}); running ${s.to}; ${s.failedRevision} is not tried again until a new revision, a spec change or a reconcile request`;
}

function rollbackFailedMessage(s: RollbackState): string {
  return `Rollback of ${s.failedRevision} to ${s.to} failed: ${s.error}; ${s.failedRevision} had failed (${s.failure}); stopped: nothing more is tried until a new revision, a spec change or a reconcile request`;
}

/**
 * Rolls back to `healthy` after the attempt `at` failed its health checks:
 * persists that the rollback started (a restarted controller finishes it),
 * builds and applies the healthy revision, waits for it, and ends the attempt
 * with Ready=False `RolledBack`, or `RollbackFailed` (stalled: never a loop).
 */
export async function rollBack(
  env: Env,
  a: Attempt,
  target: Target,
  at: AttemptId,
  record: RevisionRecord,
  healthy: HealthyRevision,
  failure: string,
  signal: AbortSignal,
  health: CustomHealth,
): Promise<ReconcileOutcome> {
  const state: RollbackState =
    record.rollback?.phase === 'started' && record.rollback.failedRevision === at.revision
      ? record.rollback
      : {
          failedRevision: at.revision,
          failedGeneration: at.generation,
          ...(at.requestedAt ? { failedRequestedAt: at.requestedAt } : {}),
          failure,
          to: healthy.revision,
          phase: 'started',
          since: rfc3339(new Date()),
        };
  record.rollback = state;
  await env.records.save(a.obj, record);
  a.log.info('rolling back', { failed: at.revision, to: healthy.revision });

  // Shown while it runs: what failed and where it goes.
  a.conds.set('Ready', 'Unknown', RollbackReason.RollbackInProgress, `Rolling back to ${healthy.revision}: ${at.revision} failed (${failure})`);
  a.conds.set(ROLLED_BACK_CONDITION, 'Unknown', RollbackReason.RollbackInProgress, `Rolling back to ${healthy.revision}`);
  a.status.lastAttemptedRevision = at.revision;
  a.status.conditions = a.conds.toArray();
  await settleProgress(a);
  await patchStatus(env.o.client, a.obj, KS_PLURAL, a.status);
  a.obj = { ...a.obj, status: structuredClone(a.status) };

  const ra = withSpec(a, healthy.spec);
  const fail = async (why: string): Promise<ReconcileOutcome> => {
    state.phase = 'failed';
    state.error = why;
    await env.records.save(a.obj, record);
    a.conds.set(ROLLED_BACK_CONDITION, 'False', RollbackReason.RollbackFailed, why);
    return finish(env, a, new Failure(RollbackReason.RollbackFailed, rollbackFailedMessage(state), { stalled: true }));
  };
  const objects = await buildRevision(env, ra, ra.obj, healthy.revision, target, healthy.artifact);
  if (objects instanceof Failure) return fail(objects.message);
  const applied = await applyStage(env, ra, target, objects, healthy.revision);
  if (applied instanceof Failure) return fail(applied.message);
  // Registered under the failed revision: a new source revision cancels this
  // wait too. Not fail-fast: a Deployment rolled back keeps the failed
  // revision's ProgressDeadlineExceeded at its new generation until its
  // controller sees progress again, which is no verdict on the old revision.
  const verdict = await healthStage(env, ra, target, applied.applied, at.revision, signal, health, false);
  if (verdict === 'canceled' || signal.aborted) return { requeueAfterMs: 0 };
  if (verdict instanceof Failure) return fail(verdict.message);

  state.phase = 'done';
  const now = rfc3339(new Date());
  record.entries = recordVerdict(
    recordApplied(record.entries, { revision: healthy.revision, digest: healthy.digest, generation: a.generation, trigger: 'rollback', applied: now, inventory: a.status.inventory?.entries.length ?? 0 }),
    now,
  );
  await env.records.save(a.obj, record);
  a.log.info('rolled back', { failed: at.revision, to: healthy.revision, durationMs: Date.now() - a.started });
  return finishRolledBack(env, a, state);
}

/** Ends an attempt that runs the rolled-back revision: Ready=False RolledBack (stalled: it waits for a change), drift still corrected each interval. */
function finishRolledBack(env: Env, a: Attempt, state: RollbackState): Promise<ReconcileOutcome> {
  a.status.lastAppliedRevision = state.to;
  a.status.lastAttemptedRevision = state.failedRevision;
  a.conds.set(ROLLED_BACK_CONDITION, 'True', RollbackReason.RolledBack, `Running ${state.to} instead of ${state.failedRevision}`);
  return finish(env, a, new Failure(RollbackReason.RolledBack, rolledBackMessage(state), { stalled: true, retryAfterMs: a.interval }));
}

/**
 * The source is still at the revision that was rolled back: keep running the
 * healthy one (its objects applied again, which sends nothing when nobody
 * changed them), and say so as before.
 */
export async function holdRollback(env: Env, a: Attempt, target: Target, record: RevisionRecord, state: RollbackState): Promise<ReconcileOutcome> {
  const healthy = record.healthy;
  if (healthy && healthy.revision === state.to) {
    const ra = withSpec(a, healthy.spec);
    const objects = await buildRevision(env, ra, ra.obj, healthy.revision, target, healthy.artifact);
    if (objects instanceof Failure) return finish(env, a, objects);
    const applied = await applyStage(env, ra, target, objects, healthy.revision);
    if (applied instanceof Failure) return finish(env, a, applied);
  }
  return finishRolledBack(env, a, state);
}

/** A rollback that failed earlier, for the same attempt: report it again, do nothing. */
export function stoppedRollback(env: Env, a: Attempt, state: RollbackState): Promise<ReconcileOutcome> {
  a.status.lastAttemptedRevision = state.failedRevision;
  a.conds.set(ROLLED_BACK_CONDITION, 'False', RollbackReason.RollbackFailed, state.error ?? 'rollback failed');
  return finish(env, a, new Failure(RollbackReason.RollbackFailed, rollbackFailedMessage(state), { stalled: true }));
}

/**
 * Runs the pinned revision (annotation sluice.dev/rollback-to) instead of the
 * source's: built from the mirror, applied, health-checked. Ready says it is
 * pinned; no automatic rollback while pinned.
 */
export async function runPinned(
  env: Env,
  a: Attempt,
  target: Target,
  record: RevisionRecord,
  pin: string,
  source: { revision: string; digest?: string; artifact?: HealthyRevision['artifact'] },
  signal: AbortSignal,
  health: CustomHealth,
): Promise<ReconcileOutcome> {
  a.status.lastAttemptedRevision = pin;
  const known = record.entries.find((e) => e.revision === pin);
  const artifact = pin === source.revision ? source.artifact : record.healthy?.revision === pin ? record.healthy.artifact : undefined;
  const objects = await buildRevision(env, a, a.obj, pin, target, artifact);
  if (objects instanceof Failure) return finish(env, a, objects);
  const applied = await applyStage(env, a, target, objects, pin);
  if (applied instanceof Failure) return finish(env, a, applied);
  const appliedAt = rfc3339(new Date());
  record.entries = recordApplied(record.entries, { revision: pin, digest: known?.digest ?? (pin === source.revision ? source.digest : undefined), generation: a.generation, trigger: 'pin', applied: appliedAt, inventory: a.status.inventory?.entries.length ?? 0 });
  // Not fail-fast, as for a rollback: a pin often follows a failed revision whose leftover conditions are no verdict on this one.
  const verdict = await healthStage(env, a, target, applied.applied, pin, signal, health, false);
  if (verdict === 'canceled' || signal.aborted) return { requeueAfterMs: 0 };
  if (verdict instanceof Failure) {
    record.entries = recordVerdict(record.entries, rfc3339(new Date()), verdict.message);
    await env.records.save(a.obj, record);
    return finish(env, a, verdict);
  }
  record.entries = recordVerdict(record.entries, rfc3339(new Date()));
  record.healthy = { revision: pin, digest: known?.digest, generation: a.generation, spec: a.obj.spec, ...(artifact ? { artifact } : {}) };
  delete record.rollback;
  await env.records.save(a.obj, record);
  const message = `Applied revision: ${pin} (pinned by ${PIN_ANNOTATION}; the source is at ${source.revision})`;
  const wasReady = a.prev.conditions?.find((c) => c.type === 'Ready');
  return finish(env, a, undefined, () => {
    a.conds.set('Ready', 'True', Reason.Succeeded, message);
    a.conds.set(ROLLED_BACK_CONDITION, 'True', RollbackReason.Pinned, `Pinned to ${pin} by ${PIN_ANNOTATION}`);
    a.status.lastAppliedRevision = pin;
    if (wasReady?.status !== 'True' || wasReady.message !== message) {
      void env.o.events.record(a.obj, 'Normal', RollbackReason.Pinned, `${message}, reconciled in ${formatDuration(Date.now() - a.started)}`, revisionAnnotation(pin));
    }
  });
}
