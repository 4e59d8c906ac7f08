// What the commit-status types share: the commit of an event, the state it
// means and where the repository is. Each forge's request is in its own file.
import type { FluxEvent } from '../../runtime/eventsink.ts';

/**
 * The commit hash of a revision as Flux writes them: `main@sha1:<hash>`,
 * `sha1:<hash>`, the older `main/<hash>`, or a bare hash. Undefined when
 * there is none (an OCI digest names no commit).
 */
export function commitOf(revision: string): string | undefined {
  const at = revision.lastIndexOf('@');
  let r = at >= 0 ? revision.slice(at + 1) : revision;
  const algo = /^(sha1|sha256):/i.exec(r);
  if (algo) r = r.slice(algo[0].length);
  else if (r.includes('/')) r = r.slice(r.lastIndexOf('/') + 1);
  return /^([0-9a-f]{40}|[0-9a-f]{64})$/i.test(r) ? r.toLowerCase() : undefined;
}

/** The revision an event is about: the commit, else the origin revision, else the revision (as Flux looks them up). */
export function eventRevision(e: FluxEvent): string | undefined {
  const m = e.metadata ?? {};
  return m.commit ?? m.originRevision ?? m.revision;
}

/** The commit an event is about; throws when it names none, which fails the delivery with a clear reason. */
export function eventCommit(e: FluxEvent): string {
  const rev = eventRevision(e);
  if (!rev) throw new Error('the event has no revision metadata, so there is no commit to set a status on');
  const sha = commitOf(rev);
  if (!sha) throw new Error(`no commit hash in revision ${JSON.stringify(rev)}`);
  return sha;
}

export type CommitState = 'pending' | 'success' | 'failure';

/** Progressing (applied, health being checked) is pending; then info is success and error failure. */
export function commitState(e: FluxEvent): CommitState {
  if (e.severity === 'error') return 'failure';
  return e.reason === 'Progressing' ? 'pending' : 'success';
}

/** Flux's description: the reason split into lower-case words (`ReconciliationSucceeded` → `reconciliation succeeded`). */
export function commitDescription(e: FluxEvent): string {
  return e.reason
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase();
}

/** The repository URL split into origin and the path segments (a trailing .git dropped); ssh URLs are refused. */
export function repositoryPath(address: string): { origin: string; host: string; segments: string[] } {
  const u = new URL(address);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`the repository address must be an http(s) URL, not ${u.protocol}`);
  const segments = u.pathname.replace(/\.git$/, '').split('/').filter(Boolean).map(decodeURIComponent);
  return { origin: u.origin, host: u.hostname, segments };
}

export function checkRepository(address: string, minSegments: number): string | undefined {
  if (!address) return 'no address: set spec.address to the repository URL';
  try {
    const { segments } = repositoryPath(address);
    if (segments.length < minSegments) return `the address must name the repository (at least ${minSegments} path segments)`;
  } catch (err) {
    return (err as Error).message.startsWith('the repository') ? (err as Error).message : 'the address is not a valid URL';
  }
  return undefined;
}
