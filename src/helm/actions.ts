import type { HelmTarget } from '../tools/helmcli.ts';
import type { HelmDriver } from './driver.ts';
import type { HelmReleaseRecord } from './release.ts';

// Helm release actions, run by the Helm SDK in the helm-driver process.
// Each request names the release namespace (where its objects go) and,
// apart from it, the storage namespace (where helm keeps its Secrets),
// as Flux's storageNamespace allows.

/** Helm waits (hooks, --wait) give up after timeoutMs; the driver call gets this much longer before it is cancelled. */
const CALL_GRACE_MS = 60_000;

interface ReleaseRef {
  target: HelmTarget;
  name: string;
  /** The release namespace. */
  namespace: string;
  /** Where the release is stored; the release namespace when unset. */
  storageNamespace?: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Fresh API clients for this action instead of the driver's cached ones (Flux's persistentClient: false). */
  freshClient?: boolean;
}

/**
 * How Helm itself waits for what it applied: 'hookOnly' (the driver's
 * default) waits for hooks alone, the controller then waiting for the
 * objects with its shared caches; 'legacy' is Helm 3's polling wait,
 * 'watcher' Helm 4's kstatus watches.
 */
export interface HelmWait {
  waitStrategy?: 'hookOnly' | 'legacy' | 'watcher';
  /** With a Helm wait: Jobs must complete. */
  waitForJobs?: boolean;
}

/** Server-side apply on upgrade and rollback: 'auto' does what the release it follows did (Helm 3 releases: client-side). */
export type SsaMode = 'true' | 'false' | 'auto';

export interface PostRendererRef {
  /** Executable helm runs with the rendered manifests on stdin. */
  path: string;
  args?: string[];
}

interface ChartAction extends ReleaseRef, HelmWait {
  /** Chart directory or .tgz. */
  chart: string;
  values: Record<string, unknown>;
  noHooks?: boolean;
  disableOpenAPIValidation?: boolean;
  skipSchemaValidation?: boolean;
  takeOwnership?: boolean;
  postRenderer?: PostRendererRef;
  /** What the post-renderer gets: templates and hooks together (combined, Helm 4's default), apart (separate), or templates only (nohooks, Helm 3's way). */
  postRenderStrategy?: 'combined' | 'separate' | 'nohooks';
  /** Labels stored on the release (its storage Secret). */
  labels?: Record<string, string>;
  description?: string;
  /** Render only, lookups answered by the cluster: nothing applied, no revision stored. */
  dryRun?: boolean;
}

export interface InstallRequest extends ChartAction {
  /** Server-side apply; on unless false, as in Helm 4. */
  serverSideApply?: boolean;
  createNamespace?: boolean;
  skipCrds?: boolean;
  replace?: boolean;
}

export interface UpgradeRequest extends ChartAction {
  /** Revisions helm keeps; 0 is unlimited. */
  historyMax: number;
  serverSideApply?: SsaMode;
  /** Reuse the last release's values and merge these over them (upgrade.preserveValues). */
  reuseValues?: boolean;
  force?: boolean;
  cleanupOnFail?: boolean;
}

export interface RollbackRequest extends ReleaseRef, HelmWait {
  /** Revision to roll back to; 0 is the previous one. */
  revision: number;
  historyMax: number;
  serverSideApply?: SsaMode;
  force?: boolean;
  cleanupOnFail?: boolean;
  noHooks?: boolean;
}

export interface UninstallRequest extends ReleaseRef {
  keepHistory?: boolean;
  noHooks?: boolean;
  /** Wait until the release's objects are gone (Helm's watcher, or its legacy poller with waitStrategy 'legacy'). */
  wait?: boolean;
  waitStrategy?: 'legacy' | 'watcher';
  cascade?: 'background' | 'foreground' | 'orphan';
}

export interface TestRequest extends ReleaseRef {
  /** Flux's test.filters: names to run (exclude false) or skip (exclude true). */
  filters?: Array<{ name: string; exclude?: boolean }>;
}

function call<T>(helm: HelmDriver, op: string, r: ReleaseRef): Promise<T> {
  const { signal, ...body } = r;
  return helm.call<T>(op, body, { timeoutMs: r.timeoutMs + CALL_GRACE_MS, signal });
}

/** Installs a release; returns it as helm stored it. */
export function installRelease(helm: HelmDriver, r: InstallRequest): Promise<HelmReleaseRecord> {
  return call(helm, 'install', r);
}

/** Upgrades an existing release (never installs); returns the new revision. */
export function upgradeRelease(helm: HelmDriver, r: UpgradeRequest): Promise<HelmReleaseRecord> {
  return call(helm, 'upgrade', r);
}

/** Makes a new revision with an old one's chart, values and manifest. */
export async function rollbackRelease(helm: HelmDriver, r: RollbackRequest): Promise<void> {
  await call(helm, 'rollback', r);
}

/** Uninstalls a release; one that is already gone is not an error. */
export async function uninstallRelease(helm: HelmDriver, r: UninstallRequest): Promise<void> {
  await call(helm, 'uninstall', r);
}

/** Runs the release's test hooks: resolves when every one passed, throws HelmError naming the failed one otherwise. */
export async function testRelease(helm: HelmDriver, r: TestRequest): Promise<void> {
  await call(helm, 'test', r);
}
