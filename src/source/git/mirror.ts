// The mirror cache: one bare repository per remote, resolving references
// with ls-remote, fetching only what moved, and checking out commits.
import { createHash } from 'node:crypto';
import { access, copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withLock } from '../../util/lock.ts';
import type { GitAuth } from './auth.ts';
import { GitError } from './errors.ts';
import { gitBytes, runGit } from './exec.ts';
import { pickSemverTag } from '../semver.ts';
import type { GitUrl } from './url.ts';
import type { GitRepositoryRef } from '../../api/gitrepository.ts';
import { parseCommitObject, type CommitInfo } from './commit.ts';

export type { CommitInfo } from './commit.ts';

/** Flux's default when no reference is given. */
export const DEFAULT_BRANCH = 'master';

export type RefKind = 'branch' | 'tag' | 'semver' | 'name' | 'commit';

/** A reference resolved against the remote: what to fetch and check out. */
export interface ResolvedRevision {
  kind: RefKind;
  /** Full remote reference (refs/heads/main, refs/tags/v1, refs/pull/1/head); none for a bare commit. */
  ref?: string;
  /** The commit to check out. */
  commit: string;
  /** Annotated tag object the reference points to, if any. */
  tagObject?: string;
  /** Tag name when the reference is a tag (tag, semver, or name under refs/tags/). */
  tagName?: string;
  /** Flux revision: main@sha1:<c>, v1.2.3@sha1:<c>, refs/pull/1/head@sha1:<c>, sha1:<c>. */
  revision: string;
}

export interface MirrorStats {
  /** `git ls-remote` calls (cheap: only the refs asked for). */
  lsRemote: number;
  /** `git fetch` calls (object transfer). */
  fetches: number;
  /** Polls that found every wanted object already in the mirror. */
  upToDate: number;
}

export interface GitCallOptions {
  auth: GitAuth;
  timeoutMs: number;
}

export interface CheckoutOptions extends GitCallOptions {
  /** Directories to check out (Flux's spec.sparseCheckout); everything when empty. */
  sparseCheckout?: string[];
  recurseSubmodules?: boolean;
  /** Private scratch directory for the checkout's git metadata. */
  gitDir: string;
}

/** One line of `git diff-tree -r -t`: a path whose entry differs between two commits. */
export interface TreeChange {
  path: string;
  /** Git modes as octal text: '000000' where the side has no entry, '040000' a tree, '100644' a file... */
  oldMode: string;
  newMode: string;
  /** Object id of the new side (all zeros when it has none). */
  newOid: string;
}


const SHA1 = /^[0-9a-f]{40}$/;

/**
 * A cache of bare mirrors, one per repository URL (directory named by a hash
 * of the URL). Each poll asks the remote only for the wanted reference; the
 * mirror fetches when the reference moved to a commit it does not hold, and
 * then only that commit (shallow). Force-pushes are fine: refs are updated
 * with '+'. Local refs in the mirror carry the remote names.
 */
export class MirrorCache {
  readonly dir: string;
  readonly stats: MirrorStats = { lsRemote: 0, fetches: 0, upToDate: 0 };
  readonly #inProcess = new Map<string, Promise<unknown>>();

  constructor(dir: string) {
    this.dir = dir;
  }

  /** The mirror directory for a URL. */
  pathFor(url: GitUrl): string {
    return join(this.dir, createHash('sha256').update(url.url).digest('hex').slice(0, 40) + '.git');
  }

  /** Serialises work on one mirror, within this process and across processes. */
  async withMirror<T>(url: GitUrl, fn: (repo: string) => Promise<T>): Promise<T> {
    const repo = this.pathFor(url);
    const prev = this.#inProcess.get(repo) ?? Promise.resolve();
    const next = prev.catch(() => {}).then(async () => {
      await mkdir(this.dir, { recursive: true });
      return withLock(`${repo}.lock`, async () => {
        await this.#init(repo, url);
        await removeStaleGitLocks(repo);
        return fn(repo);
      });
    });
    this.#inProcess.set(repo, next);
    try {
      return await next;
    } finally {
      if (this.#inProcess.get(repo) === next) this.#inProcess.delete(repo);
    }
  }

  async #init(repo: string, url: GitUrl): Promise<void> {
    try {
      await access(join(repo, 'HEAD'));
      return;
    } catch {
      /* create below */
    }
    await rm(repo, { recursive: true, force: true });
    await runGit(['init', '--bare', '--quiet', repo]);
    // Keep refs and objects; no reflogs to grow; the URL (no credentials)
    // for whoever looks at the cache.
    await runGit(['--git-dir', repo, 'config', 'core.logAllRefUpdates', 'false']);
    await writeFile(join(repo, 'description'), `sluice mirror of ${url.url}\n`);
  }

  /**
   * Resolves the reference of a GitRepository against the remote, with the
   * precedence Flux uses: commit > name > semver > tag > branch (default
   * 'master'). Only `git ls-remote` for the wanted refs; no objects move.
   */
  async resolve(url: GitUrl, ref: GitRepositoryRef | undefined, o: GitCallOptions): Promise<ResolvedRevision> {
    const r = ref ?? {};
    if (r.commit) {
      const commit = r.commit.trim().toLowerCase();
      if (!SHA1.test(commit)) {
        throw new GitError('invalid', `invalid commit '${r.commit}': a full 40-character SHA-1 is required`);
      }
      if (r.branch) {
        const branchRef = `refs/heads/${r.branch}`;
        const refs = await this.lsRemote(url, [branchRef], o, ['--heads']);
        if (!refs.has(branchRef)) throw notFound(url, branchRef);
        return { kind: 'commit', ref: branchRef, commit, revision: `${r.branch}@sha1:${commit}` };
      }
      return { kind: 'commit', commit, revision: `sha1:${commit}` };
    }
    if (r.name) {
      const name = r.name.trim();
      if (!name.startsWith('refs/')) {
        throw new GitError('invalid', `invalid reference name '${name}': it must be a full name starting with 'refs/'`);
      }
      const refs = await this.lsRemote(url, [name], o);
      const target = refs.get(name);
      if (!target) throw notFound(url, name);
      const peeled = refs.get(`${name}^{}`);
      const isTag = name.startsWith('refs/tags/');
      return {
        kind: 'name',
        ref: name,
        commit: peeled ?? target,
        tagObject: peeled ? target : undefined,
        tagName: isTag ? name.slice('refs/tags/'.length) : undefined,
        revision: `${name}@sha1:${peeled ?? target}`,
      };
    }
    if (r.semver) {
      const refs = await this.lsRemote(url, ['refs/tags/*'], o, ['--tags']);
      const tags = [...refs.keys()].filter((k) => !k.endsWith('^{}')).map((k) => k.slice('refs/tags/'.length));
      let tag: string | undefined;
      try {
        tag = pickSemverTag(tags, r.semver);
      } catch (err) {
        throw new GitError('invalid', `semver parse error: ${(err as Error).message}`);
      }
      if (!tag) throw new GitError('ref-not-found', `no match found for semver: ${r.semver}`);
      return this.#tagRevision(refs, tag, 'semver');
    }
    if (r.tag) {
      const tagRef = `refs/tags/${r.tag}`;
      const refs = await this.lsRemote(url, [tagRef], o, ['--tags']);
      if (!refs.has(tagRef)) throw notFound(url, tagRef);
      return this.#tagRevision(refs, r.tag, 'tag');
    }
    const branch = r.branch || DEFAULT_BRANCH;
    const branchRef = `refs/heads/${branch}`;
    const refs = await this.lsRemote(url, [branchRef], o, ['--heads']);
    const commit = refs.get(branchRef);
    if (!commit) throw notFound(url, branchRef);
    return { kind: 'branch', ref: branchRef, commit, revision: `${branch}@sha1:${commit}` };
  }

  #tagRevision(refs: Map<string, string>, tag: string, kind: RefKind): ResolvedRevision {
    const tagRef = `refs/tags/${tag}`;
    const target = refs.get(tagRef)!;
    const peeled = refs.get(`${tagRef}^{}`);
    return {
      kind,
      ref: tagRef,
      commit: peeled ?? target,
      tagObject: peeled ? target : undefined,
      tagName: tag,
      revision: `${tag}@sha1:${peeled ?? target}`,
    };
  }

  /** `git ls-remote` for exact ref names; returns name -> object id (with 'name^{}' for peeled tags). */
  async lsRemote(url: GitUrl, patterns: string[], o: GitCallOptions, extra: string[] = []): Promise<Map<string, string>> {
    this.stats.lsRemote++;
    const exactArgs = patterns.filter((p) => !p.endsWith('*')).flatMap((p) => [p, `${p}^{}`]);
    const res = await runGit(['ls-remote', ...extra, url.url, ...exactArgs], {
      env: o.auth.env,
      secrets: o.auth.secrets,
      timeoutMs: o.timeoutMs,
      url: url.url,
      host: url.sshHostPattern,
      credentials: o.auth.credentials,
    });
    const exact = new Set(patterns.flatMap((p) => [p, `${p}^{}`]));
    const wildcard = patterns.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1));
    const out = new Map<string, string>();
    for (const line of res.stdout.split('\n')) {
      const m = /^([0-9a-f]{40,64})\t(\S+)$/.exec(line.trim());
      if (!m) continue;
      const [, oid, name] = m as unknown as [string, string, string];
      if (exact.has(name) || wildcard.some((w) => name.startsWith(w))) out.set(name, oid);
    }
    return out;
  }

  /**
   * Makes sure the mirror holds the resolved commit (and tag object). Does
   * nothing on the network when it already does; otherwise fetches only the
   * wanted ref, shallow. Resolves to true when something was fetched.
   */
  async sync(url: GitUrl, rev: ResolvedRevision, o: GitCallOptions): Promise<boolean> {
    return this.withMirror(url, async (repo) => {
      const localRef = rev.ref ?? `refs/sluice/commits/${rev.commit}`;
      const wantTip = rev.tagObject ?? rev.commit;
      const fetchOpts = {
        env: o.auth.env,
        secrets: o.auth.secrets,
        timeoutMs: o.timeoutMs,
        url: url.url,
        host: url.sshHostPattern,
        credentials: o.auth.credentials,
      };
      const base = ['--git-dir', repo, '-c', 'gc.autoDetach=false', 'fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--no-auto-maintenance'];

      if (rev.kind === 'commit' && rev.ref) {
        // commit + branch: the commit must be in the branch, so the branch's
        // history is needed (as in Flux, which clones the branch for this).
        let fetched = false;
        const tip = await this.#lsTip(url, rev.ref, o);
        if ((await hasObject(repo, tip)) && (await hasObject(repo, rev.commit)) && (await isAncestor(repo, rev.commit, tip))) {
          await updateRef(repo, rev.ref, tip);
        } else {
          const deepen = (await isShallow(repo)) ? ['--unshallow'] : [];
          this.stats.fetches++;
          await runGit([...base, ...deepen, url.url, `+${rev.ref}:${rev.ref}`], fetchOpts);
          fetched = true;
        }
        if (!(await hasObject(repo, rev.commit)) || !(await isAncestor(repo, rev.commit, rev.ref))) {
          throw new GitError('ref-not-found', `unable to resolve commit object for '${rev.commit}': not found in '${rev.ref}'`);
        }
        await updateRef(repo, `refs/sluice/commits/${rev.commit}`, rev.commit);
        if (!fetched) this.stats.upToDate++;
        return fetched;
      }

      // One git process answers for the objects and the local ref together.
      const before = await lookup(repo, [rev.commit, wantTip, localRef]);
      if (before.has(rev.commit) && before.has(wantTip)) {
        if (before.get(localRef) !== wantTip) await updateRef(repo, localRef, wantTip);
        this.stats.upToDate++;
        return false;
      }

      this.stats.fetches++;
      if (rev.kind === 'commit') {
        try {
          await runGit([...base, '--depth=1', url.url, rev.commit], fetchOpts);
        } catch (err) {
          if (!(err instanceof GitError) || (err.kind !== 'ref-not-found' && err.kind !== 'other')) throw err;
          // The server does not serve unadvertised commits: take all branches.
          await runGit([...base, url.url, '+refs/heads/*:refs/heads/*'], fetchOpts);
        }
        if (!(await hasObject(repo, rev.commit))) {
          throw new GitError('ref-not-found', `unable to resolve commit object for '${rev.commit}': object not found`);
        }
        await updateRef(repo, localRef, rev.commit);
        return true;
      }

      await runGit([...base, '--depth=1', url.url, `+${rev.ref}:${rev.ref}`], fetchOpts);
      let after = await lookup(repo, [rev.commit, wantTip, localRef]);
      if (!after.has(wantTip) || !after.has(rev.commit)) {
        // The ref moved between ls-remote and fetch: ask for the exact object.
        await runGit([...base, '--depth=1', url.url, wantTip], fetchOpts);
        after = await lookup(repo, [rev.commit, wantTip, localRef]);
      }
      if (!after.has(rev.commit)) {
        throw new GitError('ref-not-found', `unable to fetch commit '${rev.commit}' of '${rev.ref}'`);
      }
      if (after.get(localRef) !== wantTip) await updateRef(repo, localRef, wantTip);
      return true;
    });
  }

  /**
   * Fetches a branch without asking the remote for it first (one round of
   * requests instead of two) and resolves it from what arrived: for a
   * reconcile that was asked for, when a new commit is the likely news.
   * Polls keep to resolve() and sync(), which fetch only when the branch moved.
   */
  async fetchBranch(url: GitUrl, branch: string, o: GitCallOptions): Promise<ResolvedRevision> {
    return this.withMirror(url, async (repo) => {
      const ref = `refs/heads/${branch}`;
      this.stats.fetches++;
      await runGit(
        ['--git-dir', repo, '-c', 'gc.autoDetach=false', 'fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--no-auto-maintenance', '--depth=1', url.url, `+${ref}:${ref}`],
        { env: o.auth.env, secrets: o.auth.secrets, timeoutMs: o.timeoutMs, url: url.url, host: url.sshHostPattern, credentials: o.auth.credentials },
      );
      const commit = (await lookup(repo, [`${ref}^{commit}`])).get(`${ref}^{commit}`);
      if (!commit) throw notFound(url, ref);
      return { kind: 'branch', ref, commit, revision: `${branch}@sha1:${commit}` };
    });
  }

  async #lsTip(url: GitUrl, ref: string, o: GitCallOptions): Promise<string> {
    const refs = await this.lsRemote(url, [ref], o, ref.startsWith('refs/heads/') ? ['--heads'] : []);
    const tip = refs.get(ref);
    if (!tip) throw notFound(url, ref);
    return tip;
  }

  /** Reads a commit's message from the mirror. */
  async commitInfo(url: GitUrl, commit: string): Promise<CommitInfo> {
    const raw = await this.readObject(url, 'commit', commit);
    return parseCommitObject(commit, raw.toString('utf8'));
  }

  /**
   * What changed between two commits of the mirror, every level of the tree
   * (files, and directories added or removed), without rename detection.
   * Fails when either commit is not in the mirror.
   */
  async diffTree(url: GitUrl, from: string, to: string): Promise<TreeChange[]> {
    const out = await gitBytes(['--git-dir', this.pathFor(url), 'diff-tree', '-r', '-t', '-z', '--no-renames', '--no-commit-id', '--no-ext-diff', from, to]);
    return parseDiffTree(out);
  }

  /**
   * The contents of several objects through one `git cat-file --batch`:
   * id -> bytes, for those present (blobs, commits, ...).
   */
  async readObjects(url: GitUrl, oids: string[]): Promise<Map<string, Buffer>> {
    const unique = [...new Set(oids)];
    const out = new Map<string, Buffer>();
    if (!unique.length) return out;
    const raw = await gitBytes(['--git-dir', this.pathFor(url), 'cat-file', '--batch'], { input: `${unique.join('\n')}\n` });
    let at = 0;
    for (const oid of unique) {
      const nl = raw.indexOf(0x0a, at);
      if (nl < 0) throw new GitError('other', `git cat-file: truncated output at '${oid}'`);
      const head = raw.toString('latin1', at, nl).split(' ');
      at = nl + 1;
      if (head[1] === 'missing' || head.length !== 3) continue;
      const size = Number(head[2]);
      out.set(oid, raw.subarray(at, at + size));
      at += size + 1; // the content is followed by a newline
    }
    return out;
  }

  /** The raw bytes of an object (for signature checks). */
  async readObject(url: GitUrl, type: 'commit' | 'tag', oid: string): Promise<Buffer> {
    return gitBytes(['--git-dir', this.pathFor(url), 'cat-file', type, oid]);
  }

  /** Type of an object in the mirror ('commit', 'tag', ...). */
  async objectType(url: GitUrl, oid: string): Promise<string> {
    const r = await runGit(['--git-dir', this.pathFor(url), 'cat-file', '-t', oid], { check: false });
    return r.stdout.trim();
  }

  /**
   * Checks the commit out into `dest` (which must not exist or be empty),
   * through a scratch repository that borrows the mirror's objects. Honours
   * sparse checkout (only the listed directories) and submodules.
   */
  async checkout(url: GitUrl, commit: string, dest: string, o: CheckoutOptions): Promise<void> {
    await this.withMirror(url, async (repo) => {
      await mkdir(dest, { recursive: true });
      await runGit(['init', '--quiet', `--separate-git-dir=${o.gitDir}`, dest]);
      await writeFile(join(o.gitDir, 'objects', 'info', 'alternates'), `${join(repo, 'objects')}\n`);
      try {
        await copyFile(join(repo, 'shallow'), join(o.gitDir, 'shallow'));
      } catch {
        /* not shallow */
      }
      const local = ['-C', dest];
      await runGit([...local, 'config', 'core.logAllRefUpdates', 'false']);
      if (o.sparseCheckout?.length) {
        await runGit([...local, 'config', 'core.sparseCheckout', 'true']);
        await runGit([...local, 'config', 'core.sparseCheckoutCone', 'false']);
        const patterns = o.sparseCheckout.map((d) => `/${d.replace(/^\.\//, '').replace(/^\/+|\/+$/g, '')}/`).join('\n');
        await mkdir(join(o.gitDir, 'info'), { recursive: true });
        await writeFile(join(o.gitDir, 'info', 'sparse-checkout'), `${patterns}\n`);
      }
      // Parallel checkout: file creation, not CPU, dominates on large trees.
      await runGit([...local, '-c', 'advice.detachedHead=false', '-c', 'checkout.workers=4', 'checkout', '--quiet', '--force', commit]);
      if (o.recurseSubmodules) {
        // Relative submodule URLs resolve against the superproject's origin.
        await runGit([...local, 'config', 'remote.origin.url', url.url]);
        await runGit([...local, 'submodule', 'update', '--init', '--recursive', '--quiet'], {
          env: o.auth.env,
          secrets: o.auth.secrets,
          timeoutMs: o.timeoutMs,
          url: url.url,
          host: url.sshHostPattern,
          credentials: o.auth.credentials,
        });
      }
    });
    // The work tree keeps no link to git metadata.
    await rm(join(dest, '.git'), { force: true });
  }
}

/**
 * Under our own lock no git process works in the mirror, so any git lock
 * file left there belongs to a git that was killed (e.g. by a timeout) and
 * would block every later fetch.
 */
async function removeStaleGitLocks(repo: string): Promise<void> {
  for (const f of ['shallow.lock', 'packed-refs.lock', 'config.lock', 'HEAD.lock', 'index.lock']) {
    await rm(join(repo, f), { force: true });
  }
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) await walk(join(dir, e.name));
      else if (e.name.endsWith('.lock')) await rm(join(dir, e.name), { force: true });
    }
  };
  await walk(join(repo, 'refs'));
}

/** Parses `git diff-tree -r -t -z` raw output (':old new oldOid newOid status\0path\0' records). */
export function parseDiffTree(raw: Buffer): TreeChange[] {
  const parts = raw.toString('utf8').split('\0');
  const out: TreeChange[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const meta = parts[i]!;
    const m = /^:(\d{6}) (\d{6}) ([0-9a-f]+) ([0-9a-f]+) ([A-Z])\d*$/.exec(meta);
    if (!m) throw new GitError('other', `unexpected git diff-tree output '${meta.slice(0, 80)}'`);
    out.push({ path: parts[i + 1]!, oldMode: m[1]!, newMode: m[2]!, newOid: m[4]! });
  }
  return out;
}

function notFound(url: GitUrl, ref: string): GitError {
  return new GitError('ref-not-found', `unable to clone '${url.url}': couldn't find remote ref "${ref}"`);
}

/**
 * Resolves object names (ids or refs) in one `git cat-file --batch-check`:
 * name -> object id, for the names that exist in the repository.
 */
async function lookup(repo: string, names: string[]): Promise<Map<string, string>> {
  const unique = [...new Set(names)];
  const r = await runGit(['--git-dir', repo, 'cat-file', '--batch-check=%(objectname)'], { input: `${unique.join('\n')}\n` });
  const lines = r.stdout.split('\n');
  const out = new Map<string, string>();
  for (const [i, name] of unique.entries()) {
    const line = lines[i]?.trim() ?? '';
    if (/^[0-9a-f]{40,64}$/.test(line)) out.set(name, line);
  }
  return out;
}

async function hasObject(repo: string, oid: string): Promise<boolean> {
  const r = await runGit(['--git-dir', repo, 'cat-file', '-e', oid], { check: false });
  return r.code === 0;
}

async function isShallow(repo: string): Promise<boolean> {
  try {
    await access(join(repo, 'shallow'));
    return true;
  } catch {
    return false;
  }
}

async function isAncestor(repo: string, commit: string, ref: string): Promise<boolean> {
  const r = await runGit(['--git-dir', repo, 'merge-base', '--is-ancestor', commit, ref], { check: false });
  return r.code === 0;
}

async function updateRef(repo: string, ref: string, oid: string): Promise<void> {
  await runGit(['--git-dir', repo, 'update-ref', '--no-deref', ref, oid]);
}
