import { mkdir, rm, stat } from 'node:fs/promises';

/**
 * A lock between processes: a directory that only one may create. A lock
 * older than `staleMs` is taken to belong to a process that died.
 */
export async function withLock<T>(path: string, fn: () => Promise<T>, staleMs = 30 * 60_000): Promise<T> {
  for (;;) {
    try {
      await mkdir(path);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = await stat(path).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > staleMs) await rm(path, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(path, { recursive: true, force: true });
  }
}
