// Stage 1, dependencies: every Kustomization of spec.dependsOn must be Ready
// at its current generation (or meet its readyExpr) before this one is applied.
import { unmetDependency } from '../../runtime/dependencies.ts';
import { formatDuration } from '../../util/duration.ts';
import { Failure, type Attempt, type Env } from './attempt.ts';
import { invalidExpression } from './expressions.ts';
import { Reason } from './names.ts';

/** The failure of the first unmet dependency; undefined when all are met. */
export function dependencyFailure(env: Env, a: Attempt): Failure | undefined {
  const unmet = unmetDependency(a.obj, a.obj.spec.dependsOn, env.o.kustomizations, {
    noCrossNamespaceRefs: env.o.noCrossNamespaceRefs,
    additiveCelDependencyCheck: env.o.additiveCelDependencyCheck,
  });
  if (!unmet) return undefined;
  const dep = `${unmet.namespace}/${unmet.name}`;
  if (unmet.problem === 'crossNamespace') {
    return new Failure(Reason.AccessDenied, `cannot depend on Kustomization ${dep}: cross-namespace references are disabled`, { stalled: true });
  }
  if (unmet.problem === 'invalidExpr') return invalidExpression(unmet.detail!);
  const delay = env.o.requeueDependencyMs ?? 30_000;
  const why = unmet.detail?.startsWith('failed') ? unmet.detail : `dependency '${dep}' ${unmet.detail ?? 'is not ready'}`;
  return new Failure(Reason.DependencyNotReady, `Dependencies do not meet ready condition (${why}), retrying in ${formatDuration(delay)}`, {
    retryAfterMs: delay,
  });
}
