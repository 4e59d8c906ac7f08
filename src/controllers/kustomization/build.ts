// Stage 3, build: the objects of the artifact at spec.path, built as Flux
// builds them (from a decrypted view of the source when SOPS decryption is
// set, with postBuild substitution), unless the last build had exactly the
// same inputs (buildcache.ts).
import type { KubeObject } from '../../kube/object.ts';
import type { KubeClient } from '../../kube/client.ts';
import { buildKustomization, BuildError, ManifestError, SubstitutionError, type ConfigMapData, type SecretData } from '../../render/index.ts';
import { decryptTree, DecryptionError, keysFromSecret, type DecryptedTree, type DecryptionKeys } from '../../render/sops.ts';
import type { ArtifactRef } from '../../runtime/artifacts.ts';
import { readSecret } from '../../runtime/secrets.ts';
import { Failure, type Attempt, type Env, type Target } from './attempt.ts';
import { BuiltSet, buildInputs, type BuildCacheResult } from './buildcache.ts';
import { Reason, REQUESTED_AT, type Kustomization } from './names.ts';

/** The built set: taken from the build cache, or built now (and cached when it can be). */
export async function build(env: Env, a: Attempt, artifact: ArtifactRef, target: Target): Promise<BuiltSet | Failure> {
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

/** The objects of a source tree at `dir`, built as `obj`'s spec says (also an older revision's tree, for a rollback). */
export async function buildDir(env: Env, obj: Kustomization, dir: string, target: Target): Promise<{ objects: KubeObject[]; remote?: string[] }> {
  let decrypted: DecryptedTree | undefined;
  try {
    const keys = await decryptionKeys(env, obj);
    if (keys) decrypted = await decryptTree(dir, keys, obj.spec.path, { serviceAccountName: obj.spec.decryption?.serviceAccountName });
    const result = await buildKustomization({
      dir: decrypted?.dir ?? dir,
      decrypted: !!decrypted,
      spec: obj.spec,
      strictSubstitution: env.o.strictPostBuildSubstitutions ?? true,
      remoteBases: !env.o.noRemoteBases,
      vars: { lookup: (kind, n) => lookupVars(target.client, obj.metadata.namespace!, kind, n) },
    });
    return { objects: result.objects.map((m) => m.object as KubeObject), remote: result.remote };
  } finally {
    await decrypted?.cleanup();
  }
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

/**
 * The keys of `spec.decryption.secretRef`, read with the controller's own
 * client; without a secretRef, the age keys of the --sops-age-secret Secret
 * (only `*.agekey` entries, as Flux reads it), if the controller has one.
 */
async function decryptionKeys(env: Env, obj: Kustomization): Promise<DecryptionKeys | undefined> {
  const dec = obj.spec.decryption;
  if (!dec) return undefined;
  if (!dec.secretRef) {
    const fallback = env.o.sopsAgeSecret;
    if (!fallback) return { age: [], pgp: [] };
    const secret = await readSecret(env.o.client, fallback.namespace, fallback.name);
    if (!secret) throw new DecryptionError(`SOPS age decryption Secret '${fallback.namespace}/${fallback.name}' (--sops-age-secret) not found`);
    return { age: keysFromSecret(secret.data).age, pgp: [] };
  }
  const ns = obj.metadata.namespace!;
  const secret = await readSecret(env.o.client, ns, dec.secretRef.name);
  if (!secret) throw new DecryptionError(`decryption Secret '${ns}/${dec.secretRef.name}' not found`);
  return keysFromSecret(secret.data);
}

/** A ConfigMap or Secret of postBuild.substituteFrom, read as the target's identity. */
async function lookupVars(client: KubeClient, namespace: string, kind: 'ConfigMap' | 'Secret', name: string): Promise<ConfigMapData | SecretData | undefined> {
  const plural = kind === 'ConfigMap' ? 'configmaps' : 'secrets';
  const obj = await client.getOrUndefined<{ data?: Record<string, string> }>(`/api/v1/namespaces/${namespace}/${plural}/${name}`);
  if (!obj) return undefined;
  // As the API returns them: a Secret's values stay base64-encoded (the substitution decodes them).
  return { data: obj.data ?? {} };
}
