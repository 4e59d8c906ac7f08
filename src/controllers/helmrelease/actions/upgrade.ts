// Helm upgrade: the release exists but differs from the desired one (chart,
// values, post-renderers, a forced run), or a RetryOnFailure retry of a
// failed release. Its own file, as each Helm action is; it shares only the
// context and the release-making helpers of shared.ts.
import { upgradeRelease } from '../../../helm/actions.ts';
import type { HelmReleaseRecord } from '../../../helm/release.ts';
import { formatDuration } from '../../../util/duration.ts';
import { chartLabel, DEFAULT_MAX_HISTORY, durationOr, errMessage, StepFailure, type Outcome, type PreparedContext } from '../context.ts';
import { FORCE_AT, releaseLabels } from '../object.ts';
import { retryLater, retryOnFailure, type ReleaseAction } from '../policy.ts';
import { Reason } from '../reasons.ts';
import { progressing } from '../status.ts';
import { applyCrds, noteNewVersions, released, waitHealthy, withPostRenderer } from './shared.ts';

/** `governing`: whose strategy a failure falls under; a retried failed install is an upgrade governed by the install strategy. */
export async function upgrade(cx: PreparedContext, cur: HelmReleaseRecord, governing: ReleaseAction = 'upgrade'): Promise<Outcome> {
  const d = cx.desired;
  const u = cx.spec.upgrade ?? {};
  const timeout = durationOr(u.timeout, cx.timeout);
  cx.status.lastAttemptedReleaseAction = 'upgrade';
  await progressing(cx, `Running 'upgrade' action with timeout of ${formatDuration(timeout)}`);
  const forced = d.force;
  if (forced) cx.status.lastHandledForceAt = cx.obj.metadata.annotations?.[FORCE_AT];
  d.force = false;
  const t0 = Date.now();
  try {
    const crds = u.crds ?? 'Skip';
    if (crds !== 'Skip') await applyCrds(cx, crds, crds === 'Create');
    const rel = await withPostRenderer(cx, (pr) =>
      upgradeRelease(cx.o.helm, {
        target: cx.target.helm,
        name: d.releaseName,
        namespace: d.releaseNamespace,
        storageNamespace: d.storageNamespace,
        chart: d.chartDir,
        values: d.values,
        timeoutMs: timeout,
        historyMax: cx.spec.maxHistory ?? DEFAULT_MAX_HISTORY,
        reuseValues: u.preserveValues,
        force: u.force || forced,
        cleanupOnFail: u.cleanupOnFail,
        noHooks: u.disableHooks,
        disableOpenAPIValidation: u.disableOpenAPIValidation,
        skipSchemaValidation: u.disableSchemaValidation,
        postRenderer: pr,
        labels: releaseLabels(cx.ns, cx.name),
        signal: cx.signal,
      }),
    );
    cx.ours.add(rel.version);
    if (!u.disableWait) await waitHealthy(cx, rel, timeout - (Date.now() - t0), 'Upgrade');
    cx.status.lastAttemptedReleaseActionDuration = formatDuration(Date.now() - t0);
    return released(cx, 'upgrade', rel);
  } catch (err) {
    cx.status.lastAttemptedReleaseActionDuration = formatDuration(Date.now() - t0);
    if (err instanceof StepFailure && err.reason === Reason.PostRendererError) throw err;
    await noteNewVersions(cx, cur.version);
    const retry = retryOnFailure(cx, governing);
    if (!retry) cx.status.upgradeFailures = (cx.status.upgradeFailures ?? 0) + 1;
    cx.status.failures = (cx.status.failures ?? 0) + 1;
    const msg = `Helm upgrade failed for release ${d.releaseNamespace}/${d.releaseName} with chart ${chartLabel(cx)}: ${errMessage(err)}`;
    cx.conds.set('Released', 'False', Reason.UpgradeFailed, msg);
    cx.conds.set('Ready', 'False', Reason.UpgradeFailed, msg);
    await cx.o.events.record(cx.obj, 'Warning', Reason.UpgradeFailed, msg, cx.eventAnnotations);
    return retry ? retryLater(cx, retry) : { done: false };
  }
}
