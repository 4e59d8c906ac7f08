// Helm test: runs the chart's test hooks of the current revision and records
// their phases per revision (they become the history's testHooks). A failed
// test is a failed release and counts against the action that made it. Its
// own file, as each Helm action is; it shares only the context.
import type { Snapshot } from '../../../api/helmrelease.ts';
import { testRelease } from '../../../helm/actions.ts';
import { readReleases, testHooks, type HelmReleaseRecord } from '../../../helm/release.ts';
import { formatDuration } from '../../../util/duration.ts';
import { chartLabel, durationOr, errMessage, fullName, goTime, type Outcome, type PreparedContext } from '../context.ts';
import { governingAction, ignoreTestFailures, retryLater, retryOnFailure } from '../policy.ts';
import { Reason } from '../reasons.ts';
import { progressing } from '../status.ts';

export async function test(cx: PreparedContext, cur: HelmReleaseRecord): Promise<Outcome> {
  const t = cx.spec.test ?? {};
  const timeout = durationOr(t.timeout, cx.timeout);
  await progressing(cx, `Running 'test' action with timeout of ${formatDuration(timeout)}`);
  let failure: string | undefined;
  try {
    await testRelease(cx.o.helm, { target: cx.target.helm, name: cur.name, namespace: cur.namespace, storageNamespace: cx.desired.storageNamespace, timeoutMs: timeout, filters: t.filters, signal: cx.signal });
  } catch (err) {
    failure = errMessage(err);
  }
  const stored = await readReleases(cx.target.client, cx.desired.storageNamespace, cur.name);
  const after = stored.find((r) => r.version === cur.version) ?? cur;
  const hooks: NonNullable<Snapshot['testHooks']> = {};
  for (const h of testHooks(after)) {
    hooks[h.name] = { lastStarted: goTime(h.last_run?.started_at), lastCompleted: goTime(h.last_run?.completed_at), phase: h.last_run?.phase || undefined };
  }
  cx.hooksByVersion.set(cur.version, hooks);
  const n = Object.keys(hooks).length;
  if (!failure) {
    const msg = `Helm test succeeded for release ${fullName(cx, cur)} with chart ${chartLabel(cx)}: ${n ? `${n} test hooks completed successfully` : 'no test hooks'}`;
    cx.conds.set('TestSuccess', 'True', Reason.TestSucceeded, msg);
    cx.conds.set('Ready', 'True', Reason.TestSucceeded, msg);
    await cx.o.events.record(cx.obj, 'Normal', Reason.TestSucceeded, msg, cx.eventAnnotations);
    return { done: false };
  }
  const msg = `Helm test failed for release ${fullName(cx, cur)} with chart ${chartLabel(cx)}: ${failure}`;
  cx.conds.set('TestSuccess', 'False', Reason.TestFailed, msg);
  await cx.o.events.record(cx.obj, 'Warning', Reason.TestFailed, msg, cx.eventAnnotations);
  if (ignoreTestFailures(cx)) {
    cx.conds.set('Ready', 'True', cx.conds.get('Released')?.reason ?? Reason.TestFailed, cx.conds.get('Released')?.message ?? msg);
    return { done: false };
  }
  // A failed test is a failed release: it counts against the action that made it.
  cx.status.failures = (cx.status.failures ?? 0) + 1;
  cx.conds.set('Ready', 'False', Reason.TestFailed, msg);
  const retry = retryOnFailure(cx, governingAction(cur, stored));
  if (retry) return retryLater(cx, retry);
  if (cx.status.lastAttemptedReleaseAction === 'install') cx.status.installFailures = (cx.status.installFailures ?? 0) + 1;
  else cx.status.upgradeFailures = (cx.status.upgradeFailures ?? 0) + 1;
  return { done: false };
}
