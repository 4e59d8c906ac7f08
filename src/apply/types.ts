// Types shared by the apply manager and the validation it runs first: the
// options of an apply, and the plan made for each object.
import type { ResourceMapping } from '../kube/discovery.ts';
import type { SharedInformers } from '../kube/informer.ts';
import type { KubeObject } from '../kube/object.ts';
import type { ChangeSetEntry } from './changeset.ts';
import type { IgnoreRule } from './ignore.ts';
import type { AppliedMemo } from './memo.ts';
import type { Stage } from './stages.ts';

export interface ApplyOptions {
  /** Field manager for every write (default `sluice`). */
  fieldManager?: string;
  /** Delete and recreate objects whose immutable fields changed. */
  force?: boolean;
  /** Requests in flight at once (the client's QPS limit still applies). */
  concurrency?: number;
  /** Namespace for namespaced objects that name none. */
  defaultNamespace?: string;
  /** Labels stamped on every object, e.g. the owner's name and namespace. */
  ownerLabels?: Record<string, string>;
  /** Managers whose fields are taken over (defaults: Flux's controllers and kubectl's). */
  takeoverManagers?: string[];
  /** How long to wait for CRDs to become Established before applying their objects. */
  crdTimeoutMs?: number;
  /** Called as each object is done, for progress output. */
  onEntry?: (e: ChangeSetEntry) => void;
  /**
   * Shared caches to read live objects from instead of GETs (controllers).
   * A stale entry costs nothing but a GET: the dry run's resourceVersion
   * tells when the cache lags, and the object is read again.
   */
  liveCache?: SharedInformers;
  /**
   * What this owner applied last time: objects sent unchanged to live objects
   * nobody wrote since are not dry-run again (steady state costs no requests).
   */
  memo?: AppliedMemo;
  /** Fields to leave as the cluster has them on existing objects (Flux's spec.ignore, compiled by compileIgnoreRules). */
  ignore?: IgnoreRule[];
}

export type Decision = 'create' | 'apply' | 'unchanged' | 'skip' | 'recreate' | 'deferred';

export interface Planned {
  obj: KubeObject;
  index: number;
  stage: Stage;
  mapping?: ResourceMapping;
  live?: KubeObject;
  /** What the server would make of the object (dry-run apply). */
  merged?: KubeObject;
  decision: Decision;
  reason?: string;
  takeover: boolean;
  /** The object's namespace is created by a Namespace in the same set. */
  namespaceInSet: boolean;
  /** `live` was read by a LIST already. */
  liveFetched?: boolean;
  /** `obj` serialized, as validation measured it (and again when ignore rules take live values into `obj`). */
  json?: string;
  /** `obj` as built, before ignore rules took live values into it. */
  built?: KubeObject;
}

