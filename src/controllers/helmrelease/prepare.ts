// What a reconcile settles before any Helm action: its dependencies are
// ready, its chart source (the HelmChart made from spec.chart, or the
// chartRef) has a current artifact, the chart is loaded, the values composed,
// the target cluster chosen, and the desired release decided (with the
// failure counters reset when any of it changed). Kept apart from the action
// loop because none of it depends on the release's state in Helm's storage.
import { createHash } from 'node:crypto';
import { readReleases } from '../../helm/release.ts';
import { canonicalJson, composeValues, configDigest, valuesChecksum, type Values } from '../../helm/values.ts';
import { findCondition } from '../../kube/object.ts';
import { CustomHealth } from '../../health/cel.ts';
import { invalidReadyExpr, unmetDependency } from '../../runtime/dependencies.ts';
import { CelExpressionError } from '../../util/cel.ts';
import { readSecret } from '../../runtime/secrets.ts';
import { chartRoot, readChartMetadata, type ChartMetadata } from '../../source/helm/chart.ts';
import type { HelmChart } from '../../api/helmchart.ts';
import { chartWithOciVersion } from '../../source/helm/ocisource.ts';
import { uninstall } from './actions/uninstall.ts';
import { StepFailure, type PreparedContext, type ReleaseContext, type Target } from './context.ts';
import { FORCE_AT, HR_NAME_LABEL, HR_NAMESPACE_LABEL, ownedBy, releaseNameOf, REQUESTED_AT, RESET_AT } from './object.ts';
import { Reason } from './reasons.ts';

/** Flux's prefix for configuration errors no retry can fix. */
const TERMINAL = 'Reconciliation failed terminally due to configuration error';

/**
 * Throws, stalled, when a CEL expression of the spec (healthCheckExprs,
 * dependsOn[].readyExpr) does not compile: found before any Helm action,
 * rather than as a wait that never ends.
 */
export function checkExpressions(cx: ReleaseContext): void {
  try {
    CustomHealth.compile(cx.spec.healthCheckExprs);
    const bad = invalidReadyExpr(cx.spec.dependsOn);
    if (bad) throw bad;
  } catch (err) {
    if (err instanceof CelExpressionError) throw new StepFailure(Reason.InvalidCELExpression, `${TERMINAL}: ${err.message}`, true);
    throw err;
  }
}

/** Throws when a HelmRelease of spec.dependsOn is not ready (or may not be depended on). */
export function checkDependencies(cx: ReleaseContext): void {
  const unmet = unmetDependency(cx.obj, cx.spec.dependsOn, cx.o.releases, {
    noCrossNamespaceRefs: cx.o.noCrossNamespaceRefs,
    additiveCelDependencyCheck: cx.o.additiveCelDependencyCheck,
  });
  if (!unmet) return;
  const dep = `${unmet.namespace}/${unmet.name}`;
  if (unmet.problem === 'crossNamespace') {
    throw new StepFailure(Reason.DependencyNotReady, `cannot depend on HelmRelease '${dep}': cross-namespace references are disabled`, true);
  }
  if (unmet.problem === 'invalidExpr') throw new StepFailure(Reason.InvalidCELExpression, `${TERMINAL}: ${unmet.detail}`, true);
  const why = unmet.detail?.startsWith('failed') ? unmet.detail : `dependency '${dep}' ${unmet.detail ?? 'is not ready'}`;
  throw new StepFailure(Reason.DependencyNotReady, why, false, cx.o.requeueDependencyMs ?? 5_000);
}

/** Makes (or adopts) the HelmChart and returns it once it has a current artifact. */
export async function chartSource(cx: ReleaseContext): Promise<HelmChart> {
  let chartNs: string;
  let chartName: string;
  if (cx.spec.chartRef) {
    const ref = cx.spec.chartRef;
    if (ref.kind === 'ExternalArtifact' && !cx.o.externalArtifacts) {
      throw new StepFailure(Reason.AccessDenied, `can't access '${ref.kind}/${ref.namespace ?? cx.ns}/${ref.name}', ExternalArtifact feature gate is disabled`, true);
    }
    if (ref.kind !== 'HelmChart' && ref.kind !== 'ExternalArtifact' && !(ref.kind === 'OCIRepository' && cx.o.ociRepositories)) {
      throw new StepFailure(Reason.ArtifactFailed, `chartRef of kind ${ref.kind} is not supported by Sluice (HelmChart, OCIRepository and ExternalArtifact are)`, true);
    }
    chartNs = ref.namespace ?? cx.ns;
    chartName = ref.name;
    if (cx.prev.helmChart) {
      // Switched from a chart template: the HelmChart made for it goes.
      await cx.ctl.deleteChart(cx.prev.helmChart);
      delete cx.status.helmChart;
    }
  } else if (cx.spec.chart?.spec) {
    const t = cx.spec.chart;
    chartNs = t.spec.sourceRef.namespace ?? cx.ns;
    chartName = `${cx.ns}-${cx.name}`;
    if (cx.o.noCrossNamespaceRefs && chartNs !== cx.ns) {
      throw new StepFailure(Reason.ArtifactFailed, `cannot access ${t.spec.sourceRef.kind}/${chartNs}/${t.spec.sourceRef.name}: cross-namespace references are disabled`, true);
    }
    const id = `${chartNs}/${chartName}`;
    if (cx.prev.helmChart && cx.prev.helmChart !== id) await cx.ctl.deleteChart(cx.prev.helmChart);
    await ensureHelmChart(cx, chartNs, chartName);
    cx.status.helmChart = id;
  } else {
    throw new StepFailure(Reason.InitFailed, 'either chart or chartRef must be set', true);
  }
  const kind = cx.spec.chartRef?.kind === 'OCIRepository' || cx.spec.chartRef?.kind === 'ExternalArtifact' ? cx.spec.chartRef.kind : 'HelmChart';
  if (cx.o.noCrossNamespaceRefs && cx.spec.chartRef && chartNs !== cx.ns) {
    throw new StepFailure(Reason.ArtifactFailed, `cannot access ${kind}/${chartNs}/${chartName}: cross-namespace references are disabled`, true);
  }
  const informer = kind === 'OCIRepository' ? cx.o.ociRepositories! : kind === 'ExternalArtifact' ? cx.o.externalArtifacts! : cx.o.charts;
  const hc = informer.get(chartNs, chartName) as HelmChart | undefined;
  if (!hc) throw new StepFailure(Reason.ArtifactFailed, `could not get Source object: ${kind} '${chartNs}/${chartName}' not found`, false, 5_000);
  const ready = findCondition(hc, 'Ready');
  // An ExternalArtifact's producer need not write observedGeneration or a Ready condition: an artifact, and no Ready=False, is enough.
  const external = kind === 'ExternalArtifact';
  const current = external || hc.status?.observedGeneration === hc.metadata.generation;
  if (external && hc.status?.artifact && ready?.status !== 'False') return hc;
  if (!hc.status?.artifact || !current || ready?.status !== 'True') {
    const why = !current ? 'reconciliation in progress' : ready?.message ?? 'no artifact yet';
    throw new StepFailure(Reason.SourceNotReady, `${kind} '${chartNs}/${chartName}' is not ready: ${why}`, false, cx.interval);
  }
  return hc;
}

/** Creates or updates the HelmChart of the chart template, as helm-controller does. */
async function ensureHelmChart(cx: ReleaseContext, chartNs: string, chartName: string): Promise<void> {
  const t = cx.spec.chart!;
  const spec: Record<string, unknown> = {
    chart: t.spec.chart,
    version: t.spec.version ?? '*',
    sourceRef: { kind: t.spec.sourceRef.kind, name: t.spec.sourceRef.name },
    interval: t.spec.interval ?? cx.spec.interval,
    reconcileStrategy: t.spec.reconcileStrategy ?? 'ChartVersion',
  };
  if (t.spec.valuesFiles?.length) spec.valuesFiles = t.spec.valuesFiles;
  if (t.spec.valuesFile) spec.valuesFile = t.spec.valuesFile;
  if (t.spec.ignoreMissingValuesFiles) spec.ignoreMissingValuesFiles = true;
  if (t.spec.verify) spec.verify = t.spec.verify;
  const labels = { ...(t.metadata?.labels ?? {}), [HR_NAME_LABEL]: cx.name, [HR_NAMESPACE_LABEL]: cx.ns };
  const annotations = t.metadata?.annotations;
  const existing = cx.o.charts.get(chartNs, chartName) as HelmChart | undefined;
  const body = {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'HelmChart',
    metadata: { name: chartName, namespace: chartNs, labels, ...(annotations ? { annotations } : {}) },
    spec,
  };
  const base = `/apis/source.toolkit.fluxcd.io/v1/namespaces/${chartNs}/helmcharts`;
  if (!existing) {
    try {
      await cx.o.client.request({ method: 'POST', path: base, body });
      await cx.o.events.record(cx.obj, 'Normal', 'HelmChartCreated', `Created HelmChart/${chartNs}/${chartName} with SourceRef '${t.spec.sourceRef.kind}/${chartNs}/${t.spec.sourceRef.name}'`);
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
  await cx.o.client.request({
    method: 'PUT',
    path: `${base}/${chartName}`,
    body: { ...body, metadata: { ...existing.metadata, labels: { ...(existing.metadata.labels ?? {}), ...labels }, ...(annotations ? { annotations } : {}) } },
  });
  await cx.o.events.record(cx.obj, 'Normal', 'HelmChartConfigured', `Updated HelmChart/${chartNs}/${chartName} with SourceRef '${t.spec.sourceRef.kind}/${chartNs}/${t.spec.sourceRef.name}'`);
}

/**
 * Loads the chart, composes the values, picks the target and decides the
 * desired release; a release whose name or namespace changed is uninstalled
 * first, as in Flux. Returns the context the actions work on.
 */
export async function prepare(cx: ReleaseContext, hc: HelmChart): Promise<PreparedContext> {
  const artifact = hc.status!.artifact!;
  let chartDir: string;
  let chart: ChartMetadata;
  let ociDigest: string | undefined;
  try {
    chartDir = await chartRoot(await cx.o.artifacts.resolve(artifact));
    chart = await readChartMetadata(chartDir);
    // From an OCIRepository, as in helm-controller: the digest goes into the chart version.
    if (cx.spec.chartRef?.kind === 'OCIRepository') ({ chartDir, chart, ociDigest } = await chartWithOciVersion(chartDir, chart, artifact.revision, cx.o.workDir));
  } catch (err) {
    throw new StepFailure(Reason.ArtifactFailed, `Could not load chart: ${(err as Error).message}`);
  }
  let values: Values;
  try {
    // Flux's schema takes any JSON here, and Flux then reads a list or a
    // string as no values at all; Sluice says so instead.
    const inline: unknown = cx.spec.values;
    if (inline !== undefined && inline !== null && (typeof inline !== 'object' || Array.isArray(inline))) {
      throw new Error(`spec.values must be a map of values, not ${Array.isArray(inline) ? 'a list' : `a ${typeof inline}`}: the chart's values are keys and their values`);
    }
    values = await composeValues(cx.ns, cx.spec.values as Values | undefined, cx.spec.valuesFrom ?? [], async (kind, n) => {
      if (kind === 'Secret') {
        const s = await readSecret(cx.o.client, cx.ns, n);
        return s && Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, v.toString('utf8')]));
      }
      const o = await cx.o.client.getOrUndefined<{ data?: Record<string, string> }>(`/api/v1/namespaces/${cx.ns}/configmaps/${n}`);
      return o && (o.data ?? {});
    });
  } catch (err) {
    throw new StepFailure(Reason.ValuesError, (err as Error).message);
  }
  let target: Target;
  try {
    target = await cx.ctl.targetFor(cx.obj);
  } catch (err) {
    if (err instanceof StepFailure) throw err;
    throw new StepFailure(Reason.InitFailed, `could not prepare the target cluster: ${(err as Error).message}`);
  }
  const releaseNamespace = cx.spec.targetNamespace ?? cx.ns;
  // As in Flux: helm's storage is in the HelmRelease's namespace unless storageNamespace says otherwise.
  const storageNamespace = cx.spec.storageNamespace ?? cx.ns;
  const digest = configDigest(values);
  const revision = ociDigest ? chart.version : artifact.revision;
  if (ociDigest) cx.status.lastAttemptedRevisionDigest = ociDigest;
  else delete cx.status.lastAttemptedRevisionDigest;
  const { postRenderDigest, commonMetadataDigest } = renderDigests(cx.spec);
  const annotations = cx.obj.metadata.annotations;
  const forceAt = annotations?.[FORCE_AT];
  const force = !!forceAt && forceAt === annotations?.[REQUESTED_AT] && forceAt !== cx.prev.lastHandledForceAt;
  const resetAt = annotations?.[RESET_AT];
  const reset = !!resetAt && resetAt === annotations?.[REQUESTED_AT] && resetAt !== cx.prev.lastHandledResetAt;
  if (reset) cx.status.lastHandledResetAt = resetAt;
  // A new configuration, new values or a new chart start with fresh failure counters.
  if (reset || cx.prev.lastAttemptedRevision !== revision || cx.prev.lastAttemptedConfigDigest !== digest || cx.prev.lastAttemptedGeneration !== cx.generation) {
    cx.status.failures = 0;
    cx.status.installFailures = 0;
    cx.status.upgradeFailures = 0;
    cx.conds.delete('Stalled');
    cx.retryNow = true;
  }
  if (force) cx.retryNow = true;
  cx.status.lastAttemptedRevision = revision;
  cx.status.lastAttemptedConfigDigest = digest;
  cx.status.lastAttemptedValuesChecksum = valuesChecksum(values);
  cx.status.lastAttemptedGeneration = cx.generation;
  cx.status.storageNamespace = storageNamespace;
  const px: PreparedContext = Object.assign(cx, {
    target,
    desired: {
      releaseName: releaseNameOf(cx.obj),
      releaseNamespace,
      storageNamespace,
      chartDir,
      chart,
      revision,
      values,
      configDigest: digest,
      postRenderDigest,
      commonMetadataDigest,
      ociDigest,
      force,
    },
  });
  px.eventAnnotations = { 'helm.toolkit.fluxcd.io/revision': revision, ...(chart.appVersion ? { 'helm.toolkit.fluxcd.io/app-version': String(chart.appVersion) } : {}) };
  // A release name or namespace change: the old release goes first, as in Flux.
  const last = cx.prev.history?.[0];
  const lastStorage = cx.prev.storageNamespace ?? last?.namespace;
  if (last && lastStorage && (last.name !== px.desired.releaseName || last.namespace !== releaseNamespace || lastStorage !== storageNamespace)) {
    const old = await readReleases(target.client, lastStorage, last.name).catch(() => []);
    const cur = old[old.length - 1];
    if (cur && ownedBy(cur, cx.ns, cx.name) !== false) await uninstall(px, cur, lastStorage, 'release name or namespace changed');
    cx.status.history = [];
    cx.ours.clear();
  }
  return px;
}

/** sha256 of canonical JSON; undefined for a field that is not set (Flux records a digest only for what is there). */
function digestOf(v: unknown): string | undefined {
  return v === undefined ? undefined : `sha256:${createHash('sha256').update(canonicalJson(v)).digest('hex')}`;
}

/** The digests of the post-renderers and of the common metadata, kept apart as Flux keeps them. */
export function renderDigests(spec: ReleaseContext['spec']): { postRenderDigest?: string; commonMetadataDigest?: string } {
  return { postRenderDigest: digestOf(spec.postRenderers), commonMetadataDigest: digestOf(spec.commonMetadata) };
}

/**
 * The single digest earlier Sluice versions recorded in
 * observedPostRenderersDigest for both: a release it stands for is in sync,
 * so moving to the two digests upgrades nothing.
 */
export function legacyRenderDigest(spec: ReleaseContext['spec']): string {
  return `sha256:${createHash('sha256').update(canonicalJson({ p: spec.postRenderers ?? [], m: spec.commonMetadata ?? {} })).digest('hex')}`;
}

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}
