// Before anything else, the CEL expressions of the spec (healthCheckExprs,
// dependsOn[].readyExpr) must compile: one that does not is a configuration
// error no retry can fix, reported as Flux reports it (InvalidCELExpression,
// Stalled) instead of surfacing later as a health check that never passes.
import { CustomHealth } from '../../health/cel.ts';
import { invalidReadyExpr } from '../../runtime/dependencies.ts';
import { CelExpressionError } from '../../util/cel.ts';
import { Failure, type Attempt } from './attempt.ts';
import { Reason } from './names.ts';

/** Flux's prefix for errors of this kind. */
const TERMINAL = 'Reconciliation failed terminally due to configuration error';

export function invalidExpression(message: string): Failure {
  return new Failure(Reason.InvalidCELExpression, `${TERMINAL}: ${message}`, { stalled: true });
}

/** The spec's health expressions, compiled (cached by text); or the Failure of the first that does not compile. */
export function compileExpressions(a: Attempt): CustomHealth | Failure {
  try {
    const health = CustomHealth.compile(a.obj.spec.healthCheckExprs);
    const bad = invalidReadyExpr(a.obj.spec.dependsOn);
    if (bad) return invalidExpression(bad.message);
    return health;
  } catch (err) {
    if (err instanceof CelExpressionError) return invalidExpression(err.message);
    throw err;
  }
}
