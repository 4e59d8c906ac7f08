// The HelmChart reconcile core: the object and its dependencies (caches of
// the sources, the index cache, storage, the helm CLI) in; the status, the
// events and the outcome out.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { HelmChartStatus } from '../../api/helmchart.ts';
import { buildChartFromSource, ChartBuildError, chartRoot, mergeValuesFiles, readChartMetadata, unpackChart } from '../helm/chart.ts';
import type { HelmCli } from '../../tools/helmcli.ts';
import { packageChart } from '../helm/package.ts';
import { pullOciChartVersion, resolveOciChartVersion, type OciChartSource } from '../helm/ocichart.ts';
import { chartUrl, httpGet, RepositoryError, resolveChartVersion, type ChartVersionEntry, type RepositoryIndex } from '../helm/repository.ts';
import { findCondition, type KubeObject } from '../../kube/object.ts';
import type { Storage } from '../storage/storage.ts';
import { markSourceFailure, startSourceAttempt,  type SourceResult } from '../shell.ts';
import { jittered } from '../../runtime/queue.ts';
import type { SecretReader } from '../../runtime/secrets.ts';
import type { Artifact } from '../../api/gitrepository.ts';
import { parseOciUrl } from '../oci/ref.ts';
import { parseDuration } from '../../util/duration.ts';
import type { ArtifactResolver } from '../../runtime/artifacts.ts';
import { repositoryAuth, type HelmIndexCache, type HelmRepository } from '../helmrepository/reconcile.ts';
import { ociAuth } from '../oci/auth.ts';


export type { HelmChart } from '../../api/helmchart.ts';
import type { HelmChart } from '../../api/helmchart.ts';

type SourceArtifact = { url: string; path: string; revision: string; digest?: string };

/** A chart artifact in storage, with the condition reason and message that say how it came. */
interface Built {
  reason: string;
  message: string;
  newArtifact: boolean;
  status: HelmChartStatus;
}

/** What a cache of objects offers the reconcile (an Informer, or a fake in tests). */
export interface ObjectLookup {
  get(namespace: string, name: string): KubeObject | undefined;
  list(namespace?: string): KubeObject[];
}

export interface HelmChartDeps {
  helmRepositories: ObjectLookup;
  /** Caches of the other source kinds a chart can come from (GitRepository, Bucket). */
  sources: Map<string, ObjectLookup>;
  indexes: HelmIndexCache;
  secrets: SecretReader;
  storage: Storage;
  artifacts: Pick<ArtifactResolver, 'resolve'>;
  cli: HelmCli;
  clock?: () => Date;
}

/** Keys of the HelmCharts in `charts` that use the given source. */
export function chartsOfSource(charts: ObjectLookup, kind: string, namespace: string, name: string): string[] {
  return charts
    .list(namespace)
    .filter((c) => (c as HelmChart).spec?.sourceRef?.kind === kind && (c as HelmChart).spec.sourceRef.name === name)
    .map((c) => `${c.metadata.namespace}/${c.metadata.name}`);
}

/** A chart version found in a repository, and how to fetch its package into a scratch directory. */
interface RemoteChart {
  version: string;
  download(tmp: string): Promise<string>;
}

const isOciRepository = (repo: HelmRepository) => repo.spec.type === 'oci' || repo.spec.url.startsWith('oci://');

class Failure extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly condition: 'FetchFailed' | 'BuildFailed' = 'FetchFailed',
    readonly stalled = false,
  ) {
    super(message);
  }
}

/** A repository problem as a Failure: a bad URL or version range stalls until the spec changes. */
function repositoryFailure(err: unknown): Failure | unknown {
  if (!(err instanceof RepositoryError)) return err;
  const stalled = err.reason === 'URLInvalid' || err.reason === 'InvalidChartReference';
  return new Failure(err.reason, err.message, 'FetchFailed', stalled);
}

/**
 * Reconciles a HelmChart once, as source-controller does: a chart from a
 * HelmRepository is the newest version in the range (from the index of an
 * HTTP repository, or the tags of an OCI registry), pulled and stored as it
 * is (or repackaged with valuesFiles); a chart from a GitRepository or
 * Bucket is packaged from its directory, with its dependencies, and its
 * revision is the chart version (plus the source commit with
 * reconcileStrategy Revision). Talks to no API server.
 */
export async function reconcileHelmChart(obj: HelmChart, deps: HelmChartDeps): Promise<SourceResult<HelmChartStatus>> {
  const { now, generation, prev, status, conds, events } = startSourceAttempt<HelmChartStatus>(obj, deps.clock);
  const interval = parseDuration(obj.spec.interval);
  const before = findCondition(obj, 'Ready');

  try {
    const result = obj.spec.sourceRef.kind === 'HelmRepository' ? await fromRepository(obj, prev, now, deps) : await fromSource(obj, prev, now, deps);
    for (const t of ['Reconciling', 'Stalled', 'FetchFailed', 'BuildFailed', 'StorageOperationFailed', 'ArtifactOutdated']) conds.delete(t);
    conds.set('ArtifactInStorage', 'True', result.reason, result.message);
    conds.set('Ready', 'True', result.reason, result.message);
    Object.assign(status, result.status);
    status.observedGeneration = generation;
    status.conditions = conds.toArray();
    const revision = result.status.artifact!.revision;
    if (result.newArtifact || before?.status !== 'True') {
      events.push({ type: 'Normal', reason: result.reason, message: result.message, annotations: { 'source.toolkit.fluxcd.io/revision': revision } });
    }
    return { status, events, outcome: result.newArtifact ? 'stored' : 'unchanged', requeueAfterMs: jittered(interval), log: { revision } };
  } catch (err) {
    const f = err instanceof Failure ? err : new Failure('Failed', (err as Error).message);
    markSourceFailure(conds, status, generation, f, ['FetchFailed', 'BuildFailed']);
    status.conditions = conds.toArray();
    if (before?.message !== f.message) events.push({ type: 'Warning', reason: f.reason, message: f.message });
    // Stalled charts wait for a change of their spec or source (both enqueue them).
    return { status, events, outcome: f.stalled ? 'stalled' : 'failed', failure: { reason: f.reason, message: f.message } };
  }
}

async function fromRepository(obj: HelmChart, prev: HelmChartStatus, now: Date, deps: HelmChartDeps): Promise<Built> {
  const ns = obj.metadata.namespace!;
  const ref = obj.spec.sourceRef;
  const repo = deps.helmRepositories.get(ns, ref.name) as HelmRepository | undefined;
  if (!repo) throw new Failure('SourceUnavailable', `failed to get source: HelmRepository '${ns}/${ref.name}' not found`);
  const remote = isOciRepository(repo) ? await ociRemote(obj, repo, deps) : await httpRemote(obj, repo, deps);
  const valuesFiles = [...(obj.spec.valuesFile ? [obj.spec.valuesFile] : []), ...(obj.spec.valuesFiles ?? [])];
  const revision = valuesFiles.length ? `${remote.version}+${obj.metadata.generation ?? 0}` : remote.version;
  const message = `pulled '${obj.spec.chart}' chart with version '${revision}'`;
  const current = prev.artifact;
  if (current && current.revision === revision && prev.observedChartName === obj.spec.chart && (await deps.storage.exists(current))) {
    return { reason: 'ChartPullSucceeded', message, newArtifact: false, status: { artifact: current } };
  }
  const tmp = await deps.storage.tempDir(`helmchart-${ns}-${obj.metadata.name}`);
  try {
    const file = await remote.download(tmp);
    let tgz = file;
    let observedValuesFiles: string[] | undefined;
    if (valuesFiles.length) {
      const dir = await unpackChart(file, join(tmp, 'unpacked'));
      const merged = await mergeValuesFiles(dir, dir, valuesFiles, !!obj.spec.ignoreMissingValuesFiles).catch((err: ChartBuildError) => {
        throw new Failure(err.reason ?? 'ValuesFilesError', err.message, 'BuildFailed');
      });
      await writeFile(join(dir, 'values.yaml'), JSON.stringify(merged.values, null, 2));
      await mkdir(join(tmp, 'out'));
      tgz = await packageChart(deps.cli, dir, join(tmp, 'out'), { version: revision }).catch((err: Error) => {
        throw new Failure('ChartPackageError', `chart package error: ${err.message}`, 'BuildFailed');
      });
      observedValuesFiles = merged.used;
    }
    const artifact = await store(obj, tgz, revision, now, tmp, deps);
    return {
      reason: 'ChartPullSucceeded',
      message,
      newArtifact: true,
      status: { artifact, observedChartName: obj.spec.chart, observedValuesFiles, url: artifact.url },
    };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** A chart in an HTTP repository: the version from the stored index, the package over HTTP(S), checked against the index's digest. */
async function httpRemote(obj: HelmChart, repo: HelmRepository, deps: HelmChartDeps): Promise<RemoteChart> {
  if (!repo.status?.artifact) throw new Failure('NoSourceArtifact', `no artifact available for HelmRepository source '${repo.metadata.name}'`);
  let idx: RepositoryIndex;
  try {
    idx = (await deps.indexes.index(repo))!;
  } catch (err) {
    throw new Failure('IndexationFailed', (err as Error).message);
  }
  let entry: ChartVersionEntry;
  try {
    entry = resolveChartVersion(idx, obj.spec.chart, obj.spec.version ?? '*');
  } catch (err) {
    throw new Failure('InvalidChartReference', (err as Error).message, 'FetchFailed', true);
  }
  return {
    version: entry.version,
    download: async (tmp) => {
      const auth = await repositoryAuth(repo, deps.secrets).catch((err: Error) => {
        throw new Failure('AuthenticationFailed', err.message);
      });
      const file = join(tmp, 'download.tgz');
      let res;
      try {
        // The repository's timeout bounds the chart download too, as in source-controller.
        res = await httpGet(chartUrl(repo.spec.url, entry), auth, { timeoutMs: repositoryTimeout(repo), authHost: new URL(repo.spec.url).host, toFile: file });
      } catch (err) {
        throw new Failure(err instanceof RepositoryError && err.reason === 'AuthenticationFailed' ? 'AuthenticationFailed' : 'ChartPullError', `chart pull error: ${(err as Error).message}`);
      }
      if (entry.digest && entry.digest.replace(/^sha256:/, '') !== res.digest) {
        throw new Failure('ChartPullError', `chart pull error: digest of '${obj.spec.chart}' ${entry.version} is sha256:${res.digest}, the index says ${entry.digest}`);
      }
      return file;
    },
  };
}

/**
 * A chart in an OCI registry, as source-controller fetches it: the version
 * from the registry's tags (or the exact version, checked), the package
 * pulled by helm with the repository's credentials.
 */
async function ociRemote(obj: HelmChart, repo: HelmRepository, deps: HelmChartDeps): Promise<RemoteChart> {
  const ns = obj.metadata.namespace!;
  if (repo.spec.provider && repo.spec.provider !== 'generic') {
    throw new Failure('UnsupportedConfiguration', `HelmRepository '${ns}/${repo.metadata.name}': provider '${repo.spec.provider}' is not supported by Sluice (generic, with secretRef, is)`, 'FetchFailed', true);
  }
  // Pulling a chart whose signature was asked to be checked, without checking it, would be worse than refusing.
  if (obj.spec.verify) {
    throw new Failure('UnsupportedConfiguration', `signature verification (spec.verify, ${obj.spec.verify.provider}) of OCI charts is not supported by Sluice`, 'FetchFailed', true);
  }
  try {
    const host = parseOciUrl(repo.spec.url).host;
    const auth = await ociAuth(deps.secrets, ns, host, repo.spec);
    const src: OciChartSource = {
      url: repo.spec.url,
      chart: obj.spec.chart,
      insecure: repo.spec.insecure,
      ...auth,
      timeoutMs: repositoryTimeout(repo),
    };
    const version = await resolveOciChartVersion(src, obj.spec.version);
    return {
      version,
      download: (tmp) => pullOciChartVersion(deps.cli, src, version, join(tmp, 'pulled')).catch((err) => {
        throw repositoryFailure(err);
      }),
    };
  } catch (err) {
    throw repositoryFailure(err);
  }
}

async function fromSource(obj: HelmChart, prev: HelmChartStatus, now: Date, deps: HelmChartDeps): Promise<Built> {
  const ns = obj.metadata.namespace!;
  const ref = obj.spec.sourceRef;
  const informer = deps.sources.get(ref.kind);
  if (!informer) throw new Failure('SourceUnavailable', `source kind ${ref.kind} is not supported`, 'FetchFailed', true);
  const source = informer.get(ns, ref.name);
  if (!source) throw new Failure('SourceUnavailable', `failed to get source: ${ref.kind} '${ns}/${ref.name}' not found`);
  const sa = source.status?.artifact as SourceArtifact | undefined;
  if (!sa) throw new Failure('NoSourceArtifact', `no artifact available for ${ref.kind} source '${ref.name}'`);
  const generation = obj.metadata.generation ?? 0;
  const current = prev.artifact;
  if (
    current &&
    prev.observedSourceArtifactRevision === sa.revision &&
    prev.observedGeneration === generation &&
    prev.observedChartName &&
    (await deps.storage.exists(current))
  ) {
    return { reason: 'ChartPackageSucceeded', message: `packaged '${prev.observedChartName}' chart with version '${current.revision}'`, newArtifact: false, status: { artifact: current } };
  }
  const dir = await deps.artifacts.resolve(sa).catch((err: Error) => {
    throw new Failure('ArtifactUnavailable', `failed to fetch source artifact: ${err.message}`);
  });
  const tmp = await deps.storage.tempDir(`helmchart-${ns}-${obj.metadata.name}`);
  try {
    const strategy = obj.spec.reconcileStrategy ?? 'ChartVersion';
    const commit = sa.revision.includes(':') ? sa.revision.slice(sa.revision.lastIndexOf(':') + 1) : sa.revision;
    const built = await buildChartFromSource({
      cli: deps.cli,
      sourceRoot: dir,
      chartPath: obj.spec.chart,
      workDir: tmp,
      valuesFiles: [...(obj.spec.valuesFile ? [obj.spec.valuesFile] : []), ...(obj.spec.valuesFiles ?? [])],
      ignoreMissingValuesFiles: obj.spec.ignoreMissingValuesFiles,
      version: (meta) => (strategy === 'Revision' ? `${meta.version}+${commit.slice(0, 12)}` : undefined),
      repository: (url) => repositoryFor(ns, url, deps),
    }).catch((err: Error) => {
      if (err instanceof ChartBuildError) {
        throw new Failure(err.reason, err.message, err.reason === 'InvalidChartReference' ? 'FetchFailed' : 'BuildFailed', err.reason === 'InvalidChartReference');
      }
      throw new Failure('ChartPackageError', `chart package error: ${err.message}`, 'BuildFailed');
    });
    const revision = built.metadata.version;
    const message = `packaged '${built.metadata.name}' chart with version '${revision}'`;
    const status = { observedSourceArtifactRevision: sa.revision, observedChartName: built.metadata.name, observedValuesFiles: built.observedValuesFiles.length ? built.observedValuesFiles : undefined };
    // Same chart version, same spec: the artifact stays (ChartVersion strategy).
    if (current && current.revision === revision && prev.observedGeneration === generation && (await deps.storage.exists(current))) {
      return { reason: 'ChartPackageSucceeded', message, newArtifact: false, status: { ...status, artifact: current } };
    }
    const artifact = await store(obj, built.tgz, revision, now, tmp, deps);
    return { reason: 'ChartPackageSucceeded', message, newArtifact: true, status: { ...status, artifact, url: artifact.url } };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** A HelmRepository in the chart's namespace with this URL, for a dependency; its index and credentials. */
async function repositoryFor(ns: string, url: string, deps: HelmChartDeps) {
  const norm = (u: string) => u.replace(/\/+$/, '');
  const repo = deps.helmRepositories.list(ns).find((r) => norm((r as HelmRepository).spec.url) === norm(url)) as HelmRepository | undefined;
  if (!repo?.status?.artifact) return undefined;
  const index = await deps.indexes.index(repo);
  return index ? { index, auth: await repositoryAuth(repo, deps.secrets) } : undefined;
}

async function store(obj: HelmChart, tgz: string, revision: string, now: Date, tmp: string, deps: HelmChartDeps): Promise<Artifact> {
  const ns = obj.metadata.namespace!;
  const name = obj.metadata.name!;
  const tree = join(tmp, 'tree');
  await unpackChart(tgz, tree).catch((err: Error) => {
    throw new Failure('ChartPullError', `chart package is not readable: ${err.message}`);
  });
  await readChartMetadata(await chartRoot(tree));
  const hash = createHash('sha256');
  await pipeline(createReadStream(tgz), hash);
  const size = (await stat(tgz)).size;
  const artifact = await deps.storage.store({ kind: 'helmchart', namespace: ns, name, revision, treeDir: tree, tarball: tgz, digest: `sha256:${hash.digest('hex')}`, size, now });
  await deps.storage.garbageCollect('helmchart', ns, name, [artifact.path]);
  return artifact;
}

/** A HelmRepository's spec.timeout (60s by default): index fetches, chart downloads and registry operations. */
export function repositoryTimeout(repo: HelmRepository): number {
  return repo.spec.timeout ? parseDuration(repo.spec.timeout) : 60_000;
}
