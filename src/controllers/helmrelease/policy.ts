// The rules that decide what a failure means: RetryOnFailure pacing,
// remediation retries and when they are exhausted, which action's strategy a
// failed release falls under, and whether failed tests count. The action
// loop and several actions (install, upgrade, test) consult them, so they
// live here rather than in any one action.
import type { HelmReleaseStatus } from '../../api/helmrelease.ts';
import type { HelmReleaseRecord } from '../../helm/release.ts';
import { formatDuration } from '../../util/duration.ts';
import { DEFAULT_RETRY_INTERVAL, durationOr, type Outcome, type ReleaseContext } from './context.ts';
import { Reason } from './reasons.ts';

/** The actions whose failures are counted, retried and remediated. */
export type ReleaseAction = NonNullable<HelmReleaseStatus['lastAttemptedReleaseAction']>;

let retryByDefault = false;

/** Flux's DefaultToRetryOnFailure gate (process-wide, as in helm-controller): an action without a strategy retries instead of remediating. */
export function defaultToRetryOnFailure(on: boolean): void {
  retryByDefault = on;
}

/** The RetryOnFailure settings of an action, or undefined when its failures are remediated (RemediateOnFailure, the default). */
export function retryOnFailure(cx: ReleaseContext, action: ReleaseAction): { intervalMs: number } | undefined {
  const strategy = cx.spec[action]?.strategy ?? (retryByDefault && (action === 'install' || action === 'upgrade') ? { name: 'RetryOnFailure' as const } : undefined);
  if (strategy?.name !== 'RetryOnFailure') return undefined;
  return { intervalMs: durationOr(strategy.retryInterval, DEFAULT_RETRY_INTERVAL) };
}

/** RetryOnFailure: the failed release stays as it is; the next attempt comes after the retry interval, not the HelmRelease's. */
export function retryLater(cx: ReleaseContext, retry: { intervalMs: number }): Outcome {
  const ready = cx.conds.get('Ready')!;
  cx.log.info('release action failed; retrying after the retry interval, without remediation', { retryInterval: formatDuration(retry.intervalMs) });
  return { done: true, error: ready.message, requeueAfterMs: retry.intervalMs };
}

/**
 * RetryOnFailure: when the last reconcile ended in a failed release action,
 * the retry waits until the retry interval has passed since that failure,
 * however often something else wakes this HelmRelease up; a new desired
 * state or a requested reconcile retries at once. The failure's time comes
 * from the cluster (Ready's transition and the action's duration), so a
 * restarted controller keeps the pace. Returns the waiting outcome, or
 * undefined when the retry may run now.
 */
export function waitBeforeRetry(cx: ReleaseContext, action: ReleaseAction): Outcome | undefined {
  const retry = retryOnFailure(cx, action);
  if (!retry || cx.retryNow) return undefined;
  const ready = cx.conds.get('Ready');
  const failedAction: string[] = [Reason.InstallFailed, Reason.UpgradeFailed, Reason.TestFailed];
  if (ready?.status !== 'False' || !failedAction.includes(ready.reason) || !ready.lastTransitionTime) return undefined;
  const took = durationOr(cx.status.lastAttemptedReleaseActionDuration, 0);
  const remaining = Date.parse(ready.lastTransitionTime) + took + retry.intervalMs - Date.now();
  if (!(remaining > 0)) return undefined;
  return { done: true, error: ready.message, requeueAfterMs: remaining };
}

/** Retries are exhausted: Stalled until the spec changes. */
export function stall(cx: ReleaseContext, action: ReleaseAction): Outcome {
  const failures = (action === 'install' ? cx.status.installFailures : cx.status.upgradeFailures) ?? 0;
  const msg = `Failed to ${action} after ${failures} attempt(s)`;
  cx.conds.set('Stalled', 'True', Reason.RetriesExceeded, msg);
  if (cx.conds.get('Ready')?.status !== 'False') cx.conds.set('Ready', 'False', Reason.RetriesExceeded, msg);
  return { done: true, stalled: true, error: cx.conds.get('Ready')!.message };
}

export function ignoreTestFailures(cx: ReleaseContext): boolean {
  const action = cx.status.lastAttemptedReleaseAction;
  const rem = action === 'install' ? cx.spec.install?.remediation : cx.spec.upgrade?.remediation;
  return rem?.ignoreTestFailures ?? cx.spec.test?.ignoreFailures ?? false;
}

/** Did the tests of this revision fail, in a way that counts? */
export function testsFailed(cx: ReleaseContext, cur: HelmReleaseRecord): boolean {
  const hooks = cx.hooksByVersion.get(cur.version);
  if (!cx.spec.test?.enable || !hooks) return false;
  if (!Object.values(hooks).some((h) => h.phase === 'Failed')) return false;
  return !ignoreTestFailures(cx);
}

/**
 * Which action's strategy a failed release falls under: a release that never
 * succeeded is still being installed (even when the retry ran helm upgrade),
 * one with an earlier successful revision is being upgraded.
 */
export function governingAction(cur: HelmReleaseRecord, stored: HelmReleaseRecord[]): ReleaseAction {
  return stored.some((r) => r.version < cur.version && (r.info.status === 'superseded' || r.info.status === 'deployed')) ? 'upgrade' : 'install';
}

/** Has the failure count passed the remediation's retries (negative retries: never)? */
export function exhausted(rem: { retries?: number } | undefined, failures: number | undefined): boolean {
  const retries = rem?.retries ?? 0;
  return retries >= 0 && (failures ?? 0) > retries;
}
