import { sourceLifecycle, markSourceFailure } from '../shell.ts';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { HelmChartSpec, HelmChartStatus } from '../../api/helmchart.ts';
import { buildChartFromSource, ChartBuildError, chartRoot, mergeValuesFiles, readChartMetadata, unpackChart } from './chart.ts';
import type { HelmCli } from '../../tools/helmcli.ts';
import { packageChart } from './package.ts';
import { pullOciChartVersion, resolveOciChartVersion, type OciChartSource } from './ocichart.ts';
import { chartUrl, httpGet, RepositoryError, resolveChartVersion, type ChartVersionEntry, type RepositoryIndex } from './repository.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { Informer } from '../../kube/informer.ts';
import { findCondition, type KubeObject } from '../../kube/object.ts';
import { Conditions, rfc3339 } from '../../runtime/conditions.ts';
import type { Storage } from '../git/index.ts';
import { parseOciUrl } from '../oci/ref.ts';
import { parseDuration } from '../../util/duration.ts';
import type { Logger } from '../../util/log.ts';
import type { ArtifactResolver } from '../../runtime/artifacts.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import { repositoryAuth, type HelmRepository, type HelmRepositoryController } from './helmrepository.ts';
import type { Metrics } from '../../runtime/metrics.ts';
import { ociAuth } from '../oci/auth.ts';
import type { ReconcileOutcome } from '../../runtime/queue.ts';
import { patchStatus } from '../../runtime/status.ts';

export const HELMCHART_PLURAL = 'helmcharts';
const REQUESTED_AT = 'reconcile.fluxcd.io/requestedAt';

export interface HelmChart extends KubeObject {
  spec: HelmChartSpec;
  status?: HelmChartStatus;
}

type SourceArtifact = { url: string; path: string; revision: string; digest?: string };

export interface HelmChartControllerOptions {
  client: KubeClient;
  charts: Informer;
  helmRepositories: Informer;
  /** Caches of the other source kinds a chart can come from (GitRepository, Bucket). */
  sources: Map<string, Informer>;
  repositories: HelmRepositoryController;
  storage: Storage;
  artifacts: ArtifactResolver;
  cli: HelmCli;
  events: EventRecorder;
  metrics: Metrics;
  log: Logger;
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
 * Reconciles HelmCharts as source-controller does: a chart from a
 * HelmRepository is the newest version in the range (from the index of an
 * HTTP repository, or the tags of an OCI registry), pulled and stored as it
 * is (or repackaged with valuesFiles); a chart from a GitRepository or
 * Bucket is packaged from its directory, with its dependencies, and its
 * revision is the chart version (plus the source commit with
 * reconcileStrategy Revision).
 */
export class HelmChartController {
  readonly kind = 'HelmChart';

  constructor(private readonly o: HelmChartControllerOptions) {}

  /** Keys of HelmCharts that use the given source. */
  dependentsOfSource(kind: string, namespace: string, name: string): string[] {
    return this.o.charts
      .list(namespace)
      .filter((c) => (c as HelmChart).spec?.sourceRef?.kind === kind && (c as HelmChart).spec.sourceRef.name === name)
      .map((c) => `${c.metadata.namespace}/${c.metadata.name}`);
  }

  async reconcile(key: string): Promise<ReconcileOutcome> {
    const [namespace, name] = key.split('/') as [string, string];
    const obj = this.o.charts.get(namespace, name) as HelmChart | undefined;
    const lifecycle = { ...this.o, kind: this.kind, plural: HELMCHART_PLURAL, storageKind: 'helmchart' };
    if (!(await sourceLifecycle(lifecycle, obj, namespace, name)) || !obj || obj.spec.suspend) return {};

    const now = new Date();
    const generation = obj.metadata.generation ?? 0;
    const prev = obj.status ?? {};
    const conds = new Conditions(prev.conditions as never, generation, rfc3339(now));
    const status: HelmChartStatus = { ...prev };
    const requested = obj.metadata.annotations?.[REQUESTED_AT];
    if (requested) status.lastHandledReconcileAt = requested;
    const interval = parseDuration(obj.spec.interval);
    const write = async () => {
      status.conditions = conds.toArray() as never;
      await patchStatus(this.o.client, obj, HELMCHART_PLURAL, status as Record<string, unknown>);
      this.o.metrics.recordCondition(this.kind, namespace, name, 'Ready', conds.get('Ready')?.status);
    };

    try {
      const result =
        obj.spec.sourceRef.kind === 'HelmRepository' ? await this.fromRepository(obj, prev, now) : await this.fromSource(obj, prev, now);
      for (const t of ['Reconciling', 'Stalled', 'FetchFailed', 'BuildFailed', 'StorageOperationFailed', 'ArtifactOutdated']) conds.delete(t);
      conds.set('ArtifactInStorage', 'True', result.reason, result.message);
      conds.set('Ready', 'True', result.reason, result.message);
      Object.assign(status, result.status);
      status.observedGeneration = generation;
      const before = findCondition(obj, 'Ready');
      await write();
      if (result.newArtifact || before?.status !== 'True') await this.o.events.record(obj, 'Normal', result.reason, result.message, { 'source.toolkit.fluxcd.io/revision': result.status.artifact!.revision });
      return { requeueAfterMs: Math.round(interval * (1 + Math.random() * 0.05)) };
    } catch (err) {
      const f = err instanceof Failure ? err : new Failure('Failed', (err as Error).message);
      markSourceFailure(conds, status, generation, f, ['FetchFailed', 'BuildFailed']);
      const before = findCondition(obj, 'Ready');
      await write();
      if (before?.message !== f.message) await this.o.events.record(obj, 'Warning', f.reason, f.message);
      this.o.log.error('helm chart reconcile failed', { namespace, name, reason: f.reason, error: f.message });
      // Stalled charts wait for a change of their spec or source (both enqueue them).
      return f.stalled ? {} : { error: f };
    }
  }

  private async fromRepository(obj: HelmChart, prev: HelmChartStatus, now: Date) {
    const ns = obj.metadata.namespace!;
    const ref = obj.spec.sourceRef;
    const repo = this.o.helmRepositories.get(ns, ref.name) as HelmRepository | undefined;
    if (!repo) throw new Failure('SourceUnavailable', `failed to get source: HelmRepository '${ns}/${ref.name}' not found`);
    const remote = isOciRepository(repo) ? await this.ociRemote(obj, repo) : await this.httpRemote(obj, repo);
    const valuesFiles = [...(obj.spec.valuesFile ? [obj.spec.valuesFile] : []), ...(obj.spec.valuesFiles ?? [])];
    const revision = valuesFiles.length ? `${remote.version}+${obj.metadata.generation ?? 0}` : remote.version;
    const message = `pulled '${obj.spec.chart}' chart with version '${revision}'`;
    const current = prev.artifact;
    if (current && current.revision === revision && prev.observedChartName === obj.spec.chart && (await this.o.storage.exists(current))) {
      return { reason: 'ChartPullSucceeded', message, newArtifact: false, status: { artifact: current } as HelmChartStatus };
    }
    const tmp = await this.o.storage.tempDir(`helmchart-${ns}-${obj.metadata.name}`);
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
        tgz = await packageChart(this.o.cli, dir, join(tmp, 'out'), { version: revision }).catch((err: Error) => {
          throw new Failure('ChartPackageError', `chart package error: ${err.message}`, 'BuildFailed');
        });
        observedValuesFiles = merged.used;
      }
      const artifact = await this.store(obj, tgz, revision, now, tmp);
      return {
        reason: 'ChartPullSucceeded',
        message,
        newArtifact: true,
        status: { artifact, observedChartName: obj.spec.chart, observedValuesFiles, url: artifact.url } as HelmChartStatus,
      };
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** A chart in an HTTP repository: the version from the stored index, the package over HTTP(S), checked against the index's digest. */
  private async httpRemote(obj: HelmChart, repo: HelmRepository): Promise<RemoteChart> {
    if (!repo.status?.artifact) throw new Failure('NoSourceArtifact', `no artifact available for HelmRepository source '${repo.metadata.name}'`);
    let idx: RepositoryIndex;
    try {
      idx = (await this.o.repositories.index(repo))!;
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
        const auth = await repositoryAuth(repo, this.o.repositories.secrets).catch((err: Error) => {
          throw new Failure('AuthenticationFailed', err.message);
        });
        const file = join(tmp, 'download.tgz');
        let res;
        try {
          res = await httpGet(chartUrl(repo.spec.url, entry), auth, { timeoutMs: 60_000, authHost: new URL(repo.spec.url).host, toFile: file });
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
  private async ociRemote(obj: HelmChart, repo: HelmRepository): Promise<RemoteChart> {
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
      const auth = await ociAuth(this.o.repositories.secrets, ns, host, repo.spec);
      const src: OciChartSource = {
        url: repo.spec.url,
        chart: obj.spec.chart,
        insecure: repo.spec.insecure,
        ...auth,
        timeoutMs: repo.spec.timeout ? parseDuration(repo.spec.timeout) : 60_000,
      };
      const version = await resolveOciChartVersion(src, obj.spec.version);
      return {
        version,
        download: (tmp) => pullOciChartVersion(this.o.cli, src, version, join(tmp, 'pulled')).catch((err) => {
          throw repositoryFailure(err);
        }),
      };
    } catch (err) {
      throw repositoryFailure(err);
    }
  }

  private async fromSource(obj: HelmChart, prev: HelmChartStatus, now: Date) {
    const ns = obj.metadata.namespace!;
    const ref = obj.spec.sourceRef;
    const informer = this.o.sources.get(ref.kind);
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
      (await this.o.storage.exists(current))
    ) {
      return { reason: 'ChartPackageSucceeded', message: `packaged '${prev.observedChartName}' chart with version '${current.revision}'`, newArtifact: false, status: { artifact: current } as HelmChartStatus };
    }
    const dir = await this.o.artifacts.resolve(sa).catch((err: Error) => {
      throw new Failure('ArtifactUnavailable', `failed to fetch source artifact: ${err.message}`);
    });
    const tmp = await this.o.storage.tempDir(`helmchart-${ns}-${obj.metadata.name}`);
    try {
      const strategy = obj.spec.reconcileStrategy ?? 'ChartVersion';
      const commit = sa.revision.includes(':') ? sa.revision.slice(sa.revision.lastIndexOf(':') + 1) : sa.revision;
      const built = await buildChartFromSource({
        cli: this.o.cli,
        sourceRoot: dir,
        chartPath: obj.spec.chart,
        workDir: tmp,
        valuesFiles: [...(obj.spec.valuesFile ? [obj.spec.valuesFile] : []), ...(obj.spec.valuesFiles ?? [])],
        ignoreMissingValuesFiles: obj.spec.ignoreMissingValuesFiles,
        version: (meta) => (strategy === 'Revision' ? `${meta.version}+${commit.slice(0, 12)}` : undefined),
        repository: (url) => this.repositoryFor(ns, url),
      }).catch((err: Error) => {
        if (err instanceof ChartBuildError) {
          throw new Failure(err.reason, err.message, err.reason === 'InvalidChartReference' ? 'FetchFailed' : 'BuildFailed', err.reason === 'InvalidChartReference');
        }
        throw new Failure('ChartPackageError', `chart package error: ${err.message}`, 'BuildFailed');
      });
      const revision = built.metadata.version;
      const message = `packaged '${built.metadata.name}' chart with version '${revision}'`;
      const status = { observedSourceArtifactRevision: sa.revision, observedChartName: built.metadata.name, observedValuesFiles: built.observedValuesFiles.length ? built.observedValuesFiles : undefined } as HelmChartStatus;
      // Same chart version, same spec: the artifact stays (ChartVersion strategy).
      if (current && current.revision === revision && prev.observedGeneration === generation && (await this.o.storage.exists(current))) {
        return { reason: 'ChartPackageSucceeded', message, newArtifact: false, status: { ...status, artifact: current } };
      }
      const artifact = await this.store(obj, built.tgz, revision, now, tmp);
      return { reason: 'ChartPackageSucceeded', message, newArtifact: true, status: { ...status, artifact, url: artifact.url } };
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** A HelmRepository in the chart's namespace with this URL, for a dependency; its index and credentials. */
  private async repositoryFor(ns: string, url: string) {
    const norm = (u: string) => u.replace(/\/+$/, '');
    const repo = this.o.helmRepositories.list(ns).find((r) => norm((r as HelmRepository).spec.url) === norm(url)) as HelmRepository | undefined;
    if (!repo?.status?.artifact) return undefined;
    const index = await this.o.repositories.index(repo);
    return index ? { index, auth: await repositoryAuth(repo, this.o.repositories.secrets) } : undefined;
  }

  private async store(obj: HelmChart, tgz: string, revision: string, now: Date, tmp: string) {
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
    const artifact = await this.o.storage.store({ kind: 'helmchart', namespace: ns, name, revision, treeDir: tree, tarball: tgz, digest: `sha256:${hash.digest('hex')}`, size, now });
    await this.o.storage.garbageCollect('helmchart', ns, name, [artifact.path]);
    return artifact;
  }
}
