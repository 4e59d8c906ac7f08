// Drift detection and correction of a release that is in sync with its spec:
// compares the release's objects with the cluster and, as
// spec.driftDetection.mode says, reports the drift (warn) or puts the objects
// back (enabled). A step of its own, after the action loop found nothing to
// do, as helm-controller runs it; the comparing itself is in src/helm/drift.ts.
import { correctDrift, detectDrift, withHelmOwnership } from '../../helm/drift.ts';
import { manifestObjects, type HelmReleaseRecord } from '../../helm/release.ts';
import { findCondition } from '../../kube/object.ts';
import { chartLabel, fullName, type PreparedContext } from './context.ts';
import { Reason } from './reasons.ts';

export async function driftDetection(cx: PreparedContext, cur: HelmReleaseRecord): Promise<void> {
  const mode = cx.spec.driftDetection?.mode ?? 'disabled';
  if (mode === 'disabled') {
    cx.conds.delete('Drifted');
    return;
  }
  const ignore = cx.spec.driftDetection?.ignore ?? [];
  const report = await detectDrift(cx.target.client, cx.target.discovery, withHelmOwnership(manifestObjects(cur.manifest), cur.name, cur.namespace), cur.namespace, ignore);
  for (const e of report.errors) cx.log.error('drift detection could not compare an object', e);
  if (!report.drifted.length) {
    cx.conds.set('Drifted', 'False', Reason.NoDriftDetected, `No drift detected for release ${fullName(cx, cur)}`);
    return;
  }
  const lines = report.drifted.map((e) => (e.action === 'create' ? `${e.subject} removed` : `${e.subject} changed (${e.paths.join(', ')})`));
  cx.log.debug('drift detected', { changes: lines });
  if (mode === 'warn') {
    const msg = `Cluster state of release ${fullName(cx, cur)} (chart ${chartLabel(cx)}) differs from the desired state:\n${lines.join('\n')}`;
    cx.conds.set('Drifted', 'True', Reason.DriftDetected, msg);
    if (findCondition(cx.obj, 'Drifted')?.message !== msg) await cx.o.events.record(cx.obj, 'Warning', Reason.DriftDetected, msg, cx.eventAnnotations);
    return;
  }
  const results = await correctDrift(cx.target.client, cx.target.discovery, report, ignore);
  const failed = results.filter((r) => r.error);
  const summary = results.map((r) => `${r.subject} ${r.error ? `failed: ${r.error}` : r.action}`).join('\n');
  if (failed.length) {
    const msg = `Failed to partially correct cluster state of release ${fullName(cx, cur)} with chart ${chartLabel(cx)}:\n${summary}`;
    cx.conds.set('Drifted', 'True', Reason.DriftDetected, msg);
    await cx.o.events.record(cx.obj, 'Warning', 'DriftCorrectionFailed', msg, cx.eventAnnotations);
    return;
  }
  const msg = `Cluster state of release ${fullName(cx, cur)} has been corrected:\n${summary}`;
  cx.conds.set('Drifted', 'False', Reason.NoDriftDetected, msg);
  await cx.o.events.record(cx.obj, 'Normal', 'DriftCorrected', msg, cx.eventAnnotations);
}
