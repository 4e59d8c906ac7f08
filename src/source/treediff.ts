// Which paths changed between two artifacts, from their trees or their file
// indexes: the Kustomizations under them are applied first.
import { readdir, readFile, lstat } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import { mapSettled } from '../util/pool.ts';

/**
 * Which of `paths` (relative to both roots) hold different content in two
 * unpacked artifacts: another file set, a file of another size or bytes.
 * Used to order work, never to skip it, so a path that cannot be read
 * counts as changed.
 */
export async function changedPaths(oldRoot: string, newRoot: string, paths: string[]): Promise<Set<string>> {
  const changed = new Set<string>();
  // Many small trees (a thousand apps of a monorepo): compared side by side.
  await mapSettled([...new Set(paths)], 64, async (p) => {
    const rel = normalize(p.replace(/^(?:\.\/|\/)+/, '')) || '.';
    try {
      if (rel.startsWith('..') || !(await sameTree(join(oldRoot, rel), join(newRoot, rel)))) changed.add(p);
    } catch {
      changed.add(p);
    }
  });
  return changed;
}

/**
 * The same answer from two file indexes (path → content digest, written
 * beside each artifact): no file is read, so a thousand paths take
 * microseconds instead of a second.
 */
export function changedPathsByIndex(oldFiles: Record<string, string>, newFiles: Record<string, string>, paths: string[]): Set<string> {
  const changedFiles: string[] = [];
  for (const [f, d] of Object.entries(newFiles)) if (oldFiles[f] !== d) changedFiles.push(f);
  for (const f of Object.keys(oldFiles)) if (!(f in newFiles)) changedFiles.push(f);
  const changed = new Set<string>();
  for (const p of new Set(paths)) {
    const rel = normalize(p.replace(/^(?:\.\/|\/)+/, '')).replace(/\/+$/, '') || '.';
    const outside = rel.startsWith('..');
    const whole = rel === '.' && changedFiles.length > 0;
    if (outside || whole || changedFiles.some((f) => f === rel || f.startsWith(`${rel}/`))) changed.add(p);
  }
  return changed;
}

async function sameTree(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([lstat(a), lstat(b)]);
  if (sa.isDirectory() !== sb.isDirectory() || sa.isFile() !== sb.isFile()) return false;
  if (sa.isFile()) return sa.size === sb.size && (await readFile(a)).equals(await readFile(b));
  if (!sa.isDirectory()) return true;
  const [ea, eb] = await Promise.all([readdir(a), readdir(b)]);
  if (ea.length !== eb.length) return false;
  ea.sort();
  eb.sort();
  if (ea.some((n, i) => n !== eb[i])) return false;
  for (const n of ea) if (!(await sameTree(join(a, n), join(b, n)))) return false;
  return true;
}
