// Stage 4, apply and prune: where and as whom to apply (the target), then the
// shared apply pipeline (apply, inventory, prune against the inventory in
// status), with the change set logged and recorded as an event.
import { formatChangeSet, hasChanges, type ChangeSetEntry } from '../../apply/changeset.ts';
import { compileIgnoreRules, IgnoreRuleError, type IgnoreRule } from '../../apply/ignore.ts';
import { ApplyError } from '../../apply/manager.ts';
import { AppliedMemo } from '../../apply/memo.ts';
import { applySet, type ApplySetResult } from '../../apply/pipeline.ts';
import type { KubeObject } from '../../kube/object.ts';
import { Failure, type Attempt, type Env, type Target } from './attempt.ts';
import { ALLOW_MASS_PRUNE, NAME_LABEL, NAMESPACE_LABEL, Reason, revisionAnnotation, type Kustomization } from './names.ts';

/**
 * The client and apply engine for a Kustomization: the controller's own,
 * one impersonating its service account, or one for a remote cluster.
 */
export async function targetFor(env: Env, obj: Kustomization): Promise<Target> {
  const t = await env.targets.for(obj.metadata.namespace!, obj.spec);
  return { key: t.id.key, client: t.id.client, ...t.value };
}

/** The target, or the failure that says why there is none (a missing kubeconfig Secret or key). */
export async function targetStage(env: Env, a: Attempt): Promise<Target | Failure> {
  try {
    return await targetFor(env, a.obj);
  } catch (err) {
    // A TargetError's message is the one Flux writes to Ready: "kubeconfig Secret 'NS/NAME' not found".
    return new Failure(Reason.Failed, (err as Error).message);
  }
}

/** What the apply stage did. */
export interface Applied {
  /** The apply's change set (what the health stage waits for with spec.wait). */
  applied: ChangeSetEntry[];
  /** Applied and pruned. */
  changes: ChangeSetEntry[];
}

/** Applies the built objects and prunes what left them; the new inventory goes into the status. */
export async function applyStage(env: Env, a: Attempt, target: Target, objects: KubeObject[], revision: string): Promise<Applied | Failure> {
  const ownerLabels = { [NAME_LABEL]: a.name, [NAMESPACE_LABEL]: a.namespace };
  const memo = memoFor(env, a.key, target.key);
  let ignore: IgnoreRule[];
  try {
    ignore = compileIgnoreRules(a.obj.spec.ignore);
  } catch (err) {
    if (!(err instanceof IgnoreRuleError)) throw err;
    return new Failure(Reason.Failed, err.message, { stalled: true });
  }
  let run: ApplySetResult;
  try {
    run = await applySet(target.rm, objects, {
      apply: { ownerLabels, liveCache: target.informers, memo, force: a.obj.spec.force, concurrency: env.o.applyConcurrency ?? 16, takeoverManagers: env.o.takeoverManagers, ignore },
      // The inventory as it stands: what the last apply left (for a rollback, the failed revision's).
      previous: () => a.status.inventory,
      prune: a.obj.spec.prune
        ? {
            ownerLabels,
            allowMassPrune: a.obj.metadata.annotations?.[ALLOW_MASS_PRUNE] === 'true',
            allowHint: `set the annotation ${ALLOW_MASS_PRUNE}: "true" on the Kustomization`,
            propagation: 'Background',
          }
        : undefined,
    });
  } catch (err) {
    const message = err instanceof ApplyError ? err.message : `apply failed: ${(err as Error).message}`;
    return new Failure(Reason.Failed, message);
  }
  memo.retain(objects);
  if (!run.ok) {
    // What could not be pruned stays in the inventory, so it is not forgotten.
    a.status.inventory = run.keep;
    return new Failure(Reason.PruneFailed, (run.pruneError as Error).message);
  }
  a.status.inventory = run.inventory;
  const changes = [...run.applied, ...run.pruned];
  if (hasChanges(changes)) {
    a.log.info('server-side apply completed', { revision, changes: summarizeLines(changes) });
    await env.o.events.record(a.obj, 'Normal', Reason.Progressing, formatChangeSet(changes.filter((e) => e.action !== 'unchanged')), revisionAnnotation(revision, a.originRevision));
  }
  return { applied: run.applied, changes };
}

/** The Kustomization's memo of applied objects on this target; a new one when the target changed. */
function memoFor(env: Env, key: string, target: string): AppliedMemo {
  let m = env.memos.get(key);
  if (!m || m.target !== target) {
    m = { target, memo: new AppliedMemo() };
    env.memos.set(key, m);
  }
  return m.memo;
}

function summarizeLines(changes: ChangeSetEntry[]): Record<string, string> {
  return Object.fromEntries(changes.filter((e) => e.action !== 'unchanged').map((e) => [e.subject, e.action]));
}
