// Conditions with Kubernetes semantics, shared by every kind's status.
import type { Condition } from '../api/schema.ts';

type ConditionStatus = Condition['status'];

/** RFC 3339 with second precision, as Kubernetes writes metav1.Time. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * A working copy of an object's conditions, with Kubernetes semantics:
 * lastTransitionTime changes only when the status changes; observedGeneration
 * is the generation being reconciled. Output order: Ready first, then by type
 * (as Flux's condition setter sorts them).
 */
export class Conditions {
  readonly #byType = new Map<string, Condition>();
  readonly #generation: number;
  readonly #now: string;

  constructor(list: Condition[] | undefined, generation: number, now: string) {
    for (const c of list ?? []) this.#byType.set(c.type, { ...c });
    this.#generation = generation;
    this.#now = now;
  }

  get(type: string): Condition | undefined {
    return this.#byType.get(type);
  }

  isTrue(type: string): boolean {
    return this.#byType.get(type)?.status === 'True';
  }

  isFalse(type: string): boolean {
    return this.#byType.get(type)?.status === 'False';
  }

  set(type: string, status: ConditionStatus, reason: string, message: string): void {
    const prev = this.#byType.get(type);
    this.#byType.set(type, {
      type,
      status,
      observedGeneration: this.#generation,
      lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : this.#now,
      reason,
      message,
    });
  }

  delete(type: string): void {
    this.#byType.delete(type);
  }

  toArray(): Condition[] {
    return [...this.#byType.values()].sort((a, b) => {
      if (a.type === 'Ready') return -1;
      if (b.type === 'Ready') return 1;
      return a.type < b.type ? -1 : a.type > b.type ? 1 : 0;
    });
  }
}

// Durations are parsed once for the whole project.
export { parseDuration } from '../util/duration.ts';
