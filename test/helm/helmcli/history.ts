import type { HelmCli, HelmTarget } from '../../../src/tools/helmcli.ts';

export interface HistoryEntry {
  revision: number;
  updated: string;
  status: string;
  chart: string;
  app_version: string;
  description: string;
}

/** `helm history -o json`, oldest first; [] when the release does not exist. */
export async function releaseHistory(cli: HelmCli, target: HelmTarget, namespace: string, name: string, max = 256): Promise<HistoryEntry[]> {
  try {
    return JSON.parse(await cli.run(['history', name, '--max', String(max), '--output', 'json'], { target, namespace })) as HistoryEntry[];
  } catch (err) {
    if (/release: not found/.test((err as Error).message)) return [];
    throw err;
  }
}
