// The commit behind a Kustomization's applied revision, as the detail page
// shows it: author, date and subject from its source's artifact metadata
// (recorded by the GitRepository reconcile). Only when the source's artifact
// is the applied revision: an artifact that moved on describes another commit.
import { COMMIT_AUTHOR_METADATA, COMMIT_DATE_METADATA, COMMIT_SUBJECT_METADATA } from '../api/annotations.ts';

export interface AppliedCommit {
  revision: string;
  author: string;
  date: string;
  subject: string;
}

/** The applied commit, or why there is none to show. */
export type AppliedCommitView = AppliedCommit | { unavailable: string };

const MAX = 300;

/** Matches the applied revision against the source's artifact; a pure function of the two. */
export function appliedCommit(appliedRevision: string | undefined, artifact: { revision?: unknown; metadata?: unknown } | undefined): AppliedCommitView {
  if (!appliedRevision) return { unavailable: 'no revision applied yet' };
  if (!artifact || artifact.revision !== appliedRevision) return { unavailable: "the source's artifact is another revision" };
  const md = (artifact.metadata ?? {}) as Record<string, unknown>;
  const get = (k: string) => (typeof md[k] === 'string' ? (md[k] as string).slice(0, MAX) : '');
  const c = { revision: appliedRevision, author: get(COMMIT_AUTHOR_METADATA), date: get(COMMIT_DATE_METADATA), subject: get(COMMIT_SUBJECT_METADATA) };
  if (!c.author && !c.subject) return { unavailable: 'the source recorded no commit details' };
  return c;
}
