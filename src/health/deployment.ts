// apps/v1 Deployment.
import type { HealthResult, KubeObject } from './types.ts';
import {
  conditionsOf, current, explain, failed, findCondition, getInt, getPath, inProgress, notYetObserved, plural, withDetail,
} from './util.ts';

// The deployment controller treats a progressDeadlineSeconds of MaxInt32
// (what an unset field means) as "no deadline": it then never writes the
// Progressing condition, so it cannot be waited for.
const NO_DEADLINE = 2147483647;

export function deploymentHealth(obj: KubeObject): HealthResult {
  const unobserved = notYetObserved(obj);
  if (unobserved) return unobserved;

  const conditions = conditionsOf(obj);
  const progressingCond = findCondition(conditions, 'Progressing');
  const availableCond = findCondition(conditions, 'Available');

  if (progressingCond?.reason === 'ProgressDeadlineExceeded') {
    return failed(
      withDetail('Deployment exceeded its progress deadline', progressingCond.message.trim()),
      'ProgressDeadlineExceeded',
    );
  }

  const desired = getInt(obj, ['spec', 'replicas'], 1);
  const replicas = getInt(obj, ['status', 'replicas'], 0);
  const updated = getInt(obj, ['status', 'updatedReplicas'], 0);
  const ready = getInt(obj, ['status', 'readyReplicas'], 0);
  const available = getInt(obj, ['status', 'availableReplicas'], 0);

  // A paused rollout does not move on by itself and the controller stops
  // reporting progress, so only availability is judged.
  if (getPath(obj, ['spec', 'paused']) === true) {
    if (available < desired) {
      return inProgress(
        `Deployment is paused and does not have minimum availability: ${available} of ${plural(desired, 'replica')} available`,
        'PausedLessAvailable',
      );
    }
    return current(`Deployment is paused with ${available} of ${plural(desired, 'replica')} available`, 'Paused');
  }

  if (desired > replicas) {
    return inProgress(`Deployment is scaling up: ${replicas} of ${plural(desired, 'replica')} created`, 'LessReplicas');
  }
  if (desired > updated) {
    return inProgress(`Deployment rollout in progress: ${updated} of ${plural(desired, 'replica')} updated`, 'LessUpdated');
  }
  if (replicas > desired) {
    const extra = replicas - desired;
    return inProgress(
      `Deployment rollout in progress: ${plural(extra, 'old replica')} pending termination`,
      'ExtraPods',
    );
  }
  if (updated > available) {
    return inProgress(
      `Deployment does not have minimum availability: ${available} of ${plural(updated, 'replica')} available`,
      'LessAvailable',
    );
  }
  if (desired > ready) {
    return inProgress(`Deployment is waiting for replicas to be ready: ${ready} of ${desired} ready`, 'LessReady');
  }

  const deadline = getInt(obj, ['spec', 'progressDeadlineSeconds'], NO_DEADLINE);
  const progressed = deadline === NO_DEADLINE
    || (progressingCond?.status === 'True' && progressingCond.reason === 'NewReplicaSetAvailable');
  if (!progressed) {
    return inProgress(
      withDetail('Deployment rollout in progress: the new ReplicaSet is not available yet', explain(progressingCond)),
      'ReplicaSetNotAvailable',
    );
  }
  if (availableCond?.status !== 'True') {
    return inProgress(
      withDetail('Deployment does not have minimum availability', explain(availableCond)),
      'DeploymentNotAvailable',
    );
  }
  if (desired === 0) return current('Deployment is scaled to zero', 'ScaledToZero');
  return current(`Deployment is available: ${ready} of ${plural(desired, 'replica')} ready`, 'Available');
}
