// Writing a HelmRelease's status: the interim "Progressing" patch before a
// long Helm action, the history snapshots of the releases it made (truncated
// as Flux does), and the end of a reconcile (Reconciling/Stalled, observed
// generation, the final patch, metrics, the failure event, the requeue).
// Kept out of the action loop so the loop only decides, and this only records.
import type { Snapshot } from '../../api/helmrelease.ts';
import { readReleases, releaseDigest } from '../../helm/release.ts';
import { configDigest, type Values } from '../../helm/values.ts';
import { isNotFound } from '../../kube/errors.ts';
import { findCondition } from '../../kube/object.ts';
import { rfc3339 } from '../../runtime/conditions.ts';
import type { ReconcileOutcome } from '../../runtime/queue.ts';
import { patchStatus } from '../../runtime/status.ts';
import { DEFAULT_MAX_HISTORY, goTime, type Outcome, type ReleaseContext } from './context.ts';
import { jittered } from '../../runtime/queue.ts';
import { HR_PLURAL } from './object.ts';
import { ignoreTestFailures } from './policy.ts';
import { isActionReason, Reason } from './reasons.ts';

/** Says what is running before a Helm action that may take minutes; a failed patch is no reason to stop. */
export function progressing(cx: ReleaseContext, message: string): Promise<void> {
  cx.conds.set('Reconciling', 'True', Reason.Progressing, message);
  if (!cx.conds.get('Ready') || cx.conds.get('Ready')!.status !== 'True') cx.conds.set('Ready', 'Unknown', Reason.Progressing, message);
  cx.status.conditions = cx.conds.toArray();
  return patchStatus(cx.o.client, cx.obj, HR_PLURAL, cx.status as Record<string, unknown>).then(
    () => undefined,
    () => undefined,
  );
}

/**
 * Flux's snapshot API version: "v2" marks snapshots of the Helm 4 era (the
 * digest computed over a release record as Helm 4 stores it).
 */
export const SNAPSHOT_API_VERSION = 'v2';

/** History snapshots of the releases this HelmRelease made, newest first, truncated as Flux does. */
async function history(cx: ReleaseContext): Promise<Snapshot[] | undefined> {
  const { desired, target } = cx;
  if (!desired || !target) return cx.status.history;
  const stored = cx.storedInSync ?? (await readReleases(target.client, desired.storageNamespace, desired.releaseName).catch(() => undefined));
  if (!stored) return cx.status.history;
  const byVersion = new Map((cx.status.history ?? []).map((s) => [s.version, s]));
  const out: Snapshot[] = [];
  for (const v of [...cx.ours].sort((a, b) => b - a)) {
    const rel = stored.find((r) => r.version === v);
    const old = byVersion.get(v);
    if (!rel) {
      if (old && old.namespace === desired.releaseNamespace && old.name === desired.releaseName) {
        const gone = old.status === 'uninstalled' ? old : { ...old, status: 'uninstalled', deleted: old.deleted ?? rfc3339(new Date()) };
        out.push(cx.made.has(v) ? { ...gone, action: cx.made.get(v)!.action } : gone);
      }
      continue;
    }
    const made = cx.made.get(v);
    const action = made?.action ?? old?.action;
    const ociDigest = made ? made.ociDigest : old?.ociDigest;
    const snap: Snapshot = {
      apiVersion: SNAPSHOT_API_VERSION,
      digest: releaseDigest(rel),
      name: rel.name,
      namespace: rel.namespace,
      version: rel.version,
      status: rel.info.status,
      chartName: rel.chart?.metadata.name ?? '',
      chartVersion: rel.chart?.metadata.version ?? '',
      ...(rel.chart?.metadata.appVersion ? { appVersion: String(rel.chart.metadata.appVersion) } : {}),
      configDigest: configDigest((rel.config ?? {}) as Values),
      firstDeployed: goTime(rel.info.first_deployed) ?? rfc3339(new Date()),
      lastDeployed: goTime(rel.info.last_deployed) ?? rfc3339(new Date()),
      ...(rel.info.deleted ? { deleted: goTime(rel.info.deleted) } : {}),
      ...(cx.hooksByVersion.has(v) ? { testHooks: cx.hooksByVersion.get(v) } : {}),
      ...(ociDigest ? { ociDigest } : {}),
      ...(action ? { action } : {}),
    };
    out.push(snap);
  }
  // Keep everything down to the previous successful release (Flux's Truncate).
  const ignoreTests = ignoreTestFailures(cx);
  for (let i = 1; i < out.length; i++) {
    const s = out[i]!;
    if ((s.status === 'deployed' || s.status === 'superseded') && (ignoreTests || !Object.values(s.testHooks ?? {}).some((h) => h.phase === 'Failed'))) {
      return out.slice(0, i + 1);
    }
  }
  return out.slice(0, DEFAULT_MAX_HISTORY);
}

/** Ends a reconcile: writes the status and tells the queue when to come back. */
export async function finish(cx: ReleaseContext, out: Outcome): Promise<ReconcileOutcome> {
  try {
    cx.status.history = await history(cx);
  } catch (err) {
    cx.log.error('could not read release history', { error: (err as Error).message });
  }
  if (out.error) {
    if (out.stalled) {
      cx.conds.delete('Reconciling');
      cx.status.observedGeneration = cx.generation;
    } else {
      cx.conds.set('Reconciling', 'True', 'ProgressingWithRetry', out.error);
    }
  } else {
    cx.conds.delete('Reconciling');
    cx.conds.delete('Stalled');
    cx.status.observedGeneration = cx.generation;
  }
  cx.status.conditions = cx.conds.toArray();
  await patchStatus(cx.o.client, cx.obj, HR_PLURAL, cx.status as Record<string, unknown>).catch((err) => {
    if (!isNotFound(err)) throw err;
  });
  cx.o.metrics.recordCondition('HelmRelease', cx.ns, cx.name, 'Ready', cx.conds.get('Ready')?.status);
  if (out.error) {
    const before = findCondition(cx.obj, 'Ready');
    const ready = cx.conds.get('Ready');
    if (ready && (before?.message !== ready.message || before?.reason !== ready.reason) && !isActionReason(ready.reason)) {
      await cx.o.events.record(cx.obj, 'Warning', ready.reason, ready.message, cx.eventAnnotations);
    }
    cx.log.error('reconciliation failed', { reason: ready?.reason, error: out.error });
    if (out.stalled) return {};
    return { requeueAfterMs: out.requeueAfterMs ?? cx.interval };
  }
  cx.log.debug('reconciled', { durationMs: Date.now() - cx.started });
  return { requeueAfterMs: out.requeueAfterMs ?? jittered(cx.interval) };
}
