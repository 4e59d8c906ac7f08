// Packaging a chart directory with helm.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { HelmCli } from '../../tools/helmcli.ts';

/** `helm package DIR -d DEST`: the path of the .tgz made. */
export async function packageChart(cli: HelmCli, dir: string, dest: string, opts: { version?: string } = {}): Promise<string> {
  await cli.run(['package', dir, '--destination', dest, ...(opts.version ? ['--version', opts.version] : [])]);
  const made = (await readdir(dest)).filter((f) => f.endsWith('.tgz'));
  if (made.length !== 1) throw new Error(`helm package made ${made.length} archives in ${dest}`);
  return join(dest, made[0]!);
}
