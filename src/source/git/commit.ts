// What the dashboard shows beside an applied revision: the commit's author,
// date and subject, read from the raw commit object the reconcile already
// has in hand (cat-file), so recording them costs no extra git call.
import { COMMIT_AUTHOR_METADATA, COMMIT_DATE_METADATA, COMMIT_SUBJECT_METADATA } from '../artifact.ts';

/** A commit as the mirror reads it. */
export interface CommitInfo {
  hash: string;
  subject: string;
  message: string;
  /** "Name <email>", as the author header has it; '' when the object has none. */
  author: string;
  /** The author date, RFC 3339 in UTC; '' when the header is missing or malformed. */
  date: string;
}

/** The longest subject kept in the artifact's metadata (characters, not bytes). */
export const MAX_SUBJECT = 200;

/**
 * Parses a raw commit object (`git cat-file commit` output): headers, a blank
 * line, the message. The author header is `author Name <email> <epoch> <tz>`.
 */
export function parseCommitObject(hash: string, raw: string): CommitInfo {
  const i = raw.indexOf('\n\n');
  const head = i >= 0 ? raw.slice(0, i) : raw;
  const message = i >= 0 ? raw.slice(i + 2) : '';
  let author = '';
  let date = '';
  for (const line of head.split('\n')) {
    if (!line.startsWith('author ')) continue;
    const m = /^author (.*<[^>]*>) (\d+) ([+-]\d{4})$/.exec(line);
    if (m) {
      author = m[1]!.trim();
      const epoch = Number(m[2]);
      if (Number.isSafeInteger(epoch)) date = new Date(epoch * 1000).toISOString().replace(/\.000Z$/, 'Z');
    } else {
      author = line.slice('author '.length).trim();
    }
    break;
  }
  return { hash, subject: message.split('\n')[0] ?? '', message, author, date };
}

/** The artifact metadata Sluice records for a commit: author, date and a capped subject. */
export function commitMetadata(c: CommitInfo): Record<string, string> {
  const out: Record<string, string> = {};
  if (c.author) out[COMMIT_AUTHOR_METADATA] = c.author;
  if (c.date) out[COMMIT_DATE_METADATA] = c.date;
  const chars = [...c.subject.trim()];
  if (chars.length) out[COMMIT_SUBJECT_METADATA] = chars.length > MAX_SUBJECT ? `${chars.slice(0, MAX_SUBJECT - 1).join('')}…` : chars.join('');
  return out;
}
