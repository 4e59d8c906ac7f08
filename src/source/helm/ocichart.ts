// Charts in an OCI registry: the version picked from the registry's tags (or
// checked when exact) and the package pulled with helm.
import { HelmError, type HelmCli } from '../../tools/helmcli.ts';
import { parseOciUrl, redactSecrets, type RegistryCredentials } from '../oci/ref.ts';
import { RegistryClient, RegistryError } from '../oci/registry.ts';
import { chartRepositoryPath, isExactVersion, selectChartVersion, versionToTag } from './ociref.ts';
import { pullOciChart } from './pull.ts';
import { RepositoryError } from './repository.ts';

/** A chart in an OCI HelmRepository, and how to reach its registry. */
export interface OciChartSource {
  /** The HelmRepository's oci:// URL. */
  url: string;
  chart: string;
  /** Plain HTTP (spec.insecure). */
  insecure?: boolean;
  credentials?: RegistryCredentials;
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  timeoutMs: number;
}

/** oci://host/path/chart of a chart source. */
export function ociChartRef(src: OciChartSource): string {
  const repo = parseOciUrl(src.url);
  return `oci://${repo.host}/${chartRepositoryPath(repo, src.chart)}`;
}

/**
 * The chart version to pull, as source-controller resolves it: an exact
 * version is checked directly (no tag listing); a range (default `*`, the
 * newest stable version) picks the highest matching SemVer tag. Errors are
 * RepositoryErrors with Flux's reasons and messages free of the secrets.
 */
export async function resolveOciChartVersion(src: OciChartSource, range: string | undefined): Promise<string> {
  const repo = parseOciUrl(src.url);
  const path = chartRepositoryPath(repo, src.chart);
  const ref = `oci://${repo.host}/${path}`;
  const client = new RegistryClient({ host: repo.host, insecure: src.insecure, credentials: src.credentials, tls: src.tls, timeoutMs: src.timeoutMs });
  const prefix = 'chart pull error: failed to get chart version for remote reference';
  try {
    if (isExactVersion(range)) {
      const version = range!.trim();
      if (await client.hasManifest(path, versionToTag(version))) return version;
      throw new RepositoryError(`${prefix}: '${ref}:${version}' not found`, 'ChartPullError');
    }
    const tags = await client.tags(path);
    if (!tags.length) throw new RepositoryError(`${prefix}: unable to locate any tags in '${ref}'`, 'ChartPullError');
    const version = selectChartVersion(tags, range);
    if (!version) {
      const shown = tags.slice(0, 10).join(', ') + (tags.length > 10 ? `, … (${tags.length} tags)` : '');
      throw new RepositoryError(`${prefix}: no '${src.chart}' chart with version matching '${range ?? '*'}' in '${ref}' (tags: ${shown})`, 'ChartPullError');
    }
    return version;
  } catch (err) {
    throw asRepositoryError(err, src, `${prefix}: could not get tags for '${src.chart}'`);
  }
}

/** Pulls the chart version with helm into `destination`; the path of the .tgz. */
export async function pullOciChartVersion(cli: HelmCli, src: OciChartSource, version: string, destination: string): Promise<string> {
  const repo = parseOciUrl(src.url);
  try {
    return await pullOciChart(cli, {
      ref: ociChartRef(src),
      host: repo.host,
      version,
      destination,
      plainHttp: src.insecure,
      credentials: src.credentials,
      tls: src.tls,
      timeoutMs: src.timeoutMs,
    });
  } catch (err) {
    if (err instanceof HelmError && /\b401\b|\b403\b|unauthorized|credential|denied/i.test(err.message)) {
      throw new RepositoryError(`failed to login to OCI registry: ${redactSecrets(err.message, src.credentials)}`, 'AuthenticationFailed');
    }
    throw new RepositoryError(
      `chart pull error: failed to download chart for remote reference: ${redactSecrets((err as Error).message, src.credentials)}`,
      'ChartPullError',
    );
  }
}

function asRepositoryError(err: unknown, src: OciChartSource, context: string): RepositoryError {
  if (err instanceof RepositoryError) return err;
  const message = redactSecrets((err as Error).message, src.credentials);
  if (err instanceof RegistryError && err.kind === 'auth') return new RepositoryError(`failed to login to OCI registry: ${message}`, 'AuthenticationFailed');
  return new RepositoryError(`${context}: ${message}`, 'ChartPullError');
}
