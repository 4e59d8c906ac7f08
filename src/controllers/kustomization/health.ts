// Stage 5, health: waits until the applied objects (spec.wait) or the listed
// ones (spec.healthChecks) are ready, through the apply pipeline's last step;
// custom resources named by spec.healthCheckExprs are judged by those.
// A new source revision cancels the wait, so the attempt starts over on it
// instead of waiting out the old revision's timeout.
import type { ChangeSetEntry } from '../../apply/changeset.ts';
import { appliedRefs, waitForApplied } from '../../apply/pipeline.ts';
import type { CustomHealth } from '../../health/cel.ts';
import type { WaitRef } from '../../health/wait.ts';
import { patchStatus } from '../../runtime/status.ts';
import { formatDuration } from '../../util/duration.ts';
import { Failure, type Attempt, type Env, type Target } from './attempt.ts';
import { settleProgress } from './finish.ts';
import { KS_PLURAL, Reason, type Kustomization } from './names.ts';

/**
 * `healthy` (Healthy set, or dropped when there is nothing to check), the
 * failure, or `canceled`: a new revision arrived, the status says so, and
 * the attempt is to be retried at once.
 */
export async function healthStage(
  env: Env,
  a: Attempt,
  target: Target,
  applied: ChangeSetEntry[],
  revision: string,
  signal: AbortSignal,
  health: CustomHealth,
  /** Stop at the first Failed object (default: the controller's setting). */
  failFast = env.o.failFast,
): Promise<'healthy' | 'canceled' | Failure> {
  const refs = healthRefs(a.obj, applied);
  if (!refs.length) {
    a.conds.delete('Healthy');
    return 'healthy';
  }
  const abort = new AbortController();
  const onAbort = () => abort.abort();
  signal.addEventListener('abort', onAbort);
  env.waits.set(a.key, { revision, abort });
  try {
    const res = await waitForApplied(target.rm, refs, {
      timeoutMs: a.timeout,
      signal: abort.signal,
      informers: target.informers,
      failFast,
      health: health.rule(),
    });
    if (abort.signal.aborted && !signal.aborted) {
      a.conds.set('Reconciling', 'True', Reason.Progressing, `New revision detected, health checks of ${revision} canceled`);
      a.status.conditions = a.conds.toArray();
      await settleProgress(a);
      await patchStatus(env.o.client, a.obj, KS_PLURAL, a.status);
      return 'canceled';
    }
    if (!res.ok) {
      const msg = `health check failed after ${formatDuration(Date.now() - a.started)}: ${res.timedOut ? 'timeout waiting for' : 'failed'}: [${res.notReady
        .map((o) => `${o.subject} status: '${o.result.status}': ${o.result.message}`)
        .join(', ')}]`;
      return new Failure(Reason.HealthCheckFailed, msg, { extra: () => a.conds.set('Healthy', 'False', Reason.HealthCheckFailed, msg) });
    }
    a.conds.set('Healthy', 'True', 'Succeeded', 'Health check passed');
    return 'healthy';
  } finally {
    signal.removeEventListener('abort', onAbort);
    env.waits.delete(a.key);
  }
}

/** Objects to wait for: all applied ones with `wait`, else the listed health checks. */
function healthRefs(obj: Kustomization, applied: ChangeSetEntry[]): WaitRef[] {
  if (obj.spec.wait) return appliedRefs(applied);
  return (obj.spec.healthChecks ?? []).map((h) => ({
    apiVersion: h.apiVersion ?? 'v1',
    kind: h.kind,
    name: h.name,
    namespace: h.namespace ?? obj.metadata.namespace,
  }));
}
