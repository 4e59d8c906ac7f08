// Building an artifact from a checked-out tree: the tree pruned by the ignore
// rules and size limits, then written as a reproducible tarball with its digest.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { lstat, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { isAbsolute, join, posix } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { Header, Pax } from 'tar';
import type { SourceIgnore } from './ignore.ts';

/** Limits on what goes into an artifact. */
export interface ArtifactLimits {
  /** Largest single file, in bytes (default 100 MiB). */
  maxFileSize: number;
  /** Largest total of file sizes, in bytes (default 2 GiB). */
  maxTotalSize: number;
}

export const DEFAULT_LIMITS: ArtifactLimits = { maxFileSize: 100 * 1024 * 1024, maxTotalSize: 2 * 1024 * 1024 * 1024 };

/** A problem with the content itself (symlink out of the root, oversized file, bad path). */
export class ArtifactContentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArtifactContentError';
  }
}

export interface TreeEntry {
  /** '/'-separated path relative to the root. */
  path: string;
  type: 'dir' | 'file' | 'symlink';
  size: number;
  executable: boolean;
  linkTarget?: string;
}

export interface PrunedTree {
  entries: TreeEntry[];
  files: number;
  bytes: number;
  /** Entries left out because they are unsafe (a symlink out of the root), with why. */
  skipped: SkippedEntry[];
}

export interface SkippedEntry {
  path: string;
  reason: string;
}

/**
 * The artifact metadata key that lists what a source left out of an
 * artifact (JSON of SkippedEntry[]), so that the Kustomizations whose path
 * holds such a file fail naming it, and the others build.
 */
export const SKIPPED_METADATA = 'sluice.dev/skipped';

export { COMMIT_AUTHOR_METADATA, COMMIT_DATE_METADATA, COMMIT_SUBJECT_METADATA, FETCH_DURATION_METADATA } from '../api/annotations.ts';

/** A duration in ms as the fetch-duration metadata has it: seconds with two decimals ("0.05s", "12.30s"). */
export function formatFetchDuration(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(2)}s`;
}

/** Reads SKIPPED_METADATA from an artifact's metadata. */
export function skippedEntries(metadata: Record<string, string> | undefined): SkippedEntry[] {
  const raw = metadata?.[SKIPPED_METADATA];
  if (!raw) return [];
  try {
    const v = JSON.parse(raw) as SkippedEntry[];
    return Array.isArray(v) ? v.filter((e) => typeof e?.path === 'string') : [];
  } catch {
    return [];
  }
}

// File modes in the tarball, as Flux writes them.
const DIR_MODE = 0o750;
const FILE_MODE = 0o600;
const EXEC_MODE = 0o700;
const LINK_MODE = 0o777;
const EPOCH = new Date(0);

/**
 * Walks `root` in name order, deletes from disk everything the ignore rules
 * exclude (and every `.git` entry, always), and checks what stays: no symlink
 * may point outside the root, no file may exceed the size limit, and only
 * regular files, directories and symlinks are kept.
 */
export async function pruneTree(root: string, ignore: SourceIgnore, limits: ArtifactLimits = DEFAULT_LIMITS): Promise<PrunedTree> {
  const entries: TreeEntry[] = [];
  const skipped: SkippedEntry[] = [];
  let files = 0;
  let bytes = 0;
  const walk = async (abs: string, rel: string): Promise<void> => {
    const names = (await readdir(abs)).sort(byteOrder);
    const stats = await Promise.all(names.map((n) => lstat(join(abs, n))));
    for (const [i, name] of names.entries()) {
      const childAbs = join(abs, name);
      const childRel = rel ? `${rel}/${name}` : name;
      const st = stats[i]!;
      if (name === '.git') {
        await rm(childAbs, { recursive: true, force: true });
        continue;
      }
      if (st.isDirectory()) {
        if (ignore.ignores(childRel, true)) {
          await rm(childAbs, { recursive: true, force: true });
          continue;
        }
        entries.push({ path: childRel, type: 'dir', size: 0, executable: false });
        await walk(childAbs, childRel);
      } else if (st.isSymbolicLink()) {
        if (ignore.ignores(childRel, false)) {
          await rm(childAbs, { force: true });
          continue;
        }
        const target = await readlink(childAbs);
        try {
          checkLink(childRel, target);
        } catch (err) {
          // One hostile link must not take the whole artifact (a monorepo's
          // every application) down: it is left out, and said so.
          if (!(err instanceof ArtifactContentError)) throw err;
          await rm(childAbs, { force: true });
          skipped.push({ path: childRel, reason: err.message });
          continue;
        }
        entries.push({ path: childRel, type: 'symlink', size: 0, executable: false, linkTarget: target });
      } else if (st.isFile()) {
        if (ignore.ignores(childRel, false)) {
          await rm(childAbs, { force: true });
          continue;
        }
        if (st.size > limits.maxFileSize) {
          throw new ArtifactContentError(
            `file '${childRel}' is ${st.size} bytes, over the limit of ${limits.maxFileSize} bytes per file`,
          );
        }
        files++;
        bytes += st.size;
        if (bytes > limits.maxTotalSize) {
          throw new ArtifactContentError(`the artifact content exceeds the limit of ${limits.maxTotalSize} bytes in total`);
        }
        entries.push({ path: childRel, type: 'file', size: st.size, executable: (st.mode & 0o111) !== 0 });
      } else {
        // Sockets, FIFOs, devices: never part of an artifact.
        await rm(childAbs, { force: true });
      }
    }
  };
  await walk(root, '');
  return { entries, files, bytes, skipped };
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * Refuses a symlink whose target leaves the root (absolute, or too many
 * '..'), or that has a '..' after a name. Judging the text alone is sound
 * only without the latter: `s/..` goes to the parent of wherever `s` really
 * points, so with `d/s -> ..` the link `d/e/t -> ../s/../..` reads as
 * `d/..` but resolves to the root's parent. With every '..' leading, each
 * link climbs at most to the root from its real directory (the walk never
 * enters linked directories), and names only descend.
 */
export function checkLink(rel: string, target: string): void {
  if (isAbsolute(target)) {
    throw new ArtifactContentError(`symlink '${rel}' points outside the source root (absolute target '${target}')`);
  }
  let named = false;
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part !== '..') named = true;
    else if (named) throw new ArtifactContentError(`symlink '${rel}' has '..' after a name in its target '${target}': through another link it could leave the source root`);
  }
  const resolved = posix.normalize(posix.join(posix.dirname(rel), target));
  if (resolved === '..' || resolved.startsWith('../')) {
    throw new ArtifactContentError(`symlink '${rel}' points outside the source root (target '${target}')`);
  }
}

/**
 * Joins a user-given relative path onto a root and refuses anything that
 * would leave the root ('..', absolute paths).
 */
export function safeJoin(root: string, rel: string, what: string): string {
  const clean = posix.normalize(`/${rel.replace(/\\/g, '/')}`).replace(/(.)\/+$/, '$1');
  if (rel.split(/[\\/]/).includes('..') || isAbsolute(rel)) {
    throw new ArtifactContentError(`${what} '${rel}' escapes the source root`);
  }
  return clean === '/' ? root : join(root, clean.slice(1));
}

/**
 * Refuses a path (below root) that passes through a symlink: writing or
 * reading through one could leave the root even when the path itself looks
 * contained. Missing components are fine (they will be created).
 */
export async function assertNoSymlinkComponents(root: string, rel: string, what: string): Promise<void> {
  const parts = rel.replace(/\\/g, '/').split('/').filter((p) => p && p !== '.');
  let cur = root;
  for (const [i, part] of parts.entries()) {
    cur = join(cur, part);
    let st;
    try {
      st = await lstat(cur);
    } catch {
      return;
    }
    if (st.isSymbolicLink()) {
      throw new ArtifactContentError(`${what} '${rel}' passes through the symlink '${parts.slice(0, i + 1).join('/')}'`);
    }
  }
}

export interface TarballResult {
  /** sha256:<hex> over the .tar.gz bytes. */
  digest: string;
  size: number;
  /** Each regular file's path and the sha1 of its content: lets two artifacts be compared without reading them. */
  files: Record<string, string>;
}

/**
 * The tar blocks of one entry: a PAX header when the path or link target
 * does not fit the ustar fields, the header, then a file's data padded to
 * 512 bytes. Every artifact writer goes through here, so the same entry is
 * always the same bytes.
 */
export function entryBlocks(e: TreeEntry, data?: Buffer): Buffer[] {
  const h = new Header({
    path: e.type === 'dir' ? `${e.path}/` : e.path,
    mode: e.type === 'dir' ? DIR_MODE : e.type === 'symlink' ? LINK_MODE : e.executable ? EXEC_MODE : FILE_MODE,
    uid: 0,
    gid: 0,
    size: e.type === 'file' ? e.size : 0,
    mtime: EPOCH,
    type: e.type === 'dir' ? 'Directory' : e.type === 'symlink' ? 'SymbolicLink' : 'File',
    linkpath: e.linkTarget ?? '',
    uname: '',
    gname: '',
  });
  const out: Buffer[] = [];
  const block = Buffer.alloc(512);
  if (h.encode(block, 0)) out.push(new Pax({ path: h.path, linkpath: e.linkTarget }).encode());
  out.push(block);
  if (e.type === 'file' && data) {
    out.push(data);
    const pad = (512 - (data.length % 512)) % 512;
    if (pad) out.push(Buffer.alloc(pad));
  }
  return out;
}

/** The end-of-archive marker: two zero blocks. */
export const END_OF_ARCHIVE = Buffer.alloc(1024);

/**
 * Writes a deterministic .tar.gz of `entries` (from pruneTree) to `dest`: fixed
 * order, zero timestamps and owners, normalised modes. Same content, same bytes.
 */
export async function writeTarball(root: string, entries: TreeEntry[], dest: string): Promise<TarballResult> {
  const files: Record<string, string> = {};
  // Reads run ahead of the writer: opening many small files one by one is
  // bound by syscall latency, not bandwidth.
  const reads = new Map<number, Promise<Buffer>>();
  let nextRead = 0;
  const READ_AHEAD = 32;
  const pump = (upTo: number) => {
    for (; nextRead < entries.length && nextRead < upTo; nextRead++) {
      const e = entries[nextRead]!;
      if (e.type === 'file') {
        const p = readFile(join(root, e.path));
        p.catch(() => {}); // awaited in order below
        reads.set(nextRead, p);
      }
    }
  };
  async function* blocks(): AsyncGenerator<Buffer> {
    for (const [i, e] of entries.entries()) {
      pump(i + READ_AHEAD);
      if (e.type !== 'file') {
        yield* entryBlocks(e);
        continue;
      }
      const data = await reads.get(i)!;
      reads.delete(i);
      if (data.length !== e.size) throw new ArtifactContentError(`file '${e.path}' changed while archiving`);
      files[e.path] = createHash('sha1').update(data).digest('hex');
      yield* entryBlocks(e, data);
    }
    yield END_OF_ARCHIVE;
  }
  return { ...(await writeGzip(blocks(), dest)), files };
}

/**
 * Gzips a tar stream into `dest` (default compression, as every artifact
 * writer here) and returns the digest and size of what was written.
 */
export async function writeGzip(blocks: AsyncIterable<Buffer>, dest: string): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  await pipeline(Readable.from(coalesce(blocks)), createGzip(), tap, createWriteStream(dest, { mode: 0o644 }));
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

/**
 * Joins small buffers into chunks of at least `min` bytes: every chunk
 * written to a zlib stream is a trip to the thread pool, and a tarball of
 * small files is mostly 512-byte blocks. (Deflate's output does not depend
 * on how its input is cut.)
 */
async function* coalesce(blocks: AsyncIterable<Buffer>, min = 64 * 1024): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let length = 0;
  for await (const b of blocks) {
    parts.push(b);
    length += b.length;
    if (length >= min) {
      yield Buffer.concat(parts, length);
      parts = [];
      length = 0;
    }
  }
  if (length) yield Buffer.concat(parts, length);
}
