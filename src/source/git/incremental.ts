// Builds a GitRepository's new artifact from the previous one when only a few
// files changed. Git says what changed between the two commits (`diff-tree`)
// and hands over the new blobs (`cat-file --batch`); the previous tarball is
// streamed through, its untouched entries copied byte for byte, the changed
// ones written in their place; the unpacked tree is a hard-linked copy of the
// previous one with the changed files replaced. No checkout, no walk of the
// tree, no read of an unchanged file. The result is the same bytes a full
// build of the new commit gives (test/source/incremental.test.ts holds it to
// that), so the digest is the same whichever way an artifact was made.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { Pax } from 'tar';
import { ArtifactContentError, checkLink, END_OF_ARCHIVE, entryBlocks, type ArtifactLimits, type TarballResult, type TreeEntry } from '../artifact.ts';
import { SourceIgnore, type IgnoreFile } from '../ignore.ts';
import type { GitUrl } from './url.ts';
import type { MirrorCache, TreeChange } from './mirror.ts';
import { parseCommitObject, type CommitInfo } from './commit.ts';

const gunzipAsync = promisify(gunzip);
const gzipAsync = promisify(gzip);

/**
 * How an artifact was built, stored beside it: what the next build needs to
 * start from it instead of from a checkout. Recorded only for plain builds
 * (no include, no sparse checkout, no submodules).
 */
export interface ArtifactRecipe {
  version: 1;
  /** The commit whose tree the artifact holds. */
  commit: string;
  /** The `.sourceignore` files of that tree. */
  ignoreFiles: IgnoreFile[];
  /** spec.ignore as it was. */
  specIgnore?: string;
  /** Whether the tree had `.gitattributes` files (which can make checked-out bytes differ from blobs). */
  gitAttributes: boolean;
}

/** One entry the new artifact gets (or replaces) relative to the previous one. */
export interface AddedEntry {
  path: string;
  type: 'dir' | 'file' | 'symlink';
  executable: boolean;
  /** Blob id of a file's content or a symlink's target. */
  oid?: string;
}

/** What turns the previous artifact's entries into the new one's. */
export interface ChangePlan {
  /** Paths whose previous entry goes (a path both removed and added is replaced). */
  remove: Set<string>;
  /** New entries, in archive order. */
  add: AddedEntry[];
}

/** A plan with the blobs it needs, ready to build. */
export interface IncrementalBuild extends ChangePlan {
  blobs: Map<string, Buffer>;
  /** The new commit (subject, author, date), read from the objects the build reads anyway. */
  commit: CommitInfo;
  recipe: ArtifactRecipe;
}

const MODES: Record<string, AddedEntry['type'] | 'none'> = {
  '000000': 'none',
  '040000': 'dir',
  '100644': 'file',
  '100755': 'file',
  '120000': 'symlink',
};

/**
 * Turns `git diff-tree -r -t` output into the entry changes of the artifact,
 * applying the same exclusions a full build would (an entry is in the
 * artifact when neither it nor a directory above it is ignored). Returns a
 * reason instead when the change is one only a full build handles: ignore
 * rules or attributes changed, a submodule, an unknown mode, an odd path.
 */
export function planChanges(changes: TreeChange[], ignore: SourceIgnore): ChangePlan | { fallback: string } {
  const remove = new Set<string>();
  const add: AddedEntry[] = [];
  const dirIgnored = new Map<string, boolean>();
  const excluded = (path: string, isDir: boolean): boolean => {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      let v = dirIgnored.get(dir);
      if (v === undefined) dirIgnored.set(dir, (v = ignore.ignores(dir, true)));
      if (v) return true;
    }
    return ignore.ignores(path, isDir);
  };
  for (const c of changes) {
    const parts = c.path.split('/');
    if (parts.some((p) => p === '' || p === '.' || p === '..' || p === '.git') || c.path.includes('\0')) {
      return { fallback: `unusual path '${c.path}'` };
    }
    const name = parts[parts.length - 1]!;
    if (name === '.sourceignore' || name === '.gitattributes') return { fallback: `${name} changed` };
    const before = MODES[c.oldMode];
    const after = MODES[c.newMode];
    if (!before || !after) return { fallback: `'${c.path}' has mode ${before ? c.newMode : c.oldMode} (submodule or unknown)` };
    if (before === 'dir' && after === 'dir') continue; // a directory whose content changed: its entries say how
    if (before !== 'none') remove.add(c.path);
    if (after !== 'none' && !excluded(c.path, after === 'dir')) {
      add.push({ path: c.path, type: after, executable: c.newMode === '100755', oid: after === 'dir' ? undefined : c.newOid });
    }
  }
  add.sort((a, b) => treeOrder(a.path, b.path));
  return { remove, add };
}

/**
 * Asks git what changed since the recipe's commit and reads the new blobs.
 * Returns a reason instead when the artifact must be built in full.
 */
export async function prepareIncremental(
  mirrors: MirrorCache,
  url: GitUrl,
  recipe: ArtifactRecipe,
  commit: string,
  specIgnore: string | undefined,
  limits: ArtifactLimits,
): Promise<IncrementalBuild | { fallback: string }> {
  if (recipe.version !== 1) return { fallback: 'no recipe of this version' };
  if (recipe.gitAttributes) return { fallback: 'the tree has .gitattributes' };
  if ((recipe.specIgnore ?? undefined) !== (specIgnore ?? undefined)) return { fallback: 'spec.ignore changed' };
  let changes: TreeChange[];
  try {
    changes = await mirrors.diffTree(url, recipe.commit, commit);
  } catch (err) {
    return { fallback: `no diff from ${recipe.commit.slice(0, 12)}: ${(err as Error).message}` };
  }
  const plan = planChanges(changes, SourceIgnore.fromRules(recipe.ignoreFiles, specIgnore));
  if ('fallback' in plan) return plan;
  const oids = plan.add.flatMap((a) => (a.oid ? [a.oid] : []));
  const objects = await mirrors.readObjects(url, [commit, ...oids]);
  for (const oid of oids) {
    const blob = objects.get(oid);
    if (!blob) return { fallback: `blob ${oid} is not in the mirror` };
    if (blob.length > limits.maxFileSize) return { fallback: 'a file over the size limit' };
  }
  const info = parseCommitObject(commit, objects.get(commit)?.toString('utf8') ?? '');
  return { ...plan, blobs: objects, commit: info, recipe: { ...recipe, commit } };
}

/**
 * Writes the new tarball from the previous one and the plan, and turns
 * `tree` (a hard-linked copy of the previous tree) into the new tree.
 * Content problems (a symlink out of the root, limits) throw
 * ArtifactContentError; a full build then reports them as it always does.
 */
export async function buildIncremental(previousTarball: string, tree: string, build: IncrementalBuild, tarball: string, limits: ArtifactLimits): Promise<TarballResult> {
  const entries: Array<{ entry: TreeEntry; data?: Buffer }> = build.add.map((a) => {
    const blob = a.oid ? build.blobs.get(a.oid)! : undefined;
    if (a.type === 'symlink') {
      const target = blob!.toString('utf8');
      checkLink(a.path, target);
      return { entry: { path: a.path, type: 'symlink', size: 0, executable: false, linkTarget: target } };
    }
    if (a.type === 'dir') return { entry: { path: a.path, type: 'dir', size: 0, executable: false } };
    return { entry: { path: a.path, type: 'file', size: blob!.length, executable: a.executable }, data: blob };
  });
  const result = await rewriteTarball(previousTarball, build.remove, entries, tarball, limits);
  await applyToTree(tree, build.remove, entries);
  return result;
}

/** Largest uncompressed previous tarball an incremental build takes on (it is held in memory). */
export const MAX_INCREMENTAL_TAR = 256 * 1024 * 1024;

/**
 * Writes the previous tarball into `dest` with `remove` taken out and `add`
 * (in archive order) put in; every other entry is copied as it was. Works
 * in memory: one gunzip, one pass, one gzip, so that a busy event loop
 * delays it a few times rather than once per block.
 */
export async function rewriteTarball(
  previous: string,
  remove: Set<string>,
  add: Array<{ entry: TreeEntry; data?: Buffer }>,
  dest: string,
  limits: ArtifactLimits,
): Promise<TarballResult> {
  const gz = await readFile(previous);
  const tar = await gunzipAsync(gz, { chunkSize: 1 << 20, maxOutputLength: MAX_INCREMENTAL_TAR });
  const files: Record<string, string> = {};
  const parts: Buffer[] = [];
  let bytes = 0;
  const count = (path: string, data: Buffer) => {
    files[path] = createHash('sha1').update(data).digest('hex');
    bytes += data.length;
    if (bytes > limits.maxTotalSize) throw new ArtifactContentError(`the artifact content exceeds the limit of ${limits.maxTotalSize} bytes in total`);
  };
  const fresh = (a: { entry: TreeEntry; data?: Buffer }) => {
    if (a.entry.type === 'file') count(a.entry.path, a.data!);
    parts.push(...entryBlocks(a.entry, a.data));
  };
  let next = 0;
  for (const old of tarEntries(tar)) {
    while (next < add.length && treeOrder(add[next]!.entry.path, old.path) < 0) fresh(add[next++]!);
    if (next < add.length && add[next]!.entry.path === old.path) {
      fresh(add[next++]!);
      continue;
    }
    if (remove.has(old.path)) continue;
    if (old.type === 'file') count(old.path, old.data);
    parts.push(old.raw);
  }
  while (next < add.length) fresh(add[next++]!);
  parts.push(END_OF_ARCHIVE);
  const out = await gzipAsync(Buffer.concat(parts), { chunkSize: 1 << 20 });
  await writeFile(dest, out, { mode: 0o644 });
  return { digest: `sha256:${createHash('sha256').update(out).digest('hex')}`, size: out.length, files };
}

/** Applies the plan to a hard-linked copy of the previous tree: files are replaced, never written into. */
async function applyToTree(tree: string, remove: Set<string>, add: Array<{ entry: TreeEntry; data?: Buffer }>): Promise<void> {
  // Deepest first, so that a directory goes after what it held.
  for (const p of [...remove].sort((a, b) => treeOrder(b, a))) await rm(join(tree, p), { recursive: true, force: true });
  for (const { entry: e, data } of add) {
    const abs = join(tree, e.path);
    if (e.type === 'dir') {
      await mkdir(abs, { recursive: true });
      continue;
    }
    await rm(abs, { recursive: true, force: true });
    if (e.type === 'symlink') await symlink(e.linkTarget!, abs);
    else await writeFile(abs, data!, { mode: e.executable ? 0o755 : 0o644, flag: 'wx' });
  }
}

/**
 * Orders paths as the archive does: depth first, the names of one directory
 * in byte order (pruneTree's walk), i.e. component by component.
 */
export function treeOrder(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x > 0x7f || y > 0x7f) return componentOrder(a, b);
    if (x === 0x2f) return -1; // '/': the end of a name sorts before any character
    if (y === 0x2f) return 1;
    return x - y;
  }
  return a.length - b.length;
}

function componentOrder(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const c = Buffer.compare(Buffer.from(pa[i]!), Buffer.from(pb[i]!));
    if (c) return c;
  }
  return pa.length - pb.length;
}

/** One logical entry of a tarball: its path and type, its data, and all its raw bytes (PAX header, header, padded data). */
export interface RawTarEntry {
  path: string;
  type: 'dir' | 'file' | 'symlink';
  data: Buffer;
  raw: Buffer;
}

/**
 * The entries of an uncompressed tarball written by this module or
 * writeTarball. Anything else in it (another entry type, a bad checksum, a
 * truncated archive) throws: the caller builds in full instead.
 */
export function* tarEntries(tar: Buffer): Generator<RawTarEntry> {
  let at = 0;
  let start = 0;
  let pax: Pax | undefined;
  for (;;) {
    if (at + 512 > tar.length) throw new Error('truncated tarball');
    const block = tar.subarray(at, at + 512);
    if (isZero(block)) return;
    // The header's own fields; a PAX header before it overrides them.
    const h = decodeHeader(block);
    const size = (h.flag !== 'x' ? pax?.size : undefined) ?? h.size;
    const body = at + 512;
    at = body + Math.ceil(size / 512) * 512;
    if (at > tar.length) throw new Error('truncated tarball');
    if (h.flag === 'x') {
      pax = Pax.parse(tar.toString('utf8', body, body + size), pax);
      continue;
    }
    const type = h.flag === '5' ? 'dir' : h.flag === '0' ? 'file' : h.flag === '2' ? 'symlink' : undefined;
    const path = pax?.path ?? h.path;
    if (!type || !path) throw new Error(`unexpected tar entry type '${h.flag}'`);
    yield { path: path.replace(/\/+$/, ''), type, data: tar.subarray(body, body + size), raw: tar.subarray(start, at) };
    pax = undefined;
    start = at;
  }
}

/**
 * The few ustar header fields a rewrite needs (type flag, size, path), with
 * the checksum verified: the tar package's full decoder costs more than
 * the rest of a rewrite together.
 */
function decodeHeader(b: Buffer): { flag: string; size: number; path: string } {
  let sum = 8 * 0x20; // the checksum field counts as spaces
  for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) sum += b[i]!;
  if (sum !== parseInt(text(b, 148, 8).trim(), 8)) throw new Error('bad tar header checksum');
  if (b[124]! & 0x80) throw new Error('unsupported tar size encoding');
  const name = text(b, 0, 100);
  const prefix = b.toString('latin1', 257, 262) === 'ustar' ? text(b, 345, 155) : '';
  return { flag: String.fromCharCode(b[156]!), size: parseInt(text(b, 124, 12).trim() || '0', 8), path: prefix ? `${prefix}/${name}` : name };
}

function text(b: Buffer, off: number, len: number): string {
  let end = off;
  while (end < off + len && b[end] !== 0) end++;
  return b.toString('utf8', off, end);
}

function isZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}
