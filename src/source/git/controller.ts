import { sourceLifecycle } from '../shell.ts';
import type { Informer } from '../../kube/informer.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { KubeObject } from '../../kube/object.ts';
import { RECONCILE_REQUEST_ANNOTATION, reconcileGitRepository, type GitRepository, type MirrorCache, type Storage } from './index.ts';
import type { Logger } from '../../util/log.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import type { Metrics } from '../../runtime/metrics.ts';
import type { ReconcileOutcome } from '../../runtime/queue.ts';
import { patchStatus } from '../../runtime/status.ts';
import { secretReader } from '../../runtime/secrets.ts';

export const GITREPO_PLURAL = 'gitrepositories';

export interface GitRepositoryControllerOptions {
  client: KubeClient;
  repositories: Informer;
  mirrors: MirrorCache;
  storage: Storage;
  events: EventRecorder;
  metrics: Metrics;
  log: Logger;
}

/**
 * Wires the Git source (src/source) to the API server: reads the object
 * and its Secrets, runs one reconcile, records events, writes status, and
 * removes the stored artifacts when the object is deleted.
 */
export class GitRepositoryController {
  readonly kind = 'GitRepository';

  constructor(private readonly o: GitRepositoryControllerOptions) {}

  async reconcile(key: string): Promise<ReconcileOutcome> {
    const started = Date.now();
    const [namespace, name] = key.split('/') as [string, string];
    const obj = this.o.repositories.get(namespace, name) as (KubeObject & GitRepository) | undefined;
    const lifecycle = { ...this.o, kind: this.kind, plural: GITREPO_PLURAL, storageKind: 'gitrepository' };
    if (!(await sourceLifecycle(lifecycle, obj, namespace, name)) || !obj) return {};
    const result = await reconcileGitRepository(obj, {
      mirrors: this.o.mirrors,
      storage: this.o.storage,
      getSecret: secretReader(this.o.client),
      getIncludedArtifact: async (ns, repoName) => {
        const inc = this.o.repositories.get(ns, repoName) as (KubeObject & GitRepository) | undefined;
        const artifact = inc?.status?.artifact;
        if (!artifact) return undefined;
        return { dir: this.o.storage.treeDir(artifact), revision: artifact.revision, digest: artifact.digest, artifact };
      },
    });
    const t0 = performance.now();
    for (const ev of result.events) await this.o.events.record(obj, ev.type, ev.reason, ev.message, ev.annotations);
    await patchStatus(this.o.client, obj, GITREPO_PLURAL, result.status as Record<string, unknown>);
    // Where the time went, per stage; with a reconcile request just handled,
    // also how long the request waited before this reconcile began.
    const requested = obj.metadata.annotations?.[RECONCILE_REQUEST_ANNOTATION];
    const requestedAt = requested !== undefined && requested !== obj.status?.lastHandledReconcileAt ? Date.parse(requested) : NaN;
    this.o.log.debug('reconciled', {
      kind: this.kind,
      key,
      outcome: result.outcome,
      revision: result.status.artifact?.revision,
      build: result.build,
      buildNote: result.buildNote,
      ms: {
        ...(Number.isFinite(requestedAt) ? { queued: Math.max(0, started - requestedAt) } : {}),
        ...result.timings,
        status: Math.round(performance.now() - t0),
      },
    });
    const ready = result.status.conditions?.find((c) => c.type === 'Ready');
    this.o.metrics.recordCondition(this.kind, namespace, name, 'Ready', ready?.status);
    if (result.outcome === 'suspended' || result.outcome === 'stalled') return {};
    if (result.outcome === 'failed' || result.outcome === 'waiting') {
      // Retried with the queue's exponential backoff, as Flux's rate limiter does.
      return { error: new Error(ready?.message ?? 'reconcile failed') };
    }
    return { requeueAfterMs: result.requeueAfterMs };
  }
}
