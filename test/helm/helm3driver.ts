import { execFile } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cacheHome, projectRoot } from '../../src/util/paths.ts';
import { ensureLocalGoTool } from '../../src/tools/localgo.ts';

const run = promisify(execFile);

/**
 * The last commit whose tools/helm-driver ran the Helm 3 SDK (v3.22.0):
 * the driver earlier Sluice versions made their releases with.
 */
export const HELM3_DRIVER_COMMIT = '651bfc9386125b284d34477c9df094231f010008';

/**
 * Path of that Helm 3 driver, for tests of releases it made: the module is
 * taken from git history and built as the current driver is (cached by the
 * hash of its sources, so a machine that built it before has it at once).
 * SLUICE_HELM3_DRIVER names a binary to use instead.
 */
export async function ensureHelm3Driver(log: (m: string) => void): Promise<string> {
  if (process.env.SLUICE_HELM3_DRIVER) return process.env.SLUICE_HELM3_DRIVER;
  const dir = join(cacheHome(), 'src', `helm-driver-${HELM3_DRIVER_COMMIT.slice(0, 12)}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  try {
    const { stdout } = await run('git', ['-C', projectRoot, 'archive', '--format=tar', HELM3_DRIVER_COMMIT, 'tools/helm-driver'], { encoding: 'buffer', maxBuffer: 64 << 20 });
    await new Promise<void>((resolve, reject) => {
      const tar = execFile('tar', ['-x', '-C', dir, '--strip-components=2'], (err) => (err ? reject(err) : resolve()));
      tar.stdin!.end(stdout);
    });
  } catch (err) {
    throw new Error(`cannot take the Helm 3 driver from git commit ${HELM3_DRIVER_COMMIT} (a shallow clone lacks it; set SLUICE_HELM3_DRIVER): ${(err as Error).message}`);
  }
  return ensureLocalGoTool({ name: 'helm-driver', purpose: 'the Helm 3 SDK driver of earlier Sluice versions', overrideEnv: 'SLUICE_HELM3_DRIVER', dir }, { log });
}
