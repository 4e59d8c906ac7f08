// Unlock: a release stuck in pending-* (a run interrupted mid-action) is
// marked failed, as Flux's unlock does, so the next step can remediate or
// retry it. Its own file, as each Helm action is; it shares only the context.
import { setReleaseStatus, type HelmReleaseRecord } from '../../../helm/release.ts';
import { fullName, type Outcome, type PreparedContext } from '../context.ts';
import { Reason } from '../reasons.ts';

export async function unlock(cx: PreparedContext, cur: HelmReleaseRecord): Promise<Outcome> {
  const from = cur.info.status;
  await setReleaseStatus(cx.target.client, cx.desired.storageNamespace, cur, 'failed', `Release unlocked from stale '${from}' state`);
  const msg = `Unlocked Helm release ${fullName(cx, cur)} with chart ${cur.chart?.metadata.name}@${cur.chart?.metadata.version} in '${from}' state`;
  cx.conds.set('Released', 'False', Reason.PendingRelease, msg);
  cx.conds.set('Ready', 'False', Reason.PendingRelease, msg);
  await cx.o.events.record(cx.obj, 'Warning', Reason.PendingRelease, msg, cx.eventAnnotations);
  cx.ours.add(cur.version);
  cx.unlocked = cur.version;
  return { done: false };
}
