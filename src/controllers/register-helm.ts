// Registers the HelmRelease controller and the watches that reach releases:
// new chart artifacts, Ready dependencies, and labelled ConfigMaps and Secrets.
import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { HELM_GROUP } from '../api/helmrelease.ts';
import { SOURCE_GROUP } from '../api/gitrepository.ts';
import { HelmDriver } from '../helm/driver.ts';
import type { KubeClient } from '../kube/client.ts';
import type { WatchEventType } from '../kube/watch.ts';
import type { Informer } from '../kube/informer.ts';
import { findCondition, type KubeObject } from '../kube/object.ts';
import { ensureKustomize } from '../tools/gotool.ts';
import { artifactChanged } from '../source/kinds.ts';
import { ensureHelmDriver } from '../tools/localgo.ts';
import type { Logger } from '../util/log.ts';
import type { ArtifactResolver } from '../runtime/artifacts.ts';
import { EventRecorder } from '../runtime/events.ts';
import { HelmReleaseController } from './helmrelease/controller.ts';
import type { ControllerManager } from '../runtime/manager.ts';
import type { Metrics } from '../runtime/metrics.ts';
import { configDataChanged, type ConfigInformers } from './configwatch.ts';
import type { NamespaceTeardown } from '../runtime/teardown.ts';


export interface HelmControllersOptions {
  manager: ControllerManager;
  client: KubeClient;
  log: Logger;
  metrics: Metrics;
  artifacts: ArtifactResolver;
  /** Directory for helm's own files and scratch space. */
  dataDir: string;
  concurrency?: number;
  /** HelmReleases reconciled at once (each sends its Helm actions to the driver and waits for health); default eight per core, at most `concurrency`. */
  releaseConcurrency?: number;
  noCrossNamespaceRefs?: boolean;
  /** Flux's AdditiveCELDependencyCheck gate: a dependency with a readyExpr must be Ready too. */
  additiveCelDependencyCheck?: boolean;
  defaultServiceAccount?: string;
  /** Service account whose token a kubeConfig.configMapRef without serviceAccountName uses (Flux's --default-kubeconfig-service-account). */
  defaultKubeConfigServiceAccount?: string;
  requeueDependencyMs?: number;
  events: EventRecorder;
  /** The controller's own namespace (runtime/teardown.ts). */
  teardown?: NamespaceTeardown;
  /** The ExternalArtifact cache, when Flux's ExternalArtifact gate is on. */
  externalArtifacts?: Informer;
  /**
   * The watched ConfigMaps and Secrets (configwatch.ts, Flux's
   * --watch-configs-label-selector), shared with the Kustomizations;
   * undefined turns those watches off (the DisableConfigWatchers gate).
   */
  configs?: ConfigInformers;
}

export interface HelmControllers {
  releases: HelmReleaseController;
}

/**
 * Registers the HelmRelease controller with the manager (the Helm sources,
 * HelmRepository, HelmChart and OCIRepository, come from the source table,
 * src/source/kinds.ts), with the watches that make a new chart artifact, a Ready
 * dependency, or a change of a ConfigMap or Secret labelled
 * watched (--watch-configs-label-selector, configwatch.ts) reach the HelmReleases at once.
 */
export async function registerHelmControllers(o: HelmControllersOptions): Promise<HelmControllers> {
  const helmHome = join(o.dataDir, 'helm');
  await mkdir(join(helmHome, 'work'), { recursive: true, mode: 0o700 });
  let kustomize: Promise<string> | undefined;
  const m = o.manager;
  const charts = m.informer(`/apis/${SOURCE_GROUP}/v1/helmcharts`);
  const ociRepos = m.informer(`/apis/${SOURCE_GROUP}/v1/ocirepositories`);
  const releases = m.informer(`/apis/${HELM_GROUP}/v2/helmreleases`);
  const configMaps = o.configs?.configMaps;
  const secrets = o.configs?.secrets;

  const releaseController = new HelmReleaseController({
    client: o.client,
    teardown: o.teardown,
    releases,
    charts,
    ociRepositories: ociRepos,
    externalArtifacts: o.externalArtifacts,
    artifacts: o.artifacts,
    helm: new HelmDriver({ bin: () => ensureHelmDriver({ log: (m) => o.log.info(m) }) }),
    kustomize: () => (kustomize ??= ensureKustomize({ log: (msg) => o.log.info(msg) })),
    events: o.events,
    metrics: o.metrics,
    log: o.log,
    workDir: join(helmHome, 'work'),
    noCrossNamespaceRefs: o.noCrossNamespaceRefs,
    additiveCelDependencyCheck: o.additiveCelDependencyCheck,
    defaultServiceAccount: o.defaultServiceAccount,
    defaultKubeConfigServiceAccount: o.defaultKubeConfigServiceAccount,
    requeueDependencyMs: o.requeueDependencyMs,
  });

  const concurrency = o.concurrency ?? 8;
  m.add({
    kind: 'HelmRelease',
    informer: releases,
    reconcile: (k, signal) => releaseController.reconcile(k, signal),
    // A release spends most of its slot waiting (on the API server, and on its
    // objects becoming ready), not on this process's CPU: on 2 cores, 1,000
    // releases took the same time with 16 or 32 slots (137 s, 141 s); with 8,
    // 100 releases took 17 s against 14 s (bench/helm.ts). More slots mostly
    // cost driver memory.
    concurrency: o.releaseConcurrency ?? Math.min(concurrency, 8 * availableParallelism()),
    watches: [
      {
        // A new chart artifact, or a chart turning Ready, reaches its releases at once.
        informer: charts,
        keys: (type, obj, old) => {
          if (type === 'DELETED') return [];
          const changed = artifactChanged(type, obj, old) || (findCondition(obj, 'Ready')?.status !== findCondition(old, 'Ready')?.status);
          return changed ? releaseController.dependentsOfChart(obj.metadata.namespace!, obj.metadata.name!) : [];
        },
      },
      {
        // A new OCIRepository artifact, or one turning Ready, reaches the releases whose chartRef names it.
        informer: ociRepos,
        keys: (type, obj, old) => {
          if (type === 'DELETED') return [];
          const changed = artifactChanged(type, obj, old) || findCondition(obj, 'Ready')?.status !== findCondition(old, 'Ready')?.status;
          return changed ? chartRefDependents(releases, 'OCIRepository', obj.metadata.namespace!, obj.metadata.name!) : [];
        },
      },
      ...(o.externalArtifacts
        ? [
            {
              // A new ExternalArtifact artifact reaches the releases whose chartRef names it.
              informer: o.externalArtifacts,
              keys: (type: WatchEventType, obj: KubeObject, old?: KubeObject) =>
                type !== 'DELETED' && artifactChanged(type, obj, old) ? chartRefDependents(releases, 'ExternalArtifact', obj.metadata.namespace!, obj.metadata.name!) : [],
            },
          ]
        : []),
      {
        // A HelmRelease turning Ready releases the ones that depend on it; one
        // whose readyExpr names it looks at any change (the expression may read more than Ready).
        informer: releases,
        keys: (type, obj, old) => {
          if (type === 'DELETED') return [];
          const notNewlyReady =
            findCondition(obj, 'Ready')?.status !== 'True' ||
            (old && findCondition(old, 'Ready')?.status === 'True' && old.status?.observedGeneration === obj.status?.observedGeneration);
          return releaseController.dependentsOf(obj.metadata.namespace!, obj.metadata.name!, { readyExprOnly: !!notNewlyReady });
        },
      },
      ...(configMaps && secrets
        ? [
            { informer: configMaps, keys: (type: WatchEventType, obj: KubeObject, old?: KubeObject) => (configDataChanged(type, obj, old) ? releaseController.dependentsOfValues('ConfigMap', obj.metadata.namespace!, obj.metadata.name!) : []) },
            { informer: secrets, keys: (type: WatchEventType, obj: KubeObject, old?: KubeObject) => (configDataChanged(type, obj, old) ? releaseController.dependentsOfValues('Secret', obj.metadata.namespace!, obj.metadata.name!) : []) },
          ]
        : []),
    ],
  });
  return { releases: releaseController };
}

/** Keys of the HelmReleases whose spec.chartRef names this source. */
function chartRefDependents(releases: Informer, kind: string, namespace: string, name: string): string[] {
  return releases
    .list()
    .filter((r) => {
      const ref = (r.spec as { chartRef?: { kind?: string; name?: string; namespace?: string } } | undefined)?.chartRef;
      return ref?.kind === kind && ref.name === name && (ref.namespace ?? r.metadata.namespace) === namespace;
    })
    .map((r) => `${r.metadata.namespace}/${r.metadata.name}`);
}
