import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join, posix, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Artifact } from '../types.ts';

export interface StorageOptions {
  /** Directory holding all artifacts. */
  root: string;
  /** Base of artifact URLs, e.g. http://127.0.0.1:9090 (set by the storage server when unset). */
  baseUrl?: string;
  /** Artifacts kept per source by garbage collection (default 2, the current one included). */
  keep?: number;
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
}

/**
 * Artifact storage laid out like Flux's:
 *   <root>/<kind>/<namespace>/<name>/<sha256 hex>.tar.gz
 * Artifacts are content-addressed (the file name is the hex of the tarball's
 * sha256). Beside each tarball, <hex>/ holds the same tree unpacked, for
 * in-process readers. Scratch space lives in <root>/.tmp (same filesystem, so
 * moves into place are renames).
 */
export class Storage {
  readonly root: string;
  baseUrl: string | undefined;
  readonly keep: number;

  constructor(opts: StorageOptions) {
    this.root = resolve(opts.root);
    this.baseUrl = opts.baseUrl?.replace(/\/+$/, '');
    this.keep = Math.max(1, opts.keep ?? 2);
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
      await rm(req.treeDir, { recursive: true, force: true });
    } else {
      await rm(tree, { recursive: true, force: true });
      await rename(req.treeDir, tree);
      if (req.files) {
        const index = this.indexPath({ path: rel });
        await writeFile(`${index}.tmp`, JSON.stringify(req.files));
        await rename(`${index}.tmp`, index);
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
   * Removes all but the `keep` most recent artifacts of a source; the paths in
   * `protect` (the current artifact) always stay. Returns the removed paths.
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
    for (const t of tarballs) {
      if (keep.size >= this.keep) break;
      keep.add(t.rel);
    }
    const removed: string[] = [];
    for (const t of tarballs) {
      if (keep.has(t.rel)) continue;
      await rm(this.treeDir({ path: t.rel }), { recursive: true, force: true });
      await rm(this.indexPath({ path: t.rel }), { force: true });
      await rm(this.localPath(t.rel), { force: true });
      removed.push(t.rel);
    }
    // Trees left without a tarball (interrupted store).
    const kept = new Set([...keep].map((p) => posix.basename(p, '.tar.gz')));
    for (const n of names) {
      const hex = /^([0-9a-f]{64})(\.files\.json)?$/.exec(n)?.[1];
      if (hex && !kept.has(hex) && !names.includes(`${hex}.tar.gz`)) {
        await rm(join(abs, n), { recursive: true, force: true });
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
