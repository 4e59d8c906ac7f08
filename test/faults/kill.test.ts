import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminClient, testKubeconfig, testNamespace, type TestNamespace } from '../harness.ts';
import { startGitHttpServer, TestRepo, type GitHttpServer } from '../gitserver/index.ts';
import { ResourceManager } from '../../src/apply/manager.ts';
import { allCrds } from '../../src/api/crds.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { closeAll } from '../cleanup.ts';
import { createRolloutObjects, readyCount, rolloutFiles, untilConverged, type RolloutSize } from './rollout.ts';
import { Fleet, fleetTeardown } from './procs.ts';
import { figure, runSeed, seeded, size, sleep } from './sizes.ts';

// Issue 20, faults: `sluice controller` SIGKILLed at random moments while it
// applies a rollout (commit A) and then prunes and upgrades (commit B).
// Afterwards every Kustomization and HelmRelease converges to Git with
// nothing lost or orphaned and no Helm release left pending-*; the time to
// converge after the last restart is the figure. Quick form in CI; the full
// form (100 Kustomizations, 20 HelmReleases, 50 kills) with
// SLUICE_RELIABILITY=full.

const SIZE: RolloutSize = size({ kustomizations: 12, helmReleases: 3 }, { kustomizations: 100, helmReleases: 20 });
const KILLS = size(8, 50);
// A kill comes this long after the controller said it runs (its informers
// listed, its workers started): the low end hits the first reconciles, the
// high end applies, prunes and Helm actions under way.
const DELAY_MS: [number, number] = size([0, 3_000], [0, 4_000]);

let ns: TestNamespace;
let client: KubeClient;
let root: string;
let server: GitHttpServer;
let repo: TestRepo;
let fleet: Fleet;

before(async () => {
  ns = await testNamespace('faults-kill');
  client = await adminClient();
  root = await mkdtemp(join(tmpdir(), 'sluice-faults-kill-'));
  server = await startGitHttpServer({ root: join(root, 'git') });
  repo = await TestRepo.create(join(root, 'git'), 'app', { defaultBranch: 'main' });
  await new ResourceManager(client).apply(allCrds() as KubeObject[]);
  const kubeconfig = await testKubeconfig();
  // One storage path for every incarnation, as a pod's emptyDir outlives a
  // container restart: what a killed controller half-wrote is there for the next.
  fleet = new Fleet({ kubeconfig, dataDir: () => join(root, 'storage'), extra: [`--watch-namespace=${ns.name}`] });
});

after(async () => {
  await closeAll(
    ...fleetTeardown(client, ns, fleet),
    server && (() => server.close()),
    repo && (() => repo.dispose()),
    root && (() => rm(root, { recursive: true, force: true })),
  );
});

test(`${KILLS} SIGKILLs during a rollout of ${SIZE.kustomizations} Kustomizations and ${SIZE.helmReleases} HelmReleases: everything converges to Git`, async () => {
  const rnd = seeded(runSeed());
  const revA = `main@sha1:${await repo.commitFiles(rolloutFiles(SIZE, 'A'), 'A')}`;
  await repo.push();
  await createRolloutObjects(client, ns.name, SIZE, server.url('app'));

  let current = fleet.start('c0');
  let revB = '';
  const pushBAt = Math.floor(KILLS / 2);
  const t0 = Date.now();
  for (let k = 0; k < KILLS; k++) {
    if (k === pushBAt) {
      revB = `main@sha1:${await repo.commitFiles(rolloutFiles(SIZE, 'B'), 'B: change, prune, upgrade')}`;
      await repo.push();
    }
    const delay = DELAY_MS[0] + Math.floor(rnd() * (DELAY_MS[1] - DELAY_MS[0]));
    await current.waitLog('controller running', (l) => l.msg === 'controller running', 60_000);
    await sleep(delay);
    const rev = revB || revA;
    const progress = await readyCount(client, ns.name, rev).catch(() => -1);
    const left = await fleet.kill(current);
    process.stderr.write(`# kill ${k + 1}/${KILLS} ${delay} ms after start-up: ${progress}/${SIZE.kustomizations} Kustomizations at ${revB ? 'B' : 'A'}${left.length ? `, ${left.length} child process(es) outlive it` : ''}\n`);
    current = fleet.start(`c${k + 1}`);
  }
  if (!revB) {
    revB = `main@sha1:${await repo.commitFiles(rolloutFiles(SIZE, 'B'), 'B')}`;
    await repo.push();
  }
  const lastStart = Date.now();
  const converge = await untilConverged(client, ns.name, SIZE, 'B', revB, size(180_000, 900_000));
  figure('kill: kills', KILLS);
  figure('kill: rollout', `${SIZE.kustomizations} Kustomizations, ${SIZE.helmReleases} HelmReleases`);
  figure('kill: kill phase', ((lastStart - t0) / 1000).toFixed(1), 's');
  figure('kill: converged after the last restart', (converge / 1000).toFixed(1), 's');
  await fleet.settled();
  figure('kill: child processes (helm driver, git) running when their controller was killed', fleet.leftBehind.length);
  figure(`kill: of those, still running ${Fleet.ORPHAN_GRACE_MS / 1000} s later`, fleet.outlived.length);
  assert.deepEqual(fleet.outlived, [], `no process of a killed controller goes on acting for it (${fleet.leftBehind.length} were running at the kills)`);
  assert.equal(current.child.exitCode, null, 'the last controller still runs');
});
