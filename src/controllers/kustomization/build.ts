// Stage 3, build: the objects of the artifact at spec.path, built as Flux
// builds them (from a decrypted view of the source when SOPS decryption is
// set, with postBuild substitution), unless the last build had exactly the
// same inputs (buildcache.ts).
import type { KubeObject } from '../../kube/object.ts';
import type { KubeClient } from '../../kube/client.ts';
import { buildKustomization, BuildError, ManifestError, SubstitutionError, type ConfigMapData, type SecretData } from '../../render/index.ts';
import { checkUsableKeys, decryptTree, DecryptionError, keysFromSecret, type DecryptedTree, type DecryptionKeys } from '../../render/sops.ts';
import type { ArtifactRef } from '../../runtime/artifacts.ts';
import { skippedEntries } from '../../source/artifact.ts';
import { readSecret } from '../../runtime/secrets.ts';
import { Failure, type Attempt, type Env, type Target } from './attempt.ts';
import { BuiltSet, buildInputs, type BuildCacheResult } from './buildcache.ts';
import { Reason, REQUESTED_AT, type Kustomization } from './names.ts';

/** The built set: taken from the build cache, or built now (and cached when it can be). */
export async function build(env: Env, a: Attempt, artifact: ArtifactRef, target: Target): Promise<BuiltSet | Failure> {
  const left = leftOut(artifact, a.obj.spec.path);
  if (left) return new Failure(Reason.BuildFailed, left);
  const inputs = buildInputs(a.obj, artifact, REQUESTED_AT);
  const cached = env.builds.take(a.key, inputs);
  if (cached) {
    countBuild(env, 'hit');
    return cached;
  }
  let built: BuiltSet;
  try {
    const result = await buildDir(env, a.obj, await env.o.artifacts.resolve(artifact), target);
    built = BuiltSet.of(result.objects);
    // A remote base can change while the artifact stays the same: build it anew each time, as Flux does.
    if (result.remote) {
      countBuild(env, 'uncacheable');
      return built;
    }
  } catch (err) {
    return buildFailure(err);
  }
  env.builds.set(a.key, inputs, built);
  countBuild(env, inputs === undefined ? 'uncacheable' : 'miss');
  return built;
}

/**
 * Why the path cannot be built as committed, when the source left one of
 * its files out of the artifact (a symlink out of the repository): this
 * Kustomization fails naming the file, the ones on other paths build.
 */
function leftOut(artifact: ArtifactRef, path: string | undefined): string | undefined {
  const dir = (path ?? '').replace(/\\/g, '/').split('/').filter((p) => p && p !== '.').join('/');
  const hit = skippedEntries(artifact.metadata).find((e) => !dir || e.path === dir || e.path.startsWith(`${dir}/`));
  return hit && `'${hit.path}' was left out of the source artifact, so ./${dir} cannot be built as committed: ${hit.reason}`;
}

/** The objects of a source tree at `dir`, built as `obj`'s spec says (also an older revision's tree, for a rollback). */
export async function buildDir(env: Env, obj: Kustomization, dir: string, target: Target): Promise<{ objects: KubeObject[]; remote: boolean }> {
  const keys = await decryptionKeys(env.o.client, obj, env.o.sopsAgeSecret);
  return buildObjects({ dir, obj, keys, varsClient: target.client, strict: env.o.strictPostBuildSubstitutions ?? true, remoteBases: !env.o.noRemoteBases });
}

/** The BuildFailed failure for an error of buildDir. */
export function buildFailure(err: unknown): Failure {
  const known = err instanceof BuildError || err instanceof ManifestError || err instanceof SubstitutionError || err instanceof DecryptionError;
  return new Failure(Reason.BuildFailed, known ? (err as Error).message : `build failed: ${(err as Error).message}`);
}

function countBuild(env: Env, result: BuildCacheResult): void {
  env.builds.count(result);
  env.o.metrics.buildCache.inc({ kind: env.kind, result });
}

export interface BuildObjectsOptions {
  /** The source's root; spec.path is read inside it. */
  dir: string;
  obj: Kustomization;
  /** The keys to decrypt SOPS files with (decryptionKeys), when spec.decryption is set. */
  keys?: DecryptionKeys;
  /** Who reads postBuild.substituteFrom: the target's identity; none leaves them out (the CLI's --dry-run). */
  varsClient?: KubeClient;
  strict: boolean;
  /** Leave SOPS-encrypted objects encrypted instead of failing (the CLI without the keys). */
  keepEncrypted?: boolean;
  /** Let kustomize fetch remote bases (the controller's --no-remote-bases turns it off). */
  remoteBases?: boolean;
  log?: (msg: string) => void;
}

/**
 * The build as the controller runs it, for the controller and for `sluice
 * build|diff kustomization`: decrypt a view of the source when keys are
 * given, build spec.path with kustomize or natively, substitute variables.
 */
export async function buildObjects(o: BuildObjectsOptions): Promise<{ objects: KubeObject[]; remote: boolean }> {
  let decrypted: DecryptedTree | undefined;
  try {
    if (o.keys) decrypted = await decryptTree(o.dir, o.keys, o.obj.spec.path, { serviceAccountName: o.obj.spec.decryption?.serviceAccountName });
    const result = await buildKustomization({
      dir: decrypted?.dir ?? o.dir,
      decrypted: !!decrypted,
      spec: o.obj.spec,
      strictSubstitution: o.strict,
      keepEncrypted: o.keepEncrypted,
      remoteBases: o.remoteBases,
      vars: { lookup: (kind, n) => (o.varsClient ? lookupVars(o.varsClient, o.obj.metadata.namespace!, kind, n) : Promise.resolve({ data: {} })) },
      log: o.log,
    });
    return { objects: result.objects.map((m) => m.object as KubeObject), remote: !!result.remote };
  } finally {
    await decrypted?.cleanup();
  }
}

/**
 * The keys of `spec.decryption.secretRef`, read with the controller's own
 * client; without a secretRef, the age keys of the --sops-age-secret Secret
 * (only `*.agekey` entries, as Flux reads it), if the controller has one.
 */
export async function decryptionKeys(client: KubeClient, obj: Kustomization, sopsAgeSecret?: { namespace: string; name: string }): Promise<DecryptionKeys | undefined> {
  const dec = obj.spec.decryption;
  if (!dec) return undefined;
  if (!dec.secretRef) {
    const fallback = sopsAgeSecret;
    if (!fallback) return { age: [], pgp: [] };
    const secret = await readSecret(client, fallback.namespace, fallback.name);
    if (!secret) throw new DecryptionError(`SOPS age decryption Secret '${fallback.namespace}/${fallback.name}' (--sops-age-secret) not found`);
    return { age: keysFromSecret(secret.data).age, pgp: [] };
  }
  const ns = obj.metadata.namespace!;
  const secret = await readSecret(client, ns, dec.secretRef.name);
  if (!secret) throw new DecryptionError(`decryption Secret '${ns}/${dec.secretRef.name}' not found`);
  const keys = keysFromSecret(secret.data);
  checkUsableKeys(keys, `${ns}/${dec.secretRef.name}`);
  return keys;
}

/** A ConfigMap or Secret of postBuild.substituteFrom, read as the target's identity. */
async function lookupVars(client: KubeClient, namespace: string, kind: 'ConfigMap' | 'Secret', name: string): Promise<ConfigMapData | SecretData | undefined> {
  const plural = kind === 'ConfigMap' ? 'configmaps' : 'secrets';
  const obj = await client.getOrUndefined<{ data?: Record<string, string> }>(`/api/v1/namespaces/${namespace}/${plural}/${name}`);
  if (!obj) return undefined;
  // As the API returns them: a Secret's values stay base64-encoded (the substitution decodes them).
  return { data: obj.data ?? {} };
}
