import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { installRelease } from '../../src/helm/actions.ts';
import { HelmDriver } from '../../src/helm/driver.ts';
import { readReleases } from '../../src/helm/release.ts';
import { releaseLabels } from '../../src/controllers/helmrelease/object.ts';
import { closeAll } from '../cleanup.ts';
import { ensureHelm3Driver } from './helm3driver.ts';
import { clusterTarget, cond, configMapData, createObject, hrPath, patchSpec, startHelmFixture, untilHR, type HelmFixture } from './helpers.ts';

// A release made with Helm 3 (by the helm driver of earlier Sluice versions,
// Helm SDK v3.22) is upgraded by the Helm 4 driver in place: revision 2 on
// top of revision 1, the same objects (same UIDs), applied client-side as
// the release was ('auto'), until the HelmRelease asks for server-side apply.

let f: HelmFixture;
let helm3: HelmDriver | undefined;

interface LiveObject {
  metadata: { uid: string; creationTimestamp: string; managedFields?: Array<{ manager: string; operation: string }> };
  data?: Record<string, string>;
}

before(async () => {
  f = await startHelmFixture('hr-helm3');
  helm3 = new HelmDriver({ bin: await ensureHelm3Driver((m) => process.stderr.write(`# ${m}\n`)) });
});

after(async () => {
  await closeAll(helm3 && (() => helm3!.stop(5_000)), f && (() => f.close()));
});

test('a Helm 3 release is upgraded by the Helm 4 driver as revision 2, keeping its objects', async () => {
  const { client, ns } = f;
  const made = await installRelease(helm3!, {
    target: await clusterTarget(),
    name: 'legacy',
    namespace: ns.name,
    chart: join(f.work, 'web'),
    values: { message: 'from helm 3' },
    labels: releaseLabels(ns.name, 'legacy'),
    timeoutMs: 60_000,
  });
  assert.equal(made.version, 1);
  assert.equal(made.apply_method, undefined, 'Helm 3 records no apply method');
  const path = `/api/v1/namespaces/${ns.name}/configmaps/legacy-settings`;
  const before = await client.request<LiveObject>({ path });
  assert.equal(before.data?.message, 'from helm 3');
  const deployBefore = await client.request<LiveObject>({ path: `/apis/apps/v1/namespaces/${ns.name}/deployments/legacy` });

  await createObject(client, `/apis/helm.toolkit.fluxcd.io/v2/namespaces/${ns.name}/helmreleases`, {
    apiVersion: 'helm.toolkit.fluxcd.io/v2',
    kind: 'HelmRelease',
    metadata: { name: 'legacy' },
    spec: { interval: '1h', chart: { spec: { chart: 'web', sourceRef: { kind: 'HelmRepository', name: 'charts' } } }, values: { message: 'from helm 4' } },
  });
  const s = await untilHR(client, ns.name, 'legacy', 'Ready at revision 2', (s) => cond(s, 'Ready')?.status === 'True' && s.history?.[0]?.version === 2);
  assert.equal(cond(s, 'Ready')?.reason, 'UpgradeSucceeded', 'an upgrade, not an install');
  assert.equal(s.history?.[0]?.action, 'upgrade');
  assert.equal(s.history?.[0]?.apiVersion, 'v2');

  const stored = await readReleases(client, ns.name, 'legacy');
  assert.deepEqual(stored.map((r) => [r.version, r.info.status]), [[1, 'superseded'], [2, 'deployed']], 'no reinstall: revision 1 superseded by 2');
  assert.equal(stored[1]!.apply_method, 'csa', "'auto' applies a Helm 3 release client-side, as it was made");

  const after = await client.request<LiveObject>({ path });
  assert.equal(after.metadata.uid, before.metadata.uid, 'the ConfigMap was kept, not recreated');
  assert.equal(after.data?.message, 'from helm 4');
  const deployAfter = await client.request<LiveObject>({ path: `/apis/apps/v1/namespaces/${ns.name}/deployments/legacy` });
  assert.equal(deployAfter.metadata.uid, deployBefore.metadata.uid, 'the Deployment was kept');

  // Asked for server-side apply, the next upgrade applies server-side, still in place.
  await patchSpec(client, hrPath(ns.name, 'legacy'), { upgrade: { serverSideApply: 'enabled' }, values: { message: 'server-side' } });
  await untilHR(client, ns.name, 'legacy', 'Ready at revision 3', (s) => cond(s, 'Ready')?.status === 'True' && s.history?.[0]?.version === 3);
  const third = await readReleases(client, ns.name, 'legacy');
  assert.equal(third.at(-1)!.apply_method, 'ssa');
  const ssa = await client.request<LiveObject>({ path });
  assert.equal(ssa.metadata.uid, before.metadata.uid);
  assert.equal(ssa.data?.message, 'server-side');
  assert.ok(
    ssa.metadata.managedFields?.some((m) => m.manager === 'helm-controller' && m.operation === 'Apply'),
    `helm-controller applies server-side: ${JSON.stringify(ssa.metadata.managedFields?.map((m) => [m.manager, m.operation]))}`,
  );
  assert.equal((await configMapData(client, ns.name, 'legacy-settings'))?.message, 'server-side');
});
