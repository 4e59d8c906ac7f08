// Health of custom resources by CEL expressions (spec.healthCheckExprs of
// Kustomization and HelmRelease), as Flux's StatusEvaluator decides it
// (fluxcd/pkg runtime/cel, RFC-0009):
//   1. status.observedGeneration present and not metadata.generation: InProgress;
//   2. then inProgress, failed, current, in this order: the first that is
//      true decides (InProgress, Failed, Current);
//   3. none true: InProgress;
//   4. an expression that fails on the object (a field not there yet): Unknown,
//      and the wait goes on.
// An entry applies to the objects of its group (from apiVersion, any version)
// and kind, and replaces the built-in rules for them. The expressions see the
// object's top-level fields as variables (status, metadata, spec, data...).
import { celIntegers, CelEvaluationError, CelExpressionError, parseExpression, type BoolProgram } from '../util/cel.ts';
import { computeHealth } from './index.ts';
import type { HealthResult, HealthStatus, KubeObject } from './types.ts';
import { apiGroup } from './util.ts';

/** One entry of spec.healthCheckExprs (the API's CustomHealthCheck). */
export interface CustomHealthCheck {
  apiVersion: string;
  kind?: string;
  current: string;
  inProgress?: string;
  failed?: string;
}

/** How a set of objects is judged: one verdict per object. */
export type HealthRule = (obj: KubeObject) => HealthResult;

interface Evaluator {
  order: Array<{ status: HealthStatus; name: string; program: BoolProgram }>;
  /** The object's top-level fields the expressions read: only those are converted for them. */
  names: ReadonlySet<string>;
}

/** The compiled expressions of one spec, by "group/Kind". */
export class CustomHealth {
  private constructor(private readonly byKind: Map<string, Evaluator>) {}

  /**
   * Compiles the entries, once per expression text (see util/cel.ts).
   * Throws CelExpressionError, naming the entry, when an expression does
   * not parse, `current` is empty, or two entries name the same group and kind.
   */
  static compile(checks: readonly CustomHealthCheck[] | undefined): CustomHealth {
    const byKind = new Map<string, Evaluator>();
    (checks ?? []).forEach((hc, i) => {
      const key = kindKey(apiGroup(hc.apiVersion), hc.kind ?? '');
      if (byKind.has(key)) throw new CelExpressionError(`duplicate custom health check for GroupKind ${displayKind(key)} at healthCheckExprs[${i}]`);
      try {
        if (!hc.current) throw new CelExpressionError('expression Current not specified');
        const order: Evaluator['order'] = [];
        const add = (status: HealthStatus, name: string, expr: string | undefined) => {
          if (!expr) return;
          try {
            order.push({ status, name, program: parseExpression(expr) });
          } catch (err) {
            throw new CelExpressionError(`failed to parse the expression ${name}: ${(err as Error).message}`);
          }
        };
        add('InProgress', 'InProgress', hc.inProgress);
        add('Failed', 'Failed', hc.failed);
        add('Current', 'Current', hc.current);
        byKind.set(key, { order, names: new Set(order.flatMap((o) => [...o.program.names])) });
      } catch (err) {
        throw new CelExpressionError(`failed to create custom status evaluator for healthCheckExprs[${i}]: ${(err as Error).message}`);
      }
    });
    return new CustomHealth(byKind);
  }

  get size(): number {
    return this.byKind.size;
  }

  /** The verdict of the expressions for this object; undefined when no entry names its kind. */
  evaluate(obj: KubeObject): HealthResult | undefined {
    const ev = this.byKind.get(kindKey(apiGroup(obj.apiVersion), obj.kind));
    if (!ev) return undefined;
    const kind = obj.kind;
    const observed = (obj.status as { observedGeneration?: unknown } | undefined)?.observedGeneration;
    const generation = obj.metadata.generation;
    if (typeof observed === 'number' && typeof generation === 'number' && observed !== generation) {
      return {
        status: 'InProgress',
        message: `${kind} generation ${generation} has not been observed by its controller yet (observed generation ${observed})`,
        reason: 'LatestGenerationNotObserved',
      };
    }
    const vars: Record<string, unknown> = {};
    for (const name of ev.names) if (name in obj) vars[name] = celIntegers(obj[name]);
    for (const { status, name, program } of ev.order) {
      let matched: boolean;
      try {
        matched = program.evaluate(vars);
      } catch (err) {
        if (!(err instanceof CelEvaluationError)) throw err;
        return { status: 'Unknown', message: err.message, reason: 'CELEvaluationError' };
      }
      if (matched) return { status, message: `${kind} ${verdict(status)}: the ${lowerFirst(name)} expression '${program.expr}' is true`, reason: `CEL${name}` };
    }
    return { status: 'InProgress', message: `${kind} is in progress: no healthCheckExprs expression is true yet`, reason: 'CELNoneTrue' };
  }

  /**
   * The health rule of a wait: these expressions for their kinds, the
   * built-in rules for the rest. A wait judges every object of a collection
   * again on each event in it; objects from the caches are never changed in
   * place, so a verdict is kept per object and an unchanged one costs a lookup.
   */
  rule(): HealthRule {
    if (this.byKind.size === 0) return computeHealth;
    const verdicts = new WeakMap<KubeObject, HealthResult>();
    return (obj) => {
      let r = verdicts.get(obj);
      if (!r) verdicts.set(obj, (r = this.evaluate(obj) ?? computeHealth(obj)));
      return r;
    };
  }
}

function kindKey(group: string, kind: string): string {
  return `${group}/${kind}`;
}

function displayKind(key: string): string {
  // Go's GroupKind.String(): Kind.group, or Kind alone for the core group.
  const i = key.indexOf('/');
  const group = key.slice(0, i);
  const kind = key.slice(i + 1);
  return group ? `${kind}.${group}` : kind;
}

function verdict(status: HealthStatus): string {
  return status === 'Current' ? 'is current' : status === 'Failed' ? 'has failed' : 'is in progress';
}

function lowerFirst(s: string): string {
  return s[0]!.toLowerCase() + s.slice(1);
}
