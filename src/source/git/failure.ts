// How a GitRepository reconcile fails: the error that carries the condition
// and reason it sets, and the translations of Git, file system and Secret
// errors into it.
import type { SecretData } from './auth.ts';
import { GitError } from './errors.ts';
import type { ReconcileDeps } from './deps.ts';
import { ConditionType as C, Reason } from './types.ts';

export type ErrorKind = 'generic' | 'waiting' | 'stalling';

/** A reconcile failure with the condition it sets, as Flux's serror types carry. */
export class ReconcileError extends Error {
  constructor(
    readonly condition: string,
    readonly reason: string,
    message: string,
    readonly kind: ErrorKind = 'generic',
  ) {
    super(message);
  }
}

export async function getSecretOrFail(
  deps: Pick<ReconcileDeps, 'getSecret'>,
  namespace: string,
  name: string,
  condition: string,
  reason: string,
): Promise<SecretData> {
  let data: SecretData | undefined;
  try {
    data = await deps.getSecret(namespace, name);
  } catch (err) {
    throw new ReconcileError(condition, reason, `failed to get secret '${namespace}/${name}': ${(err as Error).message}`);
  }
  if (!data) throw new ReconcileError(condition, reason, `failed to get secret '${namespace}/${name}': secret not found`);
  return data;
}

export function secretValues(data: SecretData): string[] {
  const out: string[] = [];
  for (const v of Object.values(data)) {
    const s = v.toString('utf8');
    out.push(s, s.trim());
  }
  return out;
}

export function gitFailure(err: unknown): ReconcileError {
  if (err instanceof ReconcileError) return err;
  if (err instanceof GitError) {
    const reason = err.kind === 'auth' ? Reason.AuthenticationFailed : Reason.GitOperationFailed;
    return new ReconcileError(C.FetchFailed, reason, `failed to checkout and determine revision: ${err.message}`);
  }
  return new ReconcileError(C.FetchFailed, Reason.GitOperationFailed, `failed to checkout and determine revision: ${conciseFsError(err)}`);
}

export function conciseFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && (e.code === 'ENOSPC' || e.code === 'EDQUOT')) {
    // Say what is full and where to look: the bare "write ENOSPC" named neither (issue 20).
    const what = e.code === 'ENOSPC' ? 'no space left on device' : 'disk quota exceeded';
    return `${what} in the controller's storage (--storage-path)${e.path ? ` writing '${e.path.split('/').slice(-3).join('/')}'` : ''} (${e.syscall ?? 'write'} ${e.code})`;
  }
  if (e && typeof e === 'object' && e.code && e.syscall) {
    return `${e.syscall} ${e.code}${e.path ? ` '${e.path.split('/').slice(-3).join('/')}'` : ''}`;
  }
  return e instanceof Error ? e.message : String(err);
}
