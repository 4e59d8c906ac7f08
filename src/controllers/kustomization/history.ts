// status.history: Flux's reconcile history, one snapshot per distinct set of
// applied objects (newest first, five kept). Only a change bumps it, so a
// steady state writes no status.
import type { HistorySnapshot } from '../../api/kustomization.ts';
import { hasChanges, type ChangeSetEntry } from '../../apply/changeset.ts';
import { rfc3339 } from '../../runtime/conditions.ts';
import { formatDuration } from '../../util/duration.ts';
import { Reason } from './names.ts';

/** The history after a successful reconcile. */
export function updateHistory(
  history: HistorySnapshot[] | undefined,
  /** Digest of the applied set (BuiltSet.digest). */
  digest: string,
  revision: string,
  changes: ChangeSetEntry[],
  now: Date,
  durationMs: number,
  /** The artifact's origin revision, kept in the snapshot's metadata as Flux does. */
  originRevision?: string,
): HistorySnapshot[] {
  const list = [...(history ?? [])];
  const head = list[0];
  const ts = rfc3339(now);
  if (head && head.digest === digest) {
    if (!hasChanges(changes) && head.lastReconciledStatus === Reason.Succeeded) return list;
    list[0] = {
      ...head,
      lastReconciled: ts,
      lastReconciledDuration: formatDuration(durationMs),
      lastReconciledStatus: Reason.Succeeded,
      totalReconciliations: head.totalReconciliations + 1,
    };
    return list;
  }
  list.unshift({
    digest,
    firstReconciled: ts,
    lastReconciled: ts,
    lastReconciledDuration: formatDuration(durationMs),
    lastReconciledStatus: Reason.Succeeded,
    totalReconciliations: 1,
    metadata: originRevision ? { revision, originRevision } : { revision },
  });
  return list.slice(0, 5);
}
