// Signature verification of the checked-out revision (spec.verify): the
// tag, the commit HEAD points to, or both, against the trusted keys of a Secret.
import type { Conditions } from '../../runtime/conditions.ts';
import { getSecretOrFail, ReconcileError } from './failure.ts';
import type { ResolvedRevision } from './mirror.ts';
import type { ReconcileDeps } from './deps.ts';
import type { GitUrl } from './url.ts';
import { splitCommitSignature, splitTagSignature, trustedKeysFromSecret, verifySignature } from './verify.ts';
import { ConditionType as C, Reason, type GitRepository, type GitRepositorySpec, type GitRepositoryStatus, type GitVerificationMode } from './types.ts';

export function normalizeMode(mode: GitVerificationMode | undefined): 'HEAD' | 'Tag' | 'TagAndHEAD' {
  if (mode === 'Tag' || mode === 'TagAndHEAD') return mode;
  return 'HEAD';
}

export function requiresVerification(spec: GitRepositorySpec, status: GitRepositoryStatus): boolean {
  if (!spec.verify) return false;
  const observed = status.sourceVerificationMode ? normalizeMode(status.sourceVerificationMode as GitVerificationMode) : undefined;
  const mode = normalizeMode(spec.verify.mode);
  if (!observed) return true;
  if (observed === 'Tag' && (mode === 'HEAD' || mode === 'TagAndHEAD')) return true;
  if (observed === 'HEAD' && (mode === 'Tag' || mode === 'TagAndHEAD')) return true;
  return false;
}

export async function verifyRevision(
  deps: ReconcileDeps,
  obj: GitRepository,
  namespace: string,
  url: GitUrl,
  rev: ResolvedRevision,
  status: GitRepositoryStatus,
  conds: Conditions,
): Promise<void> {
  const verify = obj.spec.verify;
  if (!verify) {
    status.sourceVerificationMode = undefined;
    conds.delete(C.SourceVerified);
    return;
  }
  const mode = normalizeMode(verify.mode);
  const secret = await getSecretOrFail(deps, namespace, verify.secretRef.name, C.SourceVerified, Reason.VerificationError).catch(
    (err: ReconcileError) => {
      throw new ReconcileError(C.SourceVerified, Reason.VerificationError, `PGP public keys secret error: ${err.message}`);
    },
  );
  const keys = trustedKeysFromSecret(secret);
  const lines: string[] = [];
  if (mode === 'Tag' || mode === 'TagAndHEAD') {
    if (!rev.tagName) {
      throw new ReconcileError(
        C.SourceVerified,
        Reason.InvalidVerificationMode,
        `cannot verify tag object's signature if a tag reference is not specified`,
        'stalling',
      );
    }
    const tag = rev.tagName;
    const raw = rev.tagObject ? await deps.mirrors.readObject(url, 'tag', rev.tagObject) : undefined;
    const signed = raw && splitTagSignature(raw);
    if (!signed) {
      throw new ReconcileError(C.SourceVerified, Reason.InvalidGitObject, `cannot verify signature of tag '${tag}' since it is not signed`);
    }
    try {
      const key = await verifySignature(signed, keys);
      lines.push(`tag '${tag}' with key '${key}'`);
    } catch (err) {
      throw new ReconcileError(
        C.SourceVerified,
        Reason.InvalidTagSignature,
        `signature verification of tag '${tag}' failed: ${(err as Error).message}`,
      );
    }
  }
  if (mode === 'HEAD' || mode === 'TagAndHEAD') {
    const raw = await deps.mirrors.readObject(url, 'commit', rev.commit);
    const signed = splitCommitSignature(raw);
    if (!signed) {
      throw new ReconcileError(
        C.SourceVerified,
        Reason.InvalidCommitSignature,
        `signature verification of commit '${rev.commit}' failed: the commit is not signed`,
      );
    }
    try {
      const key = await verifySignature(signed, keys);
      lines.push(`commit '${rev.commit}' with key '${key}'`);
    } catch (err) {
      throw new ReconcileError(
        C.SourceVerified,
        Reason.InvalidCommitSignature,
        `signature verification of commit '${rev.commit}' failed: ${(err as Error).message}`,
      );
    }
  }
  status.sourceVerificationMode = mode;
  conds.set(C.SourceVerified, 'True', Reason.Succeeded, `verified signature of\n\t- ${lines.join('\n\t- ')}`);
}
