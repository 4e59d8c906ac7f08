import { mkdir, mkdtemp, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { run, type RunResult } from '../../src/util/exec.ts';

// Helpers to build Git repositories for tests: a bare repository (what the
// test servers serve) plus a work clone to commit in, tags, pushes and
// force-pushes, and signed commits and tags (OpenPGP through a throw-away
// GNUPGHOME, SSH through gpg.format=ssh).

/** git's environment for test-side operations: no user config, fixed identity. */
export function testGitEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'Test Author',
    GIT_AUTHOR_EMAIL: 'author@example.com',
    GIT_COMMITTER_NAME: 'Test Author',
    GIT_COMMITTER_EMAIL: 'author@example.com',
    ...extra,
  };
}

export async function git(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<RunResult> {
  return run('git', args, { cwd: opts.cwd, env: testGitEnv(opts.env), input: opts.input });
}

/** Something that signs commits and tags. */
export type Signer =
  | { format: 'openpgp'; gnupgHome: string; keyId: string }
  | { format: 'ssh'; keyFile: string };

function signerConfig(s: Signer): string[] {
  if (s.format === 'openpgp') return ['-c', 'gpg.format=openpgp', '-c', `user.signingkey=${s.keyId}`];
  return ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${s.keyFile}`];
}

function signerEnv(s: Signer | undefined): NodeJS.ProcessEnv {
  return s?.format === 'openpgp' ? { GNUPGHOME: s.gnupgHome } : {};
}

export type FileContent = string | Buffer | { symlink: string } | null;

export class TestRepo {
  /** Path of the bare repository, relative to the server root: `<name>.git`. */
  readonly name: string;
  readonly bare: string;
  readonly work: string;

  private constructor(name: string, bare: string, work: string) {
    this.name = name;
    this.bare = bare;
    this.work = work;
  }

  /** Creates `<root>/<name>.git` (bare) and a work clone beside it in a temp dir. */
  static async create(root: string, name: string, opts: { defaultBranch?: string } = {}): Promise<TestRepo> {
    const branch = opts.defaultBranch ?? 'master';
    const bare = join(root, `${name}.git`);
    await mkdir(dirname(bare), { recursive: true });
    await git(['init', '--quiet', '--bare', `--initial-branch=${branch}`, bare]);
    // Let clients fetch any commit by id over protocol v0/v1 too.
    await git(['--git-dir', bare, 'config', 'uploadpack.allowReachableSHA1InWant', 'true']);
    const work = await mkdtemp(join(tmpdir(), `sluice-work-${name.replace(/\W/g, '-')}-`));
    await git(['init', '--quiet', `--initial-branch=${branch}`, work]);
    await git(['-C', work, 'remote', 'add', 'origin', bare]);
    return new TestRepo(name, bare, work);
  }

  git(args: string[], env?: NodeJS.ProcessEnv): Promise<RunResult> {
    return git(['-C', this.work, ...args], { env });
  }

  /** Writes files into the work tree (null deletes, {symlink} creates a link). */
  async write(files: Record<string, FileContent>): Promise<void> {
    for (const [rel, content] of Object.entries(files)) {
      const p = join(this.work, rel);
      if (content === null) {
        await rm(p, { recursive: true, force: true });
        continue;
      }
      await mkdir(dirname(p), { recursive: true });
      await unlink(p).catch(() => {});
      if (typeof content === 'object' && !Buffer.isBuffer(content)) await symlink(content.symlink, p);
      else await writeFile(p, content);
    }
  }

  /** Stages everything and commits; returns the new commit id. */
  async commit(message: string, opts: { sign?: Signer; allowEmpty?: boolean; date?: string } = {}): Promise<string> {
    await this.git(['add', '--all']);
    const args = [...(opts.sign ? signerConfig(opts.sign) : []), 'commit', '--quiet', '-m', message];
    if (opts.sign) args.push('-S');
    if (opts.allowEmpty) args.push('--allow-empty');
    const env = { ...signerEnv(opts.sign), ...(opts.date ? { GIT_AUTHOR_DATE: opts.date, GIT_COMMITTER_DATE: opts.date } : {}) };
    await this.git(args, env);
    return this.head();
  }

  /** write() then commit(). */
  async commitFiles(files: Record<string, FileContent>, message: string, opts: { sign?: Signer } = {}): Promise<string> {
    await this.write(files);
    return this.commit(message, opts);
  }

  async head(ref = 'HEAD'): Promise<string> {
    return (await this.git(['rev-parse', `${ref}^{commit}`])).stdout.trim();
  }

  /** Creates a tag at HEAD (or `at`): lightweight unless annotated or signed. */
  async tag(name: string, opts: { annotated?: boolean; sign?: Signer; message?: string; at?: string } = {}): Promise<void> {
    const args = [...(opts.sign ? signerConfig(opts.sign) : []), 'tag'];
    if (opts.sign) args.push('-s', '-m', opts.message ?? name);
    else if (opts.annotated) args.push('-a', '-m', opts.message ?? name);
    args.push(name);
    if (opts.at) args.push(opts.at);
    await this.git(args, signerEnv(opts.sign));
  }

  async branch(name: string, from = 'HEAD'): Promise<void> {
    await this.git(['branch', '--force', name, from]);
  }

  async checkout(ref: string): Promise<void> {
    await this.git(['checkout', '--quiet', ref]);
  }

  /** Pushes `src` (default HEAD) to `dst` (default the current branch) of the bare repository. */
  async push(dst?: string, opts: { src?: string; force?: boolean } = {}): Promise<void> {
    const branch = (await this.git(['symbolic-ref', '--quiet', '--short', 'HEAD']).catch(() => ({ stdout: 'HEAD' }))).stdout.trim();
    const target = dst ?? `refs/heads/${branch}`;
    await this.git(['push', '--quiet', ...(opts.force ? ['--force'] : []), 'origin', `${opts.src ?? 'HEAD'}:${target}`]);
  }

  async pushTags(opts: { force?: boolean } = {}): Promise<void> {
    await this.git(['push', '--quiet', ...(opts.force ? ['--force'] : []), 'origin', '--tags']);
  }

  /** Rewrites the current branch to a new unrelated commit and force-pushes it. */
  async forcePushRewrite(files: Record<string, FileContent>, message: string): Promise<string> {
    await this.git(['reset', '--quiet', '--hard', 'HEAD~1']);
    const sha = await this.commitFiles(files, message);
    await this.push(undefined, { force: true });
    return sha;
  }

  async dispose(): Promise<void> {
    await rm(this.work, { recursive: true, force: true });
  }
}

export interface GpgSigner {
  signer: Signer & { format: 'openpgp' };
  /** ASCII-armored public key, for a verification Secret. */
  publicKey: string;
  keyId: string;
  dispose(): Promise<void>;
}

/** A fresh OpenPGP key (ed25519, no passphrase) in a temporary GNUPGHOME. */
export async function createGpgSigner(name = 'Signer', email = 'signer@example.com'): Promise<GpgSigner> {
  // Short path: gpg-agent's socket path must stay under ~107 characters.
  const home = await mkdtemp('/tmp/sg-');
  const env = { ...process.env, GNUPGHOME: home };
  const base = ['--batch', '--no-tty', '--homedir', home];
  await run('gpg', [...base, '--passphrase', '', '--quick-gen-key', `${name} <${email}>`, 'ed25519', 'sign', 'never'], { env });
  const list = await run('gpg', [...base, '--with-colons', '--list-secret-keys'], { env });
  const fpr = /^fpr:(?:[^:]*:){8}([0-9A-F]{40}):/m.exec(list.stdout)?.[1];
  if (!fpr) throw new Error('no key generated');
  const pub = await run('gpg', [...base, '--armor', '--export', fpr], { env });
  return {
    signer: { format: 'openpgp', gnupgHome: home, keyId: fpr },
    publicKey: pub.stdout,
    keyId: fpr.slice(-16),
    async dispose() {
      await run('gpgconf', ['--homedir', home, '--kill', 'all'], { env, check: false });
      await rm(home, { recursive: true, force: true });
    },
  };
}

export interface SshSigner {
  signer: Signer & { format: 'ssh' };
  /** 'ssh-ed25519 AAAA... comment', for a verification Secret. */
  publicKey: string;
  dispose(): Promise<void>;
}

/** A fresh SSH key for gpg.format=ssh signing. */
export async function createSshSigner(): Promise<SshSigner> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-sshsign-'));
  const keyFile = join(dir, 'id_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'signer@example.com', '-f', keyFile]);
  const publicKey = (await run('cat', [`${keyFile}.pub`])).stdout.trim();
  return {
    signer: { format: 'ssh', keyFile },
    publicKey,
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
