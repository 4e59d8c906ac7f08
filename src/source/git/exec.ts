// Running the git CLI: a clean environment, timeouts, output limits and
// errors that say which git call failed.
import { spawn } from 'node:child_process';
import { run, type RunResult } from '../../util/exec.ts';
import { classifyGitFailure, GitError, redactUrl, scrubSecrets } from './errors.ts';

/** Environment variables passed through from our own environment to git. */
const PASS_THROUGH = [
  'PATH',
  'HOME',
  'TMPDIR',
  'TZ',
  'USER',
  'LOGNAME',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'ALL_PROXY',
  'all_proxy',
];

/**
 * A clean environment for git: no user or system configuration (which could
 * hold credential helpers, url rewrites or hooks), no prompts, only the
 * network protocols a GitRepository may use, and stable (C locale) messages.
 */
export function baseGitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const k of PASS_THROUGH) if (process.env[k] !== undefined) env[k] = process.env[k];
  env.LC_ALL = 'C';
  env.LANG = 'C';
  env.GIT_TERMINAL_PROMPT = '0';
  env.GIT_CONFIG_NOSYSTEM = '1';
  env.GIT_CONFIG_GLOBAL = '/dev/null';
  env.GIT_ALLOW_PROTOCOL = 'http:https:ssh';
  env.GIT_PROTOCOL_FROM_USER = '0';
  // Without a configured ssh command git would use plain `ssh` with the
  // user's config; every remote call sets GIT_SSH_COMMAND through GitAuth.
  env.GIT_SSH_COMMAND = 'ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null';
  return env;
}

export interface GitRunOptions {
  cwd?: string;
  /** Added on top of baseGitEnv(); credentials go here, never in args. */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  input?: string | Buffer;
  /** Values to scrub from any error message. */
  secrets?: Iterable<string>;
  /** For messages: the repository URL (already without password). */
  url?: string;
  host?: string;
  /** What credentials were offered, for messages ('basic auth', 'SSH key'). */
  credentials?: string;
  /** Return the result instead of throwing when git exits non-zero. */
  check?: boolean;
}

/**
 * Runs git with credentials in the environment only. On failure throws a
 * GitError whose message says what went wrong and holds no secret.
 */
export async function runGit(args: string[], opts: GitRunOptions = {}): Promise<RunResult> {
  const env = { ...baseGitEnv(), ...(opts.env ?? {}) };
  const secrets = [...(opts.secrets ?? [])];
  let res: RunResult;
  try {
    res = await run('git', args, {
      cwd: opts.cwd,
      env,
      input: opts.input,
      check: false,
      timeout: opts.timeoutMs,
      killSignal: 'SIGKILL',
    });
  } catch (err) {
    throw new GitError('other', scrubSecrets(`cannot run git: ${(err as Error).message}`, secrets));
  }
  if (res.code === 0 || opts.check === false) return res;
  const stderr = redactUrl(scrubSecrets(res.stderr, secrets));
  // run() reports a kill by the timeout as code -1 (signal, no exit code).
  if (res.code === -1 && opts.timeoutMs) {
    const limit = opts.timeoutMs < 1000 ? `${opts.timeoutMs}ms` : `${+(opts.timeoutMs / 1000).toFixed(1)}s`;
    throw new GitError('timeout', `git ${args[0] ?? ''} timed out after ${limit}${opts.url ? ` for '${opts.url}'` : ''}`);
  }
  if (opts.url) {
    const e = classifyGitFailure(stderr, { url: opts.url, host: opts.host, credentials: opts.credentials });
    throw new GitError(e.kind, scrubSecrets(e.message, secrets));
  }
  const tail = stderr.trim().split('\n').slice(-3).join('; ').slice(0, 600);
  throw new GitError('other', scrubSecrets(`git ${args[0] ?? ''} failed (exit ${res.code})${tail ? `: ${tail}` : ''}`, secrets));
}

/** Runs a local (no network) git command and returns its stdout as bytes. */
export function gitBytes(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd: opts.cwd,
      env: { ...baseGitEnv(), ...(opts.env ?? {}) },
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => {}); // a git that exits early reports through its exit code
      child.stdin!.end(opts.input);
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (c: Buffer) => out.push(c));
    child.stderr!.on('data', (c: Buffer) => err.push(c));
    child.once('error', (e) => reject(new GitError('other', `cannot run git: ${e.message}`)));
    child.once('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else {
        const tail = Buffer.concat(err).toString('utf8').trim().split('\n').slice(-2).join('; ');
        reject(new GitError('other', `git ${args[0] ?? ''} failed (exit ${code})${tail ? `: ${tail}` : ''}`));
      }
    });
  });
}
