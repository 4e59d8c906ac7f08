// The bootstrap's own Git work: clone the branch (an empty repository is
// fine), write the files, commit and push only when something changed. It
// uses the very credentials the cluster's GitRepository will use (the
// source Secret's data through the source controller's git auth), so a
// bootstrap that can push is one whose controller can fetch.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { prepareGitAuth, type GitAuth, type SecretData } from '../source/git/auth.ts';
import { runGit } from '../source/git/exec.ts';
import { parseGitUrl } from '../source/git/url.ts';

export interface Author {
  name: string;
  email: string;
}

export class BootstrapRepository {
  private constructor(
    readonly dir: string,
    private readonly url: string,
    private readonly branch: string,
    private readonly auth: GitAuth,
  ) {}

  /** Clones `branch` of `url`; a repository or branch without commits gives an empty work tree on that branch. */
  static async clone(url: string, branch: string, secret: SecretData): Promise<BootstrapRepository> {
    const parsed = parseGitUrl(url);
    const auth = await prepareGitAuth(parsed, secret);
    const dir = await mkdtemp(join(tmpdir(), 'sluice-bootstrap-'));
    const repo = new BootstrapRepository(dir, url, branch, auth);
    try {
      await repo.git(['init', '--quiet', `--initial-branch=${branch}`, dir], { cwd: undefined });
      await repo.git(['remote', 'add', 'origin', url]);
      const heads = await repo.git(['ls-remote', '--heads', 'origin', `refs/heads/${branch}`], { network: true });
      if (heads.stdout.trim()) {
        await repo.git(['fetch', '--quiet', '--depth=1', 'origin', `refs/heads/${branch}:refs/remotes/origin/${branch}`], { network: true });
        await repo.git(['checkout', '--quiet', '-B', branch, `refs/remotes/origin/${branch}`]);
      }
      return repo;
    } catch (err) {
      await repo.dispose();
      throw err;
    }
  }

  private git(args: string[], o: { cwd?: string | undefined; network?: boolean } = {}) {
    return runGit(args, {
      cwd: 'cwd' in o ? o.cwd : this.dir,
      env: this.auth.env,
      secrets: this.auth.secrets,
      ...(o.network ? { url: this.url, credentials: this.auth.credentials, timeoutMs: 120_000 } : {}),
    });
  }

  async read(path: string): Promise<string | undefined> {
    return readFile(join(this.dir, path), 'utf8').catch(() => undefined);
  }

  /** Writes the files; returns the paths whose content changed. */
  async write(files: Record<string, string>): Promise<string[]> {
    const changed: string[] = [];
    for (const [path, content] of Object.entries(files)) {
      if ((await this.read(path)) === content) continue;
      await mkdir(dirname(join(this.dir, path)), { recursive: true });
      await writeFile(join(this.dir, path), content);
      changed.push(path);
    }
    return changed;
  }

  /** Commits `paths` and pushes the branch; returns the new commit. */
  async commitAndPush(paths: string[], message: string, author: Author): Promise<string> {
    await this.git(['add', '--', ...paths]);
    await this.git(['-c', `user.name=${author.name}`, '-c', `user.email=${author.email}`, 'commit', '--quiet', '--no-gpg-sign', '-m', message]);
    await this.git(['push', '--quiet', 'origin', `HEAD:refs/heads/${this.branch}`], { network: true });
    return (await this.git(['rev-parse', 'HEAD'])).stdout.trim();
  }

  async head(): Promise<string | undefined> {
    const r = await runGit(['rev-parse', '--verify', '--quiet', 'HEAD'], { cwd: this.dir, check: false });
    return r.code === 0 ? r.stdout.trim() : undefined;
  }

  async dispose(): Promise<void> {
    await this.auth.dispose();
    await rm(this.dir, { recursive: true, force: true });
  }
}
