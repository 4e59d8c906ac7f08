// `sluice build|diff kustomization NAME --path DIR`: a local directory built
// as the controller would build the Kustomization's spec.path, with its spec
// from the cluster (or a file), substitution from the cluster's ConfigMaps
// and Secrets, and SOPS decryption where the keys can be read.
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Kustomization } from '../api/kustomization.ts';
import { KS_NAME_LABEL, KS_NAMESPACE_LABEL } from '../api/kustomization.ts';
import { buildObjects, decryptionKeys } from '../controllers/kustomization/build.ts';
import type { KubeClient } from '../kube/client.ts';
import { isForbidden } from '../kube/errors.ts';
import type { KubeObject } from '../kube/object.ts';
import { isSopsEncrypted } from '../render/sops.ts';
import { pruneTree } from '../source/artifact.ts';
import { SourceIgnore } from '../source/ignore.ts';
import { kindByName, objectPath, parseKind } from './args.ts';
import { notFoundMessage } from './hints.ts';

export interface KsBuildOptions {
  name: string;
  namespace: string;
  path: string;
  kustomizationFile?: string;
  /** No cluster: the spec from the file, substituteFrom left out. */
  dryRun?: boolean;
  /** Fail on variables without a value or default (Flux's --strict-substitute). */
  strict?: boolean;
  /** More paths to leave out, in .gitignore form (flux's --ignore-paths). */
  ignorePaths?: string[];
  /** The Kustomization itself (a nested one, as the parent's build has it), instead of the cluster's or a file's. */
  ks?: Kustomization;
  /** The source's root, when the caller knows it (a nested Kustomization's); else the Git work tree around the path. */
  root?: string;
  /**
   * Decrypt SOPS files with the Kustomization's keys, when they can be read
   * (diff, which masks Secret values); otherwise encrypted Secrets stay
   * masked as **SOPS** (build, whose output may land in a CI log).
   */
  decrypt?: boolean;
}

export interface KsBuild {
  ks: Kustomization;
  /** The live Kustomization (its inventory tells what a prune would delete), when there is one. */
  live?: Kustomization;
  objects: KubeObject[];
  /** SOPS-encrypted Secrets left encrypted (no key could be read): shown masked, compared by their keys only. */
  encrypted: Set<KubeObject>;
  /** The local directory that stood for the source's root. */
  root: string;
  notes: string[];
}

/** A usage or lookup problem: exit 2 with this message. */
export class KsBuildError extends Error {}

const KS_KIND = (() => {
  const k = parseKind(['ks'], false);
  if ('error' in k) throw new Error(k.error);
  return k.kinds[0]!;
})();

export async function buildLocal(client: KubeClient | undefined, o: KsBuildOptions): Promise<KsBuild> {
  const dir = resolve(o.path);
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new KsBuildError(`invalid resource path "${o.path}": not a directory`);
  const notes: string[] = [];
  let live: Kustomization | undefined;
  if (client && !o.dryRun) live = await client.getOrUndefined<Kustomization>(objectPath(KS_KIND, o.namespace, o.name));
  let ks: Kustomization;
  if (o.ks) ks = o.ks;
  else if (o.kustomizationFile) ks = await fromFile(o.kustomizationFile, o.name, o.namespace);
  else if (live) ks = live;
  else throw new KsBuildError(client ? await notFoundMessage(client, KS_KIND, o.namespace, o.name) : 'without a cluster, give --kustomization-file');
  ks = { ...ks, metadata: { ...ks.metadata, name: o.name, namespace: ks.metadata.namespace || o.namespace } };

  // The directory stands for spec.path; the source's root is the Git work
  // tree around it, so overlays may reach bases beside them as in the
  // artifact. What the artifact would leave out (.sourceignore files, the
  // source's spec.ignore, Flux's default exclusions, --ignore-paths) is
  // left out of a copy, as the source controller prunes its checkout.
  const top = o.root ?? gitRoot(dir) ?? dir;
  const specIgnore = await sourceIgnore(client, ks, o);
  const copy = await prunedCopy(top, specIgnore, (o.ignorePaths ?? []).join('\n'));
  try {
    return { ...(await buildIn(client, o, ks, live, copy.dir, relative(top, dir) || '.', notes)), root: top };
  } finally {
    await copy.cleanup();
  }
}

async function buildIn(client: KubeClient | undefined, o: KsBuildOptions, ks: Kustomization, live: Kustomization | undefined, root: string, path: string, notes: string[]): Promise<Omit<KsBuild, 'root'>> {
  const spec = { ...ks.spec, path };
  let keys;
  if (spec.decryption && o.decrypt && client && !o.dryRun) {
    try {
      keys = await decryptionKeys(client, ks);
    } catch (err) {
      notes.push(`SOPS: ${(err as Error).message}; encrypted Secrets are compared by their keys only`);
    }
    if (keys && !keys.age.length && !keys.pgp.length) keys = undefined;
  }
  const { objects } = await buildObjects({
    dir: root,
    obj: { ...ks, spec },
    keys,
    varsClient: o.dryRun ? undefined : client,
    strict: o.strict ?? false,
    keepEncrypted: !keys,
    // As flux build: kustomize may fetch remote bases.
    remoteBases: true,
  }).catch((err: unknown) => {
    if (isForbidden(err)) throw new Error(`${(err as Error).message} (substituteFrom is read with your credentials: ask for read access, or use --dry-run with --kustomization-file)`);
    throw err;
  });
  const encrypted = new Set<KubeObject>();
  for (const obj of objects) {
    obj.metadata.labels = { ...(obj.metadata.labels ?? {}), [KS_NAME_LABEL]: o.name, [KS_NAMESPACE_LABEL]: ks.metadata.namespace! };
    if (isSopsEncrypted(obj as unknown as Record<string, unknown>)) {
      maskSops(obj);
      encrypted.add(obj);
    }
  }
  return { ks, live, objects, encrypted, notes };
}

/** The ignore rules of the Kustomization's source (spec.ignore), read from the cluster when there is one. */
async function sourceIgnore(client: KubeClient | undefined, ks: Kustomization, o: KsBuildOptions): Promise<string | undefined> {
  const ref = ks.spec.sourceRef;
  const kind = ref?.kind ? kindByName(ref.kind) : undefined;
  if (!client || o.dryRun || !kind || !ref?.name) return undefined;
  const src = await client.getOrUndefined<KubeObject>(objectPath(kind, ref.namespace || ks.metadata.namespace!, ref.name)).catch(() => undefined);
  const ignore = (src?.spec as { ignore?: unknown } | undefined)?.ignore;
  return typeof ignore === 'string' ? ignore : undefined;
}

/** A copy of the work tree (without .git) with what the artifact would not hold removed. */
async function prunedCopy(top: string, specIgnore: string | undefined, extra: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const work = await mkdtemp(join(tmpdir(), 'sluice-build-'));
  const cleanup = () => rm(work, { recursive: true, force: true });
  try {
    const dir = join(work, 'src');
    await cp(top, dir, { recursive: true, verbatimSymlinks: true, filter: (s) => basename(s) !== '.git' });
    await pruneTree(dir, await SourceIgnore.load(dir, specIgnore));
    // --ignore-paths: on top of the source's rules, not instead of them.
    if (extra.trim()) await pruneTree(dir, SourceIgnore.fromPatterns([{ text: extra }]));
    return { dir, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** The Flux Kustomization of that name (and namespace, or none) in a YAML file, as flux reads --kustomization-file. */
async function fromFile(file: string, name: string, namespace: string): Promise<Kustomization> {
  const text = await readFile(file, 'utf8').catch(() => {
    throw new KsBuildError(`invalid kustomization file "${file}"`);
  });
  for (const doc of parseAllDocuments(text)) {
    const v = doc.toJSON() as Kustomization | null;
    if (v?.kind === 'Kustomization' && v.apiVersion?.startsWith('kustomize.toolkit.fluxcd.io/') && v.metadata?.name === name && (!v.metadata.namespace || v.metadata.namespace === namespace)) {
      return v;
    }
  }
  throw new KsBuildError(`no Kustomization named "${name}" in namespace "${namespace}" in ${file}`);
}

function gitRoot(dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, '.git'))) return d;
    if (dirname(d) === d) return undefined;
  }
}

/** A Secret still encrypted: the sops metadata dropped, every value shown as **SOPS** (as flux build does). */
function maskSops(obj: KubeObject): void {
  delete (obj as Record<string, unknown>).sops;
  const mask = (m: unknown, encode: boolean) => {
    if (!m || typeof m !== 'object') return;
    for (const k of Object.keys(m)) (m as Record<string, string>)[k] = encode ? Buffer.from('**SOPS**').toString('base64') : '**SOPS**';
  };
  mask((obj as Record<string, unknown>).data, true);
  mask((obj as Record<string, unknown>).stringData, false);
}
