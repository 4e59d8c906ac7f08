// Keeps dist/sluice.mjs, one esbuild bundle of the TypeScript sources, up to
// date. Running from the bundle instead of through a TypeScript loader saves
// a long-running controller about 45 MiB of memory (bench/RESULTS.md), and a
// checkout still needs no build step: a stale or missing bundle is rebuilt in
// a fraction of a second on the next start.
import { mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const out = join(root, 'dist', 'sluice.mjs');

function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function bundleTime() {
  try {
    return statSync(out).mtimeMs;
  } catch {
    return -1;
  }
}

/** URL of the module that exports `main`: the bundle, rebuilt first if a source is newer. */
export async function entryModule() {
  if (process.env.SLUICE_NO_BUNDLE === '1') return undefined;
  if (bundleTime() >= newestSource(src)) return pathToFileURL(out).href;
  const { build } = await import('esbuild');
  mkdirSync(dirname(out), { recursive: true });
  // Built beside the target and renamed over it: starts racing each other never see half a file.
  const tmp = `${out}.${process.pid}.tmp`;
  await build({
    entryPoints: [join(src, 'cli', 'main.ts')],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // The npm packages inside too, so that a command loads only the modules it
    // runs: in one file, an external package is imported on every start, by
    // every verb (the controller's metrics for \`sluice get\`), and ESM packages
    // of hundreds of files are slow to resolve and link. Inside, a verb's
    // modules (imported lazily by src/cli/main.ts) run only when it does.
    // esbuild stays outside (only this file and \`sluice image build\` load
    // it), and so does @kubernetes/client-node, loaded only for kubeconfig
    // exec and auth-provider plugins.
    external: ['esbuild', '@kubernetes/client-node'],
    // CommonJS dependencies call require(); an ES module has none of its own.
    banner: { js: "import { createRequire as __sluiceRequire } from 'node:module'; const require = __sluiceRequire(import.meta.url);" },
    logLevel: 'error',
  });
  renameSync(tmp, out);
  return pathToFileURL(out).href;
}
