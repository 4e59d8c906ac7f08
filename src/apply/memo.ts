import { createHash } from 'node:crypto';
import { objectId, type KubeObject } from '../kube/object.ts';

interface Entry {
  /** Digest of the object as it was sent. */
  digest: string;
  /** The live object's resourceVersion right after Sluice applied it (or found it unchanged). */
  resourceVersion: string;
  at: number;
}

/**
 * What one owner (a Kustomization) last applied, object by object, so that a
 * reconcile that would send the same object to an object nobody has written
 * since can skip the dry run: the server would answer with what is already
 * there. Any write to the object (drift, another manager, a controller's
 * status update) changes its resourceVersion and brings the dry run back, so
 * drift is still seen. Entries expire, so that what the digest cannot see
 * (a CRD's new defaults, a new admission webhook) is checked again
 * periodically.
 */
export class AppliedMemo {
  private readonly entries = new Map<string, Entry>();

  constructor(
    readonly maxAgeMs = 15 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * True when `obj` is what was last applied and `live` has not been written
   * since. `json` is `obj` serialized, when the caller has it already.
   */
  unchanged(obj: KubeObject, live: KubeObject | undefined, json?: string): boolean {
    const rv = live?.metadata.resourceVersion;
    if (!rv) return false;
    const e = this.entries.get(objectId(obj));
    if (!e || e.resourceVersion !== rv || this.now() - e.at > this.maxAgeMs) return false;
    return e.digest === digestOf(json ?? JSON.stringify(obj));
  }

  /** Remembers that `obj` (serialized: `json`) was applied and the live object is now at `resourceVersion`. */
  record(obj: KubeObject, resourceVersion: string | undefined, json?: string): void {
    const id = objectId(obj);
    if (!resourceVersion) {
      this.entries.delete(id);
      return;
    }
    // Every record follows a full check (a dry run or a write), so the age restarts.
    this.entries.set(id, { digest: digestOf(json ?? JSON.stringify(obj)), resourceVersion, at: this.now() });
  }

  /** Drops entries of objects no longer in the set (pruned or moved away). */
  retain(objects: KubeObject[]): void {
    const keep = new Set(objects.map(objectId));
    for (const id of this.entries.keys()) if (!keep.has(id)) this.entries.delete(id);
  }

  get size(): number {
    return this.entries.size;
  }
}

function digestOf(json: string): string {
  return createHash('sha256').update(json).digest('base64');
}
