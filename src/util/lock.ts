import { readFileSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

/**
 * A lock between processes: a directory that only one may create, with a
 * file naming its owner (host name, pid and the process's start time, so a
 * recycled pid is not mistaken for the owner, such as pid 1 of the next
 * container; a lock made on another host, through shared storage, is
 * judged by its age only).
 *
 * A lock whose owner is gone is taken over at once: a process killed with
 * SIGKILL (or the OOM killer) while it held one must not stop its
 * successor, which reuses the same storage after a restart, for half an
 * hour. A lock with no readable owner (the owner died between creating the
 * directory and naming itself, or the system has no /proc) is taken to
 * belong to a dead process after `staleMs`.
 */
export async function withLock<T>(path: string, fn: () => Promise<T>, staleMs = 30 * 60_000): Promise<T> {
  const me = ownerId(process.pid);
  for (;;) {
    try {
      await mkdir(path);
      if (me) await writeFile(join(path, OWNER), me);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (await isStale(path, staleMs)) await rm(path, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(path, { recursive: true, force: true });
  }
}

const OWNER = 'owner';
/** How long a lock may lack its owner file before the creator is taken for dead. */
const UNNAMED_GRACE_MS = 10_000;

/** "host pid starttime" of a live process (starttime: field 22 of /proc/pid/stat), or undefined. */
export function ownerId(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces) start at field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return undefined;
    return `${hostname()} ${pid} ${fields[19]}`;
  } catch {
    return undefined;
  }
}

async function isStale(path: string, staleMs: number): Promise<boolean> {
  const owner = await readFile(join(path, OWNER), 'utf8').catch(() => undefined);
  const age = await stat(path).then(
    (s) => Date.now() - s.mtimeMs,
    () => 0,
  );
  if (age > staleMs) return true;
  if (owner === undefined) return process.platform === 'linux' && age > UNNAMED_GRACE_MS;
  const [host, pidText] = owner.split(' ');
  if (host !== hostname()) return false; // another host's process: only its age tells
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return age > UNNAMED_GRACE_MS;
  return ownerId(pid) !== owner;
}
