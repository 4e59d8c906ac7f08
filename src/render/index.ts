// The build stage: a directory of a source artifact and a Flux Kustomization
// spec in, Kubernetes objects out, as kustomize-controller builds them.
//
//   1. kustomize (src/render/kustomize.ts), when the directory has a
//      kustomization file, contains one below it, when the spec has patches,
//      images or components, or when renaming/moving objects would need
//      kustomize to rewrite references between them; otherwise the native
//      path (src/render/transform.ts) does the same without starting a process;
//   2. post-build variable substitution (src/render/substitute.ts);
//   3. commonMetadata labels and annotations.
import { stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { KustomizationSpec } from '../api/kustomization.ts';
import { BuildError, findKustomizationFile, kustomizeBuild, listPlainDirectory } from './kustomize.ts';
import type { Manifest } from './manifests.ts';
import { readManifestFile } from './manifests.ts';
import type { VarSources } from './substitute.ts';
import { loadVariables, substituteManifests } from './substitute.ts';
import { applyCommonMetadata, applyNativeTransforms, nativeBlocker } from './transform.ts';
import { assertDecrypted } from './sops.ts';

export type { Manifest, KubeObject, Origin } from './manifests.ts';
export { ManifestError } from './manifests.ts';
export { BuildError } from './kustomize.ts';
export { SubstitutionError } from './substitute.ts';
export type { VarSources, PostBuild, SubstituteReference, ConfigMapData, SecretData } from './substitute.ts';

/** The fields of a Flux Kustomization's spec (kustomize.toolkit.fluxcd.io/v1) that the build uses. */
export type KustomizationBuildSpec = Pick<
  KustomizationSpec,
  | 'path'
  | 'targetNamespace'
  | 'namePrefix'
  | 'nameSuffix'
  | 'commonMetadata'
  | 'patches'
  | 'images'
  | 'components'
  | 'ignoreMissingComponents'
  | 'buildMetadata'
  | 'postBuild'
>;

export interface BuildOptions {
  /** Root of the source artifact. Nothing outside it is read. */
  dir: string;
  spec?: KustomizationBuildSpec;
  /** ConfigMaps and Secrets for spec.postBuild.substituteFrom. */
  vars?: VarSources;
  /**
   * Fail on unset variables without defaults: Flux's
   * StrictPostBuildSubstitutions feature gate, on by default since Flux 2.9
   * (kustomize-controller v1.9); `false` gives the older behaviour (unset
   * variables become empty strings).
   */
  strictSubstitution?: boolean;
  /** The directory is a decrypted view of the source (spec.decryption is set). */
  decrypted?: boolean;
  /** Always build with kustomize, even where the native path would do (for tests and comparison). */
  forceKustomize?: boolean;
  /** Let kustomize fetch remote bases (Flux's default, off with --no-remote-bases); refused when unset. */
  remoteBases?: boolean;
  log?: (msg: string) => void;
}

export interface BuildResult {
  /** The objects, in kustomize's output order, each with where it came from. */
  objects: Manifest[];
  usedKustomize: boolean;
  /** Why kustomize was needed, when it was used. */
  kustomizeReason?: string;
  /** Remote bases and resources kustomize fetched: the build depends on more than the artifact. */
  remote?: string[];
}

function validateSpec(spec: KustomizationBuildSpec): void {
  for (const f of ['targetNamespace', 'namePrefix', 'nameSuffix', 'path'] as const) {
    const v = spec[f];
    if (v !== undefined && typeof v !== 'string') throw new BuildError(`spec.${f} must be a string`);
  }
  if (spec.targetNamespace && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(spec.targetNamespace)) {
    throw new BuildError(`spec.targetNamespace ${JSON.stringify(spec.targetNamespace)} is not a valid namespace name`);
  }
  for (const [i, p] of (spec.patches ?? []).entries()) {
    if (typeof p?.patch !== 'string' || p.patch.trim() === '') throw new BuildError(`spec.patches[${i}].patch must be a non-empty string`);
  }
  for (const [i, img] of (spec.images ?? []).entries()) {
    if (typeof img?.name !== 'string' || img.name === '') throw new BuildError(`spec.images[${i}].name is required`);
  }
}

/** Resolves spec.path inside the root, refusing paths that leave it. */
async function resolvePath(root: string, path: string | undefined): Promise<string> {
  const p = (path ?? '').replace(/^\/+/, '');
  const dir = resolve(root, p);
  if (isAbsolute(p) || (dir !== root && !dir.startsWith(root + sep))) {
    throw new BuildError(`spec.path ${JSON.stringify(path)} leaves the source root`);
  }
  const st = await stat(dir).catch(() => undefined);
  if (!st) throw new BuildError(`kustomization path not found: ${JSON.stringify(path ?? '.')} (no ${relative(root, dir) || '.'} in the source)`);
  if (!st.isDirectory()) throw new BuildError(`kustomization path ${JSON.stringify(path)} is not a directory`);
  return dir;
}

/** Builds a Flux Kustomization: the directory `spec.path` of the source artifact at `dir`. */
export async function buildKustomization(opts: BuildOptions): Promise<BuildResult> {
  const root = resolve(opts.dir);
  const spec = opts.spec ?? {};
  validateSpec(spec);
  const target = await resolvePath(root, spec.path);

  let reason: string | undefined = opts.forceKustomize ? 'forced' : undefined;
  let objects: Manifest[] | undefined;
  let remote: string[] | undefined;
  const kfile = await findKustomizationFile(target);
  if (!reason && kfile) reason = `${relative(root, kfile)} is a kustomization`;
  if (!reason && spec.patches?.length) reason = 'the spec has patches';
  if (!reason && spec.images?.length) reason = 'the spec has images';
  if (!reason && spec.components?.length) reason = 'the spec has components';
  if (!reason && spec.buildMetadata?.length) reason = 'the spec has buildMetadata';
  if (!reason) {
    const entries = await listPlainDirectory(target, root);
    if (entries.length === 0) {
      // What Flux reports for a path without manifests (its generated kustomization lists nothing).
      throw new BuildError(`kustomize build ${relative(root, target) || '.'} failed: kustomization.yaml is empty (no .yaml or .yml files under the path)`);
    }
    const nested = entries.find((e) => e.kind === 'kustomization');
    if (nested) reason = `${relative(root, nested.path)}, below the path, is a kustomization`;
    else {
      const read: Manifest[] = [];
      for (const e of entries) read.push(...(await readManifestFile(e.path, { root })));
      const blocker = nativeBlocker(
        read.map((m) => m.object),
        spec,
      );
      if (blocker) reason = blocker;
      else objects = applyNativeTransforms(read, spec);
    }
  }
  if (!objects) {
    objects = await kustomizeBuild({
      root,
      dir: target,
      spec: {
        targetNamespace: spec.targetNamespace,
        namePrefix: spec.namePrefix,
        nameSuffix: spec.nameSuffix,
        patches: spec.patches,
        images: spec.images,
        components: spec.components,
        ignoreMissingComponents: spec.ignoreMissingComponents,
        buildMetadata: spec.buildMetadata,
      },
      log: opts.log,
      remoteBases: opts.remoteBases,
      onRemote: (refs) => (remote = refs),
    });
  }

  assertDecrypted(objects, opts.decrypted);
  if (spec.postBuild) {
    const vars = await loadVariables(spec.postBuild, opts.vars);
    objects = substituteManifests(objects, vars, { strict: opts.strictSubstitution ?? true, always: spec.postBuild.substituteStrategy === 'Always' });
  }
  objects = applyCommonMetadata(objects, spec.commonMetadata);
  return { objects, usedKustomize: reason !== undefined, kustomizeReason: reason, ...(remote ? { remote } : {}) };
}
