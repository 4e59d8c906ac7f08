// A Receiver's CEL filters, as notification-controller v1.9 has them:
// spec.resourceFilter for every resource and resources[].filter for the
// objects of one reference; an object is reconciled only when each that is
// set returns true. Both are compiled over two variables: `res`, the object's
// apiVersion, kind and metadata, and `req`, the request's JSON body (an empty
// map when the body is not JSON; for gcr, the registry event unwrapped from
// the Pub/Sub message), and `claims`, the verified token's claims of a
// generic-oidc call (an empty map for other types). An expression that does not compile or is not a bool
// makes the Receiver not Ready (checked by its status, before any call).
import type { Receiver } from '../../api/receiver.ts';
import type { KubeObject } from '../../kube/object.ts';
import { CelEvaluationError, compileExpression, type BoolProgram } from '../../util/cel.ts';

const VARIABLES = ['res', 'req', 'claims'] as const;

/** Compiles one filter; throws CelExpressionError naming the problem. */
export function compileFilter(expr: string): BoolProgram {
  return compileExpression(expr, VARIABLES);
}

/** Every filter of the Receiver that does not compile, as `field: message`. */
export function invalidFilters(r: Receiver): string[] {
  const out: string[] = [];
  const check = (field: string, expr: string | undefined) => {
    if (!expr) return;
    try {
      compileFilter(expr);
    } catch (err) {
      out.push(`${field}: ${(err as Error).message}`);
    }
  };
  check('spec.resourceFilter', r.spec.resourceFilter);
  r.spec.resources.forEach((x, i) => check(`spec.resources[${i}].filter`, x.filter));
  return out;
}

/** Whether the body is JSON by its Content-Type, as Flux decides (any listed media type application/json). */
export function isJsonContent(contentType: string | undefined): boolean {
  return (contentType ?? '')
    .split(',')
    .some((v) => v.split(';')[0]!.trim().toLowerCase() === 'application/json');
}

/**
 * The `req` variable: the JSON object of the body when the request says it
 * is JSON, else an empty map. Undefined when it says JSON and is not an object.
 */
export function requestVariable(contentType: string | undefined, body: Buffer): Record<string, unknown> | undefined {
  if (!isJsonContent(contentType)) return {};
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The `res` variable: what Flux's PartialObjectMetadata carries (no spec, no status). */
export function resourceVariable(o: KubeObject): Record<string, unknown> {
  return JSON.parse(JSON.stringify({ apiVersion: o.apiVersion, kind: o.kind, metadata: o.metadata })) as Record<string, unknown>;
}

/** Decides per object: true when every filter given is true. Throws CelEvaluationError when one fails on the data. */
export type ObjectFilter = (o: KubeObject) => boolean;

export function objectFilter(exprs: Array<string | undefined>, req: Record<string, unknown>, claims: Record<string, unknown> = {}): ObjectFilter | undefined {
  const programs = exprs.filter((e): e is string => !!e).map(compileFilter);
  if (!programs.length) return undefined;
  return (o) => {
    const vars = { res: resourceVariable(o), req, claims };
    return programs.every((p) => p.evaluate(vars));
  };
}

export { CelEvaluationError };
