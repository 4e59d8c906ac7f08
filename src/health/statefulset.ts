// apps/v1 StatefulSet. The controller sets no conditions, so the status is
// read from the replica counts and revisions alone; a failed rollout cannot
// be told from a slow one.
import type { HealthResult, KubeObject } from './types.ts';
import { current, getInt, getOptionalInt, getString, inProgress, notYetObserved, plural } from './util.ts';

export function statefulSetHealth(obj: KubeObject): HealthResult {
  const unobserved = notYetObserved(obj);
  if (unobserved) return unobserved;

  const desired = getInt(obj, ['spec', 'replicas'], 1);
  const replicas = getInt(obj, ['status', 'replicas'], 0);
  const ready = getInt(obj, ['status', 'readyReplicas'], 0);
  const currentReplicas = getInt(obj, ['status', 'currentReplicas'], 0);
  const updated = getInt(obj, ['status', 'updatedReplicas'], 0);

  if (desired > replicas) {
    return inProgress(`StatefulSet is scaling up: ${replicas} of ${plural(desired, 'replica')} created`, 'LessReplicas');
  }
  if (desired > ready) {
    return inProgress(`StatefulSet is waiting for replicas to be ready: ${ready} of ${desired} ready`, 'LessReady');
  }
  if (replicas > desired) {
    return inProgress(
      `StatefulSet is scaling down: ${plural(replicas - desired, 'replica')} pending termination`,
      'ExtraPods',
    );
  }

  // With OnDelete the controller only replaces pods that someone deletes, so
  // there is no rollout to wait for.
  if (getString(obj, ['spec', 'updateStrategy', 'type']) === 'OnDelete') {
    return current(
      `StatefulSet uses the OnDelete update strategy: ${ready} of ${plural(desired, 'replica')} ready; pods update only when deleted`,
      'OnDelete',
    );
  }

  // A partitioned rolling update only updates the pods whose ordinal is at
  // or above the partition.
  const partition = getOptionalInt(obj, ['spec', 'updateStrategy', 'rollingUpdate', 'partition']);
  if (partition !== undefined) {
    const target = Math.max(0, desired - partition);
    if (updated < target) {
      return inProgress(
        `StatefulSet partitioned rollout in progress: ${updated} of ${plural(target, 'replica')} updated (partition ${partition})`,
        'PartitionRollout',
      );
    }
    return current(
      `StatefulSet partitioned rollout complete: ${plural(updated, 'replica')} updated (partition ${partition})`,
      'PartitionRolloutComplete',
    );
  }

  if (desired > currentReplicas) {
    return inProgress(
      `StatefulSet rolling update in progress: ${currentReplicas} of ${plural(desired, 'replica')} at the current revision`,
      'LessCurrent',
    );
  }
  const currentRevision = getString(obj, ['status', 'currentRevision']);
  const updateRevision = getString(obj, ['status', 'updateRevision']);
  if (currentRevision !== updateRevision) {
    return inProgress(
      `StatefulSet rolling update in progress: waiting for revision ${updateRevision || '(none)'} to replace ${currentRevision || '(none)'}`,
      'RevisionMismatch',
    );
  }
  if (desired === 0) return current('StatefulSet is scaled to zero', 'ScaledToZero');
  return current(`StatefulSet is ready: ${ready} of ${plural(desired, 'replica')} ready`, 'Ready');
}
