// The Kustomization controller: reconciles Flux Kustomizations as a sequence
// of named stages, one file each: dependencies, source, build, apply (and
// prune), health, finish (status, conditions, events), and finalize on
// deletion. This file holds the orchestration and the public face that the
// operator uses.
import { ResourceManager } from '../../apply/manager.ts';
import { SharedInformers } from '../../kube/informer.ts';
import type { KubeObject } from '../../kube/object.ts';
import { dependentsOf } from '../../runtime/dependencies.ts';
import { beginReconcile } from '../../runtime/lifecycle.ts';
import type { ReconcileOutcome } from '../../runtime/queue.ts';
import { Targets } from '../../runtime/target.ts';
import type { KustomizationControllerOptions } from './options.ts';
import { applyStage, targetStage } from './apply.ts';
import { Failure, startAttempt, type Attempt, type Env, type PendingProgress } from './attempt.ts';
import { build } from './build.ts';
import { BuildCache } from './buildcache.ts';
import { dependencyFailure } from './dependencies.ts';
import { compileExpressions } from './expressions.ts';
import { finalize } from './finalize.ts';
import { finish, markAttempted, succeed } from './finish.ts';
import { healthStage } from './health.ts';
import { KS_PLURAL, ORIGIN_REVISION_KEY, REQUESTED_AT, type Kustomization } from './names.ts';
import { sourceArtifact } from './source.ts';
import { rfc3339 } from '../../runtime/conditions.ts';
import type { ArtifactRef } from '../../runtime/artifacts.ts';
import { PIN_ANNOTATION, plan, recordApplied, recordVerdict, rollbackEnabled, rollbackTarget, triggerOf, type AttemptId, type HealthyRevision } from './record.ts';
import { RecordStore } from './recordstore.ts';
import { holdRollback, ROLLED_BACK_CONDITION, rollBack, runPinned, stoppedRollback } from './rollback.ts';

export type { KustomizationControllerOptions } from './options.ts';

export { ALLOW_MASS_PRUNE, FINALIZER, KS_PLURAL, NAME_LABEL, NAMESPACE_LABEL, Reason, REQUESTED_AT, type Kustomization } from './names.ts';

/**
 * Reconciles Flux Kustomizations: checks its CEL expressions, waits for dependencies, takes the
 * source's artifact, builds it, applies it with the apply engine (under the
 * tenant's service account or on a remote cluster when asked), prunes what
 * left it, waits for health, and writes status as kustomize-controller does.
 */
export class KustomizationController {
  readonly kind = 'Kustomization';
  /** Per Kustomization: its last build, reused while the artifact and the spec stay the same. */
  readonly builds = new BuildCache();
  private readonly env: Env;

  constructor(private readonly o: KustomizationControllerOptions) {
    this.env = {
      o,
      kind: this.kind,
      lifecycle: { client: o.client, metrics: o.metrics, kind: this.kind, plural: KS_PLURAL, teardown: o.teardown },
      targets: new Targets({
        client: o.client,
        defaultServiceAccount: o.defaultServiceAccount,
      defaultKubeConfigServiceAccount: o.defaultKubeConfigServiceAccount,
        make: (id) => ({ rm: new ResourceManager(id.client), informers: new SharedInformers(id.client) }),
        release: (t) => t.informers.stop(),
      }),
      memos: new Map(),
      builds: this.builds,
      waits: new Map(),
      records: new RecordStore(o.client),
      revisionBuilds: new Map(),
    };
  }

  /** Stops the shared caches of health checks. */
  stop(): void {
    this.env.targets.stop();
  }

  /** Keys of Kustomizations that build from the given source. */
  dependentsOfSource(kind: string, namespace: string, name: string): string[] {
    return this.o.kustomizations
      .list()
      .filter((k) => {
        const ref = (k as Kustomization).spec?.sourceRef;
        return ref?.kind === kind && ref.name === name && (ref.namespace ?? k.metadata.namespace) === namespace;
      })
      .map(keyOf);
  }

  /**
   * Keys of the Kustomizations in `namespace` that read this ConfigMap or
   * Secret: postBuild.substituteFrom, decryption.secretRef, kubeConfig.
   */
  dependentsOfConfig(kind: 'ConfigMap' | 'Secret', namespace: string, name: string): string[] {
    return this.o.kustomizations
      .list(namespace)
      .filter((k) => {
        const spec = (k as Kustomization).spec;
        if (!spec) return false;
        if (spec.postBuild?.substituteFrom?.some((r) => r.kind === kind && r.name === name)) return true;
        if (kind === 'Secret') return spec.decryption?.secretRef?.name === name || spec.kubeConfig?.secretRef?.name === name;
        return spec.kubeConfig?.configMapRef?.name === name;
      })
      .map(keyOf);
  }

  /** Keys of Kustomizations that depend on the given one (only those with a readyExpr on it, with `readyExprOnly`). */
  dependentsOf(namespace: string, name: string, o: { readyExprOnly?: boolean } = {}): string[] {
    return dependentsOf(this.o.kustomizations, namespace, name, o);
  }

  /** A source moved to a new revision: stop waiting on health checks of the old one. */
  sourceRevisionChanged(key: string, revision: string): void {
    const w = this.env.waits.get(key);
    if (w && w.revision !== revision) w.abort.abort();
  }

  async reconcile(key: string, signal: AbortSignal): Promise<ReconcileOutcome> {
    const progress: PendingProgress = {};
    try {
      return await this.attempt(key, signal, progress);
    } finally {
      // Whatever way the attempt ended, a late progress write must not land after it.
      clearTimeout(progress.timer);
      await progress.write;
    }
  }

  /** The stages in order; each returns its result or the Failure that ends the attempt (finish writes it). */
  private async attempt(key: string, signal: AbortSignal, progress: PendingProgress): Promise<ReconcileOutcome> {
    const env = this.env;
    const begun = await beginReconcile<Kustomization>(env.lifecycle, this.o.kustomizations, key);
    if (begun.phase === 'gone') {
      env.memos.delete(key);
      env.builds.delete(key);
      env.records.forget(key);
      env.revisionBuilds.delete(key);
      return {};
    }
    const log = this.o.log.with({ controller: 'kustomization', namespace: begun.obj.metadata.namespace, name: begun.obj.metadata.name });
    if (begun.phase === 'deleting') return finalize(env, begun.obj, log);
    if (begun.suspended) {
      log.debug('suspended');
      return {};
    }

    const a = startAttempt(begun.obj, key, log, progress);
    const health = compileExpressions(a);
    if (health instanceof Failure) return finish(env, a, health);
    const dependencies = dependencyFailure(env, a);
    if (dependencies) return finish(env, a, dependencies);
    const artifact = sourceArtifact(env, a);
    if (artifact instanceof Failure) return finish(env, a, artifact);
    const revision = artifact.revision;
    a.originRevision = artifact.metadata?.[ORIGIN_REVISION_KEY] || undefined;
    const at: AttemptId = { revision, generation: a.generation, requestedAt: a.obj.metadata.annotations?.[REQUESTED_AT] };
    const pin = a.obj.metadata.annotations?.[PIN_ANNOTATION]?.trim() || undefined;
    // Sluice's record is read only when this attempt may add to it or act on
    // it: a steady reconcile reads and writes nothing more than before.
    const record = needsRecord(a, at, pin) ? await env.records.load(a.obj) : undefined;
    const planned = plan(at, pin, record);
    if (planned.kind !== 'normal') {
      const target = await targetStage(env, a);
      if (target instanceof Failure) return finish(env, a, target);
      switch (planned.kind) {
        case 'pinned':
          return runPinned(env, a, target, record!, planned.revision, { revision, digest: artifact.digest, artifact: artifactRef(artifact) }, signal, health);
        case 'hold':
          return holdRollback(env, a, target, record!, planned.state);
        case 'stopped':
          return stoppedRollback(env, a, planned.state);
        case 'resume': {
          // A rollback the controller stopped in the middle of (a restart, a leader change): finish it.
          const to = record!.healthy ?? fallbackHealthy(a);
          if (!to) return stoppedRollback(env, a, { ...planned.state, phase: 'failed', error: 'the revision to roll back to is no longer known' });
          return rollBack(env, a, target, at, record!, to, planned.state.failure, signal, health);
        }
      }
    }
    // The source's own revision: no rollback or pin is in effect any more.
    a.conds.delete(ROLLED_BACK_CONDITION);
    markAttempted(env, a, revision);
    const target = await targetStage(env, a);
    if (target instanceof Failure) return finish(env, a, target);
    const built = await build(env, a, artifact, target);
    if (built instanceof Failure) return finish(env, a, built);
    // A fresh copy each time, the same whether built now or reused.
    const applied = await applyStage(env, a, target, built.objects(), revision);
    if (applied instanceof Failure) return finish(env, a, applied);
    const appliedAt = rfc3339(new Date());
    if (record) {
      record.entries = recordApplied(record.entries, {
        revision,
        digest: artifact.digest,
        generation: a.generation,
        trigger: triggerOf(at, a.prev),
        applied: appliedAt,
        inventory: a.status.inventory?.entries.length ?? 0,
      });
    }
    const healthy = await healthStage(env, a, target, applied.applied, revision, signal, health);
    if (healthy === 'canceled') return { requeueAfterMs: 0 };
    if (healthy instanceof Failure) {
      if (!record) return finish(env, a, healthy);
      record.entries = recordVerdict(record.entries, rfc3339(new Date()), healthy.message);
      if (rollbackEnabled(a.obj.metadata.annotations, !!this.o.rollbackAll) && !signal.aborted) {
        const to = rollbackTarget(at, a.obj.spec, { ...record, healthy: record.healthy ?? fallbackHealthy(a) });
        if (!('none' in to)) return rollBack(env, a, target, at, record, to, healthy.message, signal, health);
        a.log.info('no rollback', { why: to.none });
      }
      await env.records.save(a.obj, record);
      return finish(env, a, healthy);
    }
    if (record) {
      record.entries = recordVerdict(record.entries, rfc3339(new Date()));
      record.healthy = { revision, digest: artifact.digest, generation: a.generation, spec: a.obj.spec, artifact: artifactRef(artifact) };
      delete record.rollback;
      await env.records.save(a.obj, record);
    }
    return succeed(env, a, revision, built.digest, applied.changes);
  }
}

/**
 * Whether this attempt needs the record: new work (a revision, generation or
 * reconcile request not handled yet), a pin, or a rollback shown in status.
 */
function needsRecord(a: Attempt, at: AttemptId, pin: string | undefined): boolean {
  if (pin || a.prev.conditions?.some((c) => c.type === ROLLED_BACK_CONDITION)) return true;
  if (at.revision !== a.prev.lastAppliedRevision || at.generation !== a.prev.observedGeneration) return true;
  return !!at.requestedAt && at.requestedAt !== a.prev.lastHandledReconcileAt;
}

/**
 * For a Kustomization whose record has no healthy revision yet (it was Ready
 * before Sluice kept records): the revision Flux's status says was applied,
 * which is only set once its health checks passed, with the current spec.
 */
function fallbackHealthy(a: Attempt): HealthyRevision | undefined {
  const rev = a.prev.lastAppliedRevision;
  return rev ? { revision: rev, generation: a.prev.observedGeneration ?? a.generation, spec: a.obj.spec } : undefined;
}

/** The parts of a source artifact needed to fetch it again. */
function artifactRef(x: ArtifactRef): ArtifactRef {
  return { url: x.url, path: x.path, revision: x.revision, ...(x.digest ? { digest: x.digest } : {}) };
}

function keyOf(o: KubeObject): string {
  return `${o.metadata.namespace}/${o.metadata.name}`;
}
