// Uninstall during a reconcile: as remediation of a failed install (or of an
// upgrade with strategy uninstall), when the chart name changes, or when the
// release name or namespace changes. Uninstall on deletion is the
// controller's finalizer, not this. Its own file, as each Helm action is.
import { uninstallRelease } from '../../../helm/actions.ts';
import type { HelmReleaseRecord } from '../../../helm/release.ts';
import { formatDuration } from '../../../util/duration.ts';
import { durationOr, errMessage, type ReleaseContext, type Target } from '../context.ts';
import { Reason } from '../reasons.ts';
import { freshClient } from '../helm4.ts';
import { progressing } from '../status.ts';

/** `why` is 'remediation' for a remediating uninstall (which sets Remediated), or a reason for the log and the message. */
export async function uninstall(cx: ReleaseContext & { target: Target }, cur: HelmReleaseRecord, storageNamespace: string, why: string): Promise<boolean> {
  const u = cx.spec.uninstall ?? {};
  const timeout = durationOr(u.timeout, cx.timeout);
  const label = `${cur.chart?.metadata.name}@${cur.chart?.metadata.version}`;
  const full = `${cur.namespace}/${cur.name}.v${cur.version}`;
  await progressing(cx, `Running 'uninstall' action with timeout of ${formatDuration(timeout)} (${why})`);
  try {
    await uninstallRelease(cx.o.helm, {
      target: cx.target.helm,
      name: cur.name,
      namespace: cur.namespace,
      storageNamespace,
      timeoutMs: timeout,
      keepHistory: u.keepHistory,
      noHooks: u.disableHooks,
      wait: !u.disableWait,
      waitStrategy: cx.spec.waitStrategy?.name === 'legacy' ? 'legacy' : 'watcher',
      freshClient: freshClient(cx.spec),
      cascade: u.deletionPropagation,
      signal: cx.signal,
    });
    cx.made.set(cur.version, { action: why === 'remediation' ? 'uninstall-remediation' : 'uninstall' });
    const msg = `Helm uninstall succeeded for release ${full} with chart ${label}`;
    if (why === 'remediation') {
      cx.conds.set('Remediated', 'True', Reason.UninstallSucceeded, msg);
      cx.conds.set('Ready', 'False', Reason.UninstallSucceeded, msg);
    }
    await cx.o.events.record(cx.obj, 'Normal', Reason.UninstallSucceeded, msg, cx.eventAnnotations);
    return true;
  } catch (err) {
    const msg = `Helm uninstall failed for release ${full} with chart ${label}: ${errMessage(err)}`;
    if (why === 'remediation') cx.conds.set('Remediated', 'True', Reason.UninstallFailed, msg);
    cx.conds.set('Ready', 'False', Reason.UninstallFailed, msg);
    await cx.o.events.record(cx.obj, 'Warning', Reason.UninstallFailed, msg, cx.eventAnnotations);
    return false;
  }
}
