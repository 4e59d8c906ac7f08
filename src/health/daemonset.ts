// apps/v1 DaemonSet.
import type { HealthResult, KubeObject } from './types.ts';
import { current, getInt, getOptionalInt, getString, inProgress, notYetObserved } from './util.ts';

export function daemonSetHealth(obj: KubeObject): HealthResult {
  // The generic generation check is skipped when a field is missing; the
  // daemonset controller always sets both, so a missing one means it has
  // not acted on the object yet.
  if (typeof obj.metadata.generation !== 'number') {
    return inProgress('DaemonSet has no metadata.generation yet', 'NoGeneration');
  }
  const unobserved = notYetObserved(obj);
  if (unobserved) return unobserved;

  const desired = getOptionalInt(obj, ['status', 'desiredNumberScheduled']);
  if (desired === undefined) {
    return inProgress('DaemonSet has not computed how many pods it needs yet', 'NoDesiredNumber');
  }
  const scheduled = getInt(obj, ['status', 'currentNumberScheduled'], 0);
  const updated = getInt(obj, ['status', 'updatedNumberScheduled'], 0);
  const available = getInt(obj, ['status', 'numberAvailable'], 0);
  const ready = getInt(obj, ['status', 'numberReady'], 0);

  if (desired > scheduled) {
    return inProgress(`DaemonSet is scheduling pods: ${scheduled} of ${desired} nodes have a daemon pod`, 'LessCurrent');
  }
  // With OnDelete, pods are replaced only when someone deletes them, so
  // out-of-date pods are expected.
  if (getString(obj, ['spec', 'updateStrategy', 'type']) !== 'OnDelete' && desired > updated) {
    return inProgress(`DaemonSet rollout in progress: ${updated} of ${desired} pods updated`, 'LessUpdated');
  }
  if (desired > available) {
    return inProgress(
      `DaemonSet does not have minimum availability: ${available} of ${desired} pods available`,
      'LessAvailable',
    );
  }
  if (desired > ready) {
    return inProgress(`DaemonSet is waiting for pods to be ready: ${ready} of ${desired} ready`, 'LessReady');
  }
  if (desired === 0) return current('DaemonSet is ready: no node needs a daemon pod', 'NoNodes');
  return current(`DaemonSet is ready: ${ready} of ${desired} pods ready`, 'Ready');
}
