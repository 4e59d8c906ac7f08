import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { HelmReleaseSpec, HelmReleaseStatus, Snapshot } from '../../api/helmrelease.ts';
import { ResourceManager } from '../../apply/manager.ts';
import { chartRoot, readChartMetadata, type ChartMetadata } from '../../source/helm/chart.ts';
import { chartWithOciVersion } from '../../source/helm/ocisource.ts';
import { installRelease, rollbackRelease, testRelease, uninstallRelease, upgradeRelease } from '../../helm/actions.ts';
import { HelmError, type HelmTarget } from '../../tools/helmcli.ts';
import type { HelmDriver } from '../../helm/driver.ts';
import { correctDrift, detectDrift } from '../../helm/drift.ts';
import { writePostRenderer } from '../../helm/postrender.ts';
import { isPending, manifestObjects, readReleases, releaseDigest, setReleaseStatus, testHooks, type HelmReleaseRecord } from '../../helm/release.ts';
import { canonicalJson, composeValues, configDigest, valuesChecksum, type Values } from '../../helm/values.ts';
import { waitForSet, type WaitRef } from '../../health/wait.ts';
import { SharedInformers } from '../../kube/informer.ts';
import { KubeClient } from '../../kube/client.ts';
import { Discovery } from '../../kube/discovery.ts';
import { isNotFound } from '../../kube/errors.ts';
import type { Informer } from '../../kube/informer.ts';
import { findCondition, objectId, type KubeObject } from '../../kube/object.ts';
import { Conditions, rfc3339 } from '../../runtime/conditions.ts';
import { formatDuration, parseDuration } from '../../util/duration.ts';
import type { Logger } from '../../util/log.ts';
import type { ArtifactResolver } from '../../runtime/artifacts.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import type { HelmChart } from '../../source/helm/helmchart.ts';
import type { Metrics } from '../../runtime/metrics.ts';
import type { ReconcileOutcome } from '../../runtime/queue.ts';
import { addFinalizer, patchStatus, removeFinalizer } from '../../runtime/status.ts';

export const HR_PLURAL = 'helmreleases';
const FINALIZER = 'finalizers.fluxcd.io';
const REQUESTED_AT = 'reconcile.fluxcd.io/requestedAt';
const FORCE_AT = 'reconcile.fluxcd.io/forceAt';
const RESET_AT = 'reconcile.fluxcd.io/resetAt';
export const HR_NAME_LABEL = 'helm.toolkit.fluxcd.io/name';
export const HR_NAMESPACE_LABEL = 'helm.toolkit.fluxcd.io/namespace';
const DEFAULT_TIMEOUT = 5 * 60_000;
const DEFAULT_MAX_HISTORY = 5;
const DEFAULT_RETRY_INTERVAL = 5 * 60_000;
/** Helm actions one reconcile may run before it requeues. */
const MAX_STEPS = 8;

export interface HelmReleaseObject extends KubeObject {
  spec: HelmReleaseSpec;
  status?: HelmReleaseStatus;
}

/** Flux's reasons for HelmRelease conditions. */
export const Reason = {
  InstallSucceeded: 'InstallSucceeded',
  InstallFailed: 'InstallFailed',
  UpgradeSucceeded: 'UpgradeSucceeded',
  UpgradeFailed: 'UpgradeFailed',
  TestSucceeded: 'TestSucceeded',
  TestFailed: 'TestFailed',
  RollbackSucceeded: 'RollbackSucceeded',
  RollbackFailed: 'RollbackFailed',
  UninstallSucceeded: 'UninstallSucceeded',
  UninstallFailed: 'UninstallFailed',
  ArtifactFailed: 'ArtifactFailed',
  InitFailed: 'InitFailed',
  GetLastReleaseFailed: 'GetLastReleaseFailed',
  DependencyNotReady: 'DependencyNotReady',
  SourceNotReady: 'SourceNotReady',
  ValuesError: 'ValuesError',
  PostRendererError: 'PostRendererError',
  RetriesExceeded: 'RetriesExceeded',
  PendingRelease: 'PendingRelease',
  Progressing: 'Progressing',
  DriftDetected: 'DriftDetected',
  NoDriftDetected: 'NoDriftDetected',
  /** Sluice's own: the Helm release of this name belongs to something else. */
  ReleaseOwnershipConflict: 'ReleaseOwnershipConflict',
} as const;

export interface HelmReleaseControllerOptions {
  client: KubeClient;
  releases: Informer;
  charts: Informer;
  /** The OCIRepository cache, for chartRef of kind OCIRepository. */
  ociRepositories?: Informer;
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
  defaultServiceAccount?: string;
  requeueDependencyMs?: number;
}

interface Target {
  client: KubeClient;
  helm: HelmTarget;
  discovery: Discovery;
  rm: ResourceManager;
  /** Shared caches for health checks: a thousand releases waiting share one watch per resource. */
  informers: SharedInformers;
}

function makeTarget(client: KubeClient, helm: HelmTarget): Target {
  return { client, helm, discovery: new Discovery(client), rm: new ResourceManager(client), informers: new SharedInformers(client) };
}

/** Everything one reconcile has decided about the desired release. */
interface Desired {
  releaseName: string;
  releaseNamespace: string;
  storageNamespace: string;
  chartDir: string;
  chart: ChartMetadata;
  /** The chart artifact's revision (chart version, or version+commit). */
  revision: string;
  values: Values;
  configDigest: string;
  postRenderDigest: string;
  force: boolean;
}

interface Outcome {
  /** Terminal: no more actions in this reconcile. */
  done: boolean;
  requeueAfterMs?: number;
  error?: string;
  stalled?: boolean;
}

class StepFailure extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly stalled = false,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/**
 * Reconciles HelmReleases with the real helm CLI, as helm-controller does:
 * it makes the HelmChart from the chart template, composes the values,
 * then looks at the release in Helm's storage and runs the action its state
 * calls for (install, upgrade, test, rollback or uninstall as remediation,
 * unlocking a release stuck in a pending state), waits for the release's
 * objects to become ready, corrects or reports drift, and writes status
 * (conditions, history snapshots, failure counters) and events as Flux does.
 */
export class HelmReleaseController {
  readonly kind = 'HelmRelease';
  private readonly targets = new Map<string, { target: Target; version?: string }>();
  private localKubeconfig: string | undefined;

  constructor(private readonly o: HelmReleaseControllerOptions) {}

  /** Keys of HelmReleases whose chart is the given HelmChart. */
  dependentsOfChart(namespace: string, name: string): string[] {
    const id = `${namespace}/${name}`;
    return this.o.releases
      .list()
      .filter((r) => {
        const hr = r as HelmReleaseObject;
        if (hr.spec?.chartRef?.kind === 'HelmChart') return `${hr.spec.chartRef.namespace ?? hr.metadata.namespace}/${hr.spec.chartRef.name}` === id;
        return hr.status?.helmChart === id || (hr.spec?.chart && this.chartObjectName(hr).join('/') === id);
      })
      .map(keyOf);
  }

  /** Keys of HelmReleases that depend on the given one. */
  dependentsOf(namespace: string, name: string): string[] {
    return this.o.releases
      .list()
      .filter((r) => ((r as HelmReleaseObject).spec?.dependsOn ?? []).some((d) => d.name === name && (d.namespace ?? r.metadata.namespace) === namespace))
      .map(keyOf);
  }

  /** Keys of HelmReleases that take values from the given ConfigMap or Secret. */
  dependentsOfValues(kind: string, namespace: string, name: string): string[] {
    return this.o.releases
      .list(namespace)
      .filter((r) => ((r as HelmReleaseObject).spec?.valuesFrom ?? []).some((v) => v.kind === kind && v.name === name))
      .map(keyOf);
  }

  private chartObjectName(hr: HelmReleaseObject): [string, string] {
    return [hr.spec.chart?.spec.sourceRef.namespace ?? hr.metadata.namespace!, `${hr.metadata.namespace}-${hr.metadata.name}`];
  }

  /** Stops the health watches and lets the helm driver finish what it is doing. */
  async stop(): Promise<void> {
    for (const { target } of this.targets.values()) target.informers.stop();
    await this.o.helm.stop();
  }

  async reconcile(key: string, signal: AbortSignal): Promise<ReconcileOutcome> {
    const [namespace, name] = key.split('/') as [string, string];
    const obj = this.o.releases.get(namespace, name) as HelmReleaseObject | undefined;
    if (!obj) {
      this.o.metrics.forget(this.kind, namespace, name);
      return {};
    }
    const log = this.o.log.with({ controller: 'helmrelease', namespace, name });
    if (obj.metadata.deletionTimestamp) return this.finalize(obj, log);
    await addFinalizer(this.o.client, obj, HR_PLURAL, FINALIZER);
    this.o.metrics.suspended.set({ kind: this.kind, namespace, name }, obj.spec.suspend ? 1 : 0);
    if (obj.spec.suspend) return {};
    return new Reconciliation(this, this.o, obj, log, signal).run();
  }

  /** Client, helm target and apply engine for a HelmRelease (its service account, its kubeconfig). */
  async targetFor(obj: HelmReleaseObject): Promise<Target> {
    const ns = obj.metadata.namespace!;
    let base: { client: KubeClient; kubeconfig: string };
    let baseKey = 'local';
    let version: string | undefined;
    const ref = obj.spec.kubeConfig?.secretRef;
    if (ref) {
      const secret = await this.o.client.getOrUndefined<{ data?: Record<string, string>; metadata: { resourceVersion: string } }>(
        `/api/v1/namespaces/${ns}/secrets/${ref.name}`,
      );
      if (!secret) throw new StepFailure(Reason.InitFailed, `could not get kubeconfig Secret '${ns}/${ref.name}': not found`);
      const k = ref.key ?? (secret.data?.value ? 'value' : 'value.yaml');
      const data = secret.data?.[k];
      if (!data) throw new StepFailure(Reason.InitFailed, `kubeconfig Secret '${ns}/${ref.name}' has no key '${k}'`);
      baseKey = `remote/${ns}/${ref.name}`;
      version = secret.metadata.resourceVersion;
      const kubeconfig = Buffer.from(data, 'base64').toString('utf8');
      const cached = this.targets.get(baseKey);
      if (cached && cached.version === version) base = { client: cached.target.client, kubeconfig: cached.target.helm.kubeconfig };
      else {
        const client = await KubeClient.fromString(kubeconfig);
        this.targets.get(baseKey)?.target.informers.stop();
        this.targets.set(baseKey, { target: makeTarget(client, { kubeconfig }), version });
        base = { client, kubeconfig };
      }
    } else {
      this.localKubeconfig ??= this.o.client.exportKubeconfig();
      base = { client: this.o.client, kubeconfig: this.localKubeconfig };
    }
    const sa = obj.spec.serviceAccountName ?? this.o.defaultServiceAccount;
    const key = sa ? `${baseKey}/sa/${ns}/${sa}` : baseKey;
    const hit = this.targets.get(key);
    if (hit && hit.version === version) return hit.target;
    let target: Target;
    if (sa) {
      // The API server adds the service account's groups itself; naming them
      // would need `impersonate` on groups, which could reach system:masters.
      const who = { user: `system:serviceaccount:${ns}:${sa}` };
      const client = base.client.impersonate(who);
      target = makeTarget(client, { kubeconfig: base.kubeconfig, asUser: who.user });
    } else {
      target = makeTarget(base.client, { kubeconfig: base.kubeconfig });
    }
    hit?.target.informers.stop();
    this.targets.set(key, { target, version });
    return target;
  }

  /** Deletion: uninstall the release (unless suspended), remove the HelmChart made for it, drop the finalizer. */
  private async finalize(obj: HelmReleaseObject, log: Logger): Promise<ReconcileOutcome> {
    const ns = obj.metadata.namespace!;
    const name = obj.metadata.name!;
    const last = obj.status?.history?.[0];
    if (!obj.spec.suspend && last) {
      try {
        const target = await this.targetFor(obj);
        const storageNs = obj.status?.storageNamespace ?? last.namespace;
        const stored = await readReleases(target.client, storageNs, last.name).catch((err) => {
          if (isNotFound(err)) return [];
          throw err;
        });
        const cur = stored[stored.length - 1];
        if (cur && ownedBy(cur, ns, name) !== false) {
          const u = obj.spec.uninstall ?? {};
          await uninstallRelease(this.o.helm, {
            target: target.helm,
            name: cur.name,
            namespace: cur.namespace,
            storageNamespace: storageNs,
            timeoutMs: durationOr(u.timeout, durationOr(obj.spec.timeout, DEFAULT_TIMEOUT)),
            keepHistory: u.keepHistory,
            noHooks: u.disableHooks,
            wait: !u.disableWait,
            cascade: u.deletionPropagation,
          });
          await this.o.events.record(obj, 'Normal', Reason.UninstallSucceeded, `Helm uninstall succeeded for release ${last.namespace}/${cur.name}.v${cur.version} with chart ${cur.chart?.metadata.name}@${cur.chart?.metadata.version}`);
        }
      } catch (err) {
        log.error('uninstall on deletion failed', { error: (err as Error).message });
        await this.o.events.record(obj, 'Warning', Reason.UninstallFailed, (err as Error).message);
        return { error: err };
      }
    }
    if (obj.spec.chart && obj.status?.helmChart) await this.deleteChart(obj.status.helmChart);
    await removeFinalizer(this.o.client, obj, HR_PLURAL, FINALIZER).catch((err) => {
      if (!isNotFound(err)) throw err;
    });
    this.o.metrics.forget(this.kind, ns, name);
    return {};
  }

  async deleteChart(id: string): Promise<void> {
    const [ns, name] = id.split('/') as [string, string];
    await this.o.client.request({ method: 'DELETE', path: `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns}/helmcharts/${name}` }).catch((err) => {
      if (!isNotFound(err)) throw err;
    });
  }
}

/** One reconcile of one HelmRelease. */
class Reconciliation {
  private readonly ns: string;
  private readonly name: string;
  private readonly generation: number;
  private readonly prev: HelmReleaseStatus;
  private readonly status: HelmReleaseStatus;
  private readonly conds: Conditions;
  private readonly started = Date.now();
  private readonly interval: number;
  private readonly timeout: number;
  private target!: Target;
  private desired!: Desired;
  /** Release versions this HelmRelease made (its history, plus this reconcile's actions). */
  private readonly ours = new Set<number>();
  private readonly hooksByVersion = new Map<number, Snapshot['testHooks']>();
  /** A revision this reconcile unlocked from a pending state (an interrupted run). */
  private unlocked: number | undefined;
  /**
   * The desired state changed since the last attempt, or a reconcile (or a
   * force) was requested: a RetryOnFailure retry need not wait its interval.
   */
  private retryNow = false;
  private eventAnnotations: Record<string, string> = {};
  /**
   * Helm's storage as the last step read it, kept only when that step found
   * the release in sync and so wrote nothing to storage: the history in the
   * status can be made from it without reading storage a second time, which
   * halves the LISTs of a steady reconcile.
   */
  private storedInSync: HelmReleaseRecord[] | undefined;

  constructor(
    private readonly ctl: HelmReleaseController,
    private readonly o: HelmReleaseControllerOptions,
    private readonly obj: HelmReleaseObject,
    private readonly log: Logger,
    private readonly signal: AbortSignal,
  ) {
    this.ns = obj.metadata.namespace!;
    this.name = obj.metadata.name!;
    this.generation = obj.metadata.generation ?? 0;
    this.prev = obj.status ?? {};
    this.status = structuredClone(this.prev);
    this.conds = new Conditions(this.prev.conditions as never, this.generation, rfc3339(new Date()));
    this.interval = parseDuration(obj.spec.interval);
    this.timeout = durationOr(obj.spec.timeout, DEFAULT_TIMEOUT);
    for (const s of this.prev.history ?? []) {
      this.ours.add(s.version);
      if (s.testHooks) this.hooksByVersion.set(s.version, s.testHooks);
    }
  }

  private get spec(): HelmReleaseSpec {
    return this.obj.spec;
  }

  async run(): Promise<ReconcileOutcome> {
    const requested = this.obj.metadata.annotations?.[REQUESTED_AT];
    if (requested) {
      if (requested !== this.prev.lastHandledReconcileAt) this.retryNow = true;
      this.status.lastHandledReconcileAt = requested;
    }
    // Any other stall is found again below if it still applies; retries exhausted stay until the spec changes.
    if (this.conds.get('Stalled')?.reason !== Reason.RetriesExceeded) this.conds.delete('Stalled');
    try {
      await this.checkDependencies();
      const chart = await this.chartSource();
      await this.prepare(chart);
      for (let step = 0; step < MAX_STEPS; step++) {
        if (this.signal.aborted) return this.finish({ done: true, error: 'reconcile interrupted' });
        const out = await this.step();
        if (out.done) return this.finish(out);
      }
      return this.finish({ done: true, requeueAfterMs: 1_000 });
    } catch (err) {
      if (err instanceof StepFailure) {
        this.conds.set('Ready', 'False', err.reason, err.message);
        // Terminal until the spec changes: say so, as Flux does for errors no retry can fix.
        if (err.stalled) this.conds.set('Stalled', 'True', err.reason, err.message);
        return this.finish({ done: true, error: err.message, stalled: err.stalled, requeueAfterMs: err.retryAfterMs });
      }
      const message = (err as Error).message;
      this.conds.set('Ready', 'False', 'ReconciliationFailed', message);
      return this.finish({ done: true, error: message });
    }
  }

  // ---- preparation --------------------------------------------------------

  private async checkDependencies(): Promise<void> {
    for (const dep of this.spec.dependsOn ?? []) {
      const depNs = dep.namespace ?? this.ns;
      if (this.o.noCrossNamespaceRefs && depNs !== this.ns) {
        throw new StepFailure(Reason.DependencyNotReady, `cannot depend on HelmRelease '${depNs}/${dep.name}': cross-namespace references are disabled`, true);
      }
      const d = this.o.releases.get(depNs, dep.name);
      const ready = findCondition(d, 'Ready');
      if (!d || ready?.status !== 'True' || (d.status?.observedGeneration as number | undefined) !== d.metadata.generation) {
        const delay = this.o.requeueDependencyMs ?? 5_000;
        throw new StepFailure(
          Reason.DependencyNotReady,
          `dependency '${depNs}/${dep.name}' is not ready`,
          false,
          delay,
        );
      }
    }
  }

  /** Makes (or adopts) the HelmChart and returns it once it has a current artifact. */
  private async chartSource(): Promise<HelmChart> {
    let chartNs: string;
    let chartName: string;
    if (this.spec.chartRef) {
      const ref = this.spec.chartRef;
      if (ref.kind !== 'HelmChart' && !(ref.kind === 'OCIRepository' && this.o.ociRepositories)) {
        throw new StepFailure(Reason.ArtifactFailed, `chartRef of kind ${ref.kind} is not supported by Sluice (HelmChart and OCIRepository are)`, true);
      }
      chartNs = ref.namespace ?? this.ns;
      chartName = ref.name;
      if (this.prev.helmChart) {
        // Switched from a chart template: the HelmChart made for it goes.
        await this.ctl.deleteChart(this.prev.helmChart);
        delete this.status.helmChart;
      }
    } else if (this.spec.chart?.spec) {
      const t = this.spec.chart;
      chartNs = t.spec.sourceRef.namespace ?? this.ns;
      chartName = `${this.ns}-${this.name}`;
      if (this.o.noCrossNamespaceRefs && chartNs !== this.ns) {
        throw new StepFailure(Reason.ArtifactFailed, `cannot access ${t.spec.sourceRef.kind}/${chartNs}/${t.spec.sourceRef.name}: cross-namespace references are disabled`, true);
      }
      const id = `${chartNs}/${chartName}`;
      if (this.prev.helmChart && this.prev.helmChart !== id) await this.ctl.deleteChart(this.prev.helmChart);
      await this.ensureHelmChart(chartNs, chartName);
      this.status.helmChart = id;
    } else {
      throw new StepFailure(Reason.InitFailed, 'either chart or chartRef must be set', true);
    }
    const kind = this.spec.chartRef?.kind === 'OCIRepository' ? 'OCIRepository' : 'HelmChart';
    if (this.o.noCrossNamespaceRefs && this.spec.chartRef && chartNs !== this.ns) {
      throw new StepFailure(Reason.ArtifactFailed, `cannot access ${kind}/${chartNs}/${chartName}: cross-namespace references are disabled`, true);
    }
    const informer = kind === 'OCIRepository' ? this.o.ociRepositories! : this.o.charts;
    const hc = informer.get(chartNs, chartName) as HelmChart | undefined;
    if (!hc) throw new StepFailure(Reason.ArtifactFailed, `could not get Source object: ${kind} '${chartNs}/${chartName}' not found`, false, 5_000);
    const ready = findCondition(hc, 'Ready');
    const current = hc.status?.observedGeneration === hc.metadata.generation;
    if (!hc.status?.artifact || !current || ready?.status !== 'True') {
      const why = !current ? 'reconciliation in progress' : ready?.message ?? 'no artifact yet';
      throw new StepFailure(Reason.SourceNotReady, `${kind} '${chartNs}/${chartName}' is not ready: ${why}`, false, this.interval);
    }
    return hc;
  }

  /** Creates or updates the HelmChart of the chart template, as helm-controller does. */
  private async ensureHelmChart(chartNs: string, chartName: string): Promise<void> {
    const t = this.spec.chart!;
    const spec: Record<string, unknown> = {
      chart: t.spec.chart,
      version: t.spec.version ?? '*',
      sourceRef: { kind: t.spec.sourceRef.kind, name: t.spec.sourceRef.name },
      interval: t.spec.interval ?? this.spec.interval,
      reconcileStrategy: t.spec.reconcileStrategy ?? 'ChartVersion',
    };
    if (t.spec.valuesFiles?.length) spec.valuesFiles = t.spec.valuesFiles;
    if (t.spec.valuesFile) spec.valuesFile = t.spec.valuesFile;
    if (t.spec.ignoreMissingValuesFiles) spec.ignoreMissingValuesFiles = true;
    if (t.spec.verify) spec.verify = t.spec.verify;
    const labels = { ...(t.metadata?.labels ?? {}), [HR_NAME_LABEL]: this.name, [HR_NAMESPACE_LABEL]: this.ns };
    const annotations = t.metadata?.annotations;
    const existing = this.o.charts.get(chartNs, chartName) as HelmChart | undefined;
    const body = {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'HelmChart',
      metadata: { name: chartName, namespace: chartNs, labels, ...(annotations ? { annotations } : {}) },
      spec,
    };
    const base = `/apis/source.toolkit.fluxcd.io/v1/namespaces/${chartNs}/helmcharts`;
    if (!existing) {
      try {
        await this.o.client.request({ method: 'POST', path: base, body });
        await this.o.events.record(this.obj, 'Normal', 'HelmChartCreated', `Created HelmChart/${chartNs}/${chartName} with SourceRef '${t.spec.sourceRef.kind}/${chartNs}/${t.spec.sourceRef.name}'`);
      } catch (err) {
        if ((err as { status?: number }).status !== 409) throw new StepFailure(Reason.ArtifactFailed, `could not create HelmChart '${chartNs}/${chartName}': ${(err as Error).message}`);
      }
      return;
    }
    const same =
      canonicalJson(pick(existing.spec as Record<string, unknown>, Object.keys(spec))) === canonicalJson(spec) &&
      !existing.spec.valuesFiles === !spec.valuesFiles &&
      Object.entries(labels).every(([k, v]) => existing.metadata.labels?.[k] === v);
    if (same) return;
    await this.o.client.request({
      method: 'PUT',
      path: `${base}/${chartName}`,
      body: { ...body, metadata: { ...existing.metadata, labels: { ...(existing.metadata.labels ?? {}), ...labels }, ...(annotations ? { annotations } : {}) } },
    });
    await this.o.events.record(this.obj, 'Normal', 'HelmChartConfigured', `Updated HelmChart/${chartNs}/${chartName} with SourceRef '${t.spec.sourceRef.kind}/${chartNs}/${t.spec.sourceRef.name}'`);
  }

  private async prepare(hc: HelmChart): Promise<void> {
    const artifact = hc.status!.artifact!;
    let chartDir: string;
    let chart: ChartMetadata;
    let ociDigest: string | undefined;
    try {
      chartDir = await chartRoot(await this.o.artifacts.resolve(artifact));
      chart = await readChartMetadata(chartDir);
      // From an OCIRepository, as in helm-controller: the digest goes into the chart version.
      if (this.spec.chartRef?.kind === 'OCIRepository') ({ chartDir, chart, ociDigest } = await chartWithOciVersion(chartDir, chart, artifact.revision, this.o.workDir));
    } catch (err) {
      throw new StepFailure(Reason.ArtifactFailed, `Could not load chart: ${(err as Error).message}`);
    }
    let values: Values;
    try {
      values = await composeValues(this.ns, this.spec.values as Values | undefined, (this.spec.valuesFrom ?? []) as never, async (kind, n) => {
        const path = `/api/v1/namespaces/${this.ns}/${kind === 'Secret' ? 'secrets' : 'configmaps'}/${n}`;
        const o = await this.o.client.getOrUndefined<{ data?: Record<string, string> }>(path);
        if (!o) return undefined;
        return kind === 'Secret' ? Object.fromEntries(Object.entries(o.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])) : (o.data ?? {});
      });
    } catch (err) {
      throw new StepFailure(Reason.ValuesError, (err as Error).message);
    }
    try {
      this.target = await this.ctl.targetFor(this.obj);
    } catch (err) {
      if (err instanceof StepFailure) throw err;
      throw new StepFailure(Reason.InitFailed, `could not prepare the target cluster: ${(err as Error).message}`);
    }
    const releaseNamespace = this.spec.targetNamespace ?? this.ns;
    // As in Flux: helm's storage is in the HelmRelease's namespace unless storageNamespace says otherwise.
    const storageNamespace = this.spec.storageNamespace ?? this.ns;
    const digest = configDigest(values);
    const revision = ociDigest ? chart.version : artifact.revision;
    if (ociDigest) this.status.lastAttemptedRevisionDigest = ociDigest;
    else delete this.status.lastAttemptedRevisionDigest;
    const postRenderDigest = `sha256:${createHash('sha256').update(canonicalJson({ p: this.spec.postRenderers ?? [], m: this.spec.commonMetadata ?? {} })).digest('hex')}`;
    const forceAt = this.obj.metadata.annotations?.[FORCE_AT];
    const force = !!forceAt && forceAt === this.obj.metadata.annotations?.[REQUESTED_AT] && forceAt !== this.prev.lastHandledForceAt;
    const resetAt = this.obj.metadata.annotations?.[RESET_AT];
    const reset = !!resetAt && resetAt === this.obj.metadata.annotations?.[REQUESTED_AT] && resetAt !== this.prev.lastHandledResetAt;
    if (reset) this.status.lastHandledResetAt = resetAt;
    // A new configuration, new values or a new chart start with fresh failure counters.
    if (
      reset ||
      this.prev.lastAttemptedRevision !== revision ||
      this.prev.lastAttemptedConfigDigest !== digest ||
      this.prev.lastAttemptedGeneration !== this.generation
    ) {
      this.status.failures = 0;
      this.status.installFailures = 0;
      this.status.upgradeFailures = 0;
      this.conds.delete('Stalled');
      this.retryNow = true;
    }
    if (force) this.retryNow = true;
    this.status.lastAttemptedRevision = revision;
    this.status.lastAttemptedConfigDigest = digest;
    this.status.lastAttemptedValuesChecksum = valuesChecksum(values);
    this.status.lastAttemptedGeneration = this.generation;
    this.status.storageNamespace = storageNamespace;
    this.desired = {
      releaseName: releaseNameOf(this.obj),
      releaseNamespace,
      storageNamespace,
      chartDir,
      chart,
      revision,
      values,
      configDigest: digest,
      postRenderDigest,
      force,
    };
    this.eventAnnotations = { 'helm.toolkit.fluxcd.io/revision': revision, ...(chart.appVersion ? { 'helm.toolkit.fluxcd.io/app-version': String(chart.appVersion) } : {}) };
    // A release name or namespace change: the old release goes first, as in Flux.
    const last = this.prev.history?.[0];
    const lastStorage = this.prev.storageNamespace ?? last?.namespace;
    if (last && lastStorage && (last.name !== this.desired.releaseName || last.namespace !== releaseNamespace || lastStorage !== storageNamespace)) {
      const old = await readReleases(this.target.client, lastStorage, last.name).catch(() => []);
      const cur = old[old.length - 1];
      if (cur && ownedBy(cur, this.ns, this.name) !== false) await this.uninstall(cur, lastStorage, 'release name or namespace changed');
      this.status.history = [];
      this.ours.clear();
    }
  }

  // ---- the action loop ----------------------------------------------------

  private async step(): Promise<Outcome> {
    const d = this.desired;
    this.storedInSync = undefined;
    let stored: HelmReleaseRecord[];
    try {
      stored = await readReleases(this.target.client, d.storageNamespace, d.releaseName);
    } catch (err) {
      throw new StepFailure(Reason.GetLastReleaseFailed, `could not read the release from Helm storage: ${(err as Error).message}`);
    }
    const cur = stored[stored.length - 1];
    const action = this.status.lastAttemptedReleaseAction;

    if (cur && ownedBy(cur, this.ns, this.name) === false) {
      const owner = `${cur.labels?.[HR_NAMESPACE_LABEL]}/${cur.labels?.[HR_NAME_LABEL]}`;
      throw new StepFailure(
        Reason.ReleaseOwnershipConflict,
        `Helm release ${d.releaseNamespace}/${d.releaseName} belongs to HelmRelease '${owner}'; set a different releaseName`,
        false,
        this.interval,
      );
    }
    if (cur && !this.ours.has(cur.version) && cur.chart?.metadata.name !== d.chart.name && !ownedBy(cur, this.ns, this.name)) {
      throw new StepFailure(
        Reason.ReleaseOwnershipConflict,
        `Helm release ${d.releaseNamespace}/${d.releaseName} was not made by this HelmRelease (chart ${cur.chart?.metadata.name}@${cur.chart?.metadata.version}); set a different releaseName`,
        false,
        this.interval,
      );
    }

    if (!cur || cur.info.status === 'uninstalled') {
      if (this.retryOnFailure('install')) return this.waitBeforeRetry('install') ?? this.install();
      if (action === 'install' && exhausted(this.spec.install?.remediation, this.status.installFailures)) return this.stall('install');
      return this.install();
    }
    if (isPending(cur.info.status)) return this.unlock(cur);

    const failedTests = this.testsFailed(cur);
    if (cur.info.status === 'failed' || failedTests) return this.failed(cur, stored);

    // Deployed (or superseded by nothing newer: treat as deployed).
    if (cur.chart?.metadata.name !== d.chart.name && this.ours.has(cur.version) && this.spec.upgrade?.chartNameChangeStrategy !== 'InPlaceUpdate') {
      await this.uninstall(cur, d.storageNamespace, `chart name changed from ${cur.chart?.metadata.name} to ${d.chart.name}`);
      return { done: false };
    }
    const outOfSync =
      !this.ours.has(cur.version) ||
      cur.chart?.metadata.version !== d.chart.version ||
      configDigest((cur.config ?? {}) as Values) !== d.configDigest ||
      (this.status.observedPostRenderersDigest !== undefined && this.status.observedPostRenderersDigest !== d.postRenderDigest) ||
      (this.status.observedPostRenderersDigest === undefined && (this.spec.postRenderers?.length ?? 0) > 0) ||
      d.force;
    if (outOfSync) {
      if (this.retryOnFailure('upgrade')) return this.waitBeforeRetry('upgrade') ?? this.upgrade(cur);
      if (action === 'upgrade' && exhausted(this.spec.upgrade?.remediation, this.status.upgradeFailures)) return this.stall('upgrade');
      if (action === 'install' && exhausted(this.spec.install?.remediation, this.status.installFailures) && this.ours.has(cur.version)) {
        return this.stall('install');
      }
      return this.upgrade(cur);
    }
    if (this.spec.test?.enable && !this.hooksByVersion.has(cur.version)) return this.test(cur);
    this.storedInSync = stored;
    return this.inSync(cur);
  }

  private testsFailed(cur: HelmReleaseRecord): boolean {
    const hooks = this.hooksByVersion.get(cur.version);
    if (!this.spec.test?.enable || !hooks) return false;
    if (!Object.values(hooks).some((h) => h.phase === 'Failed')) return false;
    return !this.ignoreTestFailures();
  }

  private ignoreTestFailures(): boolean {
    const action = this.status.lastAttemptedReleaseAction;
    const rem = action === 'install' ? this.spec.install?.remediation : this.spec.upgrade?.remediation;
    return rem?.ignoreTestFailures ?? this.spec.test?.ignoreFailures ?? false;
  }

  private chartLabel(): string {
    return `${this.desired.chart.name}@${this.desired.chart.version}`;
  }

  private fullName(rel: { version: number }): string {
    return `${this.desired.releaseNamespace}/${this.desired.releaseName}.v${rel.version}`;
  }

  private progressing(message: string): Promise<void> {
    this.conds.set('Reconciling', 'True', Reason.Progressing, message);
    if (!this.conds.get('Ready') || this.conds.get('Ready')!.status !== 'True') this.conds.set('Ready', 'Unknown', Reason.Progressing, message);
    this.status.conditions = this.conds.toArray() as never;
    return patchStatus(this.o.client, this.obj, HR_PLURAL, this.status as Record<string, unknown>).then(() => undefined, () => undefined);
  }

  /** Labels on the release itself, so another HelmRelease cannot take it by accident. */
  private releaseLabels(): Record<string, string> {
    return { [HR_NAME_LABEL]: this.name, [HR_NAMESPACE_LABEL]: this.ns };
  }

  private async withPostRenderer<T>(fn: (pr: Awaited<ReturnType<typeof writePostRenderer>>) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(join(this.o.workDir, 'pr-'));
    try {
      let pr;
      try {
        pr = await writePostRenderer({
          kustomize: await this.o.kustomize(),
          dir,
          postRenderers: (this.spec.postRenderers ?? []) as never,
          labels: { ...(this.spec.commonMetadata?.labels ?? {}), ...this.releaseLabels() },
          annotations: this.spec.commonMetadata?.annotations,
        });
      } catch (err) {
        throw new StepFailure(Reason.PostRendererError, `could not build the post-renderers: ${(err as Error).message}`);
      }
      return await fn(pr);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Applies the chart's crds/ for the CreateReplace policy (and Create on upgrade), which helm itself does not do. */
  private async applyCrds(policy: 'Skip' | 'Create' | 'CreateReplace', createOnly: boolean): Promise<void> {
    if (policy === 'Skip') return;
    const dir = join(this.desired.chartDir, 'crds');
    const files = await readdir(dir).catch(() => [] as string[]);
    const objects: KubeObject[] = [];
    for (const f of files.filter((f) => /\.(ya?ml|json)$/.test(f)).sort()) {
      for (const doc of parseAllDocuments(await readFile(join(dir, f), 'utf8'))) {
        const v = doc.toJSON() as KubeObject | null;
        if (v?.kind === 'CustomResourceDefinition') objects.push(v);
      }
    }
    if (!objects.length) return;
    let todo = objects;
    if (createOnly) {
      const missing: KubeObject[] = [];
      for (const o of objects) {
        const live = await this.target.client.getOrUndefined(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${o.metadata.name}`);
        if (!live) missing.push(o);
      }
      todo = missing;
    }
    if (todo.length) await this.target.rm.apply(todo, { fieldManager: 'helm-controller' });
  }

  private async install(): Promise<Outcome> {
    const d = this.desired;
    const i = this.spec.install ?? {};
    const timeout = durationOr(i.timeout, this.timeout);
    const crds = i.crds ?? (i.skipCRDs ? 'Skip' : 'Create');
    this.status.lastAttemptedReleaseAction = 'install';
    await this.progressing(`Running 'install' action with timeout of ${formatDuration(timeout)}`);
    const t0 = Date.now();
    try {
      if (crds === 'CreateReplace') await this.applyCrds('CreateReplace', false);
      const rel = await this.withPostRenderer((pr) =>
        installRelease(this.o.helm, {
          target: this.target.helm,
          name: d.releaseName,
          namespace: d.releaseNamespace,
          storageNamespace: d.storageNamespace,
          chart: d.chartDir,
          values: d.values,
          timeoutMs: timeout,
          createNamespace: i.createNamespace,
          skipCrds: crds !== 'Create',
          noHooks: i.disableHooks,
          replace: i.replace,
          disableOpenAPIValidation: i.disableOpenAPIValidation,
          skipSchemaValidation: i.disableSchemaValidation,
          takeOwnership: i.disableTakeOwnership === false ? false : undefined,
          postRenderer: pr,
          labels: this.releaseLabels(),
          signal: this.signal,
        }),
      );
      this.ours.add(rel.version);
      if (!i.disableWait) await this.waitHealthy(rel, timeout - (Date.now() - t0), 'Install');
      this.status.lastAttemptedReleaseActionDuration = formatDuration(Date.now() - t0);
      return this.released('install', rel);
    } catch (err) {
      this.status.lastAttemptedReleaseActionDuration = formatDuration(Date.now() - t0);
      if (err instanceof StepFailure && err.reason === Reason.PostRendererError) throw err;
      await this.noteNewVersions();
      const retry = this.retryOnFailure('install');
      if (!retry) this.status.installFailures = (this.status.installFailures ?? 0) + 1;
      this.status.failures = (this.status.failures ?? 0) + 1;
      const msg = `Helm install failed for release ${d.releaseNamespace}/${d.releaseName} with chart ${this.chartLabel()}: ${errMessage(err)}`;
      this.conds.set('Released', 'False', Reason.InstallFailed, msg);
      this.conds.set('Ready', 'False', Reason.InstallFailed, msg);
      await this.o.events.record(this.obj, 'Warning', Reason.InstallFailed, msg, this.eventAnnotations);
      return retry ? this.retryLater(retry) : { done: false };
    }
  }

  /** `governing`: whose strategy a failure falls under; a retried failed install is an upgrade governed by the install strategy. */
  private async upgrade(cur: HelmReleaseRecord, governing: 'install' | 'upgrade' = 'upgrade'): Promise<Outcome> {
    const d = this.desired;
    const u = this.spec.upgrade ?? {};
    const timeout = durationOr(u.timeout, this.timeout);
    this.status.lastAttemptedReleaseAction = 'upgrade';
    await this.progressing(`Running 'upgrade' action with timeout of ${formatDuration(timeout)}`);
    const forced = d.force;
    if (forced) this.status.lastHandledForceAt = this.obj.metadata.annotations?.[FORCE_AT];
    d.force = false;
    const t0 = Date.now();
    try {
      const crds = u.crds ?? 'Skip';
      if (crds !== 'Skip') await this.applyCrds(crds, crds === 'Create');
      const rel = await this.withPostRenderer((pr) =>
        upgradeRelease(this.o.helm, {
          target: this.target.helm,
          name: d.releaseName,
          namespace: d.releaseNamespace,
          storageNamespace: d.storageNamespace,
          chart: d.chartDir,
          values: d.values,
          timeoutMs: timeout,
          historyMax: this.spec.maxHistory ?? DEFAULT_MAX_HISTORY,
          reuseValues: u.preserveValues,
          force: u.force || forced,
          cleanupOnFail: u.cleanupOnFail,
          noHooks: u.disableHooks,
          disableOpenAPIValidation: u.disableOpenAPIValidation,
          skipSchemaValidation: u.disableSchemaValidation,
          postRenderer: pr,
          labels: this.releaseLabels(),
          signal: this.signal,
        }),
      );
      this.ours.add(rel.version);
      if (!u.disableWait) await this.waitHealthy(rel, timeout - (Date.now() - t0), 'Upgrade');
      this.status.lastAttemptedReleaseActionDuration = formatDuration(Date.now() - t0);
      return this.released('upgrade', rel);
    } catch (err) {
      this.status.lastAttemptedReleaseActionDuration = formatDuration(Date.now() - t0);
      if (err instanceof StepFailure && err.reason === Reason.PostRendererError) throw err;
      await this.noteNewVersions(cur.version);
      const retry = this.retryOnFailure(governing);
      if (!retry) this.status.upgradeFailures = (this.status.upgradeFailures ?? 0) + 1;
      this.status.failures = (this.status.failures ?? 0) + 1;
      const msg = `Helm upgrade failed for release ${d.releaseNamespace}/${d.releaseName} with chart ${this.chartLabel()}: ${errMessage(err)}`;
      this.conds.set('Released', 'False', Reason.UpgradeFailed, msg);
      this.conds.set('Ready', 'False', Reason.UpgradeFailed, msg);
      await this.o.events.record(this.obj, 'Warning', Reason.UpgradeFailed, msg, this.eventAnnotations);
      return retry ? this.retryLater(retry) : { done: false };
    }
  }

  /** Revisions helm recorded for a failed action of ours (helm writes them before it fails). */
  private async noteNewVersions(after = 0): Promise<void> {
    const stored = await readReleases(this.target.client, this.desired.storageNamespace, this.desired.releaseName).catch(() => []);
    const known = Math.max(after, ...this.ours, 0);
    for (const r of stored) if (r.version > known) this.ours.add(r.version);
  }

  /**
   * After helm reports success, the release's objects must become ready
   * (kstatus rules, src/health). If they do not, the revision is marked
   * failed in Helm's storage, as `helm --wait` would have done.
   */
  private async waitHealthy(rel: HelmReleaseRecord, timeoutMs: number, verb: string): Promise<void> {
    const refs = await this.waitRefs(rel);
    if (!refs.length) return;
    const res = await waitForSet(this.target.client, this.target.discovery, refs, {
      timeoutMs: Math.max(timeoutMs, 1_000),
      signal: this.signal,
      informers: this.target.informers,
    });
    if (res.ok) return;
    const detail = res.notReady.map((o) => `${o.subject} status: '${o.result.status}': ${o.result.message}`).join(', ');
    const why = res.timedOut ? `timeout waiting for: [${detail}]` : `[${detail}]`;
    const stored = await readReleases(this.target.client, this.desired.storageNamespace, rel.name);
    const latest = stored.find((r) => r.version === rel.version);
    if (latest) await setReleaseStatus(this.target.client, this.desired.storageNamespace, latest, 'failed', `${verb} "${rel.name}" failed: ${why}`);
    throw new StepFailure(verb === 'Install' ? Reason.InstallFailed : Reason.UpgradeFailed, why);
  }

  private async waitRefs(rel: HelmReleaseRecord): Promise<WaitRef[]> {
    const refs: WaitRef[] = [];
    for (const o of manifestObjects(rel.manifest)) {
      const m = await this.target.discovery.mapping(o.apiVersion, o.kind);
      refs.push({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name!, namespace: m?.namespaced ? (o.metadata.namespace ?? rel.namespace) : undefined });
    }
    return refs;
  }

  private async released(action: 'install' | 'upgrade', rel: HelmReleaseRecord): Promise<Outcome> {
    const d = this.desired;
    const reason = action === 'install' ? Reason.InstallSucceeded : Reason.UpgradeSucceeded;
    const msg = `Helm ${action} succeeded for release ${this.fullName(rel)} with chart ${this.chartLabel()}`;
    this.conds.set('Released', 'True', reason, msg);
    this.conds.set('Ready', 'True', reason, msg);
    this.conds.delete('Remediated');
    this.conds.delete('TestSuccess');
    this.status.observedPostRenderersDigest = d.postRenderDigest;
    this.status.lastAppliedRevision = d.revision;
    this.status.lastReleaseRevision = rel.version;
    await this.o.events.record(this.obj, 'Normal', reason, msg, this.eventAnnotations);
    return { done: false };
  }

  private async test(cur: HelmReleaseRecord): Promise<Outcome> {
    const t = this.spec.test ?? {};
    const timeout = durationOr(t.timeout, this.timeout);
    await this.progressing(`Running 'test' action with timeout of ${formatDuration(timeout)}`);
    let failure: string | undefined;
    try {
      await testRelease(this.o.helm, { target: this.target.helm, name: cur.name, namespace: cur.namespace, storageNamespace: this.desired.storageNamespace, timeoutMs: timeout, filters: t.filters, signal: this.signal });
    } catch (err) {
      failure = errMessage(err);
    }
    const stored = await readReleases(this.target.client, this.desired.storageNamespace, cur.name);
    const after = stored.find((r) => r.version === cur.version) ?? cur;
    const hooks: NonNullable<Snapshot['testHooks']> = {};
    for (const h of testHooks(after)) {
      hooks[h.name] = { lastStarted: goTime(h.last_run?.started_at), lastCompleted: goTime(h.last_run?.completed_at), phase: h.last_run?.phase || undefined };
    }
    this.hooksByVersion.set(cur.version, hooks);
    const n = Object.keys(hooks).length;
    if (!failure) {
      const msg = `Helm test succeeded for release ${this.fullName(cur)} with chart ${this.chartLabel()}: ${n ? `${n} test hooks completed successfully` : 'no test hooks'}`;
      this.conds.set('TestSuccess', 'True', Reason.TestSucceeded, msg);
      this.conds.set('Ready', 'True', Reason.TestSucceeded, msg);
      await this.o.events.record(this.obj, 'Normal', Reason.TestSucceeded, msg, this.eventAnnotations);
      return { done: false };
    }
    const msg = `Helm test failed for release ${this.fullName(cur)} with chart ${this.chartLabel()}: ${failure}`;
    this.conds.set('TestSuccess', 'False', Reason.TestFailed, msg);
    await this.o.events.record(this.obj, 'Warning', Reason.TestFailed, msg, this.eventAnnotations);
    if (this.ignoreTestFailures()) {
      this.conds.set('Ready', 'True', this.conds.get('Released')?.reason ?? Reason.TestFailed, this.conds.get('Released')?.message ?? msg);
      return { done: false };
    }
    // A failed test is a failed release: it counts against the action that made it.
    this.status.failures = (this.status.failures ?? 0) + 1;
    this.conds.set('Ready', 'False', Reason.TestFailed, msg);
    const retry = this.retryOnFailure(governingAction(cur, stored));
    if (retry) return this.retryLater(retry);
    if (this.status.lastAttemptedReleaseAction === 'install') this.status.installFailures = (this.status.installFailures ?? 0) + 1;
    else this.status.upgradeFailures = (this.status.upgradeFailures ?? 0) + 1;
    return { done: false };
  }

  /** A release stuck in pending-* (an interrupted run) is marked failed, as Flux's unlock does. */
  private async unlock(cur: HelmReleaseRecord): Promise<Outcome> {
    const from = cur.info.status;
    await setReleaseStatus(this.target.client, this.desired.storageNamespace, cur, 'failed', `Release unlocked from stale '${from}' state`);
    const msg = `Unlocked Helm release ${this.fullName(cur)} with chart ${cur.chart?.metadata.name}@${cur.chart?.metadata.version} in '${from}' state`;
    this.conds.set('Released', 'False', Reason.PendingRelease, msg);
    this.conds.set('Ready', 'False', Reason.PendingRelease, msg);
    await this.o.events.record(this.obj, 'Warning', Reason.PendingRelease, msg, this.eventAnnotations);
    this.ours.add(cur.version);
    this.unlocked = cur.version;
    return { done: false };
  }

  /** The latest release failed (or its tests did): remediate, retry, or stop when retries are exhausted. */
  private async failed(cur: HelmReleaseRecord, stored: HelmReleaseRecord[]): Promise<Outcome> {
    let action = this.status.lastAttemptedReleaseAction;
    if (this.unlocked === cur.version) {
      // An interrupted run: what it was follows from the revisions before it.
      action = governingAction(cur, stored);
    }
    if (!action || !this.ours.has(cur.version)) return this.upgrade(cur);
    const governing = governingAction(cur, stored);
    if (this.retryOnFailure(governing)) return this.waitBeforeRetry(governing) ?? this.upgrade(cur, governing);
    const rem = action === 'install' ? this.spec.install?.remediation : this.spec.upgrade?.remediation;
    const failures = (action === 'install' ? this.status.installFailures : this.status.upgradeFailures) ?? 0;
    const isExhausted = exhausted(rem, failures);
    const remediateLast = rem?.remediateLastFailure ?? (action === 'upgrade' ? (rem?.retries ?? 0) > 0 : false);
    if (isExhausted && !remediateLast) return this.stall(action);
    const strategy = action === 'install' ? 'uninstall' : (this.spec.upgrade?.remediation?.strategy ?? 'rollback');
    const ok = strategy === 'rollback' ? await this.rollback(cur, stored) : await this.uninstall(cur, this.desired.storageNamespace, 'remediation');
    if (!ok) return { done: true, error: this.conds.get('Ready')?.message };
    if (isExhausted) return this.stall(action);
    return { done: false };
  }

  private async rollback(cur: HelmReleaseRecord, stored: HelmReleaseRecord[]): Promise<boolean> {
    const prev = [...stored].reverse().find((r) => r.version < cur.version && (r.info.status === 'superseded' || r.info.status === 'deployed'));
    if (!prev) {
      const msg = `cannot roll back release ${this.fullName(cur)}: no previous successful release`;
      this.conds.set('Remediated', 'False', Reason.RollbackFailed, msg);
      this.conds.set('Ready', 'False', Reason.RollbackFailed, msg);
      return false;
    }
    const r = this.spec.rollback ?? {};
    const timeout = durationOr(r.timeout, this.timeout);
    const label = `${prev.chart?.metadata.name}@${prev.chart?.metadata.version}`;
    await this.progressing(`Running 'rollback' action with timeout of ${formatDuration(timeout)}`);
    try {
      await rollbackRelease(this.o.helm, {
        target: this.target.helm,
        name: cur.name,
        namespace: cur.namespace,
        storageNamespace: this.desired.storageNamespace,
        revision: prev.version,
        timeoutMs: timeout,
        historyMax: this.spec.maxHistory ?? DEFAULT_MAX_HISTORY,
        force: r.force,
        cleanupOnFail: r.cleanupOnFail,
        noHooks: r.disableHooks,
        signal: this.signal,
      });
      const after = await readReleases(this.target.client, this.desired.storageNamespace, cur.name);
      const rel = after[after.length - 1]!;
      this.ours.add(rel.version);
      if (!r.disableWait) await this.waitHealthy(rel, timeout, 'Rollback');
      const msg = `Helm rollback to previous release ${this.fullName(prev)} with chart ${label} succeeded`;
      this.conds.set('Remediated', 'True', Reason.RollbackSucceeded, msg);
      this.conds.set('Ready', 'False', Reason.RollbackSucceeded, msg);
      await this.o.events.record(this.obj, 'Normal', Reason.RollbackSucceeded, msg, this.eventAnnotations);
      return true;
    } catch (err) {
      const msg = `Helm rollback to previous release ${this.fullName(prev)} with chart ${label} failed: ${errMessage(err)}`;
      this.conds.set('Remediated', 'True', Reason.RollbackFailed, msg);
      this.conds.set('Ready', 'False', Reason.RollbackFailed, msg);
      await this.o.events.record(this.obj, 'Warning', Reason.RollbackFailed, msg, this.eventAnnotations);
      return false;
    }
  }

  private async uninstall(cur: HelmReleaseRecord, storageNamespace: string, why: string): Promise<boolean> {
    const u = this.spec.uninstall ?? {};
    const timeout = durationOr(u.timeout, this.timeout);
    const label = `${cur.chart?.metadata.name}@${cur.chart?.metadata.version}`;
    const full = `${cur.namespace}/${cur.name}.v${cur.version}`;
    await this.progressing(`Running 'uninstall' action with timeout of ${formatDuration(timeout)} (${why})`);
    try {
      await uninstallRelease(this.o.helm, {
        target: this.target.helm,
        name: cur.name,
        namespace: cur.namespace,
        storageNamespace,
        timeoutMs: timeout,
        keepHistory: u.keepHistory,
        noHooks: u.disableHooks,
        wait: !u.disableWait,
        cascade: u.deletionPropagation,
        signal: this.signal,
      });
      const msg = `Helm uninstall succeeded for release ${full} with chart ${label}`;
      if (why === 'remediation') {
        this.conds.set('Remediated', 'True', Reason.UninstallSucceeded, msg);
        this.conds.set('Ready', 'False', Reason.UninstallSucceeded, msg);
      }
      await this.o.events.record(this.obj, 'Normal', Reason.UninstallSucceeded, msg, this.eventAnnotations);
      return true;
    } catch (err) {
      const msg = `Helm uninstall failed for release ${full} with chart ${label}: ${errMessage(err)}`;
      if (why === 'remediation') this.conds.set('Remediated', 'True', Reason.UninstallFailed, msg);
      this.conds.set('Ready', 'False', Reason.UninstallFailed, msg);
      await this.o.events.record(this.obj, 'Warning', Reason.UninstallFailed, msg, this.eventAnnotations);
      return false;
    }
  }

  /** The RetryOnFailure settings of an action, or undefined when its failures are remediated (RemediateOnFailure, the default). */
  private retryOnFailure(action: 'install' | 'upgrade'): { intervalMs: number } | undefined {
    const strategy = this.spec[action]?.strategy;
    if (strategy?.name !== 'RetryOnFailure') return undefined;
    return { intervalMs: durationOr(strategy.retryInterval, DEFAULT_RETRY_INTERVAL) };
  }

  /** RetryOnFailure: the failed release stays as it is; the next attempt comes after the retry interval, not the HelmRelease's. */
  private retryLater(retry: { intervalMs: number }): Outcome {
    const ready = this.conds.get('Ready')!;
    this.log.info('release action failed; retrying after the retry interval, without remediation', { retryInterval: formatDuration(retry.intervalMs) });
    return { done: true, error: ready.message, requeueAfterMs: retry.intervalMs };
  }

  /**
   * RetryOnFailure: when the last reconcile ended in a failed release action,
   * the retry waits until the retry interval has passed since that failure,
   * however often something else wakes this HelmRelease up; a new desired
   * state or a requested reconcile retries at once. The failure's time comes
   * from the cluster (Ready's transition and the action's duration), so a
   * restarted controller keeps the pace. Returns the waiting outcome, or
   * undefined when the retry may run now.
   */
  private waitBeforeRetry(action: 'install' | 'upgrade'): Outcome | undefined {
    const retry = this.retryOnFailure(action);
    if (!retry || this.retryNow) return undefined;
    const ready = this.conds.get('Ready');
    const failedAction = [Reason.InstallFailed, Reason.UpgradeFailed, Reason.TestFailed] as string[];
    if (ready?.status !== 'False' || !failedAction.includes(ready.reason) || !ready.lastTransitionTime) return undefined;
    const took = durationOr(this.status.lastAttemptedReleaseActionDuration, 0);
    const remaining = Date.parse(ready.lastTransitionTime) + took + retry.intervalMs - Date.now();
    if (!(remaining > 0)) return undefined;
    return { done: true, error: ready.message, requeueAfterMs: remaining };
  }

  private stall(action: 'install' | 'upgrade'): Outcome {
    const failures = (action === 'install' ? this.status.installFailures : this.status.upgradeFailures) ?? 0;
    const msg = `Failed to ${action} after ${failures} attempt(s)`;
    this.conds.set('Stalled', 'True', Reason.RetriesExceeded, msg);
    if (this.conds.get('Ready')?.status !== 'False') this.conds.set('Ready', 'False', Reason.RetriesExceeded, msg);
    return { done: true, stalled: true, error: this.conds.get('Ready')!.message };
  }

  /** Up to date: report Ready, then look for drift. */
  private async inSync(cur: HelmReleaseRecord): Promise<Outcome> {
    this.status.failures = 0;
    this.status.installFailures = 0;
    this.status.upgradeFailures = 0;
    this.conds.delete('Stalled');
    if (!this.conds.isTrue('Released') || this.conds.get('Released')?.message?.includes(`.v${cur.version} `) === false) {
      const how = cur.version === 1 ? 'install' : 'upgrade';
      const msg = `Helm ${how} succeeded for release ${this.fullName(cur)} with chart ${this.chartLabel()}`;
      this.conds.set('Released', 'True', how === 'install' ? Reason.InstallSucceeded : Reason.UpgradeSucceeded, msg);
    }
    if (!this.spec.test?.enable) this.conds.delete('TestSuccess');
    const summary = this.spec.test?.enable && this.conds.get('TestSuccess') ? this.conds.get('TestSuccess')! : this.conds.get('Released')!;
    if (summary.status === 'True') this.conds.set('Ready', 'True', summary.reason, summary.message);
    else this.conds.set('Ready', 'True', this.conds.get('Released')!.reason, this.conds.get('Released')!.message);
    this.status.observedPostRenderersDigest = this.desired.postRenderDigest;
    this.status.lastAppliedRevision = this.desired.revision;
    this.status.lastReleaseRevision = cur.version;
    this.status.inventory = { entries: await this.inventory(cur) } as never;
    await this.driftDetection(cur);
    return { done: true, requeueAfterMs: jitter(this.interval) };
  }

  private async inventory(cur: HelmReleaseRecord): Promise<Array<{ id: string; v: string }>> {
    const out: Array<{ id: string; v: string }> = [];
    for (const o of manifestObjects(cur.manifest)) {
      const m = await this.target.discovery.mapping(o.apiVersion, o.kind);
      const ns = m?.namespaced ? (o.metadata.namespace ?? cur.namespace) : undefined;
      out.push({ id: objectId({ ...o, metadata: { ...o.metadata, namespace: ns } }), v: o.apiVersion.split('/').pop()! });
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  private async driftDetection(cur: HelmReleaseRecord): Promise<void> {
    const mode = this.spec.driftDetection?.mode ?? 'disabled';
    if (mode === 'disabled') {
      this.conds.delete('Drifted');
      return;
    }
    const ignore = this.spec.driftDetection?.ignore ?? [];
    const report = await detectDrift(this.target.client, this.target.discovery, manifestObjects(cur.manifest), cur.namespace, ignore as never);
    for (const e of report.errors) this.log.error('drift detection could not compare an object', e);
    if (!report.drifted.length) {
      this.conds.set('Drifted', 'False', Reason.NoDriftDetected, `No drift detected for release ${this.fullName(cur)}`);
      return;
    }
    const lines = report.drifted.map((e) => (e.action === 'create' ? `${e.subject} removed` : `${e.subject} changed (${e.paths.join(', ')})`));
    this.log.debug('drift detected', { changes: lines });
    if (mode === 'warn') {
      const msg = `Cluster state of release ${this.fullName(cur)} (chart ${this.chartLabel()}) differs from the desired state:\n${lines.join('\n')}`;
      this.conds.set('Drifted', 'True', Reason.DriftDetected, msg);
      if (findCondition(this.obj, 'Drifted')?.message !== msg) await this.o.events.record(this.obj, 'Warning', Reason.DriftDetected, msg, this.eventAnnotations);
      return;
    }
    const results = await correctDrift(this.target.client, this.target.discovery, report, ignore as never);
    const failed = results.filter((r) => r.error);
    const summary = results.map((r) => `${r.subject} ${r.error ? `failed: ${r.error}` : r.action}`).join('\n');
    if (failed.length) {
      const msg = `Failed to partially correct cluster state of release ${this.fullName(cur)} with chart ${this.chartLabel()}:\n${summary}`;
      this.conds.set('Drifted', 'True', Reason.DriftDetected, msg);
      await this.o.events.record(this.obj, 'Warning', 'DriftCorrectionFailed', msg, this.eventAnnotations);
      return;
    }
    const msg = `Cluster state of release ${this.fullName(cur)} has been corrected:\n${summary}`;
    this.conds.set('Drifted', 'False', Reason.NoDriftDetected, msg);
    await this.o.events.record(this.obj, 'Normal', 'DriftCorrected', msg, this.eventAnnotations);
  }

  // ---- status -------------------------------------------------------------

  /** History snapshots of the releases this HelmRelease made, newest first, truncated as Flux does. */
  private async history(): Promise<Snapshot[] | undefined> {
    if (!this.desired) return this.status.history;
    const stored = this.storedInSync ?? (await readReleases(this.target.client, this.desired.storageNamespace, this.desired.releaseName).catch(() => undefined));
    if (!stored) return this.status.history;
    const byVersion = new Map((this.status.history ?? []).map((s) => [s.version, s]));
    const out: Snapshot[] = [];
    for (const v of [...this.ours].sort((a, b) => b - a)) {
      const rel = stored.find((r) => r.version === v);
      const old = byVersion.get(v);
      if (!rel) {
        if (old && old.namespace === this.desired.releaseNamespace && old.name === this.desired.releaseName) {
          out.push(old.status === 'uninstalled' ? old : { ...old, status: 'uninstalled', deleted: old.deleted ?? rfc3339(new Date()) });
        }
        continue;
      }
      const snap: Snapshot = {
        digest: releaseDigest(rel),
        name: rel.name,
        namespace: rel.namespace,
        version: rel.version,
        status: rel.info.status,
        chartName: rel.chart?.metadata.name ?? '',
        chartVersion: rel.chart?.metadata.version ?? '',
        ...(rel.chart?.metadata.appVersion ? { appVersion: String(rel.chart.metadata.appVersion) } : {}),
        configDigest: configDigest((rel.config ?? {}) as Values),
        firstDeployed: goTime(rel.info.first_deployed) ?? rfc3339(new Date()),
        lastDeployed: goTime(rel.info.last_deployed) ?? rfc3339(new Date()),
        ...(rel.info.deleted ? { deleted: goTime(rel.info.deleted) } : {}),
        ...(this.hooksByVersion.has(v) ? { testHooks: this.hooksByVersion.get(v) } : {}),
        ...(old?.action ? { action: old.action } : {}),
      };
      out.push(snap);
    }
    // Keep everything down to the previous successful release (Flux's Truncate).
    const ignoreTests = this.ignoreTestFailures();
    for (let i = 1; i < out.length; i++) {
      const s = out[i]!;
      if ((s.status === 'deployed' || s.status === 'superseded') && (ignoreTests || !Object.values(s.testHooks ?? {}).some((h) => h.phase === 'Failed'))) {
        return out.slice(0, i + 1);
      }
    }
    return out.slice(0, DEFAULT_MAX_HISTORY);
  }

  private async finish(out: Outcome): Promise<ReconcileOutcome> {
    try {
      this.status.history = await this.history();
    } catch (err) {
      this.log.error('could not read release history', { error: (err as Error).message });
    }
    if (out.error) {
      if (out.stalled) {
        this.conds.delete('Reconciling');
        this.status.observedGeneration = this.generation;
      } else {
        this.conds.set('Reconciling', 'True', 'ProgressingWithRetry', out.error);
      }
    } else {
      this.conds.delete('Reconciling');
      this.conds.delete('Stalled');
      this.status.observedGeneration = this.generation;
    }
    this.status.conditions = this.conds.toArray() as never;
    await patchStatus(this.o.client, this.obj, HR_PLURAL, this.status as Record<string, unknown>).catch((err) => {
      if (!isNotFound(err)) throw err;
    });
    this.o.metrics.recordCondition('HelmRelease', this.ns, this.name, 'Ready', this.conds.get('Ready')?.status);
    if (out.error) {
      const before = findCondition(this.obj, 'Ready');
      const ready = this.conds.get('Ready');
      if (ready && (before?.message !== ready.message || before?.reason !== ready.reason) && !isActionReason(ready.reason)) {
        await this.o.events.record(this.obj, 'Warning', ready.reason, ready.message, this.eventAnnotations);
      }
      this.log.error('reconciliation failed', { reason: ready?.reason, error: out.error });
      if (out.stalled) return {};
      return { requeueAfterMs: out.requeueAfterMs ?? this.interval };
    }
    this.log.debug('reconciled', { durationMs: Date.now() - this.started });
    return { requeueAfterMs: out.requeueAfterMs ?? jitter(this.interval) };
  }
}

function isActionReason(reason: string): boolean {
  return [
    Reason.InstallFailed,
    Reason.UpgradeFailed,
    Reason.TestFailed,
    Reason.RollbackSucceeded,
    Reason.RollbackFailed,
    Reason.UninstallSucceeded,
    Reason.UninstallFailed,
    Reason.PendingRelease,
  ].includes(reason as never);
}

/**
 * Which action's strategy a failed release falls under: a release that never
 * succeeded is still being installed (even when the retry ran helm upgrade),
 * one with an earlier successful revision is being upgraded.
 */
function governingAction(cur: HelmReleaseRecord, stored: HelmReleaseRecord[]): 'install' | 'upgrade' {
  return stored.some((r) => r.version < cur.version && (r.info.status === 'superseded' || r.info.status === 'deployed')) ? 'upgrade' : 'install';
}

/** Has the failure count passed the remediation's retries (negative retries: never)? */
function exhausted(rem: { retries?: number } | undefined, failures: number | undefined): boolean {
  const retries = rem?.retries ?? 0;
  return retries >= 0 && (failures ?? 0) > retries;
}

/** Does a stored release say which HelmRelease it belongs to, and is it this one? undefined: it says nothing. */
function ownedBy(rel: HelmReleaseRecord, namespace: string, name: string): boolean | undefined {
  const n = rel.labels?.[HR_NAME_LABEL];
  const ns = rel.labels?.[HR_NAMESPACE_LABEL];
  if (!n && !ns) return undefined;
  return n === name && ns === namespace;
}

/** Flux's release name: releaseName, or [<targetNamespace>-]<name>, hashed down to 53 characters. */
export function releaseNameOf(obj: HelmReleaseObject): string {
  if (obj.spec.releaseName) return obj.spec.releaseName;
  const name = obj.spec.targetNamespace ? `${obj.spec.targetNamespace}-${obj.metadata.name}` : obj.metadata.name!;
  if (name.length <= 53) return name;
  return `${name.slice(0, 40)}-${createHash('sha256').update(name).digest('hex').slice(0, 12)}`;
}

function durationOr(d: string | undefined, fallback: number): number {
  return d ? parseDuration(d) : fallback;
}

function errMessage(err: unknown): string {
  if (err instanceof HelmError) return err.message;
  return (err as Error).message ?? String(err);
}

/** Helm's timestamps have nanoseconds; Kubernetes wants RFC 3339 seconds. */
function goTime(t: string | undefined): string | undefined {
  if (!t || t.startsWith('0001-')) return undefined;
  const d = new Date(t.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(d.getTime()) ? undefined : rfc3339(d);
}

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}

function keyOf(o: KubeObject): string {
  return `${o.metadata.namespace}/${o.metadata.name}`;
}

function jitter(ms: number): number {
  return Math.round(ms * (1 + Math.random() * 0.05));
}
