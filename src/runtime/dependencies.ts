// `spec.dependsOn` of the appliers (Kustomization, HelmRelease): whether the
// objects one depends on are ready, and which objects wait on a given one.
// A dependency is ready by its Ready condition at its current generation or,
// when its entry has a readyExpr, by that CEL expression over `self` (the
// dependant) and `dep` (the dependency), as Flux decides it: the expression
// replaces the built-in check, or comes before it with the
// AdditiveCELDependencyCheck feature gate.
import type { Informer } from '../kube/informer.ts';
import { findCondition, type KubeObject } from '../kube/object.ts';
import { CelEvaluationError, CelExpressionError, compileExpression, type BoolProgram } from '../util/cel.ts';

export interface DependencyReference {
  name: string;
  namespace?: string;
  readyExpr?: string;
}

/** Why a dependency holds an object back. */
export interface UnmetDependency {
  namespace: string;
  name: string;
  /**
   * `crossNamespace`: refused by --no-cross-namespace-refs (a spec problem);
   * `invalidExpr`: its readyExpr does not compile (a spec problem);
   * `notReady`: wait and look again (`detail` says why when a readyExpr decided).
   */
  problem: 'crossNamespace' | 'invalidExpr' | 'notReady';
  detail?: string;
}

export interface DependencyOptions {
  noCrossNamespaceRefs?: boolean;
  /** Flux's AdditiveCELDependencyCheck gate: a readyExpr must hold and the dependency be Ready too. */
  additiveCelDependencyCheck?: boolean;
}

/** The variables of a readyExpr. */
const READY_EXPR_VARIABLES = ['self', 'dep'] as const;

/**
 * Ready in Flux's sense of a dependency: Ready=True for the object's current
 * generation, so a dependency whose spec just changed holds its dependents
 * back until it has reconciled that change.
 */
export function readyAtGeneration(obj: KubeObject | undefined): boolean {
  if (!obj) return false;
  return findCondition(obj, 'Ready')?.status === 'True' && (obj.status?.observedGeneration as number | undefined) === obj.metadata.generation;
}

/** The compiled readyExpr of an entry (cached by its text); throws CelExpressionError when it does not compile. */
export function readyExprProgram(dep: DependencyReference): BoolProgram | undefined {
  if (!dep.readyExpr) return undefined;
  try {
    return compileExpression(dep.readyExpr, READY_EXPR_VARIABLES);
  } catch (err) {
    if (err instanceof CelExpressionError) throw new CelExpressionError(`failed to evaluate dependency ${dep.name}: ${err.message}`);
    throw err;
  }
}

/** The first readyExpr of the list that does not compile, as an error; undefined when all do. */
export function invalidReadyExpr(deps: DependencyReference[] | undefined): CelExpressionError | undefined {
  for (const dep of deps ?? []) {
    try {
      readyExprProgram(dep);
    } catch (err) {
      if (err instanceof CelExpressionError) return err;
      throw err;
    }
  }
  return undefined;
}

/**
 * The first dependency, in spec order, that is not met; undefined when all
 * are. `self` is the dependant, as the readyExprs see it.
 */
export function unmetDependency(
  self: KubeObject,
  deps: DependencyReference[] | undefined,
  objects: Pick<Informer, 'get'>,
  o: DependencyOptions = {},
): UnmetDependency | undefined {
  const namespace = self.metadata.namespace!;
  for (const dep of deps ?? []) {
    const depNs = dep.namespace ?? namespace;
    const at = { namespace: depNs, name: dep.name };
    if (o.noCrossNamespaceRefs && depNs !== namespace) return { ...at, problem: 'crossNamespace' };
    const obj = objects.get(depNs, dep.name);
    if (!obj) return { ...at, problem: 'notReady' };
    let program: BoolProgram | undefined;
    try {
      program = readyExprProgram(dep);
    } catch (err) {
      if (err instanceof CelExpressionError) return { ...at, problem: 'invalidExpr', detail: err.message };
      throw err;
    }
    if (program) {
      try {
        // Plain JSON values, numbers as doubles: Flux binds both as google.protobuf.Struct.
        if (!program.evaluate({ self, dep: obj })) return { ...at, problem: 'notReady', detail: 'is not ready according to readyExpr eval' };
      } catch (err) {
        if (err instanceof CelEvaluationError) return { ...at, problem: 'notReady', detail: err.message };
        throw err;
      }
      if (!o.additiveCelDependencyCheck) continue;
    }
    if (!readyAtGeneration(obj)) return { ...at, problem: 'notReady' };
  }
  return undefined;
}

/**
 * Keys (namespace/name) of the objects in `objects` whose dependsOn names the
 * given one; with `readyExprOnly`, only those whose entry has a readyExpr
 * (any change of the dependency may make its expression true).
 */
export function dependentsOf(objects: Pick<Informer, 'list'>, namespace: string, name: string, o: { readyExprOnly?: boolean } = {}): string[] {
  return objects
    .list()
    .filter((k) =>
      ((k.spec as { dependsOn?: DependencyReference[] } | undefined)?.dependsOn ?? []).some(
        (d) => d.name === name && (d.namespace ?? k.metadata.namespace) === namespace && (!o.readyExprOnly || !!d.readyExpr),
      ),
    )
    .map((k) => `${k.metadata.namespace}/${k.metadata.name}`);
}
