// policy/v1 PodDisruptionBudget. Once the disruption controller has
// observed the latest generation it has computed the allowed disruptions,
// and there is nothing more to wait for: a budget that allows none is
// working as intended.
import type { HealthResult, KubeObject } from './types.ts';
import { current, getInt, inProgress, notYetObserved, plural } from './util.ts';

export function pdbHealth(obj: KubeObject): HealthResult {
  if (notYetObserved(obj)) {
    return inProgress('PodDisruptionBudget has not been observed by the disruption controller yet', 'NotObserved');
  }
  const allowed = getInt(obj, ['status', 'disruptionsAllowed'], 0);
  const healthy = getInt(obj, ['status', 'currentHealthy'], 0);
  const wanted = getInt(obj, ['status', 'desiredHealthy'], 0);
  return current(
    `PodDisruptionBudget allows ${plural(allowed, 'disruption')} (${healthy} healthy pods, ${wanted} required)`,
    'DisruptionsComputed',
  );
}
