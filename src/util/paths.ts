import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Root of the Sluice checkout (holds package.json and cluster/): the nearest
 * directory above this module with both, whether the module is a source file
 * (src/util) or part of the bundle (dist/). In the container image, where
 * there is no cluster/, it is the directory of the bundle's own package.json
 * (name "sluice").
 */
export const projectRoot = findRoot(dirname(fileURLToPath(import.meta.url)));

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && (existsSync(join(dir, 'cluster')) || isSluicePackage(dir))) return dir;
    if (dirname(dir) === dir) return resolve(from, '..', '..');
  }
}

function isSluicePackage(dir: string): boolean {
  try {
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name === 'sluice';
  } catch {
    return false;
  }
}

/** Where Sluice keeps per-user state: the local cluster, its kubeconfig, logs. */
export function sluiceHome(): string {
  return process.env.SLUICE_HOME ? resolve(process.env.SLUICE_HOME) : join(homedir(), '.sluice');
}

/**
 * Where built binaries are cached. Outside the work tree and outside
 * SLUICE_HOME, so a fresh clone or a new SLUICE_HOME reuses the same build.
 */
export function cacheHome(): string {
  if (process.env.SLUICE_CACHE) return resolve(process.env.SLUICE_CACHE);
  const xdg = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(xdg, 'sluice');
}

/** Sluice's version, from its package.json (the checkout's, or the one beside the bundle in the image). */
export function sluiceVersion(): string {
  return (JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;
}
