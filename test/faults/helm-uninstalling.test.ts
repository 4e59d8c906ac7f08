import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminClient, testKubeconfig, testNamespace, type TestNamespace } from '../harness.ts';
import { startGitHttpServer, TestRepo, type GitHttpServer } from '../gitserver/index.ts';
import { ResourceManager } from '../../src/apply/manager.ts';
import { allCrds } from '../../src/api/crds.ts';
import { readReleases, setReleaseStatus } from '../../src/helm/release.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { closeAll } from '../cleanup.ts';
import { createRolloutObjects, hrName, rolloutFiles, untilConverged, type RolloutSize } from './rollout.ts';
import { Fleet, fleetTeardown } from './procs.ts';

// Found by kill.test.ts, made deterministic here: a controller SIGKILLed
// during an uninstall (the remediation of an install it had interrupted
// before: unlocked, failed, uninstalled) leaves the only revision
// 'uninstalling', and the HelmRelease's status without it. Helm refuses to
// upgrade such a release ("has no deployed releases") and the HelmRelease
// stayed in UpgradeFailed for good. The next controller must finish the
// uninstall and install again.

const SIZE: RolloutSize = { kustomizations: 0, helmReleases: 1 };

let ns: TestNamespace;
let client: KubeClient;
let root: string;
let server: GitHttpServer;
let repo: TestRepo;
let fleet: Fleet;

before(async () => {
  ns = await testNamespace('faults-helm-unrecorded');
  client = await adminClient();
  root = await mkdtemp(join(tmpdir(), 'sluice-faults-helm-'));
  server = await startGitHttpServer({ root: join(root, 'git') });
  repo = await TestRepo.create(join(root, 'git'), 'app', { defaultBranch: 'main' });
  await new ResourceManager(client).apply(allCrds() as KubeObject[]);
  fleet = new Fleet({ kubeconfig: await testKubeconfig(), dataDir: () => join(root, 'storage'), extra: [`--watch-namespace=${ns.name}`] });
});

after(async () => {
  await closeAll(
    ...fleetTeardown(client, ns, fleet),
    server && (() => server.close()),
    repo && (() => repo.dispose()),
    root && (() => rm(root, { recursive: true, force: true })),
  );
});

test('a release left uninstalling by a killed controller is uninstalled and installed again, not upgraded', async () => {
  const rev = `main@sha1:${await repo.commitFiles(rolloutFiles(SIZE, 'A'), 'A')}`;
  await repo.push();
  await createRolloutObjects(client, ns.name, SIZE, server.url('app'));
  await fleet.kill(fleet.start('c0')).catch(() => []);
  // The first controller is gone before it did anything; the next installs.
  const c1 = fleet.start('c1');
  await untilConverged(client, ns.name, SIZE, 'A', rev, 120_000);
  await fleet.kill(c1);

  // What a kill in the middle of the uninstall leaves: the only revision
  // 'uninstalling', a status that never recorded it.
  const name = hrName(0);
  const [only, ...more] = await readReleases(client, ns.name, name);
  assert.ok(only && more.length === 0, 'one revision');
  await setReleaseStatus(client, ns.name, only, 'uninstalling', 'Deletion in progress (or silently failed)');
  await client.request({
    method: 'PATCH',
    path: `/apis/helm.toolkit.fluxcd.io/v2/namespaces/${ns.name}/helmreleases/${name}/status`,
    contentType: 'application/merge-patch+json',
    body: { status: { history: null, lastAttemptedReleaseAction: null, lastAttemptedRevision: null, conditions: null, installFailures: null, upgradeFailures: null, failures: null } },
  });

  fleet.start('c2');
  await untilConverged(client, ns.name, SIZE, 'A', rev, 120_000);
  const revisions = await readReleases(client, ns.name, name);
  assert.equal(revisions.at(-1)?.info.status, 'deployed');
});
