// Helm upgrade: the release exists but differs from the desired one (chart,
// values, post-renderers, a forced run), or a RetryOnFailure retry of a
// failed release. Its own file, as each Helm action is; it shares only the
// context and the release-making helpers of shared.ts.
import { upgradeRelease } from '../../../helm/actions.ts';
import type { HelmReleaseRecord } from '../../../helm/release.ts';
import { formatDuration } from '../../../util/duration.ts';
import { DEFAULT_MAX_HISTORY, durationOr, type Outcome, type PreparedContext } from '../context.ts';
import { freshClient, postRenderStrategy, ssaMode, takeOwnership, waitPlan } from '../helm4.ts';
import { FORCE_AT, releaseLabels } from '../object.ts';
import type { ReleaseAction } from '../policy.ts';
import { progressing } from '../status.ts';
import { actionFailed, applyCrds, released, waitHealthy, withPostRenderer } from './shared.ts';

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
  const wait = waitPlan(cx.spec, u);
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
        freshClient: freshClient(cx.spec),
        serverSideApply: ssaMode(u.serverSideApply),
        ...wait.helm,
        takeOwnership: takeOwnership(u),
        postRenderStrategy: postRenderStrategy(cx.spec),
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
    cx.made.set(rel.version, { action: 'upgrade', ociDigest: d.ociDigest });
    if (wait.controllerWaits) await waitHealthy(cx, rel, timeout - (Date.now() - t0), 'Upgrade', wait.jobs);
    cx.status.lastAttemptedReleaseActionDuration = formatDuration(Date.now() - t0);
    return released(cx, 'upgrade', rel);
  } catch (err) {
    return actionFailed(cx, 'upgrade', governing, err, t0, cur.version);
  }
}
