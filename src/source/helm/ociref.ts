// Naming charts in OCI registries: repository paths, tags for versions (with
// '+' spelled '_'), the newest matching version among the tags, registry logins.
import type { OciRepositoryRef, RegistryCredentials } from '../oci/ref.ts';
import { newestChartVersion, RepositoryError } from './repository.ts';

/** Repository path of a chart in an OCI HelmRepository: the repository path plus the chart name. */
export function chartRepositoryPath(repo: OciRepositoryRef, chart: string): string {
  if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/.test(chart)) {
    throw new RepositoryError(`invalid chart reference: '${chart}' is not a valid OCI chart name`, 'InvalidChartReference');
  }
  return repo.path ? `${repo.path}/${chart}` : chart;
}

/**
 * OCI tags cannot hold `+`, so `helm push` writes SemVer build metadata as
 * `_`; the chart version is the tag with `_` turned back into `+`.
 */
export function tagToVersion(tag: string): string {
  return tag.replace(/_/g, '+');
}

export function versionToTag(version: string): string {
  return version.replace(/\+/g, '_');
}

/** Whether `version` is one exact SemVer version (Flux pulls it without listing tags). */
export function isExactVersion(version: string | undefined): boolean {
  return !!version && /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.test(version.trim());
}

/**
 * The chart version to pull from a registry's tags for a SemVer range (`*`
 * or empty: the newest stable version). Tags that are not SemVer are
 * ignored, like Helm's registry client does.
 */
export function selectChartVersion(tags: string[], range: string | undefined): string | undefined {
  const versions = tags.map(tagToVersion);
  return newestChartVersion(versions, range?.trim() || '*');
}

/** A registry config file (Docker's config.json format, which helm reads) with credentials for one host, or none. */
export function registryConfigJson(host: string, creds: RegistryCredentials | undefined): string {
  const auths: Record<string, { auth: string }> = {};
  if (creds) auths[host] = { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') };
  return JSON.stringify({ auths });
}
