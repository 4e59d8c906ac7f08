// Rules that apply to every kind, and the rule for kinds without a rule of
// their own (custom resources, Flux objects, ConfigMaps, ...).
import type { HealthResult, KubeObject } from './types.ts';
import {
  conditionsOf, current, explain, failed, findCondition, getOptionalInt, inProgress, notYetObserved, withDetail,
} from './util.ts';

/**
 * The checks that come before any kind's own rule, in this order:
 * deletion, an unobserved generation, then the kstatus conditions Stalled
 * and Reconciling. Returns undefined when none of them decides.
 */
export function genericHealth(obj: KubeObject): HealthResult | undefined {
  const kind = obj.kind;
  const deletion = obj.metadata.deletionTimestamp;
  if (typeof deletion === 'string' && deletion !== '') {
    const finalizers = Array.isArray(obj.metadata.finalizers)
      ? obj.metadata.finalizers.filter((f): f is string => typeof f === 'string')
      : [];
    const waiting = finalizers.length ? ` (waiting for finalizers: ${finalizers.join(', ')})` : '';
    return { status: 'Terminating', message: `${kind} is being deleted${waiting}`, reason: 'Terminating' };
  }

  const generation = obj.metadata.generation;
  const observed = getOptionalInt(obj, ['status', 'observedGeneration']);
  if (typeof generation === 'number' && observed !== undefined && observed !== generation) {
    return inProgress(
      `${kind} generation ${generation} has not been observed by its controller yet (observed generation ${observed})`,
      'LatestGenerationNotObserved',
    );
  }

  const conditions = conditionsOf(obj);
  const stalled = conditions.find((c) => c.type === 'Stalled' && c.status === 'True');
  if (stalled) {
    return failed(withDetail(`${kind} is stalled`, explain(stalled)), stalled.reason || 'Stalled');
  }
  const reconciling = conditions.find((c) => c.type === 'Reconciling' && c.status === 'True');
  if (reconciling) {
    return inProgress(withDetail(`${kind} is reconciling`, explain(reconciling)), reconciling.reason || 'Reconciling');
  }
  return undefined;
}

// Flux kinds that have no status since notification.toolkit.fluxcd.io/v1beta3:
// nothing reconciles them, so there is nothing to wait for.
const FLUX_STATUSLESS = new Set(['notification.toolkit.fluxcd.io/Alert', 'notification.toolkit.fluxcd.io/Provider']);

/**
 * Whether a kind belongs to Flux (source.toolkit.fluxcd.io,
 * kustomize.toolkit.fluxcd.io, ...) and always gets a status from its
 * controller.
 */
export function isReconciledFluxKind(group: string, kind: string): boolean {
  return group.endsWith('.toolkit.fluxcd.io') && !FLUX_STATUSLESS.has(`${group}/${kind}`);
}

/**
 * Kinds without a rule of their own: judged by their Ready condition when
 * they have one, Current otherwise. Flux objects always get a Ready
 * condition and an observedGeneration from their controller, so for them a
 * missing one means "not reconciled yet" rather than "nothing to wait for".
 */
export function readyConditionHealth(obj: KubeObject, group: string): HealthResult {
  const kind = obj.kind;
  const flux = isReconciledFluxKind(group, kind);
  if (flux) {
    const unobserved = notYetObserved(obj);
    if (unobserved) return inProgress(`${kind} has not been reconciled yet`, 'NotObserved');
  }
  const ready = findCondition(conditionsOf(obj), 'Ready');
  if (!ready) {
    if (flux) return inProgress(`${kind} has not been reconciled yet (no Ready condition)`, 'NoReadyCondition');
    return current(`${kind} is current (it reports no readiness conditions)`, 'NoReadinessConditions');
  }
  switch (ready.status) {
    case 'True':
      return current(withDetail(`${kind} is ready`, ready.message.trim()), ready.reason || 'Ready');
    case 'False':
      return inProgress(withDetail(`${kind} is not ready`, explain(ready)), ready.reason || 'NotReady');
    default:
      return inProgress(withDetail(`${kind} readiness is not known yet`, explain(ready)), ready.reason || 'ReadyUnknown');
  }
}
