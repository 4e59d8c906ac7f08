// Stage 1, dependencies: every Kustomization of spec.dependsOn must be Ready
// at its current generation before this one is applied.
import { unmetDependency } from '../../runtime/dependencies.ts';
import { formatDuration } from '../../util/duration.ts';
import { Failure, type Attempt, type Env } from './attempt.ts';
import { Reason } from './names.ts';

/** The failure of the first unmet dependency; undefined when all are met. */
export function dependencyFailure(env: Env, a: Attempt): Failure | undefined {
  const unmet = unmetDependency(a.obj.spec.dependsOn, a.namespace, env.o.kustomizations, { noCrossNamespaceRefs: env.o.noCrossNamespaceRefs });
  if (!unmet) return undefined;
  const dep = `${unmet.namespace}/${unmet.name}`;
  if (unmet.problem === 'crossNamespace') {
    return new Failure(Reason.AccessDenied, `cannot depend on Kustomization ${dep}: cross-namespace references are disabled`, { stalled: true });
  }
  const delay = env.o.requeueDependencyMs ?? 30_000;
  return new Failure(Reason.DependencyNotReady, `Dependencies do not meet ready condition (dependency '${dep}' is not ready), retrying in ${formatDuration(delay)}`, {
    retryAfterMs: delay,
  });
}
