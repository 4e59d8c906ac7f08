// The action loop: reads the release from Helm's storage, picks the one
// action its state calls for (install, upgrade, test, unlock, remediation by
// rollback or uninstall), runs it, and looks again, up to MAX_STEPS actions a
// reconcile; an in-sync release ends the loop with Ready and drift detection.
// Only this file knows all the actions: they never call each other, so each
// decision about "what next" is here, in one place.
import type { HelmReleaseStatus } from '../../api/helmrelease.ts';
import { isPending, manifestObjects, readReleases, type HelmReleaseRecord } from '../../helm/release.ts';
import { configDigest, type Values } from '../../helm/values.ts';
import { objectId } from '../../kube/object.ts';
import type { ReconcileOutcome } from '../../runtime/queue.ts';
import { install } from './actions/install.ts';
import { recordRenderDigests } from './actions/shared.ts';
import { rollback } from './actions/rollback.ts';
import { test } from './actions/test.ts';
import { uninstall } from './actions/uninstall.ts';
import { unlock } from './actions/unlock.ts';
import { upgrade } from './actions/upgrade.ts';
import { chartLabel, fullName, StepFailure, type Outcome, type PreparedContext, type ReleaseContext } from './context.ts';
import { jittered } from '../../runtime/queue.ts';
import { driftDetection } from './drift.ts';
import { HR_NAME_LABEL, HR_NAMESPACE_LABEL, ownedBy, REQUESTED_AT } from './object.ts';
import { exhausted, governingAction, retryOnFailure, stall, testsFailed, waitBeforeRetry } from './policy.ts';
import { checkDependencies, checkExpressions, chartSource, legacyRenderDigest, prepare } from './prepare.ts';
import { Reason } from './reasons.ts';
import { finish } from './status.ts';

type InventoryEntry = NonNullable<HelmReleaseStatus['inventory']>['entries'][number];

/** Helm actions one reconcile may run before it requeues. */
const MAX_STEPS = 8;

/** One reconcile of a live, unsuspended HelmRelease, from preparation to the status written. */
export async function runReconcile(cx: ReleaseContext): Promise<ReconcileOutcome> {
  const requested = cx.obj.metadata.annotations?.[REQUESTED_AT];
  if (requested) {
    if (requested !== cx.prev.lastHandledReconcileAt) cx.retryNow = true;
    cx.status.lastHandledReconcileAt = requested;
  }
  // Any other stall is found again below if it still applies; retries exhausted stay until the spec changes.
  if (cx.conds.get('Stalled')?.reason !== Reason.RetriesExceeded) cx.conds.delete('Stalled');
  try {
    checkExpressions(cx);
    checkDependencies(cx);
    const chart = await chartSource(cx);
    const px = await prepare(cx, chart);
    for (let n = 0; n < MAX_STEPS; n++) {
      if (cx.signal.aborted) return finish(cx, { done: true, error: 'reconcile interrupted' });
      const out = await step(px);
      if (out.done) return finish(cx, out);
    }
    return finish(cx, { done: true, requeueAfterMs: 1_000 });
  } catch (err) {
    if (err instanceof StepFailure) {
      cx.conds.set('Ready', 'False', err.reason, err.message);
      // Terminal until the spec changes: say so, as Flux does for errors no retry can fix.
      if (err.stalled) cx.conds.set('Stalled', 'True', err.reason, err.message);
      return finish(cx, { done: true, error: err.message, stalled: err.stalled, requeueAfterMs: err.retryAfterMs });
    }
    const message = (err as Error).message;
    cx.conds.set('Ready', 'False', 'ReconciliationFailed', message);
    return finish(cx, { done: true, error: message });
  }
}

/** Reads the release and runs the action its state calls for. */
async function step(cx: PreparedContext): Promise<Outcome> {
  const d = cx.desired;
  cx.storedInSync = undefined;
  let stored: HelmReleaseRecord[];
  try {
    stored = await readReleases(cx.target.client, d.storageNamespace, d.releaseName);
  } catch (err) {
    throw new StepFailure(Reason.GetLastReleaseFailed, `could not read the release from Helm storage: ${(err as Error).message}`);
  }
  const cur = stored[stored.length - 1];
  const action = cx.status.lastAttemptedReleaseAction;

  if (cur && ownedBy(cur, cx.ns, cx.name) === false) {
    const owner = `${cur.labels?.[HR_NAMESPACE_LABEL]}/${cur.labels?.[HR_NAME_LABEL]}`;
    throw new StepFailure(
      Reason.ReleaseOwnershipConflict,
      `Helm release ${d.releaseNamespace}/${d.releaseName} belongs to HelmRelease '${owner}'; set a different releaseName`,
      false,
      cx.interval,
    );
  }
  if (cur && !cx.ours.has(cur.version) && cur.chart?.metadata.name !== d.chart.name && !ownedBy(cur, cx.ns, cx.name)) {
    throw new StepFailure(
      Reason.ReleaseOwnershipConflict,
      `Helm release ${d.releaseNamespace}/${d.releaseName} was not made by this HelmRelease (chart ${cur.chart?.metadata.name}@${cur.chart?.metadata.version}); set a different releaseName`,
      false,
      cx.interval,
    );
  }

  if (!cur || cur.info.status === 'uninstalled') {
    if (retryOnFailure(cx, 'install')) return waitBeforeRetry(cx, 'install') ?? install(cx);
    if (action === 'install' && exhausted(cx.spec.install?.remediation, cx.status.installFailures)) return stall(cx, 'install');
    return install(cx);
  }
  if (isPending(cur.info.status)) return unlock(cx, cur);
  if (cur.info.status === 'uninstalling' && (cx.ours.has(cur.version) || ownedBy(cur, cx.ns, cx.name) === true)) {
    // An uninstall (a remediation) interrupted by a controller that was
    // killed: Helm leaves the revision 'uninstalling', which it neither
    // upgrades ("has no deployed releases") nor counts as pending. Finish
    // the uninstall; the next step installs again (issue 20, found by
    // SIGKILLing the controller during a rollout).
    if (!(await uninstall(cx, cur, d.storageNamespace, 'finishing an interrupted uninstall'))) return { done: true, error: cx.conds.get('Ready')?.message };
    return { done: false };
  }

  if (cur.info.status === 'failed' || testsFailed(cx, cur)) return failed(cx, cur, stored);

  // Deployed (or superseded by nothing newer: treat as deployed).
  if (cur.chart?.metadata.name !== d.chart.name && cx.ours.has(cur.version) && cx.spec.upgrade?.chartNameChangeStrategy !== 'InPlaceUpdate') {
    await uninstall(cx, cur, d.storageNamespace, `chart name changed from ${cur.chart?.metadata.name} to ${d.chart.name}`);
    return { done: false };
  }
  const outOfSync =
    !cx.ours.has(cur.version) ||
    cur.chart?.metadata.version !== d.chart.version ||
    configDigest((cur.config ?? {}) as Values) !== d.configDigest ||
    renderChanged(cx) ||
    d.force;
  if (outOfSync) {
    if (retryOnFailure(cx, 'upgrade')) return waitBeforeRetry(cx, 'upgrade') ?? upgrade(cx, cur);
    if (action === 'upgrade' && exhausted(cx.spec.upgrade?.remediation, cx.status.upgradeFailures)) return stall(cx, 'upgrade');
    if (action === 'install' && exhausted(cx.spec.install?.remediation, cx.status.installFailures) && cx.ours.has(cur.version)) {
      return stall(cx, 'install');
    }
    return upgrade(cx, cur);
  }
  if (cx.spec.test?.enable && !cx.hooksByVersion.has(cur.version)) return test(cx, cur);
  cx.storedInSync = stored;
  return inSync(cx, cur);
}

/** The latest release failed (or its tests did): remediate, retry, or stop when retries are exhausted. */
async function failed(cx: PreparedContext, cur: HelmReleaseRecord, stored: HelmReleaseRecord[]): Promise<Outcome> {
  let action = cx.status.lastAttemptedReleaseAction;
  if (cx.unlocked === cur.version) {
    // An interrupted run: what it was follows from the revisions before it.
    action = governingAction(cur, stored);
  }
  if (!action || !cx.ours.has(cur.version)) return upgrade(cx, cur);
  const governing = governingAction(cur, stored);
  if (retryOnFailure(cx, governing)) return waitBeforeRetry(cx, governing) ?? upgrade(cx, cur, governing);
  const rem = action === 'install' ? cx.spec.install?.remediation : cx.spec.upgrade?.remediation;
  const failures = (action === 'install' ? cx.status.installFailures : cx.status.upgradeFailures) ?? 0;
  const isExhausted = exhausted(rem, failures);
  const remediateLast = rem?.remediateLastFailure ?? (action === 'upgrade' ? (rem?.retries ?? 0) > 0 : false);
  if (isExhausted && !remediateLast) return stall(cx, action);
  const strategy = action === 'install' ? 'uninstall' : (cx.spec.upgrade?.remediation?.strategy ?? 'rollback');
  const ok = strategy === 'rollback' ? await rollback(cx, cur, stored) : await uninstall(cx, cur, cx.desired.storageNamespace, 'remediation');
  if (!ok) return { done: true, error: cx.conds.get('Ready')?.message };
  if (isExhausted) return stall(cx, action);
  return { done: false };
}

/** Up to date: report Ready, then look for drift. */
async function inSync(cx: PreparedContext, cur: HelmReleaseRecord): Promise<Outcome> {
  cx.status.failures = 0;
  cx.status.installFailures = 0;
  cx.status.upgradeFailures = 0;
  cx.conds.delete('Stalled');
  if (!cx.conds.isTrue('Released') || cx.conds.get('Released')?.message?.includes(`.v${cur.version} `) === false) {
    const how = cur.version === 1 ? 'install' : 'upgrade';
    const msg = `Helm ${how} succeeded for release ${fullName(cx, cur)} with chart ${chartLabel(cx)}`;
    cx.conds.set('Released', 'True', how === 'install' ? Reason.InstallSucceeded : Reason.UpgradeSucceeded, msg);
  }
  if (!cx.spec.test?.enable) cx.conds.delete('TestSuccess');
  const summary = cx.spec.test?.enable && cx.conds.get('TestSuccess') ? cx.conds.get('TestSuccess')! : cx.conds.get('Released')!;
  if (summary.status === 'True') cx.conds.set('Ready', 'True', summary.reason, summary.message);
  else cx.conds.set('Ready', 'True', cx.conds.get('Released')!.reason, cx.conds.get('Released')!.message);
  if (!renderChanged(cx)) recordRenderDigests(cx);
  cx.status.lastAppliedRevision = cx.desired.revision;
  cx.status.lastReleaseRevision = cur.version;
  cx.status.inventory = { entries: await inventory(cx, cur) };
  await driftDetection(cx, cur);
  return { done: true, requeueAfterMs: jittered(cx.interval) };
}

/** The release's objects as inventory entries, sorted by id. */
async function inventory(cx: PreparedContext, cur: HelmReleaseRecord): Promise<InventoryEntry[]> {
  const out: InventoryEntry[] = [];
  for (const o of manifestObjects(cur.manifest)) {
    const m = await cx.target.discovery.mapping(o.apiVersion, o.kind);
    const ns = m?.namespaced ? (o.metadata.namespace ?? cur.namespace) : undefined;
    out.push({ id: objectId({ ...o, metadata: { ...o.metadata, namespace: ns } }), v: o.apiVersion.split('/').pop()! });
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

/**
 * The post-renderers or the common metadata differ from what the last
 * release applied (Flux's observed digests); a digest recorded by an earlier
 * Sluice for both at once counts as in sync while it still matches.
 */
function renderChanged(cx: PreparedContext): boolean {
  const { postRenderDigest, commonMetadataDigest } = cx.desired;
  const s = cx.status;
  if (s.observedCommonMetadataDigest === undefined && s.observedPostRenderersDigest === legacyRenderDigest(cx.spec)) return false;
  return s.observedPostRenderersDigest !== postRenderDigest || s.observedCommonMetadataDigest !== commonMetadataDigest;
}
