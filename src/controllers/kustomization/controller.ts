import type { KustomizationSpec, KustomizationStatus } from '../../api/kustomization.ts';
import { ApplyError, ResourceManager } from '../../apply/manager.ts';
import { AppliedMemo } from '../../apply/memo.ts';
import { formatChangeSet, hasChanges, type ChangeSetEntry } from '../../apply/changeset.ts';
import { inventoryFromChangeSet, staleEntries, type Inventory } from '../../apply/inventory.ts';
import { PruneRefusedError, pruneStale } from '../../apply/prune.ts';
import { buildKustomization, BuildError, ManifestError, SubstitutionError, type ConfigMapData, type SecretData } from '../../render/index.ts';
import { decryptTree, DecryptionError, keysFromSecret, type DecryptedTree, type DecryptionKeys } from '../../render/sops.ts';
import { waitForSet, type WaitRef } from '../../health/wait.ts';
import { KubeClient } from '../../kube/client.ts';
import { isNotFound } from '../../kube/errors.ts';
import { SharedInformers, type Informer } from '../../kube/informer.ts';
import { findCondition, parseObjectId, type KubeObject } from '../../kube/object.ts';
import { Conditions, rfc3339 } from '../../runtime/conditions.ts';
import { formatDuration, parseDuration } from '../../util/duration.ts';
import type { Logger } from '../../util/log.ts';
import type { ArtifactResolver } from '../../runtime/artifacts.ts';
import { BuildCache, BuiltSet, buildInputs } from './buildcache.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import type { Metrics } from '../../runtime/metrics.ts';
import type { ReconcileOutcome } from '../../runtime/queue.ts';
import { addFinalizer, patchStatus, removeFinalizer } from '../../runtime/status.ts';

export const KS_PLURAL = 'kustomizations';
export const FINALIZER = 'finalizers.fluxcd.io';
export const NAME_LABEL = 'kustomize.toolkit.fluxcd.io/name';
export const NAMESPACE_LABEL = 'kustomize.toolkit.fluxcd.io/namespace';
export const REQUESTED_AT = 'reconcile.fluxcd.io/requestedAt';
/** Sluice's own opt-in for a prune of more than half of the inventory. */
export const ALLOW_MASS_PRUNE = 'sluice.dev/allow-mass-prune';
/**
 * How long an attempt at new work runs before its Ready=Unknown status is
 * written. Shorter attempts report their verdict directly: at a thousand
 * Kustomizations that is a thousand status writes fewer per commit.
 */
const PROGRESS_STATUS_DELAY_MS = 3_000;

/** Where and as whom a Kustomization applies, with its shared caches for health checks. */
interface Target {
  /** Which cluster and identity: a memo of applied objects is only valid for one. */
  key: string;
  client: KubeClient;
  rm: ResourceManager;
  informers: SharedInformers;
}

export interface Kustomization extends KubeObject {
  spec: KustomizationSpec;
  status?: KustomizationStatus;
}

/** Flux's reasons for Kustomization conditions. */
export const Reason = {
  Succeeded: 'ReconciliationSucceeded',
  Failed: 'ReconciliationFailed',
  Progressing: 'Progressing',
  ArtifactFailed: 'ArtifactFailed',
  BuildFailed: 'BuildFailed',
  HealthCheckFailed: 'HealthCheckFailed',
  DependencyNotReady: 'DependencyNotReady',
  PruneFailed: 'PruneFailed',
  AccessDenied: 'AccessDenied',
  HealthCheckCanceled: 'HealthCheckCanceled',
} as const;

export interface KustomizationControllerOptions {
  client: KubeClient;
  kustomizations: Informer;
  /** Source caches by kind (GitRepository, ...). */
  sources: Map<string, Informer>;
  artifacts: ArtifactResolver;
  events: EventRecorder;
  metrics: Metrics;
  log: Logger;
  /** Refuse sourceRefs and dependsOn in other namespaces (Flux's --no-cross-namespace-refs). */
  noCrossNamespaceRefs?: boolean;
  /** Service account impersonated when a Kustomization names none (Flux's --default-service-account). */
  defaultServiceAccount?: string;
  /** How long to wait before looking again at unready dependencies. */
  requeueDependencyMs?: number;
  applyConcurrency?: number;
}

/** A delayed Ready=Unknown status write (see PROGRESS_STATUS_DELAY_MS). */
interface PendingProgress {
  timer?: NodeJS.Timeout;
  write?: Promise<unknown>;
}

interface Failure {
  reason: string;
  message: string;
  /** A spec problem that a retry cannot fix. */
  stalled?: boolean;
  retryAfterMs?: number;
}

/**
 * Reconciles Flux Kustomizations: waits for dependencies, takes the
 * source's artifact, builds it, applies it with the apply engine (under the
 * tenant's service account or on a remote cluster when asked), prunes what
 * left it, waits for health, and writes status as kustomize-controller does.
 */
export class KustomizationController {
  readonly kind = 'Kustomization';
  private readonly managers = new Map<string, { rm: ResourceManager; informers: SharedInformers; version?: string }>();
  /** Health waits in flight, cancelled when a new source revision arrives. */
  private readonly waits = new Map<string, { revision: string; abort: AbortController }>();
  /** Per Kustomization: what it applied last, so steady reconciles skip the dry runs. */
  private readonly memos = new Map<string, { target: string; memo: AppliedMemo }>();
  /** Per Kustomization: its last build, reused while the artifact and the spec stay the same. */
  readonly builds = new BuildCache();

  constructor(private readonly o: KustomizationControllerOptions) {}

  /** Stops the shared caches of health checks. */
  stop(): void {
    for (const m of this.managers.values()) m.informers.stop();
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

  /** Keys of Kustomizations that depend on the given one. */
  dependentsOf(namespace: string, name: string): string[] {
    return this.o.kustomizations
      .list()
      .filter((k) => ((k as Kustomization).spec?.dependsOn ?? []).some((d) => d.name === name && (d.namespace ?? k.metadata.namespace) === namespace))
      .map(keyOf);
  }

  /** A source moved to a new revision: stop waiting on health checks of the old one. */
  sourceRevisionChanged(key: string, revision: string): void {
    const w = this.waits.get(key);
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

  private async attempt(key: string, signal: AbortSignal, progress: PendingProgress): Promise<ReconcileOutcome> {
    const [namespace, name] = key.split('/') as [string, string];
    const obj = this.o.kustomizations.get(namespace, name) as Kustomization | undefined;
    if (!obj) {
      this.o.metrics.forget(this.kind, namespace, name);
      this.memos.delete(key);
      this.builds.delete(key);
      return {};
    }
    const log = this.o.log.with({ controller: 'kustomization', namespace, name });
    if (obj.metadata.deletionTimestamp) return this.finalize(obj, log);
    await addFinalizer(this.o.client, obj, KS_PLURAL, FINALIZER);
    this.o.metrics.suspended.set({ kind: this.kind, namespace, name }, obj.spec.suspend ? 1 : 0);
    if (obj.spec.suspend) {
      log.debug('suspended');
      return {};
    }

    const started = Date.now();
    const now = new Date();
    const generation = obj.metadata.generation ?? 0;
    const prev = obj.status ?? {};
    const conds = new Conditions(prev.conditions, generation, rfc3339(now));
    const status: KustomizationStatus = { ...prev };
    const requested = obj.metadata.annotations?.[REQUESTED_AT];
    if (requested) status.lastHandledReconcileAt = requested;
    const interval = parseDuration(obj.spec.interval);
    const retryInterval = obj.spec.retryInterval ? parseDuration(obj.spec.retryInterval) : interval;
    const timeout = obj.spec.timeout ? parseDuration(obj.spec.timeout) : interval;

    /** The progress write, if it started, lands before any later status write. */
    const settleProgress = async () => {
      clearTimeout(progress.timer);
      await progress.write;
    };
    const finish = async (failure?: Failure, extra?: () => void): Promise<ReconcileOutcome> => {
      await settleProgress();
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
      extra?.();
      status.observedGeneration = generation;
      status.conditions = conds.toArray();
      const wrote = await patchStatus(this.o.client, obj, KS_PLURAL, status as Record<string, unknown>);
      this.o.metrics.recordCondition(this.kind, namespace, name, 'Ready', conds.get('Ready')?.status);
      if (failure) {
        const prevReady = findCondition(obj, 'Ready');
        if (wrote || prevReady?.message !== failure.message) {
          await this.o.events.record(obj, 'Warning', failure.reason, failure.message, revisionAnnotation(status.lastAttemptedRevision));
        }
        log.error('reconciliation failed', { reason: failure.reason, error: failure.message });
        if (failure.stalled) return {};
        return { requeueAfterMs: failure.retryAfterMs ?? retryInterval };
      }
      log.debug('reconciled', { durationMs: Date.now() - started });
      return { requeueAfterMs: jitter(interval) };
    };

    // Dependencies first.
    for (const dep of obj.spec.dependsOn ?? []) {
      const depNs = dep.namespace ?? namespace;
      if (this.o.noCrossNamespaceRefs && depNs !== namespace) {
        return finish({ reason: Reason.AccessDenied, message: `cannot depend on Kustomization ${depNs}/${dep.name}: cross-namespace references are disabled`, stalled: true });
      }
      const d = this.o.kustomizations.get(depNs, dep.name);
      const ready = findCondition(d, 'Ready');
      if (!d || ready?.status !== 'True' || (d.status?.observedGeneration as number | undefined) !== d.metadata.generation) {
        const delay = this.o.requeueDependencyMs ?? 30_000;
        return finish({
          reason: Reason.DependencyNotReady,
          message: `Dependencies do not meet ready condition (dependency '${depNs}/${dep.name}' is not ready), retrying in ${formatDuration(delay)}`,
          retryAfterMs: delay,
        });
      }
    }

    // The source and its artifact.
    const ref = obj.spec.sourceRef;
    const srcNs = ref.namespace ?? namespace;
    if (this.o.noCrossNamespaceRefs && srcNs !== namespace) {
      return finish({ reason: Reason.AccessDenied, message: `cannot access ${ref.kind}/${srcNs}/${ref.name}: cross-namespace references are disabled`, stalled: true });
    }
    const sources = this.o.sources.get(ref.kind);
    if (!sources) {
      return finish({ reason: Reason.ArtifactFailed, message: `source kind ${ref.kind} is not supported by this controller`, stalled: true });
    }
    const source = sources.get(srcNs, ref.name);
    const artifact = source?.status?.artifact as { url: string; path: string; revision: string; digest?: string } | undefined;
    if (!source || !artifact) {
      return finish({
        reason: Reason.ArtifactFailed,
        message: source
          ? `Source artifact not found, retrying in ${formatDuration(retryInterval)}`
          : `Source '${ref.kind}/${srcNs}/${ref.name}' not found`,
      });
    }
    const revision = artifact.revision;
    status.lastAttemptedRevision = revision;
    const newWork = revision !== prev.lastAppliedRevision || generation !== prev.observedGeneration;
    if (newWork) {
      // kstatus: while a new revision is attempted, Ready is Unknown, not the
      // verdict of the previous attempt (which a waiter would take for this one's).
      conds.set('Reconciling', 'True', Reason.Progressing, `Fetching manifests for revision ${revision} with a timeout of ${formatDuration(timeout)}`);
      conds.set('Ready', 'Unknown', Reason.Progressing, 'Reconciliation in progress');
      // Written only if the attempt takes a while: a revision that changes
      // nothing (most Kustomizations of a monorepo commit) ends with one status
      // write instead of two, and a quick apply shows its verdict directly.
      const snapshot = structuredClone({ ...status, conditions: conds.toArray() });
      progress.timer = setTimeout(() => {
        progress.write = patchStatus(this.o.client, obj, KS_PLURAL, snapshot as Record<string, unknown>).catch((err) =>
          log.debug('progress status not written', { error: (err as Error).message }),
        );
      }, PROGRESS_STATUS_DELAY_MS);
    }

    // Where and as whom to apply.
    let target: Target;
    try {
      target = await this.targetFor(obj);
    } catch (err) {
      return finish({ reason: Reason.Failed, message: (err as Error).message });
    }

    // Build (from a decrypted view of the source when SOPS decryption is set),
    // unless the last build had exactly the same inputs.
    const inputs = buildInputs(obj, artifact, REQUESTED_AT);
    let built = this.builds.take(key, inputs);
    if (built) {
      this.countBuild('hit');
    } else {
      let decrypted: DecryptedTree | undefined;
      try {
        const dir = await this.o.artifacts.resolve(artifact);
        const keys = await this.decryptionKeys(obj);
        if (keys) decrypted = await decryptTree(dir, keys, obj.spec.path);
        const result = await buildKustomization({
          dir: decrypted?.dir ?? dir,
          decrypted: !!decrypted,
          spec: obj.spec,
          vars: { lookup: (kind, n) => lookupVars(target.client, namespace, kind, n) },
        });
        built = BuiltSet.of(result.objects.map((m) => m.object as KubeObject));
      } catch (err) {
        const known = err instanceof BuildError || err instanceof ManifestError || err instanceof SubstitutionError || err instanceof DecryptionError;
        return finish({ reason: Reason.BuildFailed, message: known ? (err as Error).message : `build failed: ${(err as Error).message}` });
      } finally {
        await decrypted?.cleanup();
      }
      this.builds.set(key, inputs, built);
      this.countBuild(inputs === undefined ? 'uncacheable' : 'miss');
    }
    // A fresh copy each time, the same whether built now or reused.
    const objects = built.objects();

    // Apply, then prune.
    const ownerLabels = { [NAME_LABEL]: name, [NAMESPACE_LABEL]: namespace };
    let applied: ChangeSetEntry[];
    try {
      applied = await target.rm.apply(objects, {
        ownerLabels,
        liveCache: target.informers,
        memo: this.memoFor(key, target.key),
        force: obj.spec.force,
        concurrency: this.o.applyConcurrency ?? 16,
      });
    } catch (err) {
      const message = err instanceof ApplyError ? err.message : `apply failed: ${(err as Error).message}`;
      return finish({ reason: Reason.Failed, message });
    }
    this.memos.get(key)?.memo.retain(objects);
    let inventory = inventoryFromChangeSet(applied);
    let pruned: ChangeSetEntry[] = [];
    if (obj.spec.prune) {
      const old = prev.inventory as Inventory | undefined;
      const stale = staleEntries(old, inventory);
      try {
        pruned = await pruneStale(target.rm, stale, {
          ownerLabels,
          allowMassPrune: obj.metadata.annotations?.[ALLOW_MASS_PRUNE] === 'true',
          allowHint: `set the annotation ${ALLOW_MASS_PRUNE}: "true" on the Kustomization`,
          inventorySize: old?.entries.length ?? 0,
          newSetSize: inventory.entries.length,
          propagation: 'Background',
        });
      } catch (err) {
        // What could not be pruned stays in the inventory, so it is not forgotten.
        status.inventory = mergeInventory(inventory, stale.map((s) => ({ id: s.id, v: s.apiVersion.split('/').pop()! })));
        const reason = err instanceof PruneRefusedError ? Reason.PruneFailed : Reason.PruneFailed;
        return finish({ reason, message: (err as Error).message });
      }
    }
    status.inventory = inventory;
    const changes = [...applied, ...pruned];
    if (hasChanges(changes)) {
      log.info('server-side apply completed', { revision, changes: summarizeLines(changes) });
      await this.o.events.record(obj, 'Normal', Reason.Progressing, formatChangeSet(changes.filter((e) => e.action !== 'unchanged')), revisionAnnotation(revision));
    }

    // Health.
    const refs = this.healthRefs(obj, applied);
    if (refs.length) {
      const abort = new AbortController();
      const onAbort = () => abort.abort();
      signal.addEventListener('abort', onAbort);
      this.waits.set(key, { revision, abort });
      try {
        const res = await waitForSet(target.client, target.rm.discovery, refs, { timeoutMs: timeout, signal: abort.signal, informers: target.informers });
        if (abort.signal.aborted && !signal.aborted) {
          conds.set('Reconciling', 'True', Reason.Progressing, `New revision detected, health checks of ${revision} canceled`);
          status.conditions = conds.toArray();
          await settleProgress();
          await patchStatus(this.o.client, obj, KS_PLURAL, status as Record<string, unknown>);
          return { requeueAfterMs: 0 };
        }
        if (!res.ok) {
          const msg = `health check failed after ${formatDuration(Date.now() - started)}: ${res.timedOut ? 'timeout waiting for' : 'failed'}: [${res.notReady
            .map((o) => `${o.subject} status: '${o.result.status}': ${o.result.message}`)
            .join(', ')}]`;
          return finish({ reason: Reason.HealthCheckFailed, message: msg }, () =>
            conds.set('Healthy', 'False', Reason.HealthCheckFailed, msg),
          );
        }
        conds.set('Healthy', 'True', 'Succeeded', 'Health check passed');
      } finally {
        signal.removeEventListener('abort', onAbort);
        this.waits.delete(key);
      }
    } else {
      conds.delete('Healthy');
    }

    const message = `Applied revision: ${revision}`;
    const wasReady = findCondition(obj, 'Ready');
    return finish(undefined, () => {
      conds.set('Ready', 'True', Reason.Succeeded, message);
      status.lastAppliedRevision = revision;
      status.history = updateHistory(prev.history, built.digest, revision, changes, now, Date.now() - started);
      if (wasReady?.status !== 'True' || wasReady.message !== message) {
        void this.o.events.record(obj, 'Normal', Reason.Succeeded, `Reconciliation finished in ${formatDuration(Date.now() - started)}, next run in ${formatDuration(interval)}`, revisionAnnotation(revision));
      }
    });
  }

  private countBuild(result: 'hit' | 'miss' | 'uncacheable'): void {
    this.builds.count(result);
    this.o.metrics.buildCache.inc({ kind: this.kind, result });
  }

  private memoFor(key: string, target: string): AppliedMemo {
    let m = this.memos.get(key);
    if (!m || m.target !== target) {
      m = { target, memo: new AppliedMemo() };
      this.memos.set(key, m);
    }
    return m.memo;
  }

  /** The keys of `spec.decryption.secretRef`, read with the controller's own client. */
  private async decryptionKeys(obj: Kustomization): Promise<DecryptionKeys | undefined> {
    const dec = obj.spec.decryption;
    if (!dec) return undefined;
    if (!dec.secretRef) return { age: [], pgp: [] };
    const ns = obj.metadata.namespace!;
    const secret = await this.o.client.getOrUndefined<{ data?: Record<string, string> }>(`/api/v1/namespaces/${ns}/secrets/${dec.secretRef.name}`);
    if (!secret) throw new DecryptionError(`decryption Secret '${ns}/${dec.secretRef.name}' not found`);
    return keysFromSecret(Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])));
  }

  /** Objects to wait for: all applied ones with `wait`, else the listed health checks. */
  private healthRefs(obj: Kustomization, applied: ChangeSetEntry[]): WaitRef[] {
    if (obj.spec.wait) {
      return applied
        .filter((e) => e.action !== 'skipped')
        .map((e) => {
          const r = parseObjectId(e.id);
          return { apiVersion: r.group ? `${r.group}/${e.version}` : e.version, kind: r.kind, namespace: r.namespace || undefined, name: r.name };
        });
    }
    return (obj.spec.healthChecks ?? []).map((h) => ({
      apiVersion: h.apiVersion ?? 'v1',
      kind: h.kind,
      name: h.name,
      namespace: h.namespace ?? obj.metadata.namespace,
    }));
  }

  /**
   * The client and apply engine for a Kustomization: the controller's own,
   * one impersonating its service account, or one for a remote cluster.
   */
  private async targetFor(obj: Kustomization): Promise<Target> {
    const ns = obj.metadata.namespace!;
    let base = this.o.client;
    let baseKey = 'local';
    const secretRef = obj.spec.kubeConfig?.secretRef;
    if (secretRef) {
      const secret = await this.o.client.getOrUndefined<{ data?: Record<string, string>; metadata: { resourceVersion: string } }>(
        `/api/v1/namespaces/${ns}/secrets/${secretRef.name}`,
      );
      if (!secret) throw new Error(`kubeconfig Secret '${ns}/${secretRef.name}' not found`);
      const keyName = secretRef.key ?? (secret.data?.value ? 'value' : 'value.yaml');
      const data = secret.data?.[keyName];
      if (!data) throw new Error(`kubeconfig Secret '${ns}/${secretRef.name}' has no key '${keyName}'`);
      baseKey = `remote/${ns}/${secretRef.name}`;
      const cached = this.managers.get(baseKey);
      if (cached && cached.version === secret.metadata.resourceVersion) {
        base = cached.rm.client;
      } else {
        base = await KubeClient.fromString(Buffer.from(data, 'base64').toString('utf8'));
        this.managers.get(baseKey)?.informers.stop();
        this.managers.set(baseKey, { rm: new ResourceManager(base), informers: new SharedInformers(base), version: secret.metadata.resourceVersion });
      }
    }
    const sa = obj.spec.serviceAccountName ?? this.o.defaultServiceAccount;
    const key = sa ? `${baseKey}/sa/${ns}/${sa}` : baseKey;
    let entry = this.managers.get(key);
    if (!entry) {
      const client = sa
        ? // The API server adds the service account's groups itself; naming them
          // would need `impersonate` on groups, which could reach system:masters.
          base.impersonate({ user: `system:serviceaccount:${ns}:${sa}` })
        : base;
      entry = { rm: new ResourceManager(client), informers: new SharedInformers(client) };
      this.managers.set(key, entry);
    }
    return { key, client: entry.rm.client, rm: entry.rm, informers: entry.informers };
  }

  /** Deletion: garbage-collect what was applied, as deletionPolicy says, then drop the finalizer. */
  private async finalize(obj: Kustomization, log: Logger): Promise<ReconcileOutcome> {
    const policy = obj.spec.deletionPolicy ?? 'MirrorPrune';
    const gc = !obj.spec.suspend && (policy === 'Delete' || policy === 'WaitForTermination' || (policy === 'MirrorPrune' && obj.spec.prune));
    const inv = obj.status?.inventory as Inventory | undefined;
    if (gc && inv?.entries.length) {
      const name = obj.metadata.name!;
      const namespace = obj.metadata.namespace!;
      try {
        const target = await this.targetFor(obj);
        const stale = staleEntries(inv, { entries: [] });
        const deleted = await pruneStale(target.rm, stale, {
          ownerLabels: { [NAME_LABEL]: name, [NAMESPACE_LABEL]: namespace },
          allowMassPrune: true,
          inventorySize: inv.entries.length,
          newSetSize: 0,
        });
        if (policy === 'WaitForTermination') {
          const refs = deleted.filter((e) => e.action === 'deleted').map((e) => {
            const r = parseObjectId(e.id);
            return { apiVersion: r.group ? `${r.group}/${e.version}` : e.version, kind: r.kind, namespace: r.namespace || undefined, name: r.name };
          });
          await waitGone(target.client, target.rm, refs, obj.spec.timeout ? parseDuration(obj.spec.timeout) : 5 * 60_000);
        }
        if (deleted.length) await this.o.events.record(obj, 'Normal', 'GarbageCollectionSucceeded', formatChangeSet(deleted));
      } catch (err) {
        log.error('garbage collection failed', { error: (err as Error).message });
        await this.o.events.record(obj, 'Warning', 'GarbageCollectionFailed', (err as Error).message);
        return { error: err };
      }
    }
    await removeFinalizer(this.o.client, obj, KS_PLURAL, FINALIZER).catch((err) => {
      if (!isNotFound(err)) throw err;
    });
    this.o.metrics.forget(this.kind, obj.metadata.namespace!, obj.metadata.name!);
    this.memos.delete(keyOf(obj));
    this.builds.delete(keyOf(obj));
    return {};
  }
}

async function waitGone(client: KubeClient, rm: ResourceManager, refs: WaitRef[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const ref of refs) {
    const m = await rm.discovery.mapping(ref.apiVersion, ref.kind);
    if (!m) continue;
    const base = m.group ? `/apis/${m.group}/${m.version}` : `/api/${m.version}`;
    const path = `${base}${m.namespaced && ref.namespace ? `/namespaces/${ref.namespace}` : ''}/${m.resource}/${ref.name}`;
    while ((await client.getOrUndefined(path)) !== undefined) {
      if (Date.now() > deadline) throw new Error(`${ref.kind}/${ref.name} still terminating after ${formatDuration(timeoutMs)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function lookupVars(client: KubeClient, namespace: string, kind: 'ConfigMap' | 'Secret', name: string): Promise<ConfigMapData | SecretData | undefined> {
  const plural = kind === 'ConfigMap' ? 'configmaps' : 'secrets';
  const obj = await client.getOrUndefined<{ data?: Record<string, string> }>(`/api/v1/namespaces/${namespace}/${plural}/${name}`);
  if (!obj) return undefined;
  // As the API returns them: a Secret's values stay base64-encoded (the substitution decodes them).
  return { data: obj.data ?? {} };
}

function keyOf(o: KubeObject): string {
  return `${o.metadata.namespace}/${o.metadata.name}`;
}

function jitter(ms: number): number {
  // Up to 5% later, so Kustomizations created together do not poll together forever.
  return Math.round(ms * (1 + Math.random() * 0.05));
}

function revisionAnnotation(revision: string | undefined): Record<string, string> | undefined {
  return revision ? { 'kustomize.toolkit.fluxcd.io/revision': revision } : undefined;
}

function summarizeLines(changes: ChangeSetEntry[]): Record<string, string> {
  return Object.fromEntries(changes.filter((e) => e.action !== 'unchanged').map((e) => [e.subject, e.action]));
}

function mergeInventory(inv: Inventory, extra: Array<{ id: string; v: string }>): Inventory {
  const byId = new Map(inv.entries.map((e) => [e.id, e]));
  for (const e of extra) if (!byId.has(e.id)) byId.set(e.id, e);
  return { entries: [...byId.values()].sort((a, b) => a.id.localeCompare(b.id)) };
}

type History = NonNullable<KustomizationStatus['history']>;

/**
 * Flux's reconcile history: a snapshot per distinct set of applied objects
 * (newest first, five kept). Only a change bumps it, so a steady state
 * writes no status.
 */
function updateHistory(
  history: History | undefined,
  /** Digest of the applied set (BuiltSet.digest). */
  digest: string,
  revision: string,
  changes: ChangeSetEntry[],
  now: Date,
  durationMs: number,
): History {
  const list = [...(history ?? [])];
  const head = list[0];
  const ts = rfc3339(now);
  if (head && head.digest === digest) {
    if (!hasChanges(changes) && head.lastReconciledStatus === Reason.Succeeded) return list;
    list[0] = {
      ...head,
      lastReconciled: ts,
      lastReconciledDuration: formatDuration(durationMs),
      lastReconciledStatus: Reason.Succeeded,
      totalReconciliations: head.totalReconciliations + 1,
    };
    return list;
  }
  list.unshift({
    digest,
    firstReconciled: ts,
    lastReconciled: ts,
    lastReconciledDuration: formatDuration(durationMs),
    lastReconciledStatus: Reason.Succeeded,
    totalReconciliations: 1,
    metadata: { revision },
  });
  return list.slice(0, 5);
}
