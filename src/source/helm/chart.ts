// Helm charts on disk: reading Chart.yaml, unpacking packages, merging values
// files, and building a chart from a source directory with its dependencies.
import { cp, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, posix, relative, resolve, sep } from 'node:path';
import { untarLimited, UntarLimitError } from '../../util/untar.ts';
import { parse } from 'yaml';
import type { HelmCli } from '../../tools/helmcli.ts';
import { packageChart } from './package.ts';
import { chartUrl, httpGet, resolveChartVersion, type RepositoryAuth, type RepositoryIndex } from './repository.ts';
import { mergeValues, parseValues, type Values } from '../../util/values.ts';

export interface ChartDependency {
  name: string;
  version?: string;
  repository?: string;
  alias?: string;
}

export interface ChartMetadata {
  apiVersion?: string;
  name: string;
  version: string;
  appVersion?: string;
  dependencies?: ChartDependency[];
}

/** Flux's chart build error reasons. */
export type ChartBuildReason = 'InvalidChartReference' | 'ValuesFilesError' | 'DependencyBuildError' | 'ChartPackageError' | 'MetadataPatchError';

export class ChartBuildError extends Error {
  constructor(
    readonly reason: ChartBuildReason,
    message: string,
  ) {
    super(message);
    this.name = 'ChartBuildError';
  }
}

const exists = (p: string) => stat(p).then(() => true, () => false);

/** Reads Chart.yaml of a chart directory. */
export async function readChartMetadata(dir: string): Promise<ChartMetadata> {
  let text: string;
  try {
    text = await readFile(join(dir, 'Chart.yaml'), 'utf8');
  } catch {
    throw new ChartBuildError('InvalidChartReference', `no Chart.yaml in '${dir}'`);
  }
  let meta: ChartMetadata;
  try {
    meta = parse(text) as ChartMetadata;
  } catch (err) {
    throw new ChartBuildError('InvalidChartReference', `Chart.yaml is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!meta?.name || meta.version === undefined) throw new ChartBuildError('InvalidChartReference', 'Chart.yaml has no name or version');
  meta.version = String(meta.version);
  if (!meta.dependencies && (await exists(join(dir, 'requirements.yaml')))) {
    const req = parse(await readFile(join(dir, 'requirements.yaml'), 'utf8')) as { dependencies?: ChartDependency[] } | null;
    meta.dependencies = req?.dependencies;
  }
  return meta;
}

/** The chart directory inside an unpacked chart package: the one top-level directory with a Chart.yaml. */
export async function chartRoot(tree: string): Promise<string> {
  if (await exists(join(tree, 'Chart.yaml'))) return tree;
  for (const e of await readdir(tree, { withFileTypes: true })) {
    if (e.isDirectory() && (await exists(join(tree, e.name, 'Chart.yaml')))) return join(tree, e.name);
  }
  throw new ChartBuildError('InvalidChartReference', 'the artifact holds no chart (no Chart.yaml)');
}

/** Unpacks a chart .tgz into `dir` and returns the chart's directory. */
export async function unpackChart(tgz: string, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  try {
    await untarLimited({ file: tgz, cwd: dir });
  } catch (err) {
    if (err instanceof UntarLimitError) throw new ChartBuildError('ChartPackageError', `chart package: ${err.message}`);
    throw err;
  }
  return chartRoot(dir);
}

function inside(root: string, p: string): boolean {
  const r = resolve(root);
  const x = resolve(p);
  return x === r || x.startsWith(r + sep);
}

/**
 * Merges values files in order. Each path is looked up relative to the
 * source root first, then to the chart directory; paths may not leave the
 * source root. Returns the merged values and the files that were found.
 */
export async function mergeValuesFiles(
  sourceRoot: string,
  chartDir: string,
  files: string[],
  ignoreMissing: boolean,
): Promise<{ values: Values; used: string[] }> {
  let values: Values = {};
  const used: string[] = [];
  for (const f of files) {
    if (f.split(/[\\/]/).includes('..') || posix.isAbsolute(f)) throw new ChartBuildError('ValuesFilesError', `values file '${f}' escapes the source root`);
    const candidates = [join(sourceRoot, f), join(chartDir, f)].filter((p) => inside(sourceRoot, p));
    let found: string | undefined;
    for (const c of candidates) if (await exists(c)) { found = c; break; }
    if (!found) {
      if (ignoreMissing) continue;
      throw new ChartBuildError('ValuesFilesError', `values files merge error: no values file found at path '${f}'`);
    }
    try {
      values = mergeValues(values, parseValues(await readFile(found, 'utf8'), `values file '${f}'`));
    } catch (err) {
      throw new ChartBuildError('ValuesFilesError', `values files merge error: ${(err as Error).message}`);
    }
    used.push(f);
  }
  return { values, used };
}

export interface BuildOptions {
  cli: HelmCli;
  /** Root of the source artifact (a GitRepository's tree). */
  sourceRoot: string;
  /** Chart directory relative to the source root. */
  chartPath: string;
  /** Scratch directory of this build. */
  workDir: string;
  valuesFiles?: string[];
  ignoreMissingValuesFiles?: boolean;
  /** Version to give the packaged chart (Flux's Revision strategy: <version>+<commit>). */
  version?: (meta: ChartMetadata) => string | undefined;
  /** Index and credentials of a chart repository, for http(s) dependencies. */
  repository?: (url: string) => Promise<{ index: RepositoryIndex; auth?: RepositoryAuth } | undefined>;
}

export interface BuiltChart {
  /** The packaged .tgz. */
  tgz: string;
  metadata: ChartMetadata;
  observedValuesFiles: string[];
  /** Whether values files replaced the chart's values.yaml. */
  valuesMerged: boolean;
}

/** Packages a chart directory of a source, as source-controller does for GitRepository and Bucket charts. */
export async function buildChartFromSource(o: BuildOptions): Promise<BuiltChart> {
  const rel = o.chartPath.replace(/^\.\//, '').replace(/\/+$/, '') || '.';
  if (rel.split(/[\\/]/).includes('..') || posix.isAbsolute(rel)) {
    throw new ChartBuildError('InvalidChartReference', `invalid chart reference: path '${o.chartPath}' escapes the source root`);
  }
  const src = join(o.sourceRoot, rel);
  const st = await stat(src).catch(() => undefined);
  if (!st?.isDirectory()) throw new ChartBuildError('InvalidChartReference', `invalid chart reference: path '${o.chartPath}' not found in the source`);
  if (!(await exists(join(src, 'Chart.yaml')))) {
    throw new ChartBuildError('InvalidChartReference', `invalid chart reference: '${o.chartPath}' is not a chart directory (no Chart.yaml)`);
  }
  const meta = await readChartMetadata(src);
  const work = join(o.workDir, 'chart', meta.name);
  await mkdir(join(o.workDir, 'chart'), { recursive: true });
  await cp(src, work, { recursive: true, dereference: false, verbatimSymlinks: true });

  let observed: string[] = [];
  let valuesMerged = false;
  if (o.valuesFiles?.length) {
    const { values, used } = await mergeValuesFiles(o.sourceRoot, src, o.valuesFiles, !!o.ignoreMissingValuesFiles);
    observed = used;
    valuesMerged = true;
    await writeFile(join(work, 'values.yaml'), JSON.stringify(values, null, 2));
  } else {
    // A broken values.yaml is reported here, not at release time.
    const v = join(work, 'values.yaml');
    if (await exists(v)) {
      try {
        parseValues(await readFile(v, 'utf8'), `values file '${posix.join(rel, 'values.yaml')}'`);
      } catch (err) {
        throw new ChartBuildError('ValuesFilesError', (err as Error).message);
      }
    }
  }

  await buildDependencies(o, src, work, meta);

  const version = o.version?.(meta);
  const out = join(o.workDir, 'out');
  await mkdir(out, { recursive: true });
  let tgz: string;
  try {
    tgz = await packageChart(o.cli, work, out, { version });
  } catch (err) {
    throw new ChartBuildError('ChartPackageError', `chart package error: ${(err as Error).message}`);
  }
  return { tgz, metadata: { ...meta, version: version ?? meta.version }, observedValuesFiles: observed, valuesMerged };
}

/** Fills charts/ with every dependency not there yet: local file:// charts, or charts from http(s) repositories. */
async function buildDependencies(o: BuildOptions, src: string, work: string, meta: ChartMetadata): Promise<void> {
  const deps = meta.dependencies ?? [];
  if (!deps.length) return;
  const chartsDir = join(work, 'charts');
  await mkdir(chartsDir, { recursive: true });
  const present = await readdir(chartsDir);
  for (const d of deps) {
    if (present.some((f) => f === d.name || (f.startsWith(`${d.name}-`) && f.endsWith('.tgz')))) continue;
    const repo = d.repository ?? '';
    if (!repo) throw new ChartBuildError('DependencyBuildError', `dependency '${d.name}' has no repository and is not in charts/`);
    if (repo.startsWith('file://')) {
      const p = resolve(src, repo.slice('file://'.length));
      if (!inside(o.sourceRoot, p)) throw new ChartBuildError('DependencyBuildError', `dependency '${d.name}': '${repo}' is outside the source`);
      if (!(await exists(join(p, 'Chart.yaml')))) {
        throw new ChartBuildError('DependencyBuildError', `dependency '${d.name}': no chart at '${relative(o.sourceRoot, p) || '.'}'`);
      }
      await cp(p, join(chartsDir, d.name), { recursive: true, verbatimSymlinks: true });
      continue;
    }
    if (repo.startsWith('http://') || repo.startsWith('https://')) {
      const r = await o.repository?.(repo).catch((err: Error) => {
        throw new ChartBuildError('DependencyBuildError', `dependency '${d.name}': ${err.message}`);
      });
      if (!r) throw new ChartBuildError('DependencyBuildError', `dependency '${d.name}': cannot reach repository '${repo}'`);
      try {
        const entry = resolveChartVersion(r.index, d.name, d.version ?? '*');
        const url = chartUrl(repo, entry);
        await httpGet(url, r.auth, { timeoutMs: 60_000, authHost: new URL(repo).host, toFile: join(chartsDir, `${d.name}-${entry.version}.tgz`) });
      } catch (err) {
        throw new ChartBuildError('DependencyBuildError', `dependency '${d.name}': ${(err as Error).message}`);
      }
      continue;
    }
    throw new ChartBuildError('DependencyBuildError', `dependency '${d.name}': repository '${repo}' is not supported (file://, http:// and https:// are)`);
  }
}
