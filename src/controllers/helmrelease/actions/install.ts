// Helm install: the release does not exist (or was uninstalled). One file per
// Helm action, as helm-controller cuts its reconcile: each knows its own
// options, messages and failure counters, and shares only the context.
import { installRelease } from '../../../helm/actions.ts';
import { formatDuration } from '../../../util/duration.ts';
import { durationOr, type Outcome, type PreparedContext } from '../context.ts';
import { createNamespace, freshClient, installSsa, postRenderStrategy, takeOwnership, waitPlan } from '../helm4.ts';
import { releaseLabels } from '../object.ts';
import { progressing } from '../status.ts';
import { actionFailed, applyCrds, released, waitHealthy, withPostRenderer } from './shared.ts';

export async function install(cx: PreparedContext): Promise<Outcome> {
  const d = cx.desired;
  const i = cx.spec.install ?? {};
  const timeout = durationOr(i.timeout, cx.timeout);
  const crds = i.crds ?? (i.skipCRDs ? 'Skip' : 'Create');
  cx.status.lastAttemptedReleaseAction = 'install';
  await progressing(cx, `Running 'install' action with timeout of ${formatDuration(timeout)}`);
  const wait = waitPlan(cx.spec, i);
  const t0 = Date.now();
  try {
    if (crds === 'CreateReplace') await applyCrds(cx, 'CreateReplace', false);
    const rel = await withPostRenderer(cx, (pr) =>
      installRelease(cx.o.helm, {
        target: cx.target.helm,
        name: d.releaseName,
        namespace: d.releaseNamespace,
        storageNamespace: d.storageNamespace,
        chart: d.chartDir,
        values: d.values,
        timeoutMs: timeout,
        freshClient: freshClient(cx.spec),
        serverSideApply: installSsa(cx.spec),
        ...wait.helm,
        createNamespace: createNamespace(cx.spec),
        skipCrds: crds !== 'Create',
        noHooks: i.disableHooks,
        replace: i.replace,
        disableOpenAPIValidation: i.disableOpenAPIValidation,
        skipSchemaValidation: i.disableSchemaValidation,
        takeOwnership: takeOwnership(i),
        postRenderer: pr,
        postRenderStrategy: postRenderStrategy(cx.spec),
        labels: releaseLabels(cx.ns, cx.name),
        signal: cx.signal,
      }),
    );
    cx.ours.add(rel.version);
    cx.made.set(rel.version, { action: 'install', ociDigest: d.ociDigest });
    if (wait.controllerWaits) await waitHealthy(cx, rel, timeout - (Date.now() - t0), 'Install', wait.jobs);
    cx.status.lastAttemptedReleaseActionDuration = formatDuration(Date.now() - t0);
    return released(cx, 'install', rel);
  } catch (err) {
    return actionFailed(cx, 'install', 'install', err, t0);
  }
}
