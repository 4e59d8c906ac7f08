import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheHome, projectRoot } from '../../util/paths.ts';
import { run } from '../../util/exec.ts';
import { withLock } from '../../util/lock.ts';

export const clusterModuleDir = join(projectRoot, 'cluster');

/**
 * The build key: the Kubernetes version plus a hash of everything that goes
 * into the binary (go.mod, go.sum, Go sources, Go version). A change to any of
 * them builds anew; otherwise the cached binary is reused by every clone.
 */
export async function binaryKey(): Promise<{ version: string; key: string }> {
  const gomod = await readFile(join(clusterModuleDir, 'go.mod'), 'utf8');
  const version = /k8s\.io\/kubernetes (v[\d.]+)/.exec(gomod)?.[1] ?? 'unknown';
  const hash = createHash('sha256');
  const files = ['go.mod', 'go.sum', ...(await goSources(join(clusterModuleDir, 'cmd')))];
  for (const f of files.sort()) {
    hash.update(f);
    hash.update(await readFile(join(clusterModuleDir, f)));
  }
  const goVersion = (await run('go', ['env', 'GOVERSION'])).stdout.trim();
  hash.update(goVersion);
  return { version, key: `${version}-${hash.digest('hex').slice(0, 12)}` };
}

async function goSources(dir: string, prefix = 'cmd'): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const rel = `${prefix}/${e.name}`;
    if (e.isDirectory()) out.push(...(await goSources(join(dir, e.name), rel)));
    else if (e.name.endsWith('.go')) out.push(rel);
  }
  return out;
}

/** Path of the cached sluice-kube binary, building it first if it is missing. */
export async function ensureClusterBinary(log: (msg: string) => void = () => {}): Promise<string> {
  const { key } = await binaryKey();
  const dir = join(cacheHome(), 'bin', key);
  const bin = join(dir, 'sluice-kube');
  if (existsSync(bin)) return bin;
  await mkdir(dir, { recursive: true });
  return withLock(join(cacheHome(), 'build.lock'), async () => {
    if (existsSync(bin)) return bin; // another process built it while we waited
    log(`building the local control plane (${key}); the first build takes several minutes`);
    const started = Date.now();
    const tmp = `${bin}.tmp-${process.pid}`;
    await run('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', tmp, './cmd/sluice-kube'], {
      cwd: clusterModuleDir,
    });
    await rename(tmp, bin);
    log(`built ${bin} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return bin;
  });
}
