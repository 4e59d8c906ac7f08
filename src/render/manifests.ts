// Reading Kubernetes manifests (YAML or JSON) into objects that remember where
// they came from.
import { lstat, readdir, readFile, realpath } from 'node:fs/promises';
import { extname, join, relative, resolve, sep } from 'node:path';
import { parseYamlStream, YamlSyntaxError, YamlValueError } from './yaml.ts';
import type { Flavor, JsonValue } from './yaml.ts';

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  labels?: Record<string, string> | null;
  annotations?: Record<string, string> | null;
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/** Where an object was read from, for error messages. */
export interface Origin {
  /** File name as given (relative to the build root where there is one). */
  file: string;
  /** 1-based line of the object's first field, or 0 when unknown. */
  line: number;
  /** 1-based column, or 0 when unknown. */
  column: number;
  /** 1-based index of the YAML document in the file. */
  document: number;
  /** 1-based index in the `items` of a List, when the object came from one. */
  item?: number;
}

export interface Manifest {
  object: KubeObject;
  origin: Origin;
}

export class ManifestError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly line = 0,
    readonly column = 0,
  ) {
    super(message);
    this.name = 'ManifestError';
  }
}

export function formatOrigin(o: Origin): string {
  const pos = o.line ? `:${o.line}${o.column ? `:${o.column}` : ''}` : '';
  return `${o.file}${pos}`;
}

/** `Kind/namespace/name` or `Kind/name`, as Flux writes object references. */
export function objectRef(obj: { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } | null }): string {
  const ns = obj.metadata?.namespace;
  return `${String(obj.kind ?? '?')}/${ns ? `${String(ns)}/` : ''}${String(obj.metadata?.name ?? '?')}`;
}

export interface ParseOptions {
  /**
   * Scalar semantics: 'v3' as kustomize reads source files (the default),
   * 'v2' as Flux and the API machinery read rendered YAML.
   */
  flavor?: Flavor;
  /** Require metadata.name on every object (default true; kustomize and Flux do). */
  requireName?: boolean;
}

function isMapping(v: unknown): v is Record<string, JsonValue> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a sequence';
  return `a ${typeof v}`;
}

function decodeText(data: Buffer): string {
  if (data.length >= 2 && data[0] === 0xff && data[1] === 0xfe) return data.subarray(2).toString('utf16le');
  if (data.length >= 2 && data[0] === 0xfe && data[1] === 0xff) {
    const swapped = Buffer.from(data.subarray(2));
    swapped.swap16();
    return swapped.toString('utf16le');
  }
  const text = data.toString('utf8');
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}

/**
 * Parses one file's text into objects. Empty documents (and documents that
 * are only comments, `null` or `{}`) are skipped; objects whose kind ends in
 * `List` and that have `items` are replaced by their items, which come after
 * the file's other documents, as kustomize orders them. Objects annotated
 * `config.kubernetes.io/local-config` (other than "false") are dropped, as
 * kustomize does.
 */
export function parseManifests(text: string, file: string, opts: ParseOptions = {}): Manifest[] {
  const flavor = opts.flavor ?? 'v3';
  const requireName = opts.requireName ?? true;
  let parsed;
  try {
    parsed = parseYamlStream(text, flavor);
  } catch (err) {
    if (err instanceof YamlSyntaxError) {
      throw new ManifestError(`${file}:${err.line}:${err.column}: invalid YAML: ${err.reason}`, file, err.line, err.column);
    }
    if (err instanceof YamlValueError) {
      const text = err.text !== undefined ? ` (${JSON.stringify(err.text)})` : '';
      throw new ManifestError(`${file}:${err.line}:${err.column}: ${err.message}${text}`, file, err.line, err.column);
    }
    throw err;
  }
  const { documents, lineCounter } = parsed;
  interface Pending {
    value: JsonValue;
    origin: Origin;
    node: unknown;
  }
  const queue: Pending[] = [];
  for (const d of documents) {
    const value = d.value;
    if (value === undefined || value === null) continue;
    if (isMapping(value) && Object.keys(value).length === 0) continue;
    queue.push({ value, origin: { file, line: d.line, column: d.column, document: d.index + 1 }, node: d.node });
  }
  const out: Manifest[] = [];
  while (queue.length > 0) {
    const { value, origin, node } = queue.shift()!;
    const where = `${file}: document ${origin.document}${origin.item ? `, item ${origin.item}` : ''} (line ${origin.line})`;
    if (!isMapping(value)) {
      throw new ManifestError(`${where} is ${describeValue(value)}, not a Kubernetes object`, file, origin.line, origin.column);
    }
    const kind = value.kind;
    const apiVersion = value.apiVersion;
    if (kind === undefined || kind === null || kind === '') {
      throw new ManifestError(`${where} has no kind`, file, origin.line, origin.column);
    }
    if (typeof kind !== 'string') {
      throw new ManifestError(`${where}: kind must be a string, not ${describeValue(kind)}`, file, origin.line, origin.column);
    }
    if (apiVersion === undefined || apiVersion === null || apiVersion === '') {
      throw new ManifestError(`${where} (kind ${kind}) has no apiVersion`, file, origin.line, origin.column);
    }
    if (typeof apiVersion !== 'string') {
      throw new ManifestError(`${where}: apiVersion must be a string, not ${describeValue(apiVersion)}`, file, origin.line, origin.column);
    }
    if (kind.endsWith('List') && 'items' in value) {
      const items = value.items;
      if (items === null) continue;
      if (!Array.isArray(items)) {
        throw new ManifestError(`${where}: ${kind}.items must be a sequence, not ${describeValue(items)}`, file, origin.line, origin.column);
      }
      const itemNodes = listItemNodes(node);
      items.forEach((item, i) => {
        const itemNode = itemNodes[i] as { range?: [number, number, number] } | undefined;
        const pos = itemNode?.range ? lineCounter.linePos(itemNode.range[0]) : { line: origin.line, col: origin.column };
        queue.push({
          value: item,
          origin: { file, line: pos.line, column: pos.col, document: origin.document, item: i + 1 },
          node: itemNode,
        });
      });
      continue;
    }
    const metadata = value.metadata;
    if (metadata !== undefined && metadata !== null && !isMapping(metadata)) {
      throw new ManifestError(`${where} (${kind}): metadata must be a mapping, not ${describeValue(metadata)}`, file, origin.line, origin.column);
    }
    const name = isMapping(metadata) ? metadata.name : undefined;
    if (requireName && (name === undefined || name === null || name === '')) {
      throw new ManifestError(`${where} (${apiVersion} ${kind}) has no metadata.name`, file, origin.line, origin.column);
    }
    if (name !== undefined && name !== null && typeof name !== 'string') {
      throw new ManifestError(`${where} (${kind}): metadata.name must be a string, not ${describeValue(name)}`, file, origin.line, origin.column);
    }
    const annotations = isMapping(metadata) ? metadata.annotations : undefined;
    if (isMapping(annotations) && 'config.kubernetes.io/local-config' in annotations) {
      if (annotations['config.kubernetes.io/local-config'] !== 'false') continue;
    }
    if (!isMapping(metadata)) (value as Record<string, JsonValue>).metadata = {};
    out.push({ object: value as unknown as KubeObject, origin });
  }
  return out;
}

function listItemNodes(node: unknown): unknown[] {
  // The YAML node of `items` in a List document, to point at each item's line.
  const n = node as { items?: Array<{ key?: { value?: unknown }; value?: { items?: unknown[] } }> } | null;
  const pair = n?.items?.find((p) => p?.key?.value === 'items');
  return pair?.value?.items ?? [];
}

export interface ReadOptions extends ParseOptions {
  /** File extensions to read, with the dot (default .yaml, .yml and .json). */
  extensions?: string[];
  /** File names are reported relative to this directory (default: the directory read). */
  root?: string;
  /**
   * Directories for which this returns true are not descended into. `.git`
   * is always skipped.
   */
  skipDir?: (absPath: string) => boolean | Promise<boolean>;
}

/** Reads and parses one manifest file. */
export async function readManifestFile(path: string, opts: ReadOptions = {}): Promise<Manifest[]> {
  const name = opts.root ? relative(opts.root, path) || path : path;
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (err) {
    throw new ManifestError(`${name}: cannot read: ${(err as Error).message}`, name);
  }
  if (data.length > MAX_MANIFEST_FILE) {
    throw new ManifestError(`${name}: the file is ${(data.length / 2 ** 20).toFixed(1)} MiB, over the ${MAX_MANIFEST_FILE / 2 ** 20} MiB a manifest file may have`, name);
  }
  return parseManifests(decodeText(data), name, opts);
}

/**
 * The largest manifest file read. Parsing costs up to ~60 times the text in
 * memory (a 5 MB file of 100,000 short keys raised the controller's peak RSS
 * by 310 MiB): one hostile file of the 100 MiB an artifact may hold would
 * take the controller, and every tenant's applications, down. The biggest
 * CRD bundles in use are a few MiB.
 */
export const MAX_MANIFEST_FILE = 10 * 2 ** 20;

/** Lists manifest files under a directory, recursively, in the order kustomize and Flux walk it. */
export async function listManifestFiles(dir: string, opts: ReadOptions = {}): Promise<string[]> {
  const extensions = opts.extensions ?? ['.yaml', '.yml', '.json'];
  const root = resolve(opts.root ?? dir);
  const realRoot = await realpath(root);
  const files: string[] = [];
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true });
    // Go's filepath.Walk visits entries in byte order of their names.
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (e.name === '.git') continue;
        if (opts.skipDir && (await opts.skipDir(p))) continue;
        await walk(p);
      } else if (extensions.includes(extname(e.name))) {
        if (e.isSymbolicLink()) {
          // A link is read only when it points at a file inside the root.
          const target = await realpath(p).catch(() => undefined);
          const st = target ? await lstat(target) : undefined;
          if (!target || !st?.isFile()) continue;
          if (target !== realRoot && !target.startsWith(realRoot + sep)) {
            throw new ManifestError(`${relative(root, p)}: symbolic link points outside ${root}`, relative(root, p));
          }
        } else if (!e.isFile()) continue;
        files.push(p);
      }
    }
  };
  await walk(resolve(dir));
  return files;
}

/**
 * Reads every manifest under a directory, recursively, with files and
 * sub-directories in sorted order.
 */
export async function readManifestDir(dir: string, opts: ReadOptions = {}): Promise<Manifest[]> {
  const files = await listManifestFiles(dir, opts);
  const out: Manifest[] = [];
  for (const f of files) out.push(...(await readManifestFile(f, { ...opts, root: opts.root ?? dir })));
  return out;
}
