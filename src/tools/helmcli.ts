import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../util/exec.ts';

/**
 * Where and as whom a helm command acts: a kubeconfig (its content, written
 * to a 0600 file for the one command and removed afterwards, never put on a
 * command line) and an optional identity to impersonate.
 */
export interface HelmTarget {
  kubeconfig: string;
  /** e.g. system:serviceaccount:<ns>:<name> (helm's --kube-as-user). */
  asUser?: string;
  asGroups?: string[];
}

export interface HelmRunOptions {
  target?: HelmTarget;
  /** helm's -n: the release namespace (also where its storage lives). */
  namespace?: string;
  /** Files written into the command's private directory, mode 0600; their paths replace `@file:<name>` in args and env. */
  files?: Record<string, string>;
  /** Extra environment for this command (e.g. HELM_REGISTRY_CONFIG=@file:registry.json); set after the clean defaults. */
  env?: Record<string, string>;
  /** Kill helm after this long (its own --timeout should fire first). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** A helm command or Helm action that failed: `message` is Helm's own error text, without the CLI's `Error: ` prefix. */
export class HelmError extends Error {
  constructor(
    message: string,
    readonly args: string[],
    readonly code: number,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'HelmError';
  }
}

export interface HelmCliOptions {
  /** Path of the helm binary, or how to get it (ensureHelm(), built on first use). */
  bin: string | (() => Promise<string>);
  /** Directory for helm's cache, config and data, and the commands' private scratch directories. */
  home: string;
}

/**
 * Runs the real helm CLI. Every command gets a clean environment: helm's
 * own directories under `home` (no user repositories or plugins), no
 * KUBECONFIG or HELM_* from the parent, and the storage driver fixed to
 * Secrets, so a release made here is one `helm list` sees.
 */
export class HelmCli {
  private bin: Promise<string> | undefined;

  constructor(readonly o: HelmCliOptions) {}

  private env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (k.startsWith('HELM_') || k === 'KUBECONFIG') continue;
      env[k] = v;
    }
    env.HELM_CACHE_HOME = join(this.o.home, 'cache');
    env.HELM_CONFIG_HOME = join(this.o.home, 'config');
    env.HELM_DATA_HOME = join(this.o.home, 'data');
    env.HELM_DRIVER = 'secret';
    return env;
  }

  /** Runs `helm <args>` and returns its stdout; throws HelmError on a non-zero exit. */
  async run(args: string[], opts: HelmRunOptions = {}): Promise<string> {
    await mkdir(join(this.o.home, 'tmp'), { recursive: true, mode: 0o700 });
    const dir = await mkdtemp(join(this.o.home, 'tmp', 'cmd-'));
    try {
      const full = [...args];
      const paths: Record<string, string> = {};
      for (const [name, content] of Object.entries(opts.files ?? {})) {
        const p = join(dir, name.replace(/[^A-Za-z0-9_.-]/g, '_'));
        await writeFile(p, content, { mode: 0o600 });
        paths[name] = p;
      }
      const resolveFile = (v: string) => {
        const m = /^@file:(.+)$/.exec(v);
        return m ? (paths[m[1]!] ?? v) : v;
      };
      for (let i = 0; i < full.length; i++) full[i] = resolveFile(full[i]!);
      const env = this.env();
      for (const [k, v] of Object.entries(opts.env ?? {})) env[k] = resolveFile(v);
      if (opts.target) {
        const kc = join(dir, 'kubeconfig');
        await writeFile(kc, opts.target.kubeconfig, { mode: 0o600 });
        full.push('--kubeconfig', kc);
        if (opts.target.asUser) full.push('--kube-as-user', opts.target.asUser);
        for (const g of opts.target.asGroups ?? []) full.push('--kube-as-group', g);
      }
      if (opts.namespace) full.push('--namespace', opts.namespace);
      const controller = new AbortController();
      const onAbort = () => controller.abort();
      opts.signal?.addEventListener('abort', onAbort);
      const timer = opts.timeoutMs ? setTimeout(() => controller.abort(), opts.timeoutMs) : undefined;
      try {
        this.bin ??= typeof this.o.bin === 'string' ? Promise.resolve(this.o.bin) : this.o.bin();
        const res = await run(await this.bin, full, { env, cwd: dir, check: false, signal: controller.signal });
        if (res.code !== 0) throw new HelmError(errorText(res.stderr, res.code), args, res.code, res.stderr);
        return res.stdout;
      } catch (err) {
        if (err instanceof HelmError) throw err;
        if (controller.signal.aborted) {
          throw new HelmError(opts.signal?.aborted ? 'helm was interrupted' : `helm did not finish within ${opts.timeoutMs} ms`, args, -1, '');
        }
        throw err;
      } finally {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/** helm's error line(s): what follows the last `Error: `, or the tail of stderr. */
export function errorText(stderr: string, code: number): string {
  const i = stderr.lastIndexOf('Error: ');
  const text = (i >= 0 ? stderr.slice(i + 'Error: '.length) : stderr).trim();
  return text || `helm exited with code ${code}`;
}
