// The HelmRepository reconcile core: the object and its dependencies in; the
// status, the events and the outcome out. Also the repository credentials and
// the cache of parsed indexes, which HelmCharts use too.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HelmRepositoryStatus } from '../../api/helmrepository.ts';
import { httpGet, indexRevision, indexUrl, parseIndex, RepositoryError, type RepositoryAuth, type RepositoryIndex } from '../helm/repository.ts';
import { findCondition } from '../../kube/object.ts';
import { writeTarball } from '../artifact.ts';
import type { Storage } from '../storage/storage.ts';
import { startSourceAttempt,  type SourceResult } from '../shell.ts';
import { jittered } from '../../runtime/queue.ts';
import type { Artifact } from '../../api/gitrepository.ts';
import { parseDuration } from '../../util/duration.ts';
import type { SecretReader } from '../../runtime/secrets.ts';

const MAX_INDEX_BYTES = 50 * 1024 * 1024;

export type { HelmRepository } from '../../api/helmrepository.ts';
import type { HelmRepository } from '../../api/helmrepository.ts';

/** Credentials of a HelmRepository (secretRef: username, password and TLS; certSecretRef: TLS). */
export async function repositoryAuth(repo: HelmRepository, secrets: SecretReader): Promise<RepositoryAuth> {
  const ns = repo.metadata.namespace!;
  const auth: RepositoryAuth = { passCredentials: repo.spec.passCredentials };
  for (const ref of [repo.spec.secretRef, repo.spec.certSecretRef]) {
    if (!ref) continue;
    const data = await secrets(ns, ref.name);
    if (!data) throw new RepositoryError(`failed to get secret '${ns}/${ref.name}': secrets "${ref.name}" not found`, 'AuthenticationFailed');
    if (ref === repo.spec.secretRef) {
      if (data.username) auth.username = data.username.toString('utf8');
      if (data.password) auth.password = data.password.toString('utf8');
    }
    if (data['ca.crt']) auth.ca = data['ca.crt'];
    if (data['tls.crt']) auth.cert = data['tls.crt'];
    if (data['tls.key']) auth.key = data['tls.key'];
  }
  return auth;
}

/**
 * The parsed indexes of HelmRepository artifacts, by digest: read from
 * storage once, shared by the HelmChart reconciles that pick versions from them.
 */
export class HelmIndexCache {
  private readonly indexes = new Map<string, RepositoryIndex>();

  constructor(private readonly storage: Storage) {}

  /** The parsed index of a repository's current artifact. */
  async index(repo: HelmRepository): Promise<RepositoryIndex | undefined> {
    const a = repo.status?.artifact;
    if (!a) return undefined;
    const key = a.digest ?? a.path;
    const hit = this.indexes.get(key);
    if (hit) return hit;
    const idx = parseIndex(await readFile(join(this.storage.treeDir(a), 'index.yaml'), 'utf8'));
    if (this.indexes.size > 256) this.indexes.clear();
    this.indexes.set(key, idx);
    return idx;
  }
}

export interface HelmRepositoryDeps {
  storage: Storage;
  secrets: SecretReader;
  clock?: () => Date;
}

/**
 * Reconciles a HelmRepository once, as source-controller does: the index of
 * an HTTP(S) repository is fetched, checked and stored as an artifact (a
 * tarball holding index.yaml) whose revision is the index's digest; an OCI
 * repository has no index and is Ready as it is. Talks to no API server.
 */
export async function reconcileHelmRepository(obj: HelmRepository, deps: HelmRepositoryDeps): Promise<SourceResult<HelmRepositoryStatus>> {
  const { now, generation, prev, status, conds, events } = startSourceAttempt<HelmRepositoryStatus>(obj, deps.clock);
  const interval = obj.spec.interval ? parseDuration(obj.spec.interval) : 60_000;
  const timeout = obj.spec.timeout ? parseDuration(obj.spec.timeout) : 60_000;

  if (obj.spec.type === 'oci' || obj.spec.url.startsWith('oci://')) {
    // A data container for HelmCharts: no index, no artifact.
    for (const t of ['Reconciling', 'Stalled', 'FetchFailed', 'ArtifactInStorage', 'ArtifactOutdated']) conds.delete(t);
    conds.set('Ready', 'True', 'Succeeded', 'Helm repository is ready');
    delete status.artifact;
    delete status.url;
    status.observedGeneration = generation;
    status.conditions = conds.toArray();
    return { status, events, outcome: 'ready' };
  }

  try {
    const auth = await repositoryAuth(obj, deps.secrets);
    if (!prev.artifact || prev.observedGeneration !== generation) {
      conds.set('Reconciling', 'True', 'Progressing', `building artifact: new index revision`);
    }
    const url = indexUrl(obj.spec.url);
    const res = await httpGet(url, auth, { timeoutMs: timeout, authHost: new URL(obj.spec.url).host, maxBytes: MAX_INDEX_BYTES });
    const idx = parseIndex(res.body!.toString('utf8'));
    const revision = indexRevision(idx);
    let artifact = prev.artifact;
    let stored = false;
    if (!artifact || artifact.revision !== revision || !(await deps.storage.exists(artifact))) {
      artifact = await store(deps.storage, obj, res.body!, revision, now);
      stored = true;
      events.push({ type: 'Normal', reason: 'NewArtifact', message: `stored fetched index of size ${formatSize(res.size)} from '${obj.spec.url}'` });
    }
    const msg = `stored artifact: revision '${revision}'`;
    for (const t of ['Reconciling', 'Stalled', 'FetchFailed', 'StorageOperationFailed', 'ArtifactOutdated']) conds.delete(t);
    conds.set('ArtifactInStorage', 'True', 'Succeeded', msg);
    conds.set('Ready', 'True', 'Succeeded', msg);
    status.artifact = artifact;
    status.url = artifact.url;
    status.observedGeneration = generation;
    status.conditions = conds.toArray();
    return { status, events, outcome: stored ? 'stored' : 'unchanged', requeueAfterMs: jittered(interval), log: { revision } };
  } catch (err) {
    const reason = err instanceof RepositoryError ? err.reason : 'Failed';
    const message = (err as Error).message;
    conds.set('FetchFailed', 'True', reason, message);
    conds.set('Ready', 'False', reason, message);
    if (reason === 'URLInvalid') {
      conds.set('Stalled', 'True', reason, message);
      conds.delete('Reconciling');
      status.observedGeneration = generation;
    } else conds.set('Reconciling', 'True', 'ProgressingWithRetry', message);
    status.conditions = conds.toArray();
    if (findCondition(obj, 'Ready')?.message !== message) events.push({ type: 'Warning', reason, message });
    return { status, events, outcome: reason === 'URLInvalid' ? 'stalled' : 'failed', failure: { reason, message } };
  }
}

async function store(storage: Storage, obj: HelmRepository, body: Buffer, revision: string, now: Date): Promise<Artifact> {
  const ns = obj.metadata.namespace!;
  const name = obj.metadata.name!;
  const tmp = await storage.tempDir(`helmrepository-${ns}-${name}`);
  try {
    const tree = join(tmp, 'tree');
    await mkdir(tree);
    await writeFile(join(tree, 'index.yaml'), body);
    const tarball = join(tmp, 'artifact.tar.gz');
    const { digest, size } = await writeTarball(tree, [{ path: 'index.yaml', type: 'file', size: body.length, executable: false }], tarball);
    const artifact = await storage.store({ kind: 'helmrepository', namespace: ns, name, revision, treeDir: tree, tarball, digest, size, now });
    await storage.garbageCollect('helmrepository', ns, name, [artifact.path]);
    return artifact;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

function formatSize(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(2)} kB` : `${(n / 1024 / 1024).toFixed(2)} MB`;
}
