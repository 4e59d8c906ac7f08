import type { HelmCli, HelmTarget } from '../../../src/tools/helmcli.ts';
import type { HelmReleaseRecord } from '../../../src/helm/release.ts';

/** `helm status -o json` (the latest revision, with hooks and manifest); undefined when there is none. */
export async function releaseStatus(cli: HelmCli, target: HelmTarget, namespace: string, name: string): Promise<HelmReleaseRecord | undefined> {
  try {
    return JSON.parse(await cli.run(['status', name, '--output', 'json'], { target, namespace })) as HelmReleaseRecord;
  } catch (err) {
    if (/release: not found/.test((err as Error).message)) return undefined;
    throw err;
  }
}

/** `helm list -o json` for one namespace (every status). */
export async function listReleases(
  cli: HelmCli,
  target: HelmTarget,
  namespace: string,
): Promise<Array<{ name: string; namespace: string; revision: string; status: string; chart: string; app_version: string }>> {
  return JSON.parse(await cli.run(['list', '--all', '--output', 'json'], { target, namespace }));
}
