// How Helm applies and waits for one action of a HelmRelease, with Flux
// 2.9's defaults for the Helm 4 SDK: server-side apply for installs, 'auto'
// (as the release it follows was applied) for upgrades and rollbacks, taking
// ownership of objects that exist already, post-renderers that get hooks
// too ('combined'), and the 'poller' wait. Pure functions of the spec, so
// the actions only pass on what these decide.
import type { HelmReleaseSpec } from '../../api/helmrelease.ts';
import type { HelmWait, SsaMode } from '../../helm/actions.ts';

type ActionSpec = { disableWait?: boolean; disableWaitForJobs?: boolean };

let helm3Defaults = false;

/**
 * Flux's UseHelm3Defaults gate, for the whole process as in helm-controller:
 * unset fields take Helm 3's defaults (client-side apply for installs, the
 * legacy wait, post-renderers without hooks). Explicit fields still win.
 */
export function useHelm3Defaults(on: boolean): void {
  helm3Defaults = on;
}

/** Who waits for the release's objects after an action, and for what. */
export interface WaitPlan {
  /** What the driver's Helm waits for (hooks always; the objects too with 'legacy'). */
  helm: Required<HelmWait>;
  /** The controller waits for the objects itself, with kstatus rules and its shared caches (the 'poller' strategy). */
  controllerWaits: boolean;
  /** Jobs must have completed (not with disableWaitForJobs). */
  jobs: boolean;
}

/**
 * Flux's 'poller' is kstatus polling, which the controller does itself
 * (shared watches for every release: Helm's own watcher would open watches
 * per action); 'legacy' is Helm 3's wait, run by Helm in the driver, as
 * Flux does. disableWait waits for hooks only.
 */
export function waitPlan(spec: HelmReleaseSpec, action: ActionSpec | undefined): WaitPlan {
  const jobs = !action?.disableWaitForJobs;
  if (action?.disableWait) return { helm: { waitStrategy: 'hookOnly', waitForJobs: false }, controllerWaits: false, jobs };
  if (spec.waitStrategy?.name === 'legacy' || (!spec.waitStrategy && helm3Defaults)) return { helm: { waitStrategy: 'legacy', waitForJobs: jobs }, controllerWaits: false, jobs };
  return { helm: { waitStrategy: 'hookOnly', waitForJobs: false }, controllerWaits: true, jobs };
}

/** Install: server-side apply unless serverSideApply is false. */
export function installSsa(spec: HelmReleaseSpec): boolean {
  return spec.install?.serverSideApply ?? !helm3Defaults;
}

/** Upgrade and rollback: Flux's enabled/disabled/auto as Helm's true/false/auto; 'auto' by default. */
export function ssaMode(mode: 'enabled' | 'disabled' | 'auto' | undefined): SsaMode {
  return mode === 'enabled' ? 'true' : mode === 'disabled' ? 'false' : 'auto';
}

/** Helm 4 takes ownership of objects that exist unless told not to (Flux's default). */
export function takeOwnership(action: { disableTakeOwnership?: boolean } | undefined): boolean {
  return !action?.disableTakeOwnership;
}

export function postRenderStrategy(spec: HelmReleaseSpec): 'combined' | 'separate' | 'nohooks' {
  return spec.postRenderStrategy ?? (helm3Defaults ? 'nohooks' : 'combined');
}

/** install.createNamespace counts only with a targetNamespace, as in Flux: otherwise the namespace is the HelmRelease's own, which exists. */
export function createNamespace(spec: HelmReleaseSpec): boolean | undefined {
  return spec.targetNamespace ? spec.install?.createNamespace : undefined;
}

/** persistentClient: false gives every action fresh API clients (discovery and OpenAPI read anew); true, the default, reuses them. */
export function freshClient(spec: HelmReleaseSpec): boolean | undefined {
  return spec.persistentClient === false ? true : undefined;
}
