// The state one reconcile of one HelmRelease carries from step to step: its
// object and spec, the status and conditions being written, the target
// cluster, the desired release, and what this reconcile has learned about the
// release's revisions. Every step (preparation, each Helm action, drift,
// status) takes this context instead of being a method of one big class, so
// the actions stay independent files that never import each other.
import type { HelmReleaseSpec, HelmReleaseStatus, Snapshot } from '../../api/helmrelease.ts';
import type { ResourceManager } from '../../apply/manager.ts';
import type { HelmReleaseRecord } from '../../helm/release.ts';
import type { Values } from '../../helm/values.ts';
import type { Discovery } from '../../kube/discovery.ts';
import type { SharedInformers } from '../../kube/informer.ts';
import type { KubeClient } from '../../kube/client.ts';
import { Conditions, rfc3339 } from '../../runtime/conditions.ts';
import type { ChartMetadata } from '../../source/helm/chart.ts';
import { HelmError, type HelmTarget } from '../../tools/helmcli.ts';
import { parseDuration } from '../../util/duration.ts';
import type { Logger } from '../../util/log.ts';
import type { HelmReleaseControllerOptions } from './options.ts';
import type { HelmReleaseObject } from './object.ts';

export const DEFAULT_TIMEOUT = 5 * 60_000;
export const DEFAULT_MAX_HISTORY = 5;
export const DEFAULT_RETRY_INTERVAL = 5 * 60_000;

/** Where a release goes, and what the controller keeps for that cluster and identity. */
export interface Target {
  client: KubeClient;
  helm: HelmTarget;
  discovery: Discovery;
  rm: ResourceManager;
  /** Shared caches for health checks: a thousand releases waiting share one watch per resource. */
  informers: SharedInformers;
}

/** Everything one reconcile has decided about the desired release. */
export interface Desired {
  releaseName: string;
  releaseNamespace: string;
  storageNamespace: string;
  chartDir: string;
  chart: ChartMetadata;
  /** The chart artifact's revision (chart version, or version+commit). */
  revision: string;
  values: Values;
  configDigest: string;
  /** Digests of spec.postRenderers and spec.commonMetadata, each undefined when unset (Flux's observed digests). */
  postRenderDigest: string | undefined;
  commonMetadataDigest: string | undefined;
  /** The OCI artifact digest of a chart from an OCIRepository. */
  ociDigest: string | undefined;
  force: boolean;
}

/** What a step of the action loop decided. */
export interface Outcome {
  /** Terminal: no more actions in this reconcile. */
  done: boolean;
  requeueAfterMs?: number;
  error?: string;
  stalled?: boolean;
}

/** A failure that ends the reconcile with this reason on Ready (and on Stalled when `stalled`). */
export class StepFailure extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly stalled = false,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** What the steps need of the controller itself. */
export interface ControllerHooks {
  deleteChart(id: string): Promise<void>;
  targetFor(obj: HelmReleaseObject): Promise<Target>;
}

/** One reconcile of one HelmRelease, before its target and desired release are known. */
export interface ReleaseContext {
  readonly o: HelmReleaseControllerOptions;
  readonly ctl: ControllerHooks;
  readonly obj: HelmReleaseObject;
  readonly spec: HelmReleaseSpec;
  readonly ns: string;
  readonly name: string;
  readonly generation: number;
  /** The status as read; `status` is the copy being written. */
  readonly prev: HelmReleaseStatus;
  readonly status: HelmReleaseStatus;
  readonly conds: Conditions;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly started: number;
  readonly interval: number;
  readonly timeout: number;
  /** Release versions this HelmRelease made (its history, plus this reconcile's actions). */
  readonly ours: Set<number>;
  readonly hooksByVersion: Map<number, Snapshot['testHooks']>;
  /** What this reconcile did to a revision (its history's action), and the OCI digest of its chart. */
  readonly made: Map<number, { action: NonNullable<Snapshot['action']>; ociDigest?: string }>;
  /** A revision this reconcile unlocked from a pending state (an interrupted run). */
  unlocked: number | undefined;
  /**
   * The desired state changed since the last attempt, or a reconcile (or a
   * force) was requested: a RetryOnFailure retry need not wait its interval.
   */
  retryNow: boolean;
  eventAnnotations: Record<string, string>;
  /**
   * Helm's storage as the last step read it, kept only when that step found
   * the release in sync and so wrote nothing to storage: the history in the
   * status can be made from it without reading storage a second time, which
   * halves the LISTs of a steady reconcile.
   */
  storedInSync: HelmReleaseRecord[] | undefined;
  target?: Target;
  desired?: Desired;
}

/** A reconcile once preparation has chosen the target and the desired release: what the actions work on. */
export interface PreparedContext extends ReleaseContext {
  target: Target;
  desired: Desired;
}

export function newContext(
  o: HelmReleaseControllerOptions,
  ctl: ControllerHooks,
  obj: HelmReleaseObject,
  log: Logger,
  signal: AbortSignal,
): ReleaseContext {
  const prev = obj.status ?? {};
  const generation = obj.metadata.generation ?? 0;
  const cx: ReleaseContext = {
    o,
    ctl,
    obj,
    spec: obj.spec,
    ns: obj.metadata.namespace!,
    name: obj.metadata.name!,
    generation,
    prev,
    status: structuredClone(prev),
    conds: new Conditions(prev.conditions, generation, rfc3339(new Date())),
    log,
    signal,
    started: Date.now(),
    interval: parseDuration(obj.spec.interval),
    timeout: durationOr(obj.spec.timeout, DEFAULT_TIMEOUT),
    ours: new Set(),
    hooksByVersion: new Map(),
    made: new Map(),
    unlocked: undefined,
    retryNow: false,
    eventAnnotations: {},
    storedInSync: undefined,
  };
  for (const s of prev.history ?? []) {
    cx.ours.add(s.version);
    if (s.testHooks) cx.hooksByVersion.set(s.version, s.testHooks);
  }
  return cx;
}

export function chartLabel(cx: PreparedContext): string {
  return `${cx.desired.chart.name}@${cx.desired.chart.version}`;
}

/** namespace/name.vN of a revision of the desired release. */
export function fullName(cx: PreparedContext, rel: { version: number }): string {
  return `${cx.desired.releaseNamespace}/${cx.desired.releaseName}.v${rel.version}`;
}

export function durationOr(d: string | undefined, fallback: number): number {
  return d ? parseDuration(d) : fallback;
}

export function errMessage(err: unknown): string {
  if (err instanceof HelmError) return err.message;
  return (err as Error).message ?? String(err);
}

/** Helm's timestamps have nanoseconds; Kubernetes wants RFC 3339 seconds. */
export function goTime(t: string | undefined): string | undefined {
  if (!t || t.startsWith('0001-')) return undefined;
  const d = new Date(t.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(d.getTime()) ? undefined : rfc3339(d);
}

