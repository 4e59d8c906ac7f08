// The source kinds, one row each: the API definition (group, kind, plural),
// the storage directory, the kind's reconcile and the caches of other kinds
// whose changes reach it. The operator registers every source from this
// table through the one generic controller (shell.ts); a new kind (a Bucket)
// is an API file, a folder with its reconcile, and a row here.
import { gitRepositoryKind } from '../api/gitrepository.ts';
import { helmChartKind } from '../api/helmchart.ts';
import { helmRepositoryKind } from '../api/helmrepository.ts';
import { ociRepositoryKind } from '../api/ocirepository.ts';
import { bucketKind } from '../api/bucket.ts';
import { reconcileBucket, type Bucket } from './bucket/reconcile.ts';
import type { KindDefinition } from '../api/schema.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Informer } from '../kube/informer.ts';
import type { KubeObject } from '../kube/object.ts';
import type { ArtifactResolver } from '../runtime/artifacts.ts';
import type { EventRecorder } from '../runtime/events.ts';
import type { ControllerManager, ControllerRegistration } from '../runtime/manager.ts';
import type { Metrics } from '../runtime/metrics.ts';
import { secretReader, type SecretReader } from '../runtime/secrets.ts';
import type { HelmCli } from '../tools/helmcli.ts';
import type { Logger } from '../util/log.ts';
import type { MirrorCache } from './git/mirror.ts';
import { reconcileGitRepository } from './git/reconcile.ts';
import type { GitRepository } from './git/types.ts';
import { chartsOfSource, reconcileHelmChart, type HelmChart } from './helmchart/reconcile.ts';
import { HelmIndexCache, reconcileHelmRepository, type HelmRepository } from './helmrepository/reconcile.ts';
import { reconcileOCIRepository, type OCIRepository } from './oci/reconcile.ts';
import { SourceController, type SourceReconciler } from './shell.ts';
import type { Storage } from './storage/storage.ts';
import type { NamespaceTeardown } from '../runtime/teardown.ts';

/** What the rows' reconciles may use: shared services and the caches of every source kind. */
export interface SourceContext {
  client: KubeClient;
  storage: Storage;
  mirrors: MirrorCache;
  artifacts: ArtifactResolver;
  cli: HelmCli;
  secrets: SecretReader;
  /** Parsed HelmRepository indexes, shared by HelmRepository and HelmChart. */
  indexes: HelmIndexCache;
  /** The cache of a source kind (by kind name, e.g. GitRepository). */
  informer(kind: string): Informer;
}

type WatchKeys = ControllerRegistration['watches'] extends Array<infer W> | undefined ? W extends { keys: infer K } ? K : never : never;

export interface SourceKind {
  api: KindDefinition;
  /** API version served to the controller. */
  version: string;
  /** Storage directory kind, e.g. gitrepository. */
  storageKind: string;
  reconciler(ctx: SourceContext): SourceReconciler;
  /** Other source kinds whose changes enqueue objects of this kind, and which keys. */
  watches?(ctx: SourceContext): Array<{ kind: string; keys: WatchKeys }>;
}

export const SOURCE_KINDS: SourceKind[] = [
  {
    api: gitRepositoryKind,
    version: 'v1',
    storageKind: 'gitrepository',
    reconciler: (ctx) => async (obj) => {
      const repos = ctx.informer('GitRepository');
      const r = await reconcileGitRepository(obj as KubeObject & GitRepository, {
        mirrors: ctx.mirrors,
        storage: ctx.storage,
        getSecret: ctx.secrets,
        getIncludedArtifact: async (ns, name) => {
          const artifact = (repos.get(ns, name) as (KubeObject & GitRepository) | undefined)?.status?.artifact;
          if (!artifact) return undefined;
          return { dir: ctx.storage.treeDir(artifact), revision: artifact.revision, digest: artifact.digest, artifact };
        },
      });
      return {
        status: r.status,
        events: r.events,
        outcome: r.outcome,
        requeueAfterMs: r.requeueAfterMs,
        timings: r.timings,
        log: { revision: r.status.artifact?.revision, build: r.build, buildNote: r.buildNote },
      };
    },
  },
  {
    api: ociRepositoryKind,
    version: 'v1',
    storageKind: 'ocirepository',
    reconciler: (ctx) => (obj) => reconcileOCIRepository(obj as OCIRepository, { storage: ctx.storage, secrets: ctx.secrets }),
  },
  {
    api: bucketKind,
    version: 'v1',
    storageKind: 'bucket',
    reconciler: (ctx) => (obj) => reconcileBucket(obj as Bucket, { storage: ctx.storage, secrets: ctx.secrets }),
  },
  {
    api: helmRepositoryKind,
    version: 'v1',
    storageKind: 'helmrepository',
    reconciler: (ctx) => (obj) => reconcileHelmRepository(obj as HelmRepository, { storage: ctx.storage, secrets: ctx.secrets }),
  },
  {
    api: helmChartKind,
    version: 'v1',
    storageKind: 'helmchart',
    reconciler: (ctx) => {
      const deps = {
        helmRepositories: ctx.informer('HelmRepository'),
        sources: new Map([
          ['GitRepository', ctx.informer('GitRepository')],
          ['Bucket', ctx.informer('Bucket')],
        ]),
        indexes: ctx.indexes,
        secrets: ctx.secrets,
        storage: ctx.storage,
        artifacts: ctx.artifacts,
        cli: ctx.cli,
      };
      return (obj) => reconcileHelmChart(obj as HelmChart, deps);
    },
    watches: (ctx) => {
      const charts = ctx.informer('HelmChart');
      return [
        {
          // An OCI repository has no artifact: a change of its spec (URL, credentials, insecure) is what reaches its charts.
          kind: 'HelmRepository',
          keys: (type, obj, old) =>
            artifactChanged(type, obj, old) || ociSpecChanged(type, obj, old) ? chartsOfSource(charts, 'HelmRepository', obj.metadata.namespace!, obj.metadata.name!) : [],
        },
        ...(['GitRepository', 'Bucket'] as const).map((kind) => ({
          kind,
          keys: ((type, obj, old) => (artifactChanged(type, obj, old) ? chartsOfSource(charts, kind, obj.metadata.namespace!, obj.metadata.name!) : [])) as WatchKeys,
        })),
      ];
    },
  },
];

/** The collection path of a source kind's objects, cluster-wide. */
export function sourcePath(k: SourceKind): string {
  return `/apis/${k.api.group}/${k.version}/${k.api.plural}`;
}

export interface RegisterSourcesOptions {
  manager: ControllerManager;
  client: KubeClient;
  storage: Storage;
  mirrors: MirrorCache;
  artifacts: ArtifactResolver;
  cli: HelmCli;
  events: EventRecorder;
  metrics: Metrics;
  log: Logger;
  concurrency: number;
  /** The controller's own namespace (runtime/teardown.ts). */
  teardown?: NamespaceTeardown;
}

/** Registers a controller for every row of `kinds`; returns the cache of each kind. */
export function registerSources(o: RegisterSourcesOptions, kinds: SourceKind[] = SOURCE_KINDS): Map<string, Informer> {
  const informers = new Map(kinds.map((k) => [k.api.kind, o.manager.informer(sourcePath(k))]));
  const ctx: SourceContext = {
    client: o.client,
    storage: o.storage,
    mirrors: o.mirrors,
    artifacts: o.artifacts,
    cli: o.cli,
    secrets: secretReader(o.client),
    indexes: new HelmIndexCache(o.storage),
    informer: (kind) => {
      const inf = informers.get(kind);
      if (!inf) throw new Error(`no source kind ${kind}`);
      return inf;
    },
  };
  for (const k of kinds) {
    const informer = ctx.informer(k.api.kind);
    const controller = new SourceController({
      client: o.client,
      objects: informer,
      storage: o.storage,
      events: o.events,
      metrics: o.metrics,
      log: o.log.with({ controller: k.storageKind }),
      kind: k.api.kind,
      plural: k.api.plural,
      storageKind: k.storageKind,
      reconcile: k.reconciler(ctx),
      teardown: o.teardown,
    });
    o.manager.add({
      kind: k.api.kind,
      informer,
      reconcile: (key) => controller.reconcile(key),
      concurrency: o.concurrency,
      watches: k.watches?.(ctx).map((w) => ({ informer: ctx.informer(w.kind), keys: w.keys })),
    });
  }
  return informers;
}

/** Whether a source's artifact is new (another revision or digest). */
export function artifactChanged(type: string, obj: KubeObject, old?: KubeObject): boolean {
  if (type === 'DELETED') return false;
  const a = obj.status?.artifact as { revision?: string; digest?: string } | undefined;
  const b = old?.status?.artifact as { revision?: string; digest?: string } | undefined;
  if (!a) return false;
  return !b || a.revision !== b.revision || a.digest !== b.digest;
}

function ociSpecChanged(type: string, obj: KubeObject, old?: KubeObject): boolean {
  const spec = obj.spec as { type?: string; url?: string } | undefined;
  if (type === 'DELETED' || !(spec?.type === 'oci' || spec?.url?.startsWith('oci://'))) return false;
  return !old || old.metadata.generation !== obj.metadata.generation;
}
