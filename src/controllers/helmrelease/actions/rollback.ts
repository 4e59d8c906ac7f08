// Rollback as remediation of a failed upgrade: back to the newest earlier
// revision that succeeded, then wait for it to be healthy. Its own file, as
// each Helm action is; it shares only the context and shared.ts.
import { rollbackRelease } from '../../../helm/actions.ts';
import { readReleases, type HelmReleaseRecord } from '../../../helm/release.ts';
import { formatDuration } from '../../../util/duration.ts';
import { DEFAULT_MAX_HISTORY, durationOr, errMessage, fullName, type PreparedContext } from '../context.ts';
import { freshClient, ssaMode, waitPlan } from '../helm4.ts';
import { Reason } from '../reasons.ts';
import { progressing } from '../status.ts';
import { waitHealthy } from './shared.ts';

/** True when the release was rolled back; the conditions say why not otherwise. */
export async function rollback(cx: PreparedContext, cur: HelmReleaseRecord, stored: HelmReleaseRecord[]): Promise<boolean> {
  const prev = [...stored].reverse().find((r) => r.version < cur.version && (r.info.status === 'superseded' || r.info.status === 'deployed'));
  if (!prev) {
    const msg = `cannot roll back release ${fullName(cx, cur)}: no previous successful release`;
    cx.conds.set('Remediated', 'False', Reason.RollbackFailed, msg);
    cx.conds.set('Ready', 'False', Reason.RollbackFailed, msg);
    return false;
  }
  const r = cx.spec.rollback ?? {};
  const timeout = durationOr(r.timeout, cx.timeout);
  const label = `${prev.chart?.metadata.name}@${prev.chart?.metadata.version}`;
  await progressing(cx, `Running 'rollback' action with timeout of ${formatDuration(timeout)}`);
  if (r.recreate) {
    // Helm 4 removed recreate (Helm 3 had deprecated it): say so rather than ignore it.
    await cx.o.events.record(cx.obj, 'Warning', 'DeprecatedField', 'spec.rollback.recreate has no effect with Helm 4 and is ignored; remove it', cx.eventAnnotations);
  }
  const wait = waitPlan(cx.spec, r);
  try {
    await rollbackRelease(cx.o.helm, {
      target: cx.target.helm,
      name: cur.name,
      namespace: cur.namespace,
      storageNamespace: cx.desired.storageNamespace,
      revision: prev.version,
      timeoutMs: timeout,
      historyMax: cx.spec.maxHistory ?? DEFAULT_MAX_HISTORY,
      freshClient: freshClient(cx.spec),
      serverSideApply: ssaMode(r.serverSideApply),
      ...wait.helm,
      force: r.force,
      cleanupOnFail: r.cleanupOnFail,
      noHooks: r.disableHooks,
      signal: cx.signal,
    });
    const after = await readReleases(cx.target.client, cx.desired.storageNamespace, cur.name);
    const rel = after[after.length - 1]!;
    cx.ours.add(rel.version);
    cx.made.set(rel.version, { action: 'rollback', ociDigest: cx.status.history?.find((s) => s.version === prev.version)?.ociDigest });
    if (wait.controllerWaits) await waitHealthy(cx, rel, timeout, 'Rollback', wait.jobs);
    const msg = `Helm rollback to previous release ${fullName(cx, prev)} with chart ${label} succeeded`;
    cx.conds.set('Remediated', 'True', Reason.RollbackSucceeded, msg);
    cx.conds.set('Ready', 'False', Reason.RollbackSucceeded, msg);
    await cx.o.events.record(cx.obj, 'Normal', Reason.RollbackSucceeded, msg, cx.eventAnnotations);
    return true;
  } catch (err) {
    const msg = `Helm rollback to previous release ${fullName(cx, prev)} with chart ${label} failed: ${errMessage(err)}`;
    cx.conds.set('Remediated', 'True', Reason.RollbackFailed, msg);
    cx.conds.set('Ready', 'False', Reason.RollbackFailed, msg);
    await cx.o.events.record(cx.obj, 'Warning', Reason.RollbackFailed, msg, cx.eventAnnotations);
    return false;
  }
}
