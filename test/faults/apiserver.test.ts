import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../harness.ts';
import { startGitHttpServer, TestRepo, type GitHttpServer } from '../gitserver/index.ts';
import { ResourceManager } from '../../src/apply/manager.ts';
import { allCrds } from '../../src/api/crds.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { closeAll } from '../cleanup.ts';
import { createRolloutObjects, ksName, readyCount, rolloutFiles, untilConverged, type RolloutSize } from './rollout.ts';
import { Fleet, dropAllFinalizers } from './procs.ts';
import { privateCluster, untilApiReady, type PrivateCluster } from './private.ts';
import { figure, size, sleep } from './sizes.ts';
import { liveUids, readyOf, type FluxObj } from './state.ts';

// Issue 20, faults: the API server, then etcd, crash (SIGKILL) and come back
// while a controller rolls out commit A and then commit B. On a private
// cluster of its own: the shared one is never touched. The same controller
// process (never restarted) must resume its watches, delete nothing, and
// bring every status to Git's commit; an object created after the restarts
// is picked up through the resumed watch, long before any resync.

const SIZE: RolloutSize = { kustomizations: size(6, 40), helmReleases: size(1, 6) };
const DOWN_MS = size(3_000, 30_000);
const NS = 'faults-apiserver';

let cluster: PrivateCluster;
let root: string;
let server: GitHttpServer;
let repo: TestRepo;
let fleet: Fleet;

// In two of three CI runs (2026-12-08) a HelmRelease whose install met the
// restarting API server stayed InstallFailed ("unable to build kubernetes
// objects from release manifest: error validating ...") for 180 s, retries
// or not: likely the Helm driver keeping a discovery/OpenAPI answer from the
// outage. An open finding (RELIABILITY.md), so this runs in the reliability
// suite (`npm run reliability`), not in `npm test`, until it is fixed.
const onDemand = !process.env.SLUICE_RELIABILITY;

before(async () => {
  if (onDemand) return;
  root = await mkdtemp(join(tmpdir(), 'sluice-faults-apiserver-'));
  cluster = await privateCluster('apiserver');
  server = await startGitHttpServer({ root: join(root, 'git') });
  repo = await TestRepo.create(join(root, 'git'), 'app', { defaultBranch: 'main' });
  await new ResourceManager(cluster.client).apply(allCrds() as KubeObject[]);
  await cluster.client.request({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name: NS } } });
  fleet = new Fleet({ kubeconfig: cluster.kubeconfig, dataDir: () => join(root, 'storage') });
});

after(async () => {
  // The cluster goes away whole: no need to delete what is in it.
  await closeAll(
    fleet && (() => fleet.close()),
    cluster && (() => dropAllFinalizers(cluster.client, NS).catch(() => {})),
    cluster && (() => cluster.purge()),
    server && (() => server.close()),
    repo && (() => repo.dispose()),
    root && (() => rm(root, { recursive: true, force: true })),
  );
});

test('the API server and etcd crash during a rollout: watches resume, nothing is deleted, status recovers without a controller restart', { skip: onDemand && 'runs in `npm run reliability` (a HelmRelease install that meets the restart can stay failed: open, RELIABILITY.md)' }, async () => {
  const c = cluster.client;
  const revA = `main@sha1:${await repo.commitFiles(rolloutFiles(SIZE, 'A'), 'A')}`;
  await repo.push();
  await createRolloutObjects(c, NS, SIZE, server.url('app'), { gitInterval: '5s' });
  const controller = fleet.start('c0');
  await controller.waitLog('the controller running', (l) => l.msg === 'controller running', 60_000);
  // In the middle of applying A.
  await eventually('some Kustomizations applied', async () => ((await readyCount(c, NS, revA)) >= 2 ? true : undefined), 60_000);
  const progress = await readyCount(c, NS, revA);
  await cluster.stop('kube-apiserver', { kill: true });
  const apiDownAt = Date.now();
  await sleep(DOWN_MS);
  await cluster.start('kube-apiserver');
  const apiBack = (await untilApiReady(c)) + DOWN_MS;
  process.stderr.write(`# API server killed with ${progress}/${SIZE.kustomizations} at A, ready again after ${apiBack} ms\n`);
  await untilConverged(c, NS, SIZE, 'A', revA, 180_000);
  const convergedA = Date.now() - apiDownAt;
  const uids = await liveUids(c, NS);

  // Commit B (prune and upgrade), and etcd crashes while it rolls out.
  const revB = `main@sha1:${await repo.commitFiles(rolloutFiles(SIZE, 'B'), 'B')}`;
  await repo.push();
  await eventually('some Kustomizations at B', async () => ((await readyCount(c, NS, revB)) >= 1 ? true : undefined), 90_000);
  await cluster.stop('etcd', { kill: true });
  const etcdDownAt = Date.now();
  await sleep(DOWN_MS);
  await cluster.start('etcd');
  const etcdBack = (await untilApiReady(c)) + DOWN_MS;
  await untilConverged(c, NS, SIZE, 'B', revB, 180_000);
  const convergedB = Date.now() - etcdDownAt;

  // Nothing that B keeps was deleted on the way (its UID is the same).
  const now = await liveUids(c, NS);
  for (const [id, uid] of uids) {
    if (/-gone$/.test(id)) continue; // B prunes these
    assert.equal(now.get(id), uid, `${id} was deleted or replaced`);
  }

  // The watches resumed: a Kustomization created now is applied at once
  // (its interval is 10 minutes; only a watch event can start it).
  const t = Date.now();
  await c.request({
    method: 'POST',
    path: `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${NS}/kustomizations`,
    body: { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'late' }, spec: { interval: '10m', path: `./apps/${ksName(0)}`, prune: false, targetNamespace: 'late-target', sourceRef: { kind: 'GitRepository', name: 'app' } } },
  });
  await c.request({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name: 'late-target' } } });
  await eventually('the late Kustomization applied', async () => {
    const k = await c.request<FluxObj>({ path: `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${NS}/kustomizations/late` });
    return readyOf(k)?.status === 'True' && k.status?.lastAppliedRevision === revB ? true : undefined;
  }, 30_000);
  const lateMs = Date.now() - t;
  assert.equal(controller.child.exitCode, null, 'the controller was never restarted');
  assert.equal(fleet.all.length, 1);
  const watchErrors = controller.logs.filter((l) => l.msg === 'watch failed').length;
  figure('apiserver: API server down', DOWN_MS / 1000, 's');
  figure('apiserver: API ready again after the kill', (apiBack / 1000).toFixed(1), 's');
  figure('apiserver: converged to A after the API server kill', (convergedA / 1000).toFixed(1), 's');
  figure('apiserver: etcd down; API ready again after', (etcdBack / 1000).toFixed(1), 's');
  figure('apiserver: converged to B after the etcd kill', (convergedB / 1000).toFixed(1), 's');
  figure('apiserver: new Kustomization applied through the resumed watch in', (lateMs / 1000).toFixed(1), 's');
  figure('apiserver: watch failures logged (then resumed)', watchErrors);
});
