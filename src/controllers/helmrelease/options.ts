// What the HelmRelease controller is given by the operator. Apart from
// controller.ts so the reconcile's parts can name it without importing the
// controller (which imports them).
import type { HelmDriver } from '../../helm/driver.ts';
import type { Informer } from '../../kube/informer.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { ArtifactResolver } from '../../runtime/artifacts.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import type { Metrics } from '../../runtime/metrics.ts';
import type { Logger } from '../../util/log.ts';
import type { NamespaceTeardown } from '../../runtime/teardown.ts';

export interface HelmReleaseControllerOptions {
  client: KubeClient;
  /** The controller's own namespace, whose objects are released when it is deleted (runtime/teardown.ts). */
  teardown?: NamespaceTeardown;
  releases: Informer;
  charts: Informer;
  /** The OCIRepository cache, for chartRef of kind OCIRepository. */
  ociRepositories?: Informer;
  /** The ExternalArtifact cache, for chartRef of kind ExternalArtifact (Flux's ExternalArtifact gate). */
  externalArtifacts?: Informer;
  artifacts: ArtifactResolver;
  /** Runs the Helm actions (the Helm SDK in the helm-driver process). */
  helm: HelmDriver;
  /** Path of the kustomize binary (post-renderers). */
  kustomize: () => Promise<string>;
  events: EventRecorder;
  metrics: Metrics;
  log: Logger;
  /** Scratch space for post-renderers. */
  workDir: string;
  noCrossNamespaceRefs?: boolean;
  /** Flux's AdditiveCELDependencyCheck gate: a dependency with a readyExpr must be Ready too. */
  additiveCelDependencyCheck?: boolean;
  defaultServiceAccount?: string;
  /** Service account whose token a kubeConfig.configMapRef without serviceAccountName uses (Flux's --default-kubeconfig-service-account). */
  defaultKubeConfigServiceAccount?: string;
  requeueDependencyMs?: number;
}
