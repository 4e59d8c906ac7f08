// Small readers for untyped object fields, and result constructors. Every
// reader tolerates missing or wrongly typed fields: the health rules must
// never throw on what a cluster hands back.
import type { Condition, HealthResult, KubeObject } from './types.ts';

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The value at a path of keys, or undefined when any step is missing. */
export function getPath(root: unknown, path: readonly string[]): unknown {
  let cur: unknown = root;
  for (const key of path) {
    if (!isRecord(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

/** An integer field, or `fallback` when the field is absent or not an integer. */
export function getInt(root: unknown, path: readonly string[], fallback: number): number {
  const v = getPath(root, path);
  return typeof v === 'number' && Number.isInteger(v) ? v : fallback;
}

/** An integer field, or undefined when the field is absent or not an integer. */
export function getOptionalInt(root: unknown, path: readonly string[]): number | undefined {
  const v = getPath(root, path);
  return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
}

export function getString(root: unknown, path: readonly string[], fallback = ''): string {
  const v = getPath(root, path);
  return typeof v === 'string' ? v : fallback;
}

/** The API group of an apiVersion: "apps/v1" → "apps", "v1" → "" (the core group). */
export function apiGroup(apiVersion: string): string {
  const slash = apiVersion.lastIndexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** `.status.conditions`, skipping entries that are not objects or have no type. */
export function conditionsOf(obj: KubeObject): Condition[] {
  const raw = getPath(obj, ['status', 'conditions']);
  if (!Array.isArray(raw)) return [];
  const out: Condition[] = [];
  for (const item of raw) {
    if (!isRecord(item) || typeof item.type !== 'string' || item.type === '') continue;
    out.push({
      type: item.type,
      status: typeof item.status === 'string' ? item.status : '',
      reason: typeof item.reason === 'string' ? item.reason : '',
      message: typeof item.message === 'string' ? item.message : '',
    });
  }
  return out;
}

/** The first condition of a type, if any. */
export function findCondition(conditions: readonly Condition[], type: string): Condition | undefined {
  return conditions.find((c) => c.type === type);
}

/** "Reason: message", "Reason", "message" or '' for a condition, whichever parts it has. */
export function explain(c: Condition | undefined): string {
  if (!c) return '';
  return [c.reason, c.message.trim()].filter((s) => s !== '').join(': ');
}

/** Appends ": detail" to a sentence when there is a detail. */
export function withDetail(sentence: string, detail: string): string {
  return detail ? `${sentence}: ${detail}` : sentence;
}

export function plural(n: number, word: string, pluralWord = `${word}s`): string {
  return `${n} ${n === 1 ? word : pluralWord}`;
}

export function current(message: string, reason: string): HealthResult {
  return { status: 'Current', message, reason };
}

export function inProgress(message: string, reason: string): HealthResult {
  return { status: 'InProgress', message, reason };
}

export function failed(message: string, reason: string): HealthResult {
  return { status: 'Failed', message, reason };
}

export function unknown(message: string, reason: string): HealthResult {
  return { status: 'Unknown', message, reason };
}

/**
 * For objects whose controller always writes `.status.observedGeneration`
 * (the apps workloads, PodDisruptionBudget): while the field is missing the
 * controller has not looked at the object yet, so nothing in its status can
 * be trusted. Returns an InProgress result then, undefined otherwise.
 */
export function notYetObserved(obj: KubeObject): HealthResult | undefined {
  if (typeof obj.metadata.generation !== 'number') return undefined;
  if (getOptionalInt(obj, ['status', 'observedGeneration']) !== undefined) return undefined;
  return inProgress(`${obj.kind} has not been observed by its controller yet`, 'NotObserved');
}
