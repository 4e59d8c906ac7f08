// src/tools: the pinned Go-built programs Sluice runs (kustomize, helm, sops,
// the helm driver), built from Go modules into a versioned cache.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheHome } from '../util/paths.ts';
import { run } from '../util/exec.ts';
import { withLock } from '../util/lock.ts';

export interface GoTool {
  /** Name of the binary, e.g. `kustomize`. */
  name: string;
  /** Go module path that is versioned, e.g. `sigs.k8s.io/kustomize/kustomize/v5`. */
  module: string;
  /** Exact module version, e.g. `v5.8.2`. */
  version: string;
  /** Package to build, when it is not the module root, e.g. `helm.sh/helm/v3/cmd/helm`. */
  pkg?: string;
}

export interface EnsureOptions {
  log?: (msg: string) => void;
}

/** Where a tool's binary lives in the cache, whether or not it has been built. */
export function goToolPath(tool: GoTool): string {
  return join(cacheHome(), 'tools', `${tool.name}-${tool.version}`, tool.name);
}

const inFlight = new Map<string, Promise<string>>();

/**
 * Path of a Go program built at a pinned version, building it with
 * `go install PKG@VERSION` the first time. The build runs outside any module
 * (so the tool's own go.mod and go.sum decide its dependencies), is locked
 * against concurrent builds by other processes, and is moved into place only
 * once complete, so a half-written binary is never returned.
 */
export async function ensureGoTool(tool: GoTool, opts: EnsureOptions = {}): Promise<string> {
  if (!/^v\d+\.\d+\.\d+([-+][\w.+-]*)?$/.test(tool.version)) {
    throw new Error(`${tool.name}: version must be an exact semantic version such as v1.2.3, not ${JSON.stringify(tool.version)}`);
  }
  const pkg = tool.pkg ?? tool.module;
  if (pkg !== tool.module && !pkg.startsWith(`${tool.module}/`)) {
    throw new Error(`${tool.name}: package ${pkg} is not inside module ${tool.module}`);
  }
  const bin = goToolPath(tool);
  if (existsSync(bin)) return bin;
  const pending = inFlight.get(bin);
  if (pending) return pending;
  const p = build(tool, pkg, bin, opts.log ?? (() => {})).finally(() => inFlight.delete(bin));
  inFlight.set(bin, p);
  return p;
}

async function build(tool: GoTool, pkg: string, bin: string, log: (msg: string) => void): Promise<string> {
  const toolsDir = join(cacheHome(), 'tools');
  await mkdir(toolsDir, { recursive: true });
  return withLock(join(toolsDir, `${tool.name}-${tool.version}.lock`), async () => {
    if (existsSync(bin)) return bin; // another process built it while we waited
    const dir = join(toolsDir, `${tool.name}-${tool.version}`);
    await mkdir(dir, { recursive: true });
    log(`building ${tool.name} ${tool.version} from ${pkg}; the first build takes a minute or more`);
    const started = Date.now();
    const gobin = await mkdtemp(join(dir, '.build-'));
    try {
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        GOBIN: gobin,
        CGO_ENABLED: '0',
        // Build the tool by its own go.mod, never by a go.work or module around the cwd.
        GOWORK: 'off',
        GO111MODULE: 'on',
        GOFLAGS: '-mod=mod',
      };
      await run('go', ['install', '-trimpath', '-ldflags=-s -w', `${pkg}@${tool.version}`], { cwd: gobin, env });
      // go install names the binary after the package's last path element,
      // or the one before it when that is a major version suffix (…/v3).
      const parts = pkg.split('/');
      let base = parts.pop() ?? tool.name;
      if (/^v\d+$/.test(base) && parts.length > 0) base = parts.pop()!;
      const built = join(gobin, process.platform === 'win32' ? `${base}.exe` : base);
      const src = existsSync(built) ? built : join(gobin, tool.name);
      if (!existsSync(src)) throw new Error(`go install ${pkg}@${tool.version} produced no binary in ${gobin}`);
      await rename(src, bin);
    } finally {
      await rm(gobin, { recursive: true, force: true });
    }
    log(`built ${bin} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return bin;
  });
}

/**
 * The kustomize release Sluice renders with. v5.8.2 is the newest release whose
 * go.mod asks for no newer Go than 1.26 (v5.8.3 needs Go 1.27).
 */
export const KUSTOMIZE: GoTool = {
  name: 'kustomize',
  module: 'sigs.k8s.io/kustomize/kustomize/v5',
  version: 'v5.8.2',
};

/**
 * Path of the kustomize binary. `SLUICE_KUSTOMIZE` names one to use instead
 * of the pinned build (for a machine without Go).
 */
export async function ensureKustomize(opts: EnsureOptions = {}): Promise<string> {
  if (process.env.SLUICE_KUSTOMIZE) return process.env.SLUICE_KUSTOMIZE;
  return ensureGoTool(KUSTOMIZE, opts);
}

/**
 * The Helm release Sluice installs, upgrades and renders charts with: the real
 * `helm` CLI, so releases are ordinary Helm releases that `helm list` sees.
 */
export const HELM: GoTool = {
  name: 'helm',
  module: 'helm.sh/helm/v3',
  version: 'v3.22.0',
  pkg: 'helm.sh/helm/v3/cmd/helm',
};

/**
 * Path of the helm binary. `SLUICE_HELM` names one to use instead of the
 * pinned build (for a machine without Go).
 */
export async function ensureHelm(opts: EnsureOptions = {}): Promise<string> {
  if (process.env.SLUICE_HELM) return process.env.SLUICE_HELM;
  return ensureGoTool(HELM, opts);
}

/**
 * SOPS, for Kustomizations with `decryption.provider: sops`: the real sops
 * binary decrypts with the age and OpenPGP keys from the decryption Secret.
 */
export const SOPS: GoTool = {
  name: 'sops',
  module: 'github.com/getsops/sops/v3',
  version: 'v3.13.3',
  pkg: 'github.com/getsops/sops/v3/cmd/sops',
};

export async function ensureSops(opts: EnsureOptions = {}): Promise<string> {
  if (process.env.SLUICE_SOPS) return process.env.SLUICE_SOPS;
  return ensureGoTool(SOPS, opts);
}
