// apps/v1 ReplicaSet.
import type { HealthResult, KubeObject } from './types.ts';
import {
  conditionsOf, current, explain, getInt, inProgress, notYetObserved, plural, withDetail,
} from './util.ts';

export function replicaSetHealth(obj: KubeObject): HealthResult {
  const unobserved = notYetObserved(obj);
  if (unobserved) return unobserved;

  // ReplicaFailure means pods could not be created or deleted (quota,
  // admission); the controller keeps retrying, so this is not final.
  const failure = conditionsOf(obj).find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
  if (failure) {
    return inProgress(withDetail('ReplicaSet cannot manage its pods', explain(failure)), 'ReplicaFailure');
  }

  const desired = getInt(obj, ['spec', 'replicas'], 1);
  const replicas = getInt(obj, ['status', 'replicas'], 0);
  const labelled = getInt(obj, ['status', 'fullyLabeledReplicas'], 0);
  const available = getInt(obj, ['status', 'availableReplicas'], 0);
  const ready = getInt(obj, ['status', 'readyReplicas'], 0);

  if (desired > labelled) {
    return inProgress(`ReplicaSet is creating pods: ${labelled} of ${plural(desired, 'replica')} created`, 'LessLabelled');
  }
  if (desired > available) {
    return inProgress(
      `ReplicaSet does not have minimum availability: ${available} of ${plural(desired, 'replica')} available`,
      'LessAvailable',
    );
  }
  if (desired > ready) {
    return inProgress(`ReplicaSet is waiting for replicas to be ready: ${ready} of ${desired} ready`, 'LessReady');
  }
  if (replicas > desired) {
    return inProgress(
      `ReplicaSet is scaling down: ${plural(replicas - desired, 'replica')} pending termination`,
      'ExtraPods',
    );
  }
  if (desired === 0) return current('ReplicaSet is scaled to zero', 'ScaledToZero');
  return current(`ReplicaSet is available: ${ready} of ${plural(desired, 'replica')} ready`, 'Available');
}
