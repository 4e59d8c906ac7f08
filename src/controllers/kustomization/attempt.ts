// What the stages of one Kustomization reconcile share: the controller's
// state (options, per-target caches, memos, builds, health waits in flight),
// the attempt's working status and conditions, and how a stage says it
// failed.
import type { KustomizationStatus } from '../../api/kustomization.ts';
import type { AppliedMemo } from '../../apply/memo.ts';
import type { ResourceManager } from '../../apply/manager.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { KubeObject } from '../../kube/object.ts';
import type { SharedInformers } from '../../kube/informer.ts';
import { Conditions, rfc3339 } from '../../runtime/conditions.ts';
import type { LifecycleOptions } from '../../runtime/lifecycle.ts';
import type { Targets } from '../../runtime/target.ts';
import { parseDuration } from '../../util/duration.ts';
import type { Logger } from '../../util/log.ts';
import type { BuildCache } from './buildcache.ts';
import type { KustomizationControllerOptions } from './options.ts';
import type { RecordStore } from './recordstore.ts';
import { REQUESTED_AT, type Kustomization } from './names.ts';

/** What the controller keeps per target (cluster and identity). */
export interface TargetCaches {
  rm: ResourceManager;
  /** Shared caches for health checks and live objects. */
  informers: SharedInformers;
}

/** Where and as whom a Kustomization applies, with its shared caches for health checks. */
export interface Target extends TargetCaches {
  /** Which cluster and identity: a memo of applied objects is only valid for one. */
  key: string;
  client: KubeClient;
}

/** Per Kustomization: the objects of the older revision it runs, so holding it does not rebuild each interval. */
export type RevisionBuilds = Map<string, { revision: string; spec: string; objects: KubeObject[] }>;

/** The controller's state, as its stages use it. */
export interface Env {
  o: KustomizationControllerOptions;
  kind: string;
  lifecycle: LifecycleOptions;
  targets: Targets<TargetCaches>;
  /** Per Kustomization: what it applied last, so steady reconciles skip the dry runs. */
  memos: Map<string, { target: string; memo: AppliedMemo }>;
  /** Per Kustomization: its last build, reused while the artifact and the spec stay the same. */
  builds: BuildCache;
  /** Health waits in flight, cancelled when a new source revision arrives. */
  waits: Map<string, { revision: string; abort: AbortController }>;
  /** Sluice's revision records (history, last healthy revision, rollback state). */
  records: RecordStore;
  /** Per Kustomization: the build of the older revision it runs (rolled back or pinned). */
  revisionBuilds: RevisionBuilds;
}

/** A delayed Ready=Unknown status write (see PROGRESS_STATUS_DELAY_MS in finish.ts). */
export interface PendingProgress {
  timer?: NodeJS.Timeout;
  write?: Promise<unknown>;
}

/** One reconcile of one live, unsuspended Kustomization. */
export interface Attempt {
  key: string;
  namespace: string;
  name: string;
  obj: Kustomization;
  log: Logger;
  started: number;
  now: Date;
  generation: number;
  /** The status as read. */
  prev: KustomizationStatus;
  /** The status being written. */
  status: KustomizationStatus;
  conds: Conditions;
  interval: number;
  retryInterval: number;
  timeout: number;
  progress: PendingProgress;
  /** The artifact's origin revision (org.opencontainers.image.revision), once the source stage found it. */
  originRevision?: string;
}

export function startAttempt(obj: Kustomization, key: string, log: Logger, progress: PendingProgress): Attempt {
  const started = Date.now();
  const now = new Date();
  const generation = obj.metadata.generation ?? 0;
  const prev = obj.status ?? {};
  const status: KustomizationStatus = { ...prev };
  const requested = obj.metadata.annotations?.[REQUESTED_AT];
  if (requested) status.lastHandledReconcileAt = requested;
  const interval = parseDuration(obj.spec.interval);
  return {
    key,
    namespace: obj.metadata.namespace!,
    name: obj.metadata.name!,
    obj,
    log,
    started,
    now,
    generation,
    prev,
    status,
    conds: new Conditions(prev.conditions, generation, rfc3339(now)),
    interval,
    retryInterval: obj.spec.retryInterval ? parseDuration(obj.spec.retryInterval) : interval,
    timeout: obj.spec.timeout ? parseDuration(obj.spec.timeout) : interval,
    progress,
  };
}

/** Why a stage stopped the attempt. */
export class Failure {
  /** A spec problem that a retry cannot fix. */
  readonly stalled: boolean;
  /** When to retry; the retry interval by default. */
  readonly retryAfterMs?: number;
  /** Sets more conditions with the failure's. */
  readonly extra?: () => void;

  constructor(
    readonly reason: string,
    readonly message: string,
    o: { stalled?: boolean; retryAfterMs?: number; extra?: () => void } = {},
  ) {
    this.stalled = !!o.stalled;
    this.retryAfterMs = o.retryAfterMs;
    this.extra = o.extra;
  }
}
