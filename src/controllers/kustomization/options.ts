// What the Kustomization controller is given by the operator. Apart from
// controller.ts so the stages can name it without importing the controller
// (which imports them).
import type { KubeClient } from '../../kube/client.ts';
import type { Informer } from '../../kube/informer.ts';
import type { ArtifactResolver } from '../../runtime/artifacts.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import type { Metrics } from '../../runtime/metrics.ts';
import type { Logger } from '../../util/log.ts';
import type { MirrorCache } from '../../source/git/index.ts';
import type { NamespaceTeardown } from '../../runtime/teardown.ts';

export interface KustomizationControllerOptions {
  client: KubeClient;
  /** The controller's own namespace, whose objects are released when it is deleted (runtime/teardown.ts). */
  teardown?: NamespaceTeardown;
  kustomizations: Informer;
  /** Source caches by kind (GitRepository, ...). */
  sources: Map<string, Informer>;
  artifacts: ArtifactResolver;
  events: EventRecorder;
  metrics: Metrics;
  log: Logger;
  /** Refuse sourceRefs and dependsOn in other namespaces (Flux's --no-cross-namespace-refs). */
  noCrossNamespaceRefs?: boolean;
  /** Flux's AdditiveCELDependencyCheck gate: a dependency with a readyExpr must be Ready too. */
  additiveCelDependencyCheck?: boolean;
  /** Service account impersonated when a Kustomization names none (Flux's --default-service-account). */
  defaultServiceAccount?: string;
  /** Service account whose token a kubeConfig.configMapRef without serviceAccountName uses (Flux's --default-kubeconfig-service-account). */
  defaultKubeConfigServiceAccount?: string;
  /** How long to wait before looking again at unready dependencies. */
  requeueDependencyMs?: number;
  applyConcurrency?: number;
  /** Secret with age keys for Kustomizations that decrypt with SOPS and name no Secret (Flux's --sops-age-secret). */
  sopsAgeSecret?: { namespace: string; name: string };
  /** Field managers whose fields the apply takes over (default: the apply's own list; Flux's --override-manager adds to it). */
  takeoverManagers?: string[];
  /** Stop waiting for health as soon as one object failed (default true; Flux's DisableFailFastBehavior gate turns it off). */
  failFast?: boolean;
  /** Fail post-build substitution on an unset variable without a default (Flux's StrictPostBuildSubstitutions gate; true by default, as in Flux 2.9). */
  strictPostBuildSubstitutions?: boolean;
  /** The GitRepository mirrors: older revisions are built from them for a rollback or a pin. */
  mirrors?: MirrorCache;
  /** Automatic rollback for every Kustomization that does not turn it off (Sluice's --rollback-all); off by default, as Flux. */
  rollbackAll?: boolean;
  /** Flux's --no-remote-bases: refuse remote kustomize bases and resources (they are fetched by default, as in Flux). */
  noRemoteBases?: boolean;
}
