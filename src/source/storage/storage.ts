// The artifact storage: content-addressed tarballs with their unpacked trees,
// file indexes and build recipes, garbage collection and integrity checks.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join, posix, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { run } from '../../util/exec.ts';
import type { Artifact } from '../../api/gitrepository.ts';

export interface StorageOptions {
  /** Directory holding all artifacts. */
  root: string;
  /** Base of artifact URLs, e.g. http://127.0.0.1:9090 (set by the storage server when unset). */
  baseUrl?: string;
  /** Artifacts kept per source by garbage collection (default 2, the current one included). */
  keep?: number;
  /**
   * Flux's --artifact-retention-ttl: an artifact other than the current one
   * older than this is collected even within `keep`. Unset by default: the
   * previous artifact is what a new revision's build and change-first
   * ordering start from, so Sluice keeps it by count alone.
   */
  ttlMs?: number;
  /**
   * Background work (deleting collected trees, preparing the next build's
   * copy of a tree) starts this long after it was last asked for, so that it
   * does not compete with the reconciles a new artifact sets off (default 2 s).
   */
  backgroundDelayMs?: number;
}

export interface StoreRequest {
  kind: string;
  namespace: string;
  name: string;
  revision: string;
  /** Directory with the final content; moved into storage (or removed if the same content is there). */
  treeDir: string;
  /** The .tar.gz of treeDir; moved into storage. */
  tarball: string;
  digest: string;
  size: number;
  now: Date;
  /** File path → content digest (from writeTarball), kept beside the tree. */
  files?: Record<string, string>;
  /** How the artifact was built, kept beside it for the next build to start from (see recipe()). */
  recipe?: object;
}

/**
 * Artifact storage laid out like Flux's:
 *   <root>/<kind>/<namespace>/<name>/<sha256 hex>.tar.gz
 * Artifacts are content-addressed (the file name is the hex of the tarball's
 * sha256). Beside each tarball, <hex>/ holds the same tree unpacked, for
 * in-process readers. Scratch space lives in <root>/.tmp (same filesystem, so
 * moves into place are renames).
 *
 * Trees are read-only once stored: a tree may share its files (hard links)
 * with the tree of the artifact before it, so no reader may write into one.
 * Beside the current artifact, `.spare-<hex>/` may hold a ready-made copy of
 * its tree (hard links again) for the next build to start from.
 */
export class Storage {
  readonly root: string;
  baseUrl: string | undefined;
  readonly keep: number;
  readonly ttlMs: number | undefined;
  readonly #backgroundDelayMs: number;
  #background: Array<() => Promise<void>> = [];
  #backgroundTimer: NodeJS.Timeout | undefined;
  #backgroundRun: Promise<void> = Promise.resolve();
  /** Spares being made, by path: a build that wants one waits for it. */
  readonly #sparesInProgress = new Map<string, Promise<void>>();

  constructor(opts: StorageOptions) {
    this.root = resolve(opts.root);
    this.baseUrl = opts.baseUrl?.replace(/\/+$/, '');
    this.keep = Math.max(1, opts.keep ?? 2);
    this.ttlMs = opts.ttlMs;
    this.#backgroundDelayMs = opts.backgroundDelayMs ?? 2000;
  }

  /** Relative directory of one source's artifacts. */
  sourceDir(kind: string, namespace: string, name: string): string {
    for (const part of [namespace, name]) {
      if (!part || part.includes('/') || part === '.' || part === '..') throw new Error(`invalid object name '${part}'`);
    }
    return posix.join(kind.toLowerCase(), namespace, name);
  }

  /** Absolute path for a path relative to the root; refuses escapes. */
  localPath(rel: string): string {
    const abs = resolve(this.root, rel);
    if (abs !== this.root && !abs.startsWith(this.root + sep)) throw new Error(`path '${rel}' is outside the storage`);
    return abs;
  }

  /** The file index kept beside an artifact's tree, if it has one. */
  async fileIndex(artifact: Pick<Artifact, 'path'>): Promise<Record<string, string> | undefined> {
    try {
      return JSON.parse(await readFile(this.indexPath(artifact), 'utf8')) as Record<string, string>;
    } catch {
      return undefined;
    }
  }

  private indexPath(artifact: Pick<Artifact, 'path'>): string {
    return `${this.treeDir(artifact)}.files.json`;
  }

  /** How the artifact was built (StoreRequest.recipe), if that was recorded. */
  async recipe<T>(artifact: Pick<Artifact, 'path'>): Promise<T | undefined> {
    try {
      return JSON.parse(await readFile(this.recipePath(artifact), 'utf8')) as T;
    } catch {
      return undefined;
    }
  }

  private recipePath(artifact: Pick<Artifact, 'path'>): string {
    return `${this.treeDir(artifact)}.recipe.json`;
  }

  /** Where a ready-made copy of an artifact's tree waits for the next build. */
  private sparePath(artifact: Pick<Artifact, 'path'>): string {
    const tree = this.treeDir(artifact);
    const i = tree.lastIndexOf(sep);
    return `${tree.slice(0, i)}${sep}.spare-${tree.slice(i + 1)}`;
  }

  /**
   * Makes `dest` a copy of the artifact's tree whose files are hard links to
   * the stored ones: a build changes it by replacing files (never by writing
   * into them). Takes the spare copy when one was made in the background.
   * Returns how: 'spare' or 'linked'.
   */
  async cloneTree(artifact: Pick<Artifact, 'path'>, dest: string): Promise<'spare' | 'linked'> {
    const spare = this.sparePath(artifact);
    await this.#sparesInProgress.get(spare);
    try {
      await rename(spare, dest);
      return 'spare';
    } catch {
      await linkTree(this.treeDir(artifact), dest);
      return 'linked';
    }
  }

  /**
   * Prepares, in the background, the copy of the artifact's tree that the
   * next build will start from (see cloneTree), and drops older spares of
   * the same source.
   */
  prepareSpare(artifact: Pick<Artifact, 'path'>): void {
    const spare = this.sparePath(artifact);
    this.#later(async () => {
      const dir = spare.slice(0, spare.lastIndexOf(sep));
      const names = await readdir(dir).catch(() => [] as string[]);
      for (const n of names) {
        if (n.startsWith('.spare-') && join(dir, n) !== spare) await this.#discard(join(dir, n));
      }
      if (!(await this.exists(artifact)) || (await lstat(spare).then(() => true, () => false))) return;
      const tmp = await this.tempDir('spare');
      const making = linkTree(this.treeDir(artifact), join(tmp, 'tree')).then(() => rename(join(tmp, 'tree'), spare));
      this.#sparesInProgress.set(spare, making.catch(() => {}));
      try {
        await making;
      } finally {
        this.#sparesInProgress.delete(spare);
        await rm(tmp, { recursive: true, force: true });
      }
    });
  }

  /** Runs the background work now and waits for it (tests; shutdown). */
  async settle(): Promise<void> {
    do {
      clearTimeout(this.#backgroundTimer);
      this.#backgroundTimer = undefined;
      this.#startBackground();
      await this.#backgroundRun;
    } while (this.#background.length);
  }

  #later(task: () => Promise<void>): void {
    this.#background.push(task);
    clearTimeout(this.#backgroundTimer);
    this.#backgroundTimer = setTimeout(() => {
      this.#backgroundTimer = undefined;
      this.#startBackground();
    }, this.#backgroundDelayMs);
    this.#backgroundTimer.unref();
  }

  #startBackground(): void {
    const tasks = this.#background;
    this.#background = [];
    if (!tasks.length) return;
    this.#backgroundRun = this.#backgroundRun.then(async () => {
      for (const t of tasks) await t().catch(() => {});
    });
  }

  /** Takes a directory out of sight at once (a rename) and deletes it in the background. */
  async #discard(path: string): Promise<void> {
    if (!(await lstat(path).then(() => true, () => false))) return;
    const bin = await this.tempDir('trash');
    try {
      await rename(path, join(bin, 'tree'));
    } catch {
      await rm(path, { recursive: true, force: true });
    }
    this.#later(() => rm(bin, { recursive: true, force: true }));
  }

  /** Where the unpacked tree of an artifact lives. */
  treeDir(artifact: Pick<Artifact, 'path'>): string {
    return this.localPath(artifact.path.replace(/\.tar\.gz$/, ''));
  }

  urlFor(rel: string): string {
    const base = this.baseUrl ?? 'http://127.0.0.1';
    return `${base}/${rel.split('/').map(encodeURIComponent).join('/')}`;
  }

  /** A fresh scratch directory inside the storage's filesystem. */
  async tempDir(prefix: string): Promise<string> {
    const tmp = join(this.root, '.tmp');
    await mkdir(tmp, { recursive: true });
    return mkdtemp(join(tmp, `${prefix.replace(/[^A-Za-z0-9_.-]/g, '-')}-`));
  }

  /** Whether the artifact's tarball and tree are present. */
  async exists(artifact: Pick<Artifact, 'path'>): Promise<boolean> {
    try {
      const [f, d] = await Promise.all([lstat(this.localPath(artifact.path)), lstat(this.treeDir(artifact))]);
      return f.isFile() && d.isDirectory();
    } catch {
      return false;
    }
  }

  /** Recomputes the tarball's digest and compares it with the recorded one. */
  async verify(artifact: Pick<Artifact, 'path' | 'digest'>): Promise<boolean> {
    if (!artifact.digest) return true;
    const h = createHash('sha256');
    try {
      await pipeline(createReadStream(this.localPath(artifact.path)), h);
    } catch {
      return false;
    }
    return `sha256:${h.digest('hex')}` === artifact.digest;
  }

  /** Moves a built artifact into place and returns its status record. */
  async store(req: StoreRequest): Promise<Artifact> {
    const hex = req.digest.replace(/^sha256:/, '');
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`invalid digest '${req.digest}'`);
    const dir = this.sourceDir(req.kind, req.namespace, req.name);
    const rel = posix.join(dir, `${hex}.tar.gz`);
    await mkdir(this.localPath(dir), { recursive: true });
    const file = this.localPath(rel);
    const tree = this.localPath(posix.join(dir, hex));
    const sameContent = await this.exists({ path: rel });
    if (sameContent) {
      // Content-addressed: the identical artifact is already there.
      await rm(req.tarball, { force: true });
      await this.#discard(req.treeDir);
    } else {
      await rm(tree, { recursive: true, force: true });
      await rename(req.treeDir, tree);
      if (req.files) {
        const index = this.indexPath({ path: rel });
        await writeFile(`${index}.tmp`, JSON.stringify(req.files));
        await rename(`${index}.tmp`, index);
      }
      const recipe = this.recipePath({ path: rel });
      if (req.recipe) {
        await writeFile(`${recipe}.tmp`, JSON.stringify(req.recipe));
        await rename(`${recipe}.tmp`, recipe);
      } else {
        await rm(recipe, { force: true });
      }
      await rename(req.tarball, file);
    }
    // Mark as most recent for garbage collection (wall clock, not req.now:
    // the order on disk must follow what really happened).
    const t = new Date();
    await utimes(file, t, t);
    return {
      path: rel,
      url: this.urlFor(rel),
      revision: req.revision,
      digest: req.digest,
      lastUpdateTime: req.now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      size: req.size,
    };
  }

  /**
   * Removes all but the `keep` most recent artifacts of a source, and those
   * older than `ttlMs` when set; the paths in `protect` (the current
   * artifact) always stay. Returns the removed paths.
   */
  async garbageCollect(kind: string, namespace: string, name: string, protect: string[] = []): Promise<string[]> {
    const dir = this.sourceDir(kind, namespace, name);
    const abs = this.localPath(dir);
    let names: string[];
    try {
      names = await readdir(abs);
    } catch {
      return [];
    }
    const tarballs: { rel: string; mtime: number }[] = [];
    for (const n of names) {
      if (!n.endsWith('.tar.gz')) continue;
      const st = await stat(join(abs, n)).catch(() => undefined);
      if (st?.isFile()) tarballs.push({ rel: posix.join(dir, n), mtime: st.mtimeMs });
    }
    tarballs.sort((a, b) => b.mtime - a.mtime || (a.rel < b.rel ? -1 : 1));
    const keep = new Set(protect);
    const expired = this.ttlMs === undefined ? -Infinity : Date.now() - this.ttlMs;
    for (const t of tarballs) {
      if (keep.size >= this.keep) break;
      if (t.mtime >= expired) keep.add(t.rel);
    }
    const removed: string[] = [];
    for (const t of tarballs) {
      if (keep.has(t.rel)) continue;
      // Trees go out of sight at once and are deleted in the background: a
      // large one takes long to delete, and a reconcile is waiting.
      await this.#discard(this.treeDir({ path: t.rel }));
      await this.#discard(this.sparePath({ path: t.rel }));
      await rm(this.indexPath({ path: t.rel }), { force: true });
      await rm(this.recipePath({ path: t.rel }), { force: true });
      await rm(this.localPath(t.rel), { force: true });
      removed.push(t.rel);
    }
    // Trees left without a tarball (interrupted store), spares of artifacts no longer kept.
    const kept = new Set([...keep].map((p) => posix.basename(p, '.tar.gz')));
    for (const n of names) {
      const m = /^(\.spare-)?([0-9a-f]{64})(\.files\.json|\.recipe\.json)?$/.exec(n);
      const hex = m?.[2];
      if (hex && !kept.has(hex) && (m[1] || !names.includes(`${hex}.tar.gz`))) {
        await this.#discard(join(abs, n));
      }
    }
    return removed;
  }

  /** Removes scratch directories left behind (by a crash) longer than `olderThanMs` ago. */
  async pruneTemp(olderThanMs = 60 * 60_000): Promise<void> {
    const tmp = join(this.root, '.tmp');
    let names: string[];
    try {
      names = await readdir(tmp);
    } catch {
      return;
    }
    const cutoff = Date.now() - olderThanMs;
    for (const n of names) {
      const st = await lstat(join(tmp, n)).catch(() => undefined);
      if (st && st.mtimeMs < cutoff) await rm(join(tmp, n), { recursive: true, force: true });
    }
  }

  /** Removes every artifact of a source (when the object is deleted). */
  async removeAll(kind: string, namespace: string, name: string): Promise<void> {
    await rm(this.localPath(this.sourceDir(kind, namespace, name)), { recursive: true, force: true });
  }
}

/**
 * Copies a tree as hard links (directories made anew, files and symlinks
 * linked): cheap in data, one directory entry per file. `cp -al` does it
 * fastest; where cp lacks -l, the same is done here.
 */
export async function linkTree(src: string, dest: string): Promise<void> {
  await rm(dest, { recursive: true, force: true }); // cp copies *into* a directory that exists
  const res = await run('cp', ['-al', '--', src, dest], { check: false }).catch(() => undefined);
  if (res?.code === 0) return;
  await rm(dest, { recursive: true, force: true });
  const walk = async (from: string, to: string): Promise<void> => {
    await mkdir(to);
    const entries = await readdir(from, { withFileTypes: true });
    await Promise.all(
      entries.map(async (e) => {
        const a = join(from, e.name);
        const b = join(to, e.name);
        if (e.isDirectory()) await walk(a, b);
        else if (e.isSymbolicLink()) await symlink(await readlink(a), b);
        else await link(a, b);
      }),
    );
  };
  await walk(src, dest);
}
