// The Bucket reconcile core, as source-controller does it for the generic
// (S3 API) provider: list the objects under the prefix, leave out what the
// bucket's `.sourceignore` object and spec.ignore exclude, and take the
// revision from the index of keys and ETags (`sha256:` of the sorted
// "key etag" lines). Nothing is downloaded when that revision is the stored
// artifact's; otherwise every object is fetched and archived. The object in,
// the status, events and outcome out; no API server.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Bucket, BucketStatus } from '../../api/bucket.ts';
import type { Artifact } from '../../api/gitrepository.ts';
import { jittered } from '../../runtime/queue.ts';
import type { SecretReader } from '../../runtime/secrets.ts';
import { parseDuration } from '../../util/duration.ts';
import { ArtifactContentError, DEFAULT_LIMITS, pruneTree, writeTarball } from '../artifact.ts';
import { IGNORE_FILE, SourceIgnore } from '../ignore.ts';
import { AttemptFailure as Failure, failedAttempt, markArtifactStored, startSourceAttempt, type SourceResult } from '../shell.ts';
import type { Storage } from '../storage/storage.ts';
import { S3Client, S3Error, type S3Object } from './s3.ts';

export type { Bucket } from '../../api/bucket.ts';

export interface BucketDeps {
  storage: Storage;
  secrets: SecretReader;
  clock?: () => Date;
  /** Downloads at once (default 16). */
  concurrency?: number;
}


/** The revision of a set of objects (pure): sha256 over the sorted "key etag" lines, as Flux computes it. */
export function indexRevision(index: Map<string, string>): string {
  const h = createHash('sha256');
  for (const key of [...index.keys()].sort()) h.update(`${key} ${index.get(key)}\n`);
  return `sha256:${h.digest('hex')}`;
}

/** A key as a path in the artifact, or undefined for a "directory" marker; a key that leaves the artifact is refused. */
export function keyPath(key: string): string | undefined {
  if (key.endsWith('/')) return undefined;
  const parts = key.split('/');
  if (key.startsWith('/') || parts.some((p) => p === '..' || p === '.')) throw new Failure('BucketOperationFailed', `object key '${key}' would be written outside the artifact`, true);
  return key;
}

export async function reconcileBucket(obj: Bucket, deps: BucketDeps): Promise<SourceResult<BucketStatus>> {
  const attempt = startSourceAttempt<BucketStatus>(obj, deps.clock);
  const { now, prev, status, conds, events } = attempt;
  try {
    const result = await sync(obj, prev, now, deps);
    markArtifactStored(attempt, result.artifact);
    status.observedIgnore = obj.spec.ignore;
    status.conditions = conds.toArray();
    if (result.fetched !== undefined) {
      events.push({
        type: 'Normal',
        reason: 'NewArtifact',
        message: `stored artifact with ${result.fetched} fetched files from '${obj.spec.bucketName}' bucket`,
        annotations: { 'source.toolkit.fluxcd.io/revision': result.artifact.revision },
      });
    }
    return { status, events, outcome: result.fetched !== undefined ? 'stored' : 'unchanged', requeueAfterMs: jittered(parseDuration(obj.spec.interval)), log: { revision: result.artifact.revision } };
  } catch (err) {
    return failedAttempt(obj, attempt, err instanceof Failure ? err : new Failure('BucketOperationFailed', (err as Error).message));
  }
}

/** The S3 client for the spec, with the credentials and CA of its Secrets. */
async function client(obj: Bucket, deps: BucketDeps): Promise<S3Client> {
  const spec = obj.spec;
  const ns = obj.metadata.namespace!;
  const unsupported =
    spec.provider && spec.provider !== 'generic'
      ? `provider '${spec.provider}' (cloud workload identity)`
      : spec.sts
        ? 'a Security Token Service (spec.sts)'
        : spec.proxySecretRef
          ? 'a proxy (spec.proxySecretRef)'
          : undefined;
  if (unsupported) throw new Failure('UnsupportedConfiguration', `${unsupported} is not supported by Sluice`, true);
  let accessKey: string | undefined;
  let secretKey: string | undefined;
  if (spec.secretRef) {
    const data = await deps.secrets(ns, spec.secretRef.name);
    if (!data) throw new Failure('AuthenticationFailed', `failed to get secret '${ns}/${spec.secretRef.name}': secret not found`);
    accessKey = data.accesskey?.toString('utf8');
    secretKey = data.secretkey?.toString('utf8');
    if (!accessKey || !secretKey) throw new Failure('AuthenticationFailed', `invalid '${ns}/${spec.secretRef.name}' secret data: required fields 'accesskey' and 'secretkey'`);
  }
  let ca: Buffer | undefined;
  if (spec.certSecretRef) {
    const data = await deps.secrets(ns, spec.certSecretRef.name);
    if (!data) throw new Failure('AuthenticationFailed', `failed to get TLS secret '${ns}/${spec.certSecretRef.name}': secret not found`);
    ca = data['ca.crt'];
  }
  return new S3Client({ endpoint: spec.endpoint, insecure: spec.insecure, region: spec.region || 'us-east-1', accessKey, secretKey, ca, timeoutMs: spec.timeout ? parseDuration(spec.timeout) : 60_000, clock: deps.clock });
}

/** An S3 failure as the condition Flux sets: credentials refused are AuthenticationFailed, the rest BucketOperationFailed. */
function failure(err: unknown, context: string): Failure {
  if (err instanceof Failure) return err;
  if (err instanceof S3Error && err.auth) return new Failure('AuthenticationFailed', `${context}: ${err.message}`);
  return new Failure('BucketOperationFailed', `${context}: ${(err as Error).message}`);
}

async function sync(obj: Bucket, prev: BucketStatus, now: Date, deps: BucketDeps): Promise<{ artifact: Artifact; fetched?: number }> {
  const spec = obj.spec;
  const ns = obj.metadata.namespace!;
  const name = obj.metadata.name!;
  const s3 = await client(obj, deps);
  const tmp = await deps.storage.tempDir(`bucket-${ns}-${name}`);
  try {
    let objects: S3Object[];
    try {
      if (!(await s3.bucketExists(spec.bucketName))) throw new Failure('BucketOperationFailed', `bucket '${spec.bucketName}' not found`);
      objects = await s3.list(spec.bucketName, spec.prefix);
    } catch (err) {
      throw failure(err, `failed to list objects from bucket '${spec.bucketName}'`);
    }
    // The bucket's own ignore rules, from a .sourceignore object at its root (outside the prefix too).
    let ignoreText = '';
    try {
      const file = join(tmp, 'sourceignore');
      await s3.download(spec.bucketName, IGNORE_FILE, file, 1024 * 1024);
      ignoreText = await readFile(file, 'utf8');
    } catch (err) {
      if (!(err instanceof S3Error && (err.code === 'NoSuchKey' || err.status === 404))) throw failure(err, `failed to get '${IGNORE_FILE}' file`);
    }
    const patterns = [...(ignoreText ? [{ text: ignoreText }] : []), ...(spec.ignore ? [{ text: spec.ignore }] : [])];
    const ignore = SourceIgnore.fromPatterns(patterns);
    const index = new Map<string, string>();
    for (const o of objects) {
      const path = keyPath(o.key);
      if (!path || ignore.ignores(path, false)) continue;
      if (o.size > DEFAULT_LIMITS.maxFileSize) throw new Failure('BucketOperationFailed', `object '${o.key}' is ${o.size} bytes, more than the limit of ${DEFAULT_LIMITS.maxFileSize}`);
      index.set(path, o.etag);
    }
    const revision = indexRevision(index);
    const current = prev.artifact;
    if (current && current.revision === revision && prev.observedIgnore === spec.ignore && (await deps.storage.exists(current))) return { artifact: current };

    const tree = join(tmp, 'tree');
    await mkdir(tree);
    const keys = [...index.keys()];
    const concurrency = deps.concurrency ?? 16;
    let next = 0;
    const worker = async () => {
      while (next < keys.length) {
        const key = keys[next++]!;
        const file = join(tree, key);
        await mkdir(dirname(file), { recursive: true });
        await s3.download(spec.bucketName, key, file, DEFAULT_LIMITS.maxFileSize).catch((err) => {
          throw failure(err, `failed to download object from bucket '${spec.bucketName}'`);
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, keys.length) }, worker));
    let tarball;
    try {
      const pruned = await pruneTree(tree, SourceIgnore.fromPatterns([]));
      tarball = join(tmp, 'artifact.tar.gz');
      const written = await writeTarball(tree, pruned.entries, tarball);
      const artifact = await deps.storage.store({ kind: 'bucket', namespace: ns, name, revision, treeDir: tree, tarball, digest: written.digest, size: written.size, now, files: written.files });
      await deps.storage.garbageCollect('bucket', ns, name, [artifact.path]);
      return { artifact, fetched: keys.length };
    } catch (err) {
      const msg = err instanceof ArtifactContentError ? err.message : (err as Error).message;
      throw new Failure('ArchiveOperationFailed', `unable to archive artifact to storage: ${msg}`, false, 'StorageOperationFailed');
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
