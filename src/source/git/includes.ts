// What a GitRepository artifact is made of besides its commit: the artifacts
// of the included GitRepositories (fetched, recorded, copied into the tree)
// and whether any of the content configuration changed since the last build.
import { cp, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { assertNoSymlinkComponents, safeJoin } from '../artifact.ts';
import { conciseFsError, ReconcileError } from './failure.ts';
import type { IncludedArtifactRef, ReconcileDeps } from './deps.ts';
import { ConditionType as C, Reason, type Artifact, type GitRepositoryInclude, type GitRepositorySpec, type GitRepositoryStatus } from './types.ts';
import { requiresVerification } from './verification.ts';

export async function fetchIncludes(deps: Pick<ReconcileDeps, 'getIncludedArtifact'>, namespace: string, include: GitRepositoryInclude[]): Promise<IncludedArtifactRef[]> {
  const out: IncludedArtifactRef[] = [];
  for (const incl of include) {
    let ref: IncludedArtifactRef | undefined;
    try {
      ref = await deps.getIncludedArtifact(namespace, incl.repository.name);
    } catch (err) {
      throw new ReconcileError(
        C.IncludeUnavailable,
        Reason.NotFound,
        `could not get resource for include '${incl.repository.name}': ${(err as Error).message}`,
        'waiting',
      );
    }
    if (!ref) {
      throw new ReconcileError(C.IncludeUnavailable, Reason.NoArtifact, `no artifact available for include '${incl.repository.name}'`, 'waiting');
    }
    out.push(ref);
  }
  return out;
}

export function includedArtifactRecord(ref: IncludedArtifactRef, now: string): Artifact {
  if (ref.artifact) return structuredClone(ref.artifact);
  return { path: '', url: '', revision: ref.revision, digest: ref.digest, lastUpdateTime: now };
}

export function includeSetDiffers(current: Artifact[], observed: Artifact[]): boolean {
  if (current.length !== observed.length) return true;
  return current.some((a, i) => a.revision !== observed[i]!.revision || (a.digest ?? '') !== (observed[i]!.digest ?? ''));
}

export function sameInclude(a: GitRepositoryInclude, b: GitRepositoryInclude | undefined): boolean {
  return !!b && a.repository.name === b.repository.name && (a.fromPath ?? '') === (b.fromPath ?? '') && (a.toPath ?? '') === (b.toPath ?? '');
}

/** Whether anything besides the revision that shapes the artifact changed (Flux's gitContentConfigChanged). */
export function contentConfigChanged(spec: GitRepositorySpec, status: GitRepositoryStatus, includes: Artifact[]): boolean {
  if ((spec.ignore ?? undefined) !== (status.observedIgnore ?? undefined)) return true;
  if (!!spec.recurseSubmodules !== !!status.observedRecurseSubmodules) return true;
  const specInclude = spec.include ?? [];
  const observedInclude = status.observedInclude ?? [];
  if (specInclude.length !== observedInclude.length) return true;
  if (requiresVerification(spec, status)) return true;
  const sparse = spec.sparseCheckout ?? [];
  const observedSparse = status.observedSparseCheckout ?? [];
  if (sparse.length !== observedSparse.length || sparse.some((d, i) => d !== observedSparse[i])) return true;
  const observedArtifacts = status.includedArtifacts ?? [];
  if (specInclude.length !== includes.length || specInclude.length !== observedArtifacts.length) return true;
  for (const [i, incl] of specInclude.entries()) {
    if (!sameInclude(incl, observedInclude[i])) return true;
    if (observedArtifacts[i]!.revision !== includes[i]!.revision) return true;
    if ((observedArtifacts[i]!.digest ?? '') !== (includes[i]!.digest ?? '')) return true;
  }
  return false;
}

/** Copies each include's content (its fromPath) into the checked-out tree at its toPath. */
export async function copyIncludes(tree: string, include: GitRepositoryInclude[], includes: IncludedArtifactRef[]): Promise<void> {
  for (const [i, incl] of include.entries()) {
    const toPath = incl.toPath || incl.repository.name;
    let dest: string;
    try {
      dest = safeJoin(tree, toPath, 'include path');
      await assertNoSymlinkComponents(tree, toPath, 'include path');
    } catch (err) {
      throw new ReconcileError(
        C.StorageOperationFailed,
        Reason.IllegalPath,
        `path calculation for include '${incl.repository.name}' failed: ${(err as Error).message}`,
      );
    }
    try {
      const src = safeJoin(includes[i]!.dir, incl.fromPath ?? '', 'include fromPath');
      await assertNoSymlinkComponents(includes[i]!.dir, incl.fromPath ?? '', 'include fromPath');
      const st = await stat(src);
      if (st.isDirectory()) {
        await cp(src, dest, { recursive: true, force: true, verbatimSymlinks: true, errorOnExist: false });
      } else {
        await cp(src, join(dest, src.split('/').pop()!), { force: true, verbatimSymlinks: true });
      }
    } catch (err) {
      throw new ReconcileError(
        C.StorageOperationFailed,
        Reason.CopyFailure,
        `failed to copy '${incl.repository.name}' include from ${incl.fromPath ?? ''} to ${toPath}: ${conciseFsError(err)}`,
      );
    }
  }
}
