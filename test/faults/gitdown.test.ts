import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminClient, eventually, testKubeconfig, testNamespace, type TestNamespace } from '../harness.ts';
import { startGitHttpServer, TestRepo, type GitHttpServer } from '../gitserver/index.ts';
import { ResourceManager } from '../../src/apply/manager.ts';
import { allCrds } from '../../src/api/crds.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { closeAll } from '../cleanup.ts';
import { TcpProxy } from '../runtime/helpers.ts';
import { createRolloutObjects, differences, rolloutFiles, untilConverged, type RolloutSize } from './rollout.ts';
import { Fleet, fleetTeardown } from './procs.ts';
import { figure, size, sleep } from './sizes.ts';
import { liveUids, ownArtifact, readyOf, type FluxObj } from './state.ts';

// Issue 20, faults: the Git server goes away (connections refused) for a
// while during normal operation, and a commit is pushed meanwhile. The
// GitRepository goes Ready=False with the reason, the Kustomizations keep
// the last artifact and prune nothing, every workload stays (same UIDs);
// when the server is back the new commit is fetched and applied without
// anyone asking. Quick form 20 s down; full form 10 minutes.

const SIZE: RolloutSize = { kustomizations: size(4, 10), helmReleases: size(1, 2) };
const DOWN_MS = size(12_000, 600_000);
// The source polls this often when healthy; recovery is measured against it.
const GIT_INTERVAL_S = size(5, 30);

let ns: TestNamespace;
let client: KubeClient;
let root: string;
let server: GitHttpServer;
let proxy: TcpProxy;
let repo: TestRepo;
let fleet: Fleet;

before(async () => {
  ns = await testNamespace('faults-gitdown');
  client = await adminClient();
  root = await mkdtemp(join(tmpdir(), 'sluice-faults-gitdown-'));
  server = await startGitHttpServer({ root: join(root, 'git') });
  // The GitRepository reaches the server through a proxy the test can cut
  // and bring back on the same port: the server "goes down".
  proxy = new TcpProxy('127.0.0.1', server.port);
  await proxy.up();
  repo = await TestRepo.create(join(root, 'git'), 'app', { defaultBranch: 'main' });
  await new ResourceManager(client).apply(allCrds() as KubeObject[]);
  fleet = new Fleet({ kubeconfig: await testKubeconfig(), dataDir: () => join(root, 'storage'), extra: [`--watch-namespace=${ns.name}`] });
});

after(async () => {
  await closeAll(
    ...fleetTeardown(client, ns, fleet),
    proxy && (() => proxy.close()),
    server && (() => server.close()),
    repo && (() => repo.dispose()),
    root && (() => rm(root, { recursive: true, force: true })),
  );
});

const gitPath = () => `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns.name}/gitrepositories/app`;

test(`the Git server down for ${DOWN_MS / 1000} s: the source says why, nothing is pruned, recovery is automatic`, async () => {
  const revA = `main@sha1:${await repo.commitFiles(rolloutFiles(SIZE, 'A'), 'A')}`;
  await repo.push();
  const url = server.url('app').replace(`:${server.port}/`, `:${proxy.port}/`);
  await createRolloutObjects(client, ns.name, SIZE, url, { gitInterval: `${GIT_INTERVAL_S}s` });
  // Short intervals, so the Kustomizations and HelmReleases run again and again during the outage.
  for (const k of (await client.request<{ items: KubeObject[] }>({ path: `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${ns.name}/kustomizations` })).items) {
    await client.request({ method: 'PATCH', path: `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${ns.name}/kustomizations/${k.metadata.name}`, contentType: 'application/merge-patch+json', body: { spec: { interval: '5s' } } });
  }
  const controller = fleet.start('c0');
  await untilConverged(client, ns.name, SIZE, 'A', revA, 120_000);
  const uids = await liveUids(client, ns.name);
  await ownArtifact(client, gitPath(), await controller.storageUrl());

  await proxy.down();
  const downAt = Date.now();
  // A commit while the server is unreachable: it must arrive once it is back.
  const revB = `main@sha1:${await repo.commitFiles(rolloutFiles(SIZE, 'B'), 'B')}`;
  await repo.push();
  const failed = await eventually(
    'the GitRepository Ready=False',
    async () => {
      const g = await client.request<FluxObj>({ path: gitPath() });
      return readyOf(g)?.status === 'False' ? g : undefined;
    },
    DOWN_MS,
  );
  const detectMs = Date.now() - downAt;
  const cond = readyOf(failed)!;
  process.stderr.write(`# GitRepository while down: ${cond.reason}: ${cond.message}\n`);
  assert.equal(cond.reason, 'GitOperationFailed', 'Flux\'s reason for a failed fetch');
  assert.match(cond.message, /127\.0\.0\.1|connect|refused|unable to access/i, 'the message says what failed');
  assert.equal(failed.status?.artifact?.revision, revA, `the last artifact is kept; status: ${JSON.stringify(failed.status)}`);

  // The rest of the outage: every few seconds, nothing deleted, every Kustomization and HelmRelease still Ready at A.
  let checks = 0;
  while (Date.now() - downAt < DOWN_MS) {
    await sleep(Math.min(5_000, DOWN_MS - (Date.now() - downAt)));
    const now = await liveUids(client, ns.name);
    for (const [id, uid] of uids) assert.equal(now.get(id), uid, `${id} was deleted or replaced during the outage`);
    await ownArtifact(client, gitPath(), await controller.storageUrl());
    const diff = await differences(client, ns.name, SIZE, 'A', revA);
    if (diff.length) {
      // Evidence for the failure message: what the source said, and what the controller logged.
      const g = await client.request<FluxObj>({ path: gitPath() });
      process.stderr.write(`# GitRepository status: ${JSON.stringify(g.status)}\n`);
      for (const l of controller.lines.filter((x) => /"level":"(error|warn)"|artifact/i.test(x)).slice(-40)) process.stderr.write(`# [controller] ${l}\n`);
    }
    assert.deepEqual(diff, [], 'while Git is down the cluster stays at the last good commit');
    checks++;
  }
  const g = await client.request<FluxObj>({ path: gitPath() });
  assert.equal(readyOf(g)?.status, 'False', 'still failing at the end of the outage');

  await proxy.up();
  const upAt = Date.now();
  await eventually('the GitRepository fetched B', async () => ((await client.request<FluxObj>({ path: gitPath() })).status?.artifact?.revision === revB ? true : undefined), 600_000);
  const fetchMs = Date.now() - upAt;
  const convergeMs = (await untilConverged(client, ns.name, SIZE, 'B', revB, 120_000)) + fetchMs;
  figure('gitdown: outage', DOWN_MS / 1000, 's');
  figure('gitdown: Ready=False after', (detectMs / 1000).toFixed(1), 's');
  figure('gitdown: checks during the outage (nothing deleted, all Ready)', checks);
  figure('gitdown: new commit fetched after the server came back', (fetchMs / 1000).toFixed(1), 's');
  figure('gitdown: cluster at the new commit after the server came back', (convergeMs / 1000).toFixed(1), 's');
  assert.ok(fetchMs <= (GIT_INTERVAL_S + 10) * 1000, `recovered in ${fetchMs} ms: within the source's interval (${GIT_INTERVAL_S} s) and a little, not after a long backoff`);
  assert.equal(controller.child.exitCode, null, 'the controller never restarted');
});
