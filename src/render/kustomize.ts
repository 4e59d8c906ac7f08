// Building with the real kustomize binary, the way kustomize-controller does:
// Flux's settings are written into the directory's kustomization file (or into
// one generated for a plain directory), and the result is built with load
// restrictions off, plugins disabled and no reordering. Sluice never edits the
// source: the directory is mirrored into a temporary tree of symbolic links in
// which only the kustomization file is replaced.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { run } from '../util/exec.ts';
import { ensureKustomize } from '../tools/gotool.ts';
import { ManifestError, parseManifests, readManifestFile } from './manifests.ts';
import type { Manifest } from './manifests.ts';
import { parseYamlStream, YamlSyntaxError, YamlValueError } from './yaml.ts';
import { emitV2 } from './yamlwrite.ts';

export const KUSTOMIZATION_FILE_NAMES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

/** A Flux patch: an inline strategic-merge or JSON6902 patch and the objects it targets. */
export interface FluxPatch {
  patch: string;
  target?: {
    group?: string;
    version?: string;
    kind?: string;
    name?: string;
    namespace?: string;
    labelSelector?: string;
    annotationSelector?: string;
  };
}

export interface FluxImage {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
}

/** The parts of a Flux Kustomization's spec that shape the kustomize build. */
export interface KustomizeSpec {
  targetNamespace?: string;
  namePrefix?: string;
  nameSuffix?: string;
  patches?: FluxPatch[];
  images?: FluxImage[];
  components?: string[];
  ignoreMissingComponents?: boolean;
  /** kustomize's buildMetadata options (originAnnotations, transformerAnnotations), added to the file's. */
  buildMetadata?: string[];
}

export class BuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuildError';
  }
}

/** The kustomization file in a directory, if it has one. */
export async function findKustomizationFile(dir: string): Promise<string | undefined> {
  const found: string[] = [];
  for (const name of KUSTOMIZATION_FILE_NAMES) {
    const p = join(dir, name);
    const st = await stat(p).catch(() => undefined);
    if (st && !st.isDirectory()) found.push(p);
  }
  if (found.length > 1) {
    throw new BuildError(`${dir} has more than one kustomization file (${found.map((f) => f.slice(dir.length + 1)).join(', ')}); keep one`);
  }
  return found[0];
}

/** One entry of the kustomization Flux generates for a plain directory. */
export interface PlainEntry {
  kind: 'file' | 'kustomization';
  /** Absolute path. */
  path: string;
}

/**
 * What Flux's generator lists for a directory without a kustomization file:
 * every .yaml/.yml file below it, and every sub-directory that has a
 * kustomization file (which is built as a whole, not descended into), in
 * the order Go's filepath.Walk visits them.
 */
export async function listPlainDirectory(dir: string, root = dir, extensions = ['.yaml', '.yml']): Promise<PlainEntry[]> {
  const out: PlainEntry[] = [];
  const realDir = await realpath(root);
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (e.name === '.git') continue;
        if (await findKustomizationFile(p)) out.push({ kind: 'kustomization', path: p });
        else await walk(p);
        continue;
      }
      const dot = e.name.lastIndexOf('.');
      if (dot < 0 || !extensions.includes(e.name.slice(dot))) continue;
      if (e.isSymbolicLink()) {
        const target = await realpath(p).catch(() => undefined);
        if (!target || !(await stat(target)).isFile()) continue;
        if (target !== realDir && !target.startsWith(realDir + sep)) {
          throw new BuildError(`${relative(root, p)} is a symbolic link to ${target}, outside the source root ${root}`);
        }
      } else if (!e.isFile()) continue;
      out.push({ kind: 'file', path: p });
    }
  };
  await walk(dir);
  return out;
}

/**
 * Reads a kustomization file as kustomize and Flux do (sigs.k8s.io/yaml, so
 * `namespace: y` is a boolean there too).
 */
export async function readKustomizationFile(file: string, show: (p: string) => string): Promise<Record<string, unknown>> {
  let docs;
  try {
    docs = parseYamlStream(await readFile(file, 'utf8'), 'v2').documents.filter((d) => d.value !== undefined && d.value !== null);
  } catch (err) {
    if (err instanceof YamlSyntaxError) throw new BuildError(`${show(file)}:${err.line}:${err.column}: invalid YAML: ${err.reason}`);
    if (err instanceof YamlValueError) throw new BuildError(`${show(file)}:${err.line}:${err.column}: ${err.message}`);
    throw err;
  }
  if (docs.length === 0) return {};
  if (docs.length > 1) throw new BuildError(`${show(file)} has more than one YAML document`);
  const v = docs[0]!.value;
  if (!isRecord(v)) throw new BuildError(`${show(file)} is not a YAML mapping`);
  return v;
}

// ---------------------------------------------------------------------------
// Checking what a kustomization refers to

/** Whether a reference that does not exist locally looks like a remote base kustomize would fetch. */
export function looksRemote(ref: string): boolean {
  return (
    /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(ref) ||
    /^git(@|::)/.test(ref) ||
    /^(github\.com|gitlab\.com|bitbucket\.org)[/:]/.test(ref) ||
    /[?&](ref|version|timeout|submodules)=/.test(ref) ||
    /^[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)+(:[0-9]+)?\/.+\.git\b/.test(ref) ||
    ref.includes('//') ||
    ref.includes('_git/')
  );
}

function isInside(root: string, p: string): boolean {
  return p === root || p.startsWith(root + sep);
}

function asStrings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return [];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Whether a generators/transformers/patches entry is inline YAML rather than a path. */
function isInline(s: string): boolean {
  return s.includes('\n') || /^\s*[{[]/.test(s) || /^\s*(apiVersion|kind)\s*:/.test(s);
}

export interface KustomizationTree {
  /** Every kustomization read: the top one first. */
  kustomizations: Array<{ dir: string; kus: Record<string, unknown>; file: string }>;
  /** Every file listed under resources (real paths). */
  resourceFiles: string[];
  /** The remote bases and resources kustomize fetches itself (when allowed). */
  remote: string[];
}

/**
 * Walks a kustomization and every local kustomization it includes, and fails
 * on any file or directory outside `root` (as Flux's secure file system does)
 * and, unless `remoteBases`, on a remote base or resource. `kus` is the
 * parsed top-level kustomization.
 */
export async function checkKustomizationTree(
  root: string,
  dir: string,
  kus: Record<string, unknown>,
  kfile: string,
  remoteBases = false,
): Promise<KustomizationTree> {
  const realRoot = await realpath(root);
  const seen = new Set<string>();
  const tree: KustomizationTree = { kustomizations: [], resourceFiles: [], remote: [] };
  const queue: Array<{ dir: string; kus: Record<string, unknown>; file: string }> = [{ dir, kus, file: kfile }];
  const show = (p: string) => relative(root, p) || '.';

  const checkPath = async (
    ref: string,
    from: { dir: string; file: string },
    field: string,
    opts: { directories: boolean; mustExist: boolean },
  ): Promise<void> => {
    if (/^file:/i.test(ref)) {
      // A file:// git URL would have kustomize clone a repository from the controller's disk (another tenant's mirror).
      throw new BuildError(`${show(from.file)}: ${field} ${JSON.stringify(ref)} is a file:// URL, which reads the controller's disk: refused`);
    }
    const abs = isAbsolute(ref) ? ref : resolve(from.dir, ref);
    const exists = existsSync(abs);
    // A path that leaves the root is refused whether or not it exists here:
    // kustomize runs in a mirror of the tree under a temporary directory,
    // where the same `../..` reaches other files (/tmp, /etc).
    // Only a URL (scheme://, git@, git::) is exempt: kustomize reads
    // `sub//../../etc` as a local path even though it looks remote.
    const url = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(ref) || /^git(@|::)/.test(ref);
    if (!exists && !url && !isInside(realRoot, abs) && !isInside(resolve(root), abs)) {
      throw new BuildError(`${show(from.file)}: ${field} ${JSON.stringify(ref)} is outside the source root`);
    }
    if (!exists) {
      if (looksRemote(ref)) {
        if (remoteBases && (field === 'resources' || field === 'bases' || field === 'components')) {
          tree.remote.push(ref);
          return;
        }
        throw new BuildError(
          `${show(from.file)}: ${field} ${JSON.stringify(ref)} is a remote base, and remote bases are off (--no-remote-bases): vendor it into the repository, or run the controller without the flag`,
        );
      }
      if (opts.mustExist) {
        throw new BuildError(`${show(from.file)}: ${field} ${JSON.stringify(ref)} does not exist (looked for ${show(abs)})`);
      }
      return;
    }
    const real = await realpath(abs);
    if (!isInside(realRoot, real)) {
      throw new BuildError(`${show(from.file)}: ${field} ${JSON.stringify(ref)} is outside the source root ${root}`);
    }
    const isDir = (await stat(real)).isDirectory();
    if (field === 'resources' && !isDir) tree.resourceFiles.push(real);
    if (opts.directories && isDir) {
      if (seen.has(real)) return;
      seen.add(real);
      const sub = await findKustomizationFile(real);
      if (!sub) {
        throw new BuildError(`${show(from.file)}: ${field} ${JSON.stringify(ref)} is a directory without a kustomization file`);
      }
      queue.push({ dir: real, kus: await readKustomizationFile(sub, show), file: sub });
    }
  };

  while (queue.length > 0) {
    const cur = queue.shift()!;
    tree.kustomizations.push(cur);
    const k = cur.kus;
    for (const field of ['resources', 'bases', 'components']) {
      for (const ref of asStrings(k[field])) await checkPath(ref, cur, field, { directories: true, mustExist: true });
    }
    for (const field of ['crds', 'configurations', 'generators', 'transformers', 'validators']) {
      for (const ref of asStrings(k[field])) {
        if (isInline(ref)) continue;
        await checkPath(ref, cur, field, { directories: true, mustExist: false });
      }
    }
    for (const field of ['patches', 'patchesJson6902', 'replacements']) {
      for (const p of Array.isArray(k[field]) ? (k[field] as unknown[]) : []) {
        if (isRecord(p) && typeof p.path === 'string') await checkPath(p.path, cur, `${field} path`, { directories: false, mustExist: false });
      }
    }
    for (const ref of asStrings(k.patchesStrategicMerge)) {
      if (!isInline(ref)) await checkPath(ref, cur, 'patchesStrategicMerge', { directories: false, mustExist: false });
    }
    if (isRecord(k.openapi) && typeof k.openapi.path === 'string') {
      await checkPath(k.openapi.path, cur, 'openapi path', { directories: false, mustExist: false });
    }
    for (const field of ['configMapGenerator', 'secretGenerator']) {
      for (const g of Array.isArray(k[field]) ? (k[field] as unknown[]) : []) {
        if (!isRecord(g)) continue;
        for (const f of asStrings(g.files)) {
          const path = f.includes('=') ? f.slice(f.indexOf('=') + 1) : f;
          await checkPath(path, cur, `${field} file`, { directories: false, mustExist: false });
        }
        for (const e of [...asStrings(g.envs), ...asStrings(g.env)]) {
          await checkPath(e, cur, `${field} env file`, { directories: false, mustExist: false });
        }
      }
    }
  }
  return tree;
}

// ---------------------------------------------------------------------------
// Writing Flux's settings into the kustomization

/** Whether a component path is local and relative, as Flux requires. */
function isLocalRelative(p: string): boolean {
  return !isAbsolute(p) && !/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(p) && !looksRemote(p);
}

/** The top-level fields of a kustomization (kustomize v5.8.2's types.Kustomization). */
const KUSTOMIZATION_FIELDS = [
  'apiVersion', 'kind', 'metadata', 'openapi', 'namePrefix', 'nameSuffix', 'namespace', 'commonLabels', 'labels',
  'commonAnnotations', 'patchesStrategicMerge', 'patchesJson6902', 'patches', 'images', 'imageTags', 'replacements',
  'replicas', 'vars', 'sortOptions', 'resources', 'components', 'crds', 'bases', 'configMapGenerator',
  'secretGenerator', 'helmGlobals', 'helmCharts', 'helmChartInflationGenerator', 'generatorOptions',
  'configurations', 'generators', 'transformers', 'validators', 'buildMetadata',
];

/**
 * What Flux's generator keeps of a kustomization file: it decodes the file
 * into kustomize's Go type and writes it back, so field names match case
 * insensitively and unknown fields are dropped (kustomize alone would reject them).
 */
export function normalizeKustomization(kus: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(kus)) {
    const field = KUSTOMIZATION_FIELDS.includes(k) ? k : KUSTOMIZATION_FIELDS.find((f) => f.toLowerCase() === k.toLowerCase());
    if (field) out[field] = v;
  }
  return out;
}

/**
 * Applies a Flux spec to a kustomization, as Flux's generator does: namespace,
 * prefix and suffix override the file's; patches and components are appended;
 * an image replaces the file's entry of the same name, or is appended.
 */
export function applyFluxSpec(kus: Record<string, unknown>, spec: KustomizeSpec, dir: string): Record<string, unknown> {
  const out = normalizeKustomization(kus);
  if (!out.apiVersion) out.apiVersion = 'kustomize.config.k8s.io/v1beta1';
  if (!out.kind) out.kind = 'Kustomization';
  if (spec.targetNamespace) out.namespace = spec.targetNamespace;
  if (spec.namePrefix) out.namePrefix = spec.namePrefix;
  if (spec.nameSuffix) out.nameSuffix = spec.nameSuffix;
  if (spec.patches?.length) {
    const patches = Array.isArray(out.patches) ? [...out.patches] : [];
    for (const p of spec.patches) {
      const entry: Record<string, unknown> = { patch: p.patch };
      if (p.target) {
        const t: Record<string, string> = {};
        for (const [k, v] of Object.entries(p.target)) if (typeof v === 'string' && v !== '') t[k] = v;
        if (Object.keys(t).length) entry.target = t;
      }
      patches.push(entry);
    }
    out.patches = patches;
  }
  if (spec.components?.length) {
    const components = Array.isArray(out.components) ? [...out.components] : [];
    for (const c of spec.components) {
      if (!isLocalRelative(c)) throw new BuildError(`component path ${JSON.stringify(c)} must be local and relative to the Kustomization path`);
      if (spec.ignoreMissingComponents && !existsSync(resolve(dir, c))) continue;
      components.push(c);
    }
    out.components = components;
  }
  if (spec.buildMetadata?.length) {
    const options = asStrings(out.buildMetadata);
    out.buildMetadata = [...options, ...spec.buildMetadata.filter((o) => !options.includes(o))];
  }
  if (spec.images?.length) {
    const images = Array.isArray(out.images) ? [...(out.images as unknown[])] : [];
    for (const img of spec.images) {
      const entry: Record<string, string> = { name: img.name };
      if (img.newName) entry.newName = img.newName;
      if (img.newTag) entry.newTag = img.newTag;
      if (img.digest) entry.digest = img.digest;
      const i = images.findIndex((x) => isRecord(x) && x.name === img.name);
      if (i >= 0) images[i] = entry;
      else images.push(entry);
    }
    out.images = images;
  }
  return out;
}

// ---------------------------------------------------------------------------
// The temporary mirror

/**
 * Builds a tree under `tmp` that mirrors `root` with symbolic links, except
 * that the directories from the root down to `dir` are real, and `dir`'s own
 * kustomization files are left out. Returns the mirror of `dir`.
 */
async function mirror(root: string, dir: string, tmp: string): Promise<string> {
  const rel = relative(root, dir);
  const chain = rel === '' ? [] : rel.split(sep);
  let src = root;
  let dst = tmp;
  for (let level = 0; level <= chain.length; level++) {
    const next = chain[level];
    const atTarget = level === chain.length;
    for (const name of await readdir(src)) {
      if (name === next) continue;
      if (atTarget && KUSTOMIZATION_FILE_NAMES.includes(name)) continue;
      await symlink(join(src, name), join(dst, name));
    }
    if (atTarget) break;
    src = join(src, next!);
    dst = join(dst, next!);
    await mkdir(dst);
  }
  return dst;
}

export interface KustomizeBuildOptions {
  /** The source root: nothing outside it may be read. */
  root: string;
  /** The directory to build (inside root). */
  dir: string;
  spec: KustomizeSpec;
  /** Kill kustomize after this long (default 5 minutes). */
  timeoutMs?: number;
  log?: (msg: string) => void;
  /**
   * Let kustomize fetch remote bases and resources (Flux's default; the
   * controller's --no-remote-bases turns it off). Off unless asked for.
   */
  remoteBases?: boolean;
  /** Told the remote references the build used (their content is not in the artifact). */
  onRemote?: (refs: string[]) => void;
}

/**
 * Builds `dir` with kustomize, with Flux's generated or amended
 * kustomization, and returns the objects with their origin (file, and line
 * where it can be found) relative to the root.
 */
export async function kustomizeBuild(opts: KustomizeBuildOptions): Promise<Manifest[]> {
  const root = resolve(opts.root);
  const dir = resolve(opts.dir);
  const show = (p: string) => relative(root, p) || '.';
  const existing = await findKustomizationFile(dir);
  let kus: Record<string, unknown>;
  let kfileName = 'kustomization.yaml';
  if (existing) {
    kfileName = existing.slice(existing.lastIndexOf(sep) + 1);
    kus = await readKustomizationFile(existing, show);
  } else {
    // Flux's generator: every manifest below the directory, and every
    // sub-directory that is itself a kustomization. Each file must parse.
    const entries = await listPlainDirectory(dir, root);
    for (const e of entries) if (e.kind === 'file') await readManifestFile(e.path, { root });
    kus = { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization' };
    // Flux leaves `resources` out when there is nothing to list; kustomize then fails with "kustomization.yaml is empty".
    if (entries.length > 0) kus.resources = entries.map((e) => `./${relative(dir, e.path).split(sep).join('/')}`);
  }
  kus = applyFluxSpec(kus, opts.spec, dir);
  const kfile = join(dir, kfileName);
  const tree = await checkKustomizationTree(root, dir, kus, kfile, opts.remoteBases);
  if (tree.remote.length) opts.onRemote?.(tree.remote);

  const realRoot = await realpath(root);
  const realDir = await realpath(dir);
  const tmp = await mkdtemp(join(tmpdir(), 'sluice-build-'));
  try {
    const mdir = await mirror(realRoot, realDir, tmp);
    await writeFile(join(mdir, kfileName), emitV2(kus));
    const bin = await ensureKustomize({ log: opts.log });
    const timeoutMs = opts.timeoutMs ?? 5 * 60_000;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    timer.unref();
    let res;
    try {
      res = await run(bin, ['build', '--load-restrictor', 'LoadRestrictionsNone', '--reorder', 'none', mdir], {
        cwd: tmp,
        check: false,
        signal: abort.signal,
        env: { ...process.env, KUSTOMIZE_PLUGIN_HOME: join(tmp, '.no-plugins') },
      });
    } catch (err) {
      if (abort.signal.aborted) throw new BuildError(`kustomize build ${show(dir)} did not finish within ${Math.round(timeoutMs / 1000)} s`);
      throw err;
    } finally {
      clearTimeout(timer);
    }
    if (res.code !== 0) {
      const msg = res.stderr
        .split('\n')
        .filter((l) => l.trim() && !l.startsWith('Flag --reorder has been deprecated') && !/^Warning: Sorting order is set both/.test(l))
        .join('\n')
        .replace(/^Error: /, '')
        .split(tmp + sep)
        .join('')
        .split(tmp)
        .join('.');
      // Where a listed file does not parse, Sluice's own error is more precise
      // (path from the source root, line and column).
      for (const f of new Set(tree.resourceFiles)) {
        try {
          await readManifestFile(f, { root: realRoot });
        } catch (err) {
          if (err instanceof ManifestError) throw err;
        }
      }
      throw new BuildError(`kustomize build ${show(dir)} failed: ${msg.trim() || `exit code ${res.code}`}`);
    }
    const label = `kustomize build ${show(dir)}`;
    const manifests = parseManifests(res.stdout, label, { flavor: 'v2' });
    return await traceOrigins(manifests, tree, realRoot, existing ? kfile : undefined, realDir);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Finds, for each object kustomize built, the source file it came from, and
 * its line: an object in a listed resource file of the same kind whose name
 * is the built name or part of it (kustomize adds prefixes, suffixes and
 * hashes); a ConfigMap or Secret made by a generator is traced to the
 * kustomization that declares it. The build itself is left exactly as Flux
 * runs it (kustomize's own originAnnotations would change what JSON patches
 * see). Objects that cannot be traced point at the built directory.
 */
async function traceOrigins(
  manifests: Manifest[],
  tree: KustomizationTree,
  realRoot: string,
  kfile: string | undefined,
  realDir: string,
): Promise<Manifest[]> {
  const rel = (p: string) => relative(realRoot, p).split(sep).join('/');
  const sources: Manifest[] = [];
  for (const f of new Set(tree.resourceFiles)) {
    try {
      sources.push(...(await readManifestFile(f, { root: realRoot, requireName: false })));
    } catch {
      // kustomize read it; if Sluice cannot, the object's origin stays unknown
    }
  }
  const generators: Array<{ name: string; kind: string; file: string }> = [];
  for (const k of tree.kustomizations) {
    for (const [field, kind] of [['configMapGenerator', 'ConfigMap'], ['secretGenerator', 'Secret']] as const) {
      for (const g of Array.isArray(k.kus[field]) ? (k.kus[field] as unknown[]) : []) {
        if (isRecord(g) && typeof g.name === 'string') generators.push({ name: g.name, kind, file: k.file });
      }
    }
  }
  const fallback = { file: rel(kfile ?? realDir), line: 0, column: 0, document: 0 };
  const used = new Set<Manifest>();
  return manifests.map((m) => {
    const name = m.object.metadata.name ?? '';
    const sameKind = sources.filter((s) => s.object.kind === m.object.kind && typeof s.object.metadata.name === 'string');
    let hits = sameKind.filter((s) => s.object.metadata.name === name && !used.has(s));
    if (hits.length === 0) hits = sameKind.filter((s) => name.includes(s.object.metadata.name!) && !used.has(s));
    if (hits.length > 1) {
      const longest = Math.max(...hits.map((h) => h.object.metadata.name!.length));
      hits = hits.filter((h) => h.object.metadata.name!.length === longest);
    }
    if (hits.length === 1) {
      used.add(hits[0]!);
      const o = hits[0]!.origin;
      return { object: m.object, origin: { file: o.file.split(sep).join('/'), line: o.line, column: o.column, document: o.document, ...(o.item ? { item: o.item } : {}) } };
    }
    const gen = generators.filter((g) => g.kind === m.object.kind && name.includes(g.name));
    if (gen.length >= 1) return { object: m.object, origin: { file: rel(gen[0]!.file), line: 0, column: 0, document: 0 } };
    // A Namespace renamed to the target namespace: the one source of its kind not yet matched.
    const left = sameKind.filter((s) => !used.has(s));
    if (left.length === 1 && manifests.filter((x) => x.object.kind === m.object.kind).length === sameKind.length) {
      used.add(left[0]!);
      return { object: m.object, origin: { ...left[0]!.origin, file: left[0]!.origin.file.split(sep).join('/') } };
    }
    return { object: m.object, origin: fallback };
  });
}
