import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheHome, projectRoot } from '../../util/paths.ts';
import { run } from '../../util/exec.ts';
import { withLock } from '../../util/lock.ts';
import { ldflags, moduleVersions, UNKNOWN_BUILD_DATE } from './stamp.ts';

export const clusterModuleDir = join(projectRoot, 'cluster');

export interface BinaryBuild {
  /** The Kubernetes version the binary is stamped with. */
  version: string;
  /** Cache key: that version plus a hash of all that goes into the binary. */
  key: string;
  /** The linker flags that stamp it (see stamp.ts). */
  ldflags: string[];
}

/**
 * The build key: the Kubernetes version plus a hash of everything that goes
 * into the binary (go.mod, go.sum, the Go sources other than tests, the Go
 * version and the linker flags). A change to any of them builds anew;
 * otherwise the cached binary is reused by every clone.
 */
export async function binaryKey(): Promise<BinaryBuild> {
  const gomod = await readFile(join(clusterModuleDir, 'go.mod'), 'utf8');
  const versions = moduleVersions(gomod);
  const flags = ldflags({ versions, buildDate: await moduleTime('k8s.io/kubernetes') });
  const hash = createHash('sha256');
  const files = ['go.mod', 'go.sum', ...(await goSources(clusterModuleDir, ''))];
  for (const f of files.sort()) {
    hash.update(f);
    hash.update(await readFile(join(clusterModuleDir, f)));
  }
  const goVersion = (await run('go', ['env', 'GOVERSION'])).stdout.trim();
  hash.update(goVersion);
  hash.update(flags.join('\n'));
  return { version: versions.kubernetes, key: `${versions.kubernetes}-${hash.digest('hex').slice(0, 12)}`, ldflags: flags };
}

/** Go sources under dir (relative to it), test files excluded: they are not in the binary. */
async function goSources(dir: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await goSources(join(dir, e.name), rel)));
    else if (e.name.endsWith('.go') && !e.name.endsWith('_test.go')) out.push(rel);
  }
  return out;
}

/**
 * When the module version was published (the Go module proxy's record of
 * it, in the local module cache): a build date that is the same on every
 * machine. The epoch when the module cache cannot say.
 */
async function moduleTime(path: string): Promise<string> {
  try {
    const { stdout } = await run('go', ['list', '-m', '-json', path], { cwd: clusterModuleDir });
    const time = (JSON.parse(stdout) as { Time?: string }).Time;
    return time ? new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z') : UNKNOWN_BUILD_DATE;
  } catch {
    return UNKNOWN_BUILD_DATE;
  }
}

/** Path of the cached sluice-kube binary, building it first if it is missing. */
export async function ensureClusterBinary(log: (msg: string) => void = () => {}): Promise<string> {
  const { key, ldflags: flags } = await binaryKey();
  const dir = join(cacheHome(), 'bin', key);
  const bin = join(dir, 'sluice-kube');
  if (existsSync(bin)) return bin;
  await mkdir(dir, { recursive: true });
  return withLock(join(cacheHome(), 'build.lock'), async () => {
    if (existsSync(bin)) return bin; // another process built it while we waited
    log(`building the local control plane (${key}); the first build takes several minutes`);
    const started = Date.now();
    const tmp = `${bin}.tmp-${process.pid}`;
    await run('go', ['build', '-trimpath', `-ldflags=${flags.join(' ')}`, '-o', tmp, './cmd/sluice-kube'], {
      cwd: clusterModuleDir,
    });
    await rename(tmp, bin);
    log(`built ${bin} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return bin;
  });
}
