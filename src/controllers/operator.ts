// The operator in one process: the artifact storage and its server, the
// manager, every source kind (from src/source/kinds.ts), the Kustomization
// controller with its watches, and the Helm controllers.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { KUSTOMIZE_GROUP } from '../api/kustomization.ts';
import { SOURCE_GROUP } from '../api/gitrepository.ts';
import type { KubeClient } from '../kube/client.ts';
import type { WatchEventType } from '../kube/watch.ts';
import type { KubeObject } from '../kube/object.ts';
import { MirrorCache, Storage, startStorageServer, type StorageServer } from '../source/git/index.ts';
import { changedPaths, changedPathsByIndex } from '../source/treediff.ts';
import type { Artifact } from '../source/git/types.ts';
import type { Logger } from '../util/log.ts';
import { ArtifactResolver } from '../runtime/artifacts.ts';
import { EventRecorder } from '../runtime/events.ts';
import { registerSources } from '../source/kinds.ts';
import { HelmCli } from '../tools/helmcli.ts';
import { ensureHelm } from '../tools/gotool.ts';
import { registerHelmControllers } from './register-helm.ts';
import { useHelm3Defaults } from './helmrelease/helm4.ts';
import { defaultToRetryOnFailure } from './helmrelease/policy.ts';
import { configDataChanged, configInformers, DEFAULT_WATCH_CONFIGS_SELECTOR } from './configwatch.ts';
import type { HelmReleaseController } from './helmrelease/controller.ts';
import { KustomizationController, type Kustomization } from './kustomization/controller.ts';
import { ControllerManager } from '../runtime/manager.ts';
import { EventSink } from '../runtime/eventsink.ts';
import { parseFeatureGates, type FeatureGates } from '../runtime/featuregates.ts';
import { DEFAULT_TAKEOVER_MANAGERS } from '../apply/takeover.ts';
import { Metrics } from '../runtime/metrics.ts';
import { setupNotifications, type Notifications } from '../notify/index.ts';
import { NamespaceTeardown } from '../runtime/teardown.ts';
import { kinds as fluxKinds } from '../api/crds.ts';


export interface OperatorOptions {
  client: KubeClient;
  log: Logger;
  /** Directory for artifacts, Git mirrors and downloaded artifacts. */
  dataDir: string;
  /** host:port of the artifact server (default 127.0.0.1:0). */
  storageAddress?: string;
  /** Base URL written into status.artifact.url (default: the artifact server's own URL). */
  artifactBaseUrl?: string;
  httpAddress?: string;
  leaderElection?: { namespace: string; name?: string; leaseDurationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number; identity?: string; releaseOnCancel?: boolean };
  concurrency?: number;
  applyConcurrency?: number;
  /** HelmReleases reconciled at once (default: four per core, at most `concurrency`). */
  releaseConcurrency?: number;
  noCrossNamespaceRefs?: boolean;
  /** Automatic rollback for every Kustomization (Sluice's --auto-rollback); per object with sluice.dev/rollback. */
  autoRollback?: boolean;
  defaultServiceAccount?: string;
  /** Service account whose token a kubeConfig.configMapRef without serviceAccountName uses (Flux's --default-kubeconfig-service-account). */
  defaultKubeConfigServiceAccount?: string;
  requeueDependencyMs?: number;
  /** Reconcile objects of this namespace only. */
  watchNamespace?: string;
  /**
   * The namespace the controller runs in (RUNTIME_NAMESPACE): when it is
   * deleted, the Flux objects in it are released without garbage collection
   * (runtime/teardown.ts).
   */
  runtimeNamespace?: string;
  /** Flux's --no-remote-bases. */
  noRemoteBases?: boolean;
  /** Probes on their own address (Flux's --health-addr); default: httpAddress. */
  healthAddress?: string;
  /** Also POST every event in Flux's format to this receiver (Flux's --events-addr). */
  eventsAddress?: string;
  /** Artifacts kept per source, and how long a previous one may stay (Flux's --artifact-retention-records/-ttl). */
  artifactRetention?: { records?: number; ttlMs?: number };
  /** Reconcile only toolkit objects with these labels (Flux's --watch-label-selector). */
  watchLabelSelector?: string;
  /** ConfigMaps and Secrets whose changes reach the objects using them (Flux's --watch-configs-label-selector). */
  watchConfigsLabelSelector?: string;
  /** Retry delays after failures (Flux's --min-retry-delay, --max-retry-delay). */
  retry?: { baseDelayMs: number; maxDelayMs: number };
  /** Time running reconciles get on shutdown (Flux's --graceful-shutdown-timeout). */
  shutdownGraceMs?: number;
  /** Secret with fallback age keys for SOPS (Flux's --sops-age-secret). */
  sopsAgeSecret?: { namespace: string; name: string };
  /** Field managers taken over besides Sluice's defaults (Flux's --override-manager). */
  overrideManagers?: string[];
  /** Flux's feature gates (parseFeatureGates); defaults when unset. */
  featureGates?: FeatureGates;
  /** host:port of the Receivers' webhook server (notification-controller's --receiverAddr); default 127.0.0.1:0. */
  receiverAddress?: string;
  /** An Alert sends an identical event at most once per this (--rate-limit-interval, default 5m). */
  rateLimitIntervalMs?: number;
  /** Delivery retries to Providers (default 5, from 1 s doubling); tests make them short. */
  notificationRetry?: { retries?: number; baseMs?: number };
}

export interface Operator {
  manager: ControllerManager;
  storageServer: StorageServer;
  kustomizations: KustomizationController;
  helmReleases: HelmReleaseController;
  notifications: Notifications;
  stop(): Promise<void>;
}

/** Starts the GitRepository and Kustomization controllers in this process. */
export async function startOperator(o: OperatorOptions): Promise<Operator> {
  const metrics = new Metrics();
  await mkdir(o.dataDir, { recursive: true });
  const gates = o.featureGates ?? parseFeatureGates([]);
  // helm-controller reads these two for the whole process too.
  useHelm3Defaults(gates.UseHelm3Defaults!);
  defaultToRetryOnFailure(gates.DefaultToRetryOnFailure!);
  const storage = new Storage({ root: join(o.dataDir, 'artifacts'), baseUrl: o.artifactBaseUrl, keep: o.artifactRetention?.records, ttlMs: o.artifactRetention?.ttlMs });
  const [host, port] = (o.storageAddress ?? '127.0.0.1:0').split(':') as [string, string];
  const storageServer = await startStorageServer(storage, { host, port: Number(port) });
  const mirrors = new MirrorCache(join(o.dataDir, 'mirrors'));
  const artifacts = new ArtifactResolver(join(o.dataDir, 'downloads'), async (a) => {
    // Our own artifacts: read the unpacked tree next to the tarball, no
    // download. Storage paths are content-addressed, so a path found here is
    // the artifact even when its URL still names the address of a previous
    // run of this controller.
    return (await storage.exists(a)) ? storage.treeDir(a) : undefined;
  });

  const manager = new ControllerManager({
    client: o.client,
    log: o.log,
    metrics,
    httpAddress: o.httpAddress,
    healthAddress: o.healthAddress,
    retry: o.retry,
    shutdownGraceMs: o.shutdownGraceMs,
    watchLabelSelector: o.watchLabelSelector,
    leaderElection: o.leaderElection && { name: 'sluice-controller-leader', ...o.leaderElection },
    watchNamespace: o.watchNamespace,
  });
  const concurrency = o.concurrency ?? 8;
  const httpSink = o.eventsAddress ? new EventSink({ address: o.eventsAddress, log: o.log }) : undefined;
  // Providers, Alerts and Receivers; every controller's events reach the Alerts through the same sink as --events-addr.
  const notifications = setupNotifications({
    manager,
    client: o.client,
    log: o.log,
    metrics,
    events: new EventRecorder(o.client, 'notification-controller', o.log),
    receiverAddress: o.receiverAddress ?? '127.0.0.1:0',
    rateLimitIntervalMs: o.rateLimitIntervalMs,
    noCrossNamespaceRefs: o.noCrossNamespaceRefs,
    retries: o.notificationRetry?.retries,
    retryBaseMs: o.notificationRetry?.baseMs,
  });
  const sink = {
    send(e: Parameters<EventSink['send']>[0]) {
      httpSink?.send(e);
      notifications.dispatcher.send(e);
    },
  };
  const sourceEvents = new EventRecorder(o.client, 'source-controller', o.log, { sink });
  const ksEvents = new EventRecorder(o.client, 'kustomize-controller', o.log, { sink });
  // Helm's own files (registry logins, repository caches) for the HelmChart source and the releases.
  const helmHome = join(o.dataDir, 'helm');
  await mkdir(helmHome, { recursive: true, mode: 0o700 });
  const cli = new HelmCli({ bin: () => ensureHelm({ log: (m) => o.log.info(m) }), home: helmHome });
  // Every source kind, from the table (src/source/kinds.ts).
  const teardown = o.runtimeNamespace ? new NamespaceTeardown(o.client, o.runtimeNamespace, o.log) : undefined;
  const sources = registerSources({ manager, client: o.client, storage, mirrors, artifacts, cli, events: sourceEvents, metrics, log: o.log, concurrency, teardown });
  const repos = sources.get('GitRepository')!;
  const ociRepos = sources.get('OCIRepository')!;
  const buckets = sources.get('Bucket')!;
  const kss = manager.informer(`/apis/${KUSTOMIZE_GROUP}/v1/kustomizations`);
  // Flux's ExternalArtifact gate: artifacts that third-party controllers publish, for Kustomizations and HelmReleases.
  const externalArtifacts = gates.ExternalArtifact ? manager.informer(`/apis/${SOURCE_GROUP}/v1/externalartifacts`) : undefined;
  // Flux's --watch-configs-label-selector; the DisableConfigWatchers gate turns those watches off.
  const configs = gates.DisableConfigWatchers ? undefined : configInformers(manager, o.watchConfigsLabelSelector ?? DEFAULT_WATCH_CONFIGS_SELECTOR);

  const ksController = new KustomizationController({
    client: o.client,
    teardown,
    kustomizations: kss,
    sources: new Map([
      ['GitRepository', repos],
      ['OCIRepository', ociRepos],
      ['Bucket', buckets],
      ...(externalArtifacts ? ([['ExternalArtifact', externalArtifacts]] as const) : []),
    ]),
    artifacts,
    events: ksEvents,
    metrics,
    log: o.log,
    noCrossNamespaceRefs: o.noCrossNamespaceRefs,
    additiveCelDependencyCheck: gates.AdditiveCELDependencyCheck,
    defaultServiceAccount: o.defaultServiceAccount,
    defaultKubeConfigServiceAccount: o.defaultKubeConfigServiceAccount,
    requeueDependencyMs: o.requeueDependencyMs,
    applyConcurrency: o.applyConcurrency,
    sopsAgeSecret: o.sopsAgeSecret,
    takeoverManagers: o.overrideManagers?.length ? [...DEFAULT_TAKEOVER_MANAGERS, ...o.overrideManagers] : undefined,
    failFast: !gates.DisableFailFastBehavior,
    strictPostBuildSubstitutions: gates.StrictPostBuildSubstitutions,
    mirrors,
    rollbackAll: o.autoRollback,
    noRemoteBases: o.noRemoteBases,
  });

  /**
   * A commit to a monorepo moves every Kustomization of the source to a new
   * revision, but changes the files of a few: those are queued first, so a
   * one-line change is applied in about the time of one reconcile, not after
   * hundreds of no-op ones. Splits `keys` into the changed ones and the rest.
   */
  const changedFirst = async (old: KubeObject, now: KubeObject, keys: string[]): Promise<{ first: string[]; rest: string[] }> => {
    const [a, b] = [old.status!.artifact as Artifact, now.status!.artifact as Artifact];
    if (!(await storage.exists(a)) || !(await storage.exists(b))) return { first: keys, rest: [] };
    const pathOf = new Map<string, string>();
    for (const k of keys) {
      const [ns, name] = k.split('/') as [string, string];
      pathOf.set(k, ((kss.get(ns, name)?.spec as { path?: string } | undefined)?.path ?? './'));
    }
    const [ia, ib] = await Promise.all([storage.fileIndex(a), storage.fileIndex(b)]);
    const paths = [...pathOf.values()];
    const changed = ia && ib ? changedPathsByIndex(ia, ib, paths) : await changedPaths(storage.treeDir(a), storage.treeDir(b), paths);
    return { first: keys.filter((k) => changed.has(pathOf.get(k)!)), rest: keys.filter((k) => !changed.has(pathOf.get(k)!)) };
  };

  manager.add({
    kind: 'Kustomization',
    informer: kss,
    reconcile: (k, signal) => ksController.reconcile(k, signal),
    concurrency,
    watches: [
      // A new artifact of an OCIRepository or ExternalArtifact reaches its Kustomizations at once.
      ...([['OCIRepository', ociRepos], ['Bucket', buckets], ['ExternalArtifact', externalArtifacts]] as const).flatMap(([kind, informer]) =>
        informer
          ? [
              {
                informer,
                keys: (type: WatchEventType, obj: KubeObject, old?: KubeObject) => {
                  const rev = artifactRevision(obj);
                  if (type === 'DELETED' || !rev || (old && artifactRevision(old) === rev && digestOf(old) === digestOf(obj) && urlOf(old) === urlOf(obj))) return [];
                  const keys = ksController.dependentsOfSource(kind, obj.metadata.namespace!, obj.metadata.name!);
                  for (const k of keys) ksController.sourceRevisionChanged(k, rev);
                  return keys;
                },
              },
            ]
          : [],
      ),
      {
        // A new artifact reaches its Kustomizations at once, not at their next interval.
        informer: repos,
        keys: (type, obj, old) => {
          const rev = artifactRevision(obj);
          // A new revision, new content, or the same artifact at a new address
          // (after a restart), which Kustomizations that failed to fetch it wait for.
          if (type === 'DELETED' || !rev || (old && artifactRevision(old) === rev && old.status?.artifact && digestOf(old) === digestOf(obj) && urlOf(old) === urlOf(obj))) return [];
          const keys = ksController.dependentsOfSource('GitRepository', obj.metadata.namespace!, obj.metadata.name!);
          for (const k of keys) ksController.sourceRevisionChanged(k, rev);
          if (old?.status?.artifact && digestOf(old) !== digestOf(obj) && keys.length > 1) {
            // Queued once the diff tells which go first (a few hundred ms for a thousand paths).
            const queue = manager.queue('Kustomization');
            const enqueue = (ordered: string[]) => ordered.forEach((k) => queue?.add(k));
            changedFirst(old, obj, keys).then(({ first, rest }) => {
              enqueue(first);
              // The rest only record the new revision: they wait until the changed
              // ones are through (at most a second, a health check may take long),
              // so as not to share the process and the API server with their apply.
              const through = first.length && queue ? queue.whenDone(first) : Promise.resolve();
              let timer: NodeJS.Timeout | undefined;
              const cap = new Promise<void>((r) => (timer = setTimeout(r, 1_000)));
              void Promise.race([through, cap]).then(() => {
                clearTimeout(timer);
                enqueue(rest);
              });
            }, (err: Error) => {
              o.log.debug('no change-first ordering', { error: err.message });
              enqueue(keys);
            });
            return [];
          }
          return keys;
        },
      },
      // A watched ConfigMap or Secret that Kustomizations use (substituteFrom, decryption, kubeConfig) changed.
      ...(configs
        ? [
            { informer: configs.configMaps, keys: (type: WatchEventType, obj: KubeObject, old?: KubeObject) => (configDataChanged(type, obj, old) ? ksController.dependentsOfConfig('ConfigMap', obj.metadata.namespace!, obj.metadata.name!) : []) },
            { informer: configs.secrets, keys: (type: WatchEventType, obj: KubeObject, old?: KubeObject) => (configDataChanged(type, obj, old) ? ksController.dependentsOfConfig('Secret', obj.metadata.namespace!, obj.metadata.name!) : []) },
          ]
        : []),
      {
        // A Kustomization turning Ready releases the ones that depend on it.
        informer: kss,
        keys: (type, obj, old) => {
          if (type === 'DELETED') return [];
          const readyNow = readyStatus(obj) === 'True';
          const notNewlyReady = !readyNow || (old && readyStatus(old) === 'True' && old.status?.lastAppliedRevision === obj.status?.lastAppliedRevision);
          // Dependents by readyExpr look at any change: their expression may read more than Ready.
          return ksController.dependentsOf(obj.metadata.namespace!, obj.metadata.name!, { readyExprOnly: !!notNewlyReady });
        },
      },
    ],
  });
  const helm = await registerHelmControllers({
    teardown,
    externalArtifacts,
    manager, client: o.client, log: o.log, metrics, artifacts, dataDir: o.dataDir, concurrency,
    noCrossNamespaceRefs: o.noCrossNamespaceRefs, defaultServiceAccount: o.defaultServiceAccount, defaultKubeConfigServiceAccount: o.defaultKubeConfigServiceAccount, requeueDependencyMs: o.requeueDependencyMs,
    additiveCelDependencyCheck: gates.AdditiveCELDependencyCheck,
    releaseConcurrency: o.releaseConcurrency,
    events: new EventRecorder(o.client, 'helm-controller', o.log, { sink }),
    configs,
  });
  await manager.start();
  await notifications.start();
  return {
    manager,
    storageServer,
    notifications,
    kustomizations: ksController,
    helmReleases: helm.releases,
    async stop() {
      await manager.stop();
      // The pod is going because its namespace is: nobody will finalize what is left in it.
      await teardown?.releaseAll(fluxKinds.map((k) => (ns: string) => `/apis/${k.group}/${k.versions[0]!.name}/namespaces/${ns}/${k.plural}`)).catch((err) => o.log.error('releasing the namespace\'s objects failed', { error: (err as Error).message }));
      ksController.stop();
      await helm.releases.stop();
      // Queued events go out before the process ends.
      await Promise.all([sourceEvents.flush(), ksEvents.flush()]);
      await notifications.stop();
      await httpSink?.flush();
      await storageServer.close();
      o.client.close();
    },
  };
}

function artifactRevision(o: KubeObject): string | undefined {
  return (o.status?.artifact as { revision?: string } | undefined)?.revision;
}

function urlOf(o: KubeObject): string | undefined {
  return (o.status?.artifact as { url?: string } | undefined)?.url;
}

function digestOf(o: KubeObject): string | undefined {
  return (o.status?.artifact as { digest?: string } | undefined)?.digest;
}

function readyStatus(o: KubeObject): string | undefined {
  return ((o as Kustomization).status?.conditions as Array<{ type: string; status: string }> | undefined)?.find((c) => c.type === 'Ready')?.status;
}
