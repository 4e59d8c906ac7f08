// What the release-making actions share and Helm itself does not do for
// them: the post-renderer (kustomize patches, Flux's labels), the chart's
// CRDs for the CreateReplace policy, waiting for the release's objects to
// become ready, noting the revisions a failed action left behind, and the
// record of a successful install or upgrade. Actions import this file, never
// each other.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { PostRendererRef } from '../../../helm/actions.ts';
import { writePostRenderer } from '../../../helm/postrender.ts';
import { manifestObjects, readReleases, setReleaseStatus, type HelmReleaseRecord } from '../../../helm/release.ts';
import { CustomHealth } from '../../../health/cel.ts';
import { waitForSet, type WaitRef } from '../../../health/wait.ts';
import type { KubeObject } from '../../../kube/object.ts';
import { formatDuration } from '../../../util/duration.ts';
import { chartLabel, errMessage, fullName, StepFailure, type Outcome, type PreparedContext } from '../context.ts';
import { releaseLabels } from '../object.ts';
import { retryLater, retryOnFailure, type ReleaseAction } from '../policy.ts';
import { Reason } from '../reasons.ts';

/** Runs `fn` with the post-renderer of the spec written to a scratch directory, removed afterwards. */
export async function withPostRenderer<T>(cx: PreparedContext, fn: (pr: PostRendererRef | undefined) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(cx.o.workDir, 'pr-'));
  try {
    let pr;
    try {
      pr = await writePostRenderer({
        kustomize: await cx.o.kustomize(),
        dir,
        postRenderers: cx.spec.postRenderers ?? [],
        labels: { ...(cx.spec.commonMetadata?.labels ?? {}), ...releaseLabels(cx.ns, cx.name) },
        annotations: cx.spec.commonMetadata?.annotations,
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
export async function applyCrds(cx: PreparedContext, policy: 'Skip' | 'Create' | 'CreateReplace', createOnly: boolean): Promise<void> {
  if (policy === 'Skip') return;
  const dir = join(cx.desired.chartDir, 'crds');
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
      const live = await cx.target.client.getOrUndefined(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${o.metadata.name}`);
      if (!live) missing.push(o);
    }
    todo = missing;
  }
  if (todo.length) await cx.target.rm.apply(todo, { fieldManager: 'helm-controller' });
}

/** Revisions helm recorded for a failed action of ours (helm writes them before it fails). */
export async function noteNewVersions(cx: PreparedContext, after = 0, action?: 'install' | 'upgrade'): Promise<void> {
  const stored = await readReleases(cx.target.client, cx.desired.storageNamespace, cx.desired.releaseName).catch(() => []);
  const known = Math.max(after, ...cx.ours, 0);
  for (const r of stored) {
    if (r.version <= known) continue;
    cx.ours.add(r.version);
    if (action) cx.made.set(r.version, { action, ociDigest: cx.desired.ociDigest });
  }
}

/**
 * After helm reports success, the release's objects must become ready
 * (kstatus rules, src/health; spec.healthCheckExprs for the kinds it names):
 * Flux's 'poller' wait. If they do not, the revision is marked failed in
 * Helm's storage, as `helm --wait` would have done. Without `jobs`
 * (disableWaitForJobs), Jobs are not waited for.
 */
export async function waitHealthy(cx: PreparedContext, rel: HelmReleaseRecord, timeoutMs: number, verb: string, jobs = true): Promise<void> {
  const refs = (await waitRefs(cx, rel)).filter((r) => jobs || !(r.kind === 'Job' && r.apiVersion.startsWith('batch/')));
  if (!refs.length) return;
  const res = await waitForSet(cx.target.client, cx.target.discovery, refs, {
    timeoutMs: Math.max(timeoutMs, 1_000),
    signal: cx.signal,
    informers: cx.target.informers,
    // Compiled before any action (checkExpressions), so this cannot throw; programs come from the cache.
    health: CustomHealth.compile(cx.spec.healthCheckExprs).rule(),
  });
  if (res.ok) return;
  const detail = res.notReady.map((o) => `${o.subject} status: '${o.result.status}': ${o.result.message}`).join(', ');
  const why = res.timedOut ? `timeout waiting for: [${detail}]` : `[${detail}]`;
  const stored = await readReleases(cx.target.client, cx.desired.storageNamespace, rel.name);
  const latest = stored.find((r) => r.version === rel.version);
  if (latest) await setReleaseStatus(cx.target.client, cx.desired.storageNamespace, latest, 'failed', `${verb} "${rel.name}" failed: ${why}`);
  throw new StepFailure(verb === 'Install' ? Reason.InstallFailed : Reason.UpgradeFailed, why);
}

async function waitRefs(cx: PreparedContext, rel: HelmReleaseRecord): Promise<WaitRef[]> {
  const refs: WaitRef[] = [];
  for (const o of manifestObjects(rel.manifest)) {
    const m = await cx.target.discovery.mapping(o.apiVersion, o.kind);
    refs.push({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name!, namespace: m?.namespaced ? (o.metadata.namespace ?? rel.namespace) : undefined });
  }
  return refs;
}

/** An install or upgrade made a healthy release: Released and Ready, the applied revision recorded. */
export async function released(cx: PreparedContext, action: ReleaseAction, rel: HelmReleaseRecord): Promise<Outcome> {
  const d = cx.desired;
  const reason = action === 'install' ? Reason.InstallSucceeded : Reason.UpgradeSucceeded;
  const msg = `Helm ${action} succeeded for release ${fullName(cx, rel)} with chart ${chartLabel(cx)}`;
  cx.conds.set('Released', 'True', reason, msg);
  cx.conds.set('Ready', 'True', reason, msg);
  cx.conds.delete('Remediated');
  cx.conds.delete('TestSuccess');
  recordRenderDigests(cx);
  cx.status.lastAppliedRevision = d.revision;
  cx.status.lastReleaseRevision = rel.version;
  await cx.o.events.record(cx.obj, 'Normal', reason, msg, cx.eventAnnotations);
  return { done: false };
}

/**
 * An install or upgrade failed: the failure counters (the action's own
 * unless RetryOnFailure retries it), Released and Ready False with Flux's
 * message, a Warning event, and either a retry later or the next step of
 * the action loop (remediation). A post-renderer error ends the reconcile
 * as it is. `governing` is the action whose strategy decides the retry.
 */
export async function actionFailed(
  cx: PreparedContext,
  action: 'install' | 'upgrade',
  governing: 'install' | 'upgrade',
  err: unknown,
  startedAt: number,
  previousVersion = 0,
): Promise<Outcome> {
  cx.status.lastAttemptedReleaseActionDuration = formatDuration(Date.now() - startedAt);
  if (err instanceof StepFailure && err.reason === Reason.PostRendererError) throw err;
  await noteNewVersions(cx, previousVersion, action);
  const retry = retryOnFailure(cx, governing);
  if (!retry) {
    if (action === 'install') cx.status.installFailures = (cx.status.installFailures ?? 0) + 1;
    else cx.status.upgradeFailures = (cx.status.upgradeFailures ?? 0) + 1;
  }
  cx.status.failures = (cx.status.failures ?? 0) + 1;
  const reason = action === 'install' ? Reason.InstallFailed : Reason.UpgradeFailed;
  const d = cx.desired;
  const msg = `Helm ${action} failed for release ${d.releaseNamespace}/${d.releaseName} with chart ${chartLabel(cx)}: ${errMessage(err)}`;
  cx.conds.set('Released', 'False', reason, msg);
  cx.conds.set('Ready', 'False', reason, msg);
  await cx.o.events.record(cx.obj, 'Warning', reason, msg, cx.eventAnnotations);
  return retry ? retryLater(cx, retry) : { done: false };
}


/** As Flux: the digests of the post-renderers and common metadata applied, absent when the spec has none. */
export function recordRenderDigests(cx: PreparedContext): void {
  const { postRenderDigest, commonMetadataDigest } = cx.desired;
  if (postRenderDigest === undefined) delete cx.status.observedPostRenderersDigest;
  else cx.status.observedPostRenderersDigest = postRenderDigest;
  if (commonMetadataDigest === undefined) delete cx.status.observedCommonMetadataDigest;
  else cx.status.observedCommonMetadataDigest = commonMetadataDigest;
}
