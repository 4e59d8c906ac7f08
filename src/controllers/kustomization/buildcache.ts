// The build cache: a Kustomization's last built set, kept with everything the
// build read, so a reconcile with the same inputs skips the build.
import { createHash } from 'node:crypto';
import type { KustomizationSpec } from '../../api/kustomization.ts';
import type { KubeObject } from '../../kube/object.ts';
import type { ArtifactRef } from '../../runtime/artifacts.ts';

/** The parts of a Kustomization a build depends on. */
export interface BuildSubject {
  metadata: { annotations?: Record<string, string> };
  /** Typed by the fields read here; the whole spec goes into the inputs. */
  spec: Pick<KustomizationSpec, 'decryption' | 'postBuild'>;
}

/** Why a build cannot be reused: its output depends on more than the artifact and the spec. */
export function uncacheableReason(ks: BuildSubject): string | undefined {
  if (ks.spec.decryption) return 'decryption reads keys from a Secret';
  if (ks.spec.postBuild?.substituteFrom?.length) return 'postBuild.substituteFrom reads ConfigMaps and Secrets';
  return undefined;
}

/**
 * Everything a build reads, as one string to compare with the last build's
 * (a few hundred bytes: cheaper to keep than to hash on every reconcile), or
 * undefined when the build reads something else too (see uncacheableReason).
 * The artifact is named by its digest, revision and URL path (not the host:
 * a restarted controller serves the same content-addressed file at another
 * address). The whole spec goes in, not only the fields the build reads
 * today: a spec change costs one rebuild, a field forgotten here would cost
 * a stale build. A new `reconcile.fluxcd.io/requestedAt` asks for a full
 * reconcile, so it rebuilds too.
 */
export function buildInputs(ks: BuildSubject, artifact: ArtifactRef, requestedAtAnnotation: string): string | undefined {
  if (uncacheableReason(ks)) return undefined;
  return JSON.stringify([
    artifact.digest ?? '',
    artifact.revision,
    artifact.path,
    urlPath(artifact.url),
    ks.metadata.annotations?.[requestedAtAnnotation] ?? '',
    ks.spec,
  ]);
}

/** The URL without scheme and host. */
function urlPath(url: string): string {
  return url.replace(/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/, '');
}

/**
 * A built set of objects, kept as the JSON text it serializes to: a third
 * less memory than the object trees (measured on the benchmark's apps), a
 * fresh copy for every reconcile (nothing downstream can change what the
 * next one gets), and the text the set's digest is taken of.
 */
export class BuiltSet {
  private digestValue?: string;

  constructor(readonly json: string) {}

  static of(objects: KubeObject[]): BuiltSet {
    return new BuiltSet(JSON.stringify(objects));
  }

  /** A new copy of the objects. */
  objects(): KubeObject[] {
    return JSON.parse(this.json) as KubeObject[];
  }

  /** `sha256:<hex>` of the set as JSON: the digest of Flux's reconcile history. */
  get digest(): string {
    this.digestValue ??= `sha256:${createHash('sha256').update(this.json).digest('hex')}`;
    return this.digestValue;
  }
}

export type BuildCacheResult = 'hit' | 'miss' | 'uncacheable';

/**
 * The last build of each Kustomization, with its inputs. A
 * reconcile whose inputs are the same as that build's takes its objects
 * instead of reading, parsing and transforming the artifact again. Only the
 * build is skipped: the objects still go through apply, whose memo checks
 * every live object's resourceVersion, so drift is corrected as before.
 */
export class BuildCache {
  private readonly entries = new Map<string, { inputs: string; set: BuiltSet; reused: number }>();
  readonly counts: Record<BuildCacheResult, number> = { hit: 0, miss: 0, uncacheable: 0 };

  /** The set built for `key` from exactly these inputs, if it is the last one built; counts the reuse. */
  take(key: string, inputs: string | undefined): BuiltSet | undefined {
    if (inputs === undefined) return undefined;
    const e = this.entries.get(key);
    if (!e || e.inputs !== inputs) return undefined;
    e.reused++;
    return e.set;
  }

  /** Remembers the set built from `inputs`; undefined inputs forget the key's entry instead. */
  set(key: string, inputs: string | undefined, set: BuiltSet): void {
    if (inputs === undefined) this.entries.delete(key);
    else this.entries.set(key, { inputs, set, reused: 0 });
  }

  /** The last build of `key` and how many reconciles reused it since (for tests and debugging). */
  entry(key: string): { set: BuiltSet; reused: number } | undefined {
    const e = this.entries.get(key);
    return e && { set: e.set, reused: e.reused };
  }

  count(result: BuildCacheResult): void {
    this.counts[result]++;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
