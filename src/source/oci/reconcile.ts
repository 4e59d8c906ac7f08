// The OCIRepository reconcile core: the object and its dependencies in; the
// status, the events and the outcome out. The reference (tag, SemVer range
// over the tags, or digest) is resolved to a manifest digest; when that
// differs from the stored artifact's, the selected layer is pulled and
// stored, extracted and archived (`extract`, the default) or as it is
// (`copy`). The revision is `<tag>@<digest>`, or the digest alone.
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { untarLimited } from '../../util/untar.ts';
import type { OCIRepositoryStatus } from '../../api/ocirepository.ts';
import type { Artifact } from '../../api/gitrepository.ts';
import { RepositoryError } from '../errors.ts';
import { ArtifactContentError, DEFAULT_LIMITS, pruneTree, writeTarball } from '../artifact.ts';
import { SourceIgnore } from '../ignore.ts';
import type { Storage } from '../storage/storage.ts';
import { OciArtifactError, ociRevision, parseManifest, resolveOciRef, selectLayer } from './artifact.ts';
import { parseOciUrl, redactSecrets } from './ref.ts';
import { RegistryClient, RegistryError } from './registry.ts';
import { parseDuration } from '../../util/duration.ts';
import type { SecretReader } from '../../runtime/secrets.ts';
import { AttemptFailure as Failure, failedAttempt, markArtifactStored, startSourceAttempt, type SourceResult } from '../shell.ts';
import { jittered } from '../../runtime/queue.ts';
import { ociAuth, type OciAuth } from './auth.ts';


export type { OCIRepository } from '../../api/ocirepository.ts';
import type { OCIRepository } from '../../api/ocirepository.ts';

export interface OCIRepositoryDeps {
  storage: Storage;
  secrets: SecretReader;
  clock?: () => Date;
}


/** Reconciles an OCIRepository once, as source-controller does; talks to no API server. */
export async function reconcileOCIRepository(obj: OCIRepository, deps: OCIRepositoryDeps): Promise<SourceResult<OCIRepositoryStatus>> {
  const attempt = startSourceAttempt<OCIRepositoryStatus>(obj, deps.clock);
  const { now, prev, status, conds, events } = attempt;

  try {
    const result = await sync(obj, prev, now, deps);
    markArtifactStored(attempt, result.artifact);
    status.observedIgnore = obj.spec.ignore;
    status.observedLayerSelector = obj.spec.layerSelector ? { ...obj.spec.layerSelector } : undefined;
    status.conditions = conds.toArray();
    if (result.stored) {
      events.push({
        type: 'Normal',
        reason: 'NewArtifact',
        message: `stored artifact with revision '${result.artifact.revision}' from '${obj.spec.url}'`,
        annotations: { 'source.toolkit.fluxcd.io/revision': result.artifact.revision },
      });
    }
    return { status, events, outcome: result.stored ? 'stored' : 'unchanged', requeueAfterMs: jittered(parseDuration(obj.spec.interval)), log: { revision: result.artifact.revision } };
  } catch (err) {
    return failedAttempt(obj, attempt, err instanceof Failure ? err : new Failure('Failed', (err as Error).message));
  }
}

async function sync(obj: OCIRepository, prev: OCIRepositoryStatus, now: Date, deps: OCIRepositoryDeps): Promise<{ artifact: Artifact; stored: boolean }> {
  const spec = obj.spec;
  const ns = obj.metadata.namespace!;
  const unsupported = spec.verify
    ? 'signature verification (spec.verify)'
    : spec.provider && spec.provider !== 'generic'
      ? `provider '${spec.provider}'`
      : spec.serviceAccountName
        ? 'image pull secrets of a service account (spec.serviceAccountName)'
        : spec.proxySecretRef
          ? 'a proxy (spec.proxySecretRef)'
          : undefined;
  if (unsupported) throw new Failure('UnsupportedConfiguration', `${unsupported} is not supported by Sluice`, true);

  let auth: OciAuth = {};
  let repo;
  try {
    repo = parseOciUrl(spec.url);
    if (!repo.path) throw new RepositoryError(`invalid OCI repository URL: '${spec.url}' names no repository`, 'URLInvalid');
    auth = await ociAuth(deps.secrets, ns, repo.host, spec);
  } catch (err) {
    if (err instanceof RepositoryError) throw new Failure(err.reason, err.message, err.reason === 'URLInvalid');
    throw err;
  }
  const client = new RegistryClient({ host: repo.host, insecure: spec.insecure, ...auth, timeoutMs: spec.timeout ? parseDuration(spec.timeout) : 60_000 });
  const fail = (err: unknown, context: string): Failure => {
    if (err instanceof Failure) return err;
    if (err instanceof OciArtifactError) return new Failure(err.reason, `${context}: ${err.message}`, err.stalled);
    const message = redactSecrets((err as Error).message, auth.credentials);
    if (err instanceof RegistryError && err.kind === 'auth') return new Failure('AuthenticationFailed', `${context}: ${message}`);
    return new Failure('OCIArtifactPullFailed', `${context}: ${message}`);
  };

  // The digest first: nothing is downloaded when it has not moved.
  let target;
  let manifest;
  try {
    target = await resolveOciRef(spec.ref, () => client.tags(repo.path));
    manifest = await client.manifest(repo.path, target.digest ?? target.tag);
  } catch (err) {
    throw fail(err, `failed to determine artifact digest of '${spec.url}'`);
  }
  if (!manifest) {
    const what = target.tag ? `tag "${target.tag}"` : `digest "${target.digest}"`;
    throw new Failure('OCIArtifactPullFailed', `failed to pull artifact from '${spec.url}': couldn't find ${what}`);
  }
  const revision = ociRevision(target, manifest.digest);
  const current = prev.artifact;
  const sameSelector = JSON.stringify(prev.observedLayerSelector ?? null) === JSON.stringify(spec.layerSelector ?? null);
  if (current && current.revision === revision && sameSelector && prev.observedIgnore === spec.ignore && (await deps.storage.exists(current))) {
    return { artifact: current, stored: false };
  }

  const tmp = await deps.storage.tempDir(`ocirepository-${ns}-${obj.metadata.name}`);
  try {
    let layer;
    let annotations: Record<string, string> = {};
    const blob = join(tmp, 'layer');
    try {
      const m = parseManifest(manifest.body, manifest.mediaType);
      layer = selectLayer(m, spec.layerSelector?.mediaType);
      if (layer.size > DEFAULT_LIMITS.maxFileSize) {
        throw new OciArtifactError(`layer ${layer.digest} is ${layer.size} bytes, more than the limit of ${DEFAULT_LIMITS.maxFileSize}`, 'OCIArtifactLayerOperationFailed');
      }
      await client.blobToFile(repo.path, layer.digest, blob, DEFAULT_LIMITS.maxFileSize);
      annotations = m.annotations ?? {};
    } catch (err) {
      throw fail(err, `failed to pull artifact from '${spec.url}'`);
    }
    const copy = spec.layerSelector?.operation === 'copy';
    const tree = join(tmp, 'tree');
    await mkdir(tree);
    try {
      // Links are not extracted into the copy's tree: it is a read-only view
      // for in-process readers and must not point outside itself.
      await untarLimited({ file: blob, cwd: tree, keep: (_p, type) => !copy || type === 'File' || type === 'Directory' });
    } catch (err) {
      throw new Failure('OCIArtifactLayerOperationFailed', `failed to extract layer contents from artifact: ${(err as Error).message}`);
    }
    let tarball = blob;
    let digest = layer.digest;
    let size = (await stat(blob)).size;
    let files: Record<string, string> | undefined;
    if (!copy) {
      try {
        const ignore = await SourceIgnore.load(tree, spec.ignore);
        const pruned = await pruneTree(tree, ignore);
        tarball = join(tmp, 'artifact.tar.gz');
        ({ digest, size, files } = await writeTarball(tree, pruned.entries, tarball));
      } catch (err) {
        const msg = err instanceof ArtifactContentError ? err.message : (err as Error).message;
        throw new Failure('ArchiveOperationFailed', `unable to archive artifact to storage: ${msg}`, false, 'StorageOperationFailed');
      }
    }
    const artifact = await deps.storage.store({ kind: 'ocirepository', namespace: ns, name: obj.metadata.name!, revision, treeDir: tree, tarball, digest, size, now, files });
    await deps.storage.garbageCollect('ocirepository', ns, obj.metadata.name!, [artifact.path]);
    // The manifest's annotations (org.opencontainers.image.*) travel with the artifact, as in Flux.
    return { artifact: Object.keys(annotations).length ? { ...artifact, metadata: annotations } : artifact, stored: true };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
