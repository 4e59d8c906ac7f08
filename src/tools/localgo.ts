import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../util/exec.ts';
import { withLock } from '../util/lock.ts';
import { cacheHome, projectRoot } from '../util/paths.ts';
import type { EnsureOptions } from './gotool.ts';

/** A Go program kept in this repository under tools/<name>, with its own go.mod and go.sum. */
export interface LocalGoTool {
  /** Directory under tools/, and the binary's name. */
  name: string;
  /** What it is, for the build log line. */
  purpose: string;
  /** Environment variable naming a binary to use instead of building one. */
  overrideEnv: string;
  /** Its module directory, when not tools/<name> (an earlier version of it, extracted for a test). */
  dir?: string;
}

export function localToolDir(tool: LocalGoTool): string {
  return tool.dir ?? join(projectRoot, 'tools', tool.name);
}

/**
 * Path of a local Go tool's binary, building it on first use. Its
 * dependencies are pinned by the module's own go.mod and go.sum, so the
 * cache key is a hash of those files, its Go sources and the Go version:
 * any change builds anew, and every clone reuses the same build.
 */
export async function ensureLocalGoTool(tool: LocalGoTool, opts: EnsureOptions = {}): Promise<string> {
  const override = process.env[tool.overrideEnv];
  if (override) return override;
  const log = opts.log ?? (() => {});
  const moduleDir = localToolDir(tool);
  const sources = (await readdir(moduleDir)).filter((f) => f === 'go.mod' || f === 'go.sum' || f.endsWith('.go')).sort();
  const hash = createHash('sha256');
  for (const f of sources) {
    hash.update(f);
    hash.update(await readFile(join(moduleDir, f)));
  }
  hash.update((await run('go', ['env', 'GOVERSION'])).stdout.trim());
  const key = hash.digest('hex').slice(0, 12);
  const toolsDir = join(cacheHome(), 'tools');
  const dir = join(toolsDir, `${tool.name}-${key}`);
  const bin = join(dir, tool.name);
  if (existsSync(bin)) return bin;
  await mkdir(dir, { recursive: true });
  return withLock(join(toolsDir, `${tool.name}-${key}.lock`), async () => {
    if (existsSync(bin)) return bin; // another process built it while we waited
    log(`building ${tool.name} (${key}), ${tool.purpose}`);
    const started = Date.now();
    const tmp = `${bin}.tmp-${process.pid}`;
    await run('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', tmp, '.'], {
      cwd: moduleDir,
      // Build by the module's own go.mod and go.sum, never a go.work around it.
      env: { ...process.env, CGO_ENABLED: '0', GOWORK: 'off', GO111MODULE: 'on', GOFLAGS: '-mod=readonly -buildvcs=false' },
    });
    await rename(tmp, bin);
    log(`built ${bin} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return bin;
  });
}

/** The test OCI registry (go-containerregistry's in-memory registry, loopback only). */
export const OCI_REGISTRY: LocalGoTool = { name: 'oci-registry', purpose: 'the test OCI registry', overrideEnv: 'SLUICE_OCI_REGISTRY' };

/** The Helm SDK process that runs release actions for the controller. */
export const HELM_DRIVER: LocalGoTool = { name: 'helm-driver', purpose: 'the Helm SDK driver', overrideEnv: 'SLUICE_HELM_DRIVER' };

/** The test S3 server (gofakes3's in-memory store behind SigV4 checked with the AWS SDK's signer, loopback only). */
export const S3_SERVER: LocalGoTool = { name: 's3-server', purpose: 'the test S3 server', overrideEnv: 'SLUICE_S3_SERVER' };

export const ensureOciRegistry = (opts: EnsureOptions = {}) => ensureLocalGoTool(OCI_REGISTRY, opts);
export const ensureS3Server = (opts: EnsureOptions = {}) => ensureLocalGoTool(S3_SERVER, opts);
export const ensureHelmDriver = (opts: EnsureOptions = {}) => ensureLocalGoTool(HELM_DRIVER, opts);
