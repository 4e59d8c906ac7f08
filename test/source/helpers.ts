import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MirrorCache } from '../../src/source/git/mirror.ts';
import { reconcileGitRepository, type IncludedArtifactRef, type ReconcileDeps, type ReconcileResult } from '../../src/source/git/reconcile.ts';
import { Storage } from '../../src/source/storage/storage.ts';
import type { SecretData } from '../../src/source/git/auth.ts';
import type { Condition, GitRepository, GitRepositorySpec } from '../../src/source/git/types.ts';

/** One test's world: a server root for repositories, storage, a mirror cache, Secrets. */
export interface SourceEnv {
  /** Where test servers find bare repositories. */
  repoRoot: string;
  tmp: string;
  storage: Storage;
  mirrors: MirrorCache;
  secrets: Map<string, SecretData>;
  included: Map<string, IncludedArtifactRef>;
  deps: ReconcileDeps;
  setSecret(name: string, data: Record<string, string | Buffer>, namespace?: string): void;
  cleanup(): Promise<void>;
}

export async function sourceEnv(): Promise<SourceEnv> {
  const tmp = await mkdtemp(join(tmpdir(), 'sluice-src-test-'));
  const repoRoot = join(tmp, 'repos');
  const storage = new Storage({ root: join(tmp, 'storage'), baseUrl: 'http://127.0.0.1:9' });
  const mirrors = new MirrorCache(join(tmp, 'mirrors'));
  const secrets = new Map<string, SecretData>();
  const included = new Map<string, IncludedArtifactRef>();
  const deps: ReconcileDeps = {
    getSecret: async (ns, name) => secrets.get(`${ns}/${name}`),
    getIncludedArtifact: async (ns, name) => included.get(`${ns}/${name}`),
    mirrors,
    storage,
  };
  return {
    repoRoot,
    tmp,
    storage,
    mirrors,
    secrets,
    included,
    deps,
    setSecret(name, data, namespace = 'default') {
      secrets.set(
        `${namespace}/${name}`,
        Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.isBuffer(v) ? v : Buffer.from(v)])),
      );
    },
    // Retries: a spare tree may still be being made in the background (Storage.prepareSpare).
    cleanup: () => rm(tmp, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }),
  };
}

let objCounter = 0;

/** A GitRepository object as the API server would hold it. */
export function gitRepository(spec: Partial<GitRepositorySpec> & { url: string }, name?: string): GitRepository {
  return {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'GitRepository',
    metadata: { name: name ?? `repo-${++objCounter}`, namespace: 'default', generation: 1 },
    spec: { interval: '1m', ...spec },
  };
}

/** Reconciles and writes the returned status back onto the object, as a controller would. */
export async function reconcile(obj: GitRepository, deps: ReconcileDeps): Promise<ReconcileResult> {
  const res = await reconcileGitRepository(obj, deps);
  obj.status = res.status;
  return res;
}

export function condition(obj: GitRepository | ReconcileResult, type: string): Condition | undefined {
  const status = 'metadata' in obj ? obj.status : obj.status;
  return status?.conditions?.find((c) => c.type === type);
}

/** Every file under dir (relative paths, sorted), symlinks as 'path -> target'. */
export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (abs: string, rel: string) => {
    for (const e of await readdir(abs, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(join(abs, e.name), r);
      else out.push(r);
    }
  };
  await walk(dir, '');
  return out.sort();
}

export async function readText(dir: string, rel: string): Promise<string> {
  return readFile(join(dir, rel), 'utf8');
}

/**
 * Samples the command lines of all processes (`ps -eo args`) every few ms
 * while `fn` runs; returns fn's result and every sampled line that contains
 * one of `needles`.
 */
export async function watchCommandLines<T>(needles: string[], fn: () => Promise<T>): Promise<{ result: T; leaks: string[]; samples: number }> {
  const leaks = new Set<string>();
  let samples = 0;
  let stop = false;
  const sampler = (async () => {
    while (!stop) {
      const lines = await new Promise<string>((resolve) => {
        const child = spawn('ps', ['-eww', '-o', 'args='], { stdio: ['ignore', 'pipe', 'ignore'] });
        let out = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString()));
        child.on('close', () => resolve(out));
      });
      samples++;
      for (const line of lines.split('\n')) if (needles.some((n) => n && line.includes(n))) leaks.add(line);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  try {
    const result = await fn();
    return { result, leaks: [...leaks], samples };
  } finally {
    stop = true;
    await sampler;
  }
}
