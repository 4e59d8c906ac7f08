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
import { parse as parseYaml } from 'yaml';
import { run } from '../util/exec.ts';
import { ensureKustomize } from '../tools/gotool.ts';
import { parseManifests, readManifestFile } from './manifests.ts';
import type { Manifest } from './manifests.ts';
import { cleanLikeKustomize } from './transform.ts';
import { emitV2, parseYamlStream, YamlSyntaxError, YamlValueError } from './yaml.ts';

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

/**
 * Walks a kustomization and every local kustomization it includes, and fails
 * on a remote base or resource (Sluice builds only what the source artifact
 * holds) and on any file or directory outside `root` (as Flux's secure file
 * system does). `kus` is the parsed top-level kustomization.
 */
export async function checkKustomizationTree(root: string, dir: string, kus: Record<string, unknown>, kfile: string): Promise<void> {
  const realRoot = await realpath(root);
  const seen = new Set<string>();
  const queue: Array<{ dir: string; kus: Record<string, unknown>; file: string }> = [{ dir, kus, file: kfile }];
  const show = (p: string) => relative(root, p) || '.';

  const checkPath = async (
    ref: string,
    from: { dir: string; file: string },
    field: string,
    opts: { directories: boolean; mustExist: boolean },
  ): Promise<void> => {
    const abs = isAbsolute(ref) ? ref : resolve(from.dir, ref);
    const exists = existsSync(abs);
    if (!exists) {
      if (looksRemote(ref)) {
        throw new BuildError(
          `${show(from.file)}: ${field} ${JSON.stringify(ref)} is a remote base; Sluice builds only from the source artifact, so remote bases and resources are refused (vendor it into the repository instead)`,
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
    if (opts.directories && (await stat(real)).isDirectory()) {
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
}

// ---------------------------------------------------------------------------
// Writing Flux's settings into the kustomization

const ORIGIN_ANNOTATION = 'config.kubernetes.io/origin';

/** Whether a component path is local and relative, as Flux requires. */
function isLocalRelative(p: string): boolean {
  return !isAbsolute(p) && !/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(p) && !looksRemote(p);
}

/**
 * Applies a Flux spec to a kustomization, as Flux's generator does: namespace,
 * prefix and suffix override the file's; patches and components are appended;
 * an image replaces the file's entry of the same name, or is appended.
 */
export function applyFluxSpec(kus: Record<string, unknown>, spec: KustomizeSpec, dir: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...kus };
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
    kus = {
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      resources: entries.map((e) => `./${relative(dir, e.path).split(sep).join('/')}`),
    };
  }
  kus = applyFluxSpec(kus, opts.spec, dir);
  const buildMetadata = asStrings(kus.buildMetadata);
  const stripOrigin = !buildMetadata.includes('originAnnotations');
  if (stripOrigin) kus.buildMetadata = [...buildMetadata, 'originAnnotations'];
  const kfile = join(dir, kfileName);
  await checkKustomizationTree(root, dir, kus, kfile);

  const realRoot = await realpath(root);
  const realDir = await realpath(dir);
  const tmp = await mkdtemp(join(tmpdir(), 'sluice-build-'));
  try {
    const mdir = await mirror(realRoot, realDir, tmp);
    await writeFile(join(mdir, kfileName), emitV2(kus));
    const bin = await ensureKustomize({ log: opts.log });
    const res = await run(bin, ['build', '--load-restrictor', 'LoadRestrictionsNone', '--reorder', 'none', mdir], {
      cwd: tmp,
      check: false,
      timeout: opts.timeoutMs ?? 5 * 60_000,
      env: { ...process.env, KUSTOMIZE_PLUGIN_HOME: join(tmp, '.no-plugins') },
    });
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
      throw new BuildError(`kustomize build ${show(dir)} failed: ${msg.trim() || `exit code ${res.code}`}`);
    }
    const label = `kustomize build ${show(dir)}`;
    const manifests = parseManifests(res.stdout, label, { flavor: 'v2' });
    return await attachOrigins(manifests, { root, realRoot, dir: realDir, mirrorDir: mdir, tmp, stripOrigin });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

interface OriginContext {
  root: string;
  realRoot: string;
  dir: string;
  mirrorDir: string;
  tmp: string;
  stripOrigin: boolean;
}

/** Replaces kustomize's origin annotations by each object's origin, relative to the root. */
async function attachOrigins(manifests: Manifest[], ctx: OriginContext): Promise<Manifest[]> {
  const fileCache = new Map<string, Manifest[] | null>();
  const out: Manifest[] = [];
  for (const m of manifests) {
    const ann = m.object.metadata.annotations;
    const raw = ann && typeof ann === 'object' ? ann[ORIGIN_ANNOTATION] : undefined;
    let file: string | undefined;
    let line = 0;
    let column = 0;
    if (typeof raw === 'string') {
      let info: Record<string, unknown> = {};
      try {
        const parsed = parseYaml(raw);
        if (isRecord(parsed)) info = parsed;
      } catch {
        // leave the origin unknown
      }
      const p = typeof info.path === 'string' ? info.path : typeof info.configuredIn === 'string' ? info.configuredIn : undefined;
      if (p) {
        const abs = resolve(ctx.mirrorDir, p);
        let real: string | undefined;
        if (isInside(ctx.tmp, abs)) real = join(ctx.realRoot, relative(ctx.tmp, abs));
        else if (isInside(ctx.realRoot, abs)) real = abs;
        if (real) {
          file = relative(ctx.realRoot, real).split(sep).join('/');
          if (typeof info.path === 'string') {
            const pos = await findLine(real, m, fileCache);
            line = pos.line;
            column = pos.column;
          }
        }
      }
    }
    if (ctx.stripOrigin) cleanLikeKustomize(m.object);
    out.push({
      object: m.object,
      origin: file ? { file, line, column, document: 0 } : m.origin,
    });
  }
  return out;
}

/** Best effort: the line of the source object that became `m` (same kind, name within the built name). */
async function findLine(file: string, m: Manifest, cache: Map<string, Manifest[] | null>): Promise<{ line: number; column: number }> {
  if (!cache.has(file)) {
    try {
      cache.set(file, await readManifestFile(file, { requireName: false }));
    } catch {
      cache.set(file, null);
    }
  }
  const objs = cache.get(file);
  if (!objs) return { line: 0, column: 0 };
  const name = m.object.metadata.name ?? '';
  const sameKind = objs.filter((o) => o.object.kind === m.object.kind);
  let hits = sameKind.filter((o) => o.object.metadata.name === name);
  if (hits.length === 0) hits = sameKind.filter((o) => typeof o.object.metadata.name === 'string' && name.includes(o.object.metadata.name));
  if (hits.length === 0 && sameKind.length === 1) hits = sameKind;
  if (hits.length !== 1) return { line: 0, column: 0 };
  return { line: hits[0]!.origin.line, column: hits[0]!.origin.column };
}

