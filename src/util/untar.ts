// Unpacking archives that come from outside (artifacts of other
// controllers, OCI layers, Helm charts) with bounds: a .tar.gz of a few
// kilobytes can expand to gigabytes, or hold millions of entries.
import { extract } from 'tar';

export interface UntarLimits {
  /** Largest single entry, in bytes. */
  maxFileSize: number;
  /** Largest total of entry sizes, in bytes. */
  maxTotalSize: number;
  /** Most entries (files, directories, links). */
  maxEntries: number;
}

/** The same bounds as the artifacts Sluice builds itself (src/source/artifact.ts), and a million entries. */
export const DEFAULT_UNTAR_LIMITS: UntarLimits = {
  maxFileSize: 100 * 1024 * 1024,
  maxTotalSize: 2 * 1024 * 1024 * 1024,
  maxEntries: 1_000_000,
};

/** An archive over a limit; the message says which, and names the entry for a file over the size limit. */
export class UntarLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UntarLimitError';
  }
}

export interface UntarOptions {
  file: string;
  cwd: string;
  limits?: UntarLimits;
  /** Entries to leave out (they count towards no limit). */
  keep?: (path: string, type: string) => boolean;
}

/**
 * Extracts `file` into `cwd`. node-tar (strict, no preservePaths) refuses
 * absolute paths, `..` and writing through links it made. Sizes are counted
 * from the headers before anything is written; past a limit every further
 * entry is skipped (the rest is still read, not written) and the whole
 * archive is refused with UntarLimitError: the caller removes `cwd`.
 */
export async function untarLimited(o: UntarOptions): Promise<void> {
  const limits = o.limits ?? DEFAULT_UNTAR_LIMITS;
  let total = 0;
  let count = 0;
  let over: string | undefined;
  await extract({
    file: o.file,
    cwd: o.cwd,
    strict: true,
    preservePaths: false,
    filter: (path, entry) => {
      if (over) return false;
      const type = 'type' in entry ? String(entry.type) : 'File';
      if (o.keep && !o.keep(path, type)) return false;
      const size = 'size' in entry && typeof entry.size === 'number' ? entry.size : 0;
      total += size;
      count++;
      if (size > limits.maxFileSize) over = `the entry '${path}' has ${size} bytes, over the limit of ${limits.maxFileSize} per file`;
      else if (total > limits.maxTotalSize) over = `it unpacks to over ${limits.maxTotalSize} bytes`;
      else if (count > limits.maxEntries) over = `it has over ${limits.maxEntries} entries`;
      return !over;
    },
  });
  if (over) throw new UntarLimitError(`archive refused: ${over}`);
}
