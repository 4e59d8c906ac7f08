import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../util/exec.ts';
import { withLock } from '../util/lock.ts';
import { cacheHome, projectRoot } from '../util/paths.ts';
import type { EnsureOptions } from './gotool.ts';

/** The Go module of the test registry (go-containerregistry's in-memory registry, pinned in its go.mod). */
export const ociRegistryModuleDir = join(projectRoot, 'tools', 'oci-registry');

/**
 * Path of the `oci-registry` test binary, building it on first use. Its
 * dependencies are pinned by the module's own go.mod and go.sum, so the
 * cache key is a hash of those files, its source and the Go version: any
 * change builds anew, and every clone reuses the same build.
 * `SLUICE_OCI_REGISTRY` names a binary to use instead.
 */
export async function ensureOciRegistry(opts: EnsureOptions = {}): Promise<string> {
  if (process.env.SLUICE_OCI_REGISTRY) return process.env.SLUICE_OCI_REGISTRY;
  const log = opts.log ?? (() => {});
  const hash = createHash('sha256');
  for (const f of ['go.mod', 'go.sum', 'main.go']) {
    hash.update(f);
    hash.update(await readFile(join(ociRegistryModuleDir, f)));
  }
  hash.update((await run('go', ['env', 'GOVERSION'])).stdout.trim());
  const key = hash.digest('hex').slice(0, 12);
  const toolsDir = join(cacheHome(), 'tools');
  const dir = join(toolsDir, `oci-registry-${key}`);
  const bin = join(dir, 'oci-registry');
  if (existsSync(bin)) return bin;
  await mkdir(dir, { recursive: true });
  return withLock(join(toolsDir, `oci-registry-${key}.lock`), async () => {
    if (existsSync(bin)) return bin; // another process built it while we waited
    log(`building oci-registry (${key}), the test OCI registry`);
    const started = Date.now();
    const tmp = `${bin}.tmp-${process.pid}`;
    await run('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', tmp, '.'], {
      cwd: ociRegistryModuleDir,
      // Build by the module's own go.mod and go.sum, never a go.work around it.
      env: { ...process.env, CGO_ENABLED: '0', GOWORK: 'off', GO111MODULE: 'on', GOFLAGS: '-mod=readonly -buildvcs=false' },
    });
    await rename(tmp, bin);
    log(`built ${bin} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return bin;
  });
}
