// The part of a source controller that is the same for every source kind:
// read the object from the cache, keep its finalizer, remove its stored
// artifacts when it is deleted, run the kind's pure reconcile, record the
// events, write the status, keep the metrics and turn the outcome into a
// requeue or an error. A kind brings only its reconcile (src/source/<kind>/).
import type { KubeClient } from '../kube/client.ts';
import type { Informer } from '../kube/informer.ts';
import { findCondition, type KubeObject } from '../kube/object.ts';
import type { Storage } from './storage/storage.ts';
import { FETCH_DURATION_METADATA, formatFetchDuration } from './artifact.ts';
import type { Condition } from '../api/schema.ts';
import type { Artifact } from '../api/gitrepository.ts';
import { Conditions, rfc3339 } from '../runtime/conditions.ts';
import type { EventRecorder } from '../runtime/events.ts';
import { beginReconcile, endDeletion, type LifecycleOptions } from '../runtime/lifecycle.ts';
import type { Metrics } from '../runtime/metrics.ts';
import type { ReconcileOutcome } from '../runtime/queue.ts';
import { parseDuration } from '../util/duration.ts';
import { patchStatus } from '../runtime/status.ts';
import type { Logger } from '../util/log.ts';
import type { NamespaceTeardown } from '../runtime/teardown.ts';

/** Annotation a user sets to ask for an immediate reconcile. */
import { REQUESTED_AT as RECONCILE_REQUEST_ANNOTATION } from '../api/annotations.ts';

/** An event a reconcile asks to be recorded on its object. */
export interface SourceEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  /** e.g. source.toolkit.fluxcd.io/revision and source.toolkit.fluxcd.io/digest */
  annotations?: Record<string, string>;
}

/**
 * How a reconcile ended. `failed` and `waiting` are retried with the queue's
 * backoff; `stalled` (a spec problem no retry fixes) and `suspended` wait for
 * a change of the object; the rest come back after `requeueAfterMs`.
 */
export type SourceOutcome = 'suspended' | 'unchanged' | 'stored' | 'up-to-date' | 'ready' | 'failed' | 'waiting' | 'stalled';

/** What a kind's reconcile returns: nothing here has been written anywhere yet. */
export interface SourceResult<S = Record<string, unknown>> {
  status: S;
  events: SourceEvent[];
  outcome: SourceOutcome;
  /** When to poll again after success (spec.interval, jittered or not as the kind does). */
  requeueAfterMs?: number;
  /** Milliseconds per stage, for the debug log. */
  timings?: Record<string, number>;
  /** More fields for the debug log (revision, how the artifact was built...). */
  log?: Record<string, unknown>;
  /** A failure to log at error level (kinds whose failures were always logged so). */
  failure?: { reason: string; message: string };
}

/** A kind's reconcile: the object in, the result out; talks to no API server. */
export type SourceReconciler<T extends KubeObject = KubeObject> = (obj: T) => Promise<SourceResult<object>>;

export interface SourceControllerOptions {
  client: KubeClient;
  objects: Informer;
  storage: Storage;
  events: EventRecorder;
  metrics: Metrics;
  log: Logger;
  kind: string;
  plural: string;
  /** Storage directory kind, e.g. gitrepository. */
  storageKind: string;
  reconcile: SourceReconciler;
  /** The controller's own namespace (runtime/teardown.ts). */
  teardown?: NamespaceTeardown;
}

/** One controller for any source kind, around the kind's reconcile. */
export class SourceController {
  readonly kind: string;

  constructor(private readonly o: SourceControllerOptions) {
    this.kind = o.kind;
  }

  async reconcile(key: string): Promise<ReconcileOutcome> {
    const started = Date.now();
    const o = this.o;
    const lifecycle: LifecycleOptions = { client: o.client, metrics: o.metrics, kind: o.kind, plural: o.plural, teardown: o.teardown };
    const begun = await beginReconcile(lifecycle, o.objects, key);
    if (begun.phase === 'gone') return {};
    const obj = begun.obj;
    const namespace = obj.metadata.namespace!;
    const name = obj.metadata.name!;
    if (begun.phase === 'deleting') {
      await o.storage.removeAll(o.storageKind, namespace, name);
      await endDeletion(lifecycle, obj);
      return {};
    }
    if (begun.suspended) {
      // Nothing is fetched nor written; the gauge still tells how it stands.
      o.metrics.recordCondition(o.kind, namespace, name, 'Ready', findCondition(obj, 'Ready')?.status);
      return {};
    }

    const began = performance.now();
    const result = await o.reconcile(obj);
    const t0 = performance.now();
    if (result.outcome === 'stored') recordFetchDuration(result.status, t0 - began);
    for (const ev of result.events) await o.events.record(obj, ev.type, ev.reason, ev.message, ev.annotations);
    await patchStatus(o.client, obj, o.plural, result.status as Record<string, unknown>);
    // Where the time went, per stage; with a reconcile request just handled,
    // also how long the request waited before this reconcile began.
    const requested = obj.metadata.annotations?.[RECONCILE_REQUEST_ANNOTATION];
    const handled = (obj.status as { lastHandledReconcileAt?: string } | undefined)?.lastHandledReconcileAt;
    const requestedAt = requested !== undefined && requested !== handled ? Date.parse(requested) : NaN;
    o.log.debug('reconciled', {
      kind: o.kind,
      key,
      outcome: result.outcome,
      ...result.log,
      ms: {
        ...(Number.isFinite(requestedAt) ? { queued: Math.max(0, started - requestedAt) } : {}),
        ...result.timings,
        status: Math.round(performance.now() - t0),
      },
    });
    if (result.failure) o.log.error(`${o.kind} reconcile failed`, { namespace, name, reason: result.failure.reason, error: result.failure.message });
    const ready = findCondition({ status: result.status as Record<string, unknown> }, 'Ready');
    o.metrics.recordCondition(o.kind, namespace, name, 'Ready', ready?.status);
    if (result.outcome === 'suspended' || result.outcome === 'stalled') return {};
    if (result.outcome === 'failed' || result.outcome === 'waiting') {
      // Retried with the queue's exponential backoff, as Flux's rate limiter
      // does, but never later than the object's interval: after a long outage
      // (a Git server down for 10 minutes) the backoff has grown to minutes,
      // and recovery would wait for it (issue 20). Sluice departs from Flux
      // here on purpose: a failing source is looked at as often as a healthy one.
      return { error: new Error(ready?.message ?? 'reconcile failed'), retryWithinMs: intervalMs(obj) };
    }
    return result.requeueAfterMs === undefined ? {} : { requeueAfterMs: result.requeueAfterMs };
  }
}

/**
 * Adds to a newly stored artifact how long its reconcile (fetch and build)
 * took. Only a new artifact gets it: a reconcile that changed nothing keeps
 * the status as it was, so the interval polls write nothing.
 */
export function recordFetchDuration(status: object, ms: number): void {
  const s = status as { artifact?: Artifact };
  if (!s.artifact) return;
  s.artifact = { ...s.artifact, metadata: { ...s.artifact.metadata, [FETCH_DURATION_METADATA]: formatFetchDuration(ms) } };
}

/** A source failure as its conditions need it. */
export interface SourceFailure {
  reason: string;
  message: string;
  /** The negative-polarity condition it sets (FetchFailed, BuildFailed, ...). */
  condition: string;
  /** A spec problem no retry fixes: Stalled until the spec changes. */
  stalled: boolean;
}

/**
 * Conditions of a failed source reconcile, as source-controller sets them:
 * the failure's own condition (after clearing the other failure kinds), Ready
 * False, and either Stalled (with the generation observed, since retrying
 * the same spec is pointless) or Reconciling with a retry.
 */
export function markSourceFailure(
  conds: Conditions,
  status: { observedGeneration?: number },
  generation: number,
  f: SourceFailure,
  failureKinds: string[],
): void {
  for (const t of failureKinds) conds.delete(t);
  conds.set(f.condition, 'True', f.reason, f.message);
  conds.set('Ready', 'False', f.reason, f.message);
  if (f.stalled) {
    conds.set('Stalled', 'True', f.reason, f.message);
    conds.delete('Reconciling');
    status.observedGeneration = generation;
  } else {
    conds.delete('Stalled');
    conds.set('Reconciling', 'True', 'ProgressingWithRetry', f.message);
  }
}


/** What every source reconcile core starts from. */
export interface SourceAttempt<S> {
  now: Date;
  generation: number;
  /** The status as it was. */
  prev: S;
  /** The status being made: a copy of the previous one. */
  status: S;
  conds: Conditions;
  events: SourceEvent[];
}

/**
 * Starts a source reconcile: the previous status copied, its conditions as
 * a working set for this generation, and a reconcile request recorded as
 * handled (status.lastHandledReconcileAt), as every Flux source does.
 */
export function startSourceAttempt<S extends { conditions?: Condition[]; lastHandledReconcileAt?: string }>(
  obj: { metadata: KubeObject['metadata']; status?: S },
  clock?: () => Date,
): SourceAttempt<S> {
  const now = clock?.() ?? new Date();
  const generation = obj.metadata.generation ?? 0;
  const prev = obj.status ?? ({} as S);
  const status: S = { ...prev };
  const requested = obj.metadata.annotations?.[RECONCILE_REQUEST_ANNOTATION];
  if (requested) status.lastHandledReconcileAt = requested;
  return { now, generation, prev, status, conds: new Conditions(prev.conditions, generation, rfc3339(now)), events: [] };
}


/** A failed attempt of a source kind, thrown by its reconcile core and turned into conditions by failedAttempt. */
export class AttemptFailure extends Error implements SourceFailure {
  constructor(
    readonly reason: string,
    message: string,
    readonly stalled = false,
    readonly condition: 'FetchFailed' | 'StorageOperationFailed' = 'FetchFailed',
  ) {
    super(message);
  }
}

/** What the sources that store one artifact per attempt (OCIRepository, Bucket) keep in status. */
interface StoredStatus {
  artifact?: Artifact;
  url?: string;
  observedGeneration?: number;
  conditions?: Condition[];
}

/** The conditions and status of an attempt that has its artifact in storage, as source-controller sets them. */
export function markArtifactStored<S extends StoredStatus>(a: SourceAttempt<S>, artifact: Artifact): void {
  const message = `stored artifact for revision '${artifact.revision}'`;
  for (const t of ['Reconciling', 'Stalled', 'FetchFailed', 'StorageOperationFailed', 'ArtifactOutdated']) a.conds.delete(t);
  a.conds.set('ArtifactInStorage', 'True', 'Succeeded', message);
  a.conds.set('Ready', 'True', 'Succeeded', message);
  a.status.artifact = artifact;
  a.status.url = artifact.url;
  a.status.observedGeneration = a.generation;
}

/** The result of a failed attempt: its conditions, and a Warning event unless Ready already said the same. */
export function failedAttempt<S extends StoredStatus>(obj: { status?: unknown }, a: SourceAttempt<S>, f: SourceFailure): SourceResult<S> {
  markSourceFailure(a.conds, a.status, a.generation, f, ['FetchFailed', 'StorageOperationFailed']);
  a.status.conditions = a.conds.toArray();
  if (findCondition(obj as { status?: Record<string, unknown> }, 'Ready')?.message !== f.message) a.events.push({ type: 'Warning', reason: f.reason, message: f.message });
  return { status: a.status, events: a.events, outcome: f.stalled ? 'stalled' : 'failed', failure: { reason: f.reason, message: f.message } };
}

/** The object's spec.interval in ms, if it has a valid one. */
function intervalMs(obj: { spec?: unknown }): number | undefined {
  const interval = (obj.spec as { interval?: unknown } | undefined)?.interval;
  if (typeof interval !== 'string') return undefined;
  try {
    return parseDuration(interval);
  } catch {
    return undefined;
  }
}
