// The real `flux` CLI of Flux v2.9, built from its Go module, for the test
// that operates a Sluice-run cluster with Flux's own command line. Test-only:
// Sluice never runs it.
//
// `go install github.com/fluxcd/flux2/v2/cmd/flux@VERSION` is refused because
// flux2's go.mod has a replace directive, and its cmd/flux package embeds
// the install manifests that Flux's release build generates first
// (manifests/*.yaml, absent from the module). So the module is downloaded,
// copied to a writable scratch directory, given one empty placeholder
// manifest, and built there as the main module, with its own go.mod and
// go.sum. `flux install` and `flux bootstrap` would have nothing to install;
// the commands that read and annotate objects, which the test uses, are the
// release's own.
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../src/util/exec.ts';
import { withLock } from '../../src/util/lock.ts';
import { cacheHome } from '../../src/util/paths.ts';

export const FLUX_VERSION = 'v2.9.3';

/** Path of the flux binary, built on first use (a few minutes on 2 cores, then cached). */
export async function ensureFluxCli(log: (m: string) => void = () => {}): Promise<string> {
  const dir = join(cacheHome(), 'tools', `flux-${FLUX_VERSION}`);
  const bin = join(dir, 'flux');
  if (existsSync(bin)) return bin;
  await mkdir(dir, { recursive: true });
  return withLock(`${dir}.lock`, async () => {
    if (existsSync(bin)) return bin;
    const started = Date.now();
    log(`building the flux CLI ${FLUX_VERSION} from github.com/fluxcd/flux2/v2; the first build takes a few minutes`);
    const env = { ...process.env, GOWORK: 'off', GO111MODULE: 'on', GOFLAGS: '-mod=mod', CGO_ENABLED: '0' };
    const dl = await run('go', ['mod', 'download', '-json', `github.com/fluxcd/flux2/v2@${FLUX_VERSION}`], { env });
    const moduleDir = (JSON.parse(dl.stdout) as { Dir?: string }).Dir;
    if (!moduleDir) throw new Error(`go mod download gave no directory for flux2 ${FLUX_VERSION}: ${dl.stdout}`);
    const src = await mkdtemp(join(dir, '.src-'));
    try {
      await cp(moduleDir, src, { recursive: true });
      await makeWritable(src);
      await mkdir(join(src, 'cmd', 'flux', 'manifests'), { recursive: true });
      await writeFile(join(src, 'cmd', 'flux', 'manifests', 'placeholder.yaml'), 'apiVersion: v1\nkind: List\nitems: []\n');
      const out = join(src, 'flux');
      await run('go', ['build', '-trimpath', `-ldflags=-s -w -X main.VERSION=${FLUX_VERSION.slice(1)}`, '-o', out, './cmd/flux'], { cwd: src, env });
      await rename(out, bin);
    } finally {
      await rm(src, { recursive: true, force: true });
    }
    log(`built ${bin} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return bin;
  });
}

/** The module cache is read-only; the copy must not be. */
async function makeWritable(dir: string): Promise<void> {
  await run('chmod', ['-R', 'u+w', dir]);
  await chmod(dir, 0o755);
}
