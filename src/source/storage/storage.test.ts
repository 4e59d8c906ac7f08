import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { Storage } from './storage.ts';

const hex = (c: string) => c.repeat(64);

/** Three artifacts of one source, the newest first: ages in seconds. */
async function withArtifacts(ages: number[], fn: (s: (o: { keep?: number; ttlMs?: number }) => Storage, rels: string[]) => Promise<void>) {
  const root = await mkdtemp(join(tmpdir(), 'sluice-storage-'));
  try {
    const dir = join(root, 'gitrepository', 'ns', 'app');
    await mkdir(dir, { recursive: true });
    const rels: string[] = [];
    for (const [i, age] of ages.entries()) {
      const name = `${hex(String(i + 1))}.tar.gz`;
      await writeFile(join(dir, name), 'x');
      const t = new Date(Date.now() - age * 1000);
      await utimes(join(dir, name), t, t);
      rels.push(`gitrepository/ns/app/${name}`);
    }
    await fn((o) => new Storage({ root, backgroundDelayMs: 0, ...o }), rels);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

test('garbage collection keeps the newest `keep` artifacts, the current one always', async () => {
  await withArtifacts([10, 20, 30], async (storage, [a, b, c]) => {
    assert.deepEqual(await storage({ keep: 2 }).garbageCollect('GitRepository', 'ns', 'app', [a!]), [c]);
  });
  await withArtifacts([10, 20, 30], async (storage, [a, b, c]) => {
    // The current artifact is the oldest one (a rollback to an old revision): it stays, with the newest.
    assert.deepEqual((await storage({ keep: 2 }).garbageCollect('GitRepository', 'ns', 'app', [c!])).sort(), [b]);
  });
});

test('--artifact-retention-ttl: older artifacts go even within `keep`, the current one never', async () => {
  await withArtifacts([100, 200, 300], async (storage, [a, b, c]) => {
    assert.deepEqual((await storage({ keep: 3, ttlMs: 150_000 }).garbageCollect('GitRepository', 'ns', 'app', [a!])).sort(), [b, c].sort());
  });
  await withArtifacts([100, 200], async (storage, [a, b]) => {
    assert.deepEqual(await storage({ keep: 2, ttlMs: 50_000 }).garbageCollect('GitRepository', 'ns', 'app', [b!]), [a]);
  });
  await withArtifacts([100, 200], async (storage) => {
    assert.deepEqual(await storage({ keep: 2 }).garbageCollect('GitRepository', 'ns', 'app', []), [], 'no ttl: kept by count alone');
  });
});
