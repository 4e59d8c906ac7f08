import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { eventually, type TestNamespace } from '../harness.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import { releaseHistory } from './helmcli/history.ts';
import { listReleases, releaseStatus } from './helmcli/status.ts';
import {
  clusterTarget,
  cond,
  configMapData,
  createObject,
  hrPath,
  patchSpec,
  readyAt,
  testHelm,
  untilHR,
  startHelmFixture,
  type HelmFixture,
} from './helpers.ts';

// spec.storageNamespace, as Flux has it: helm keeps the release's Secrets
// there, while its objects and .Release.Namespace are the release namespace
// (targetNamespace, or the HelmRelease's own). Unset, the storage is the
// HelmRelease's namespace, even when targetNamespace points elsewhere. The
// real helm CLI, pointed at the storage namespace, must see the release.

let f: HelmFixture;
let ns: TestNamespace;
let client: KubeClient;
const storage = `hrx-storage-${randomBytes(3).toString('hex')}`;
const target = `hrx-target-${randomBytes(3).toString('hex')}`;

before(async () => {
  f = await startHelmFixture('hrx-storagens');
  ({ ns, client } = f);
  for (const name of [storage, target]) {
    await createObject(client, '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'sluice.test/owned': 'true' } } });
  }
});

after(async () => {
  await f?.close();
  for (const name of [storage, target]) await client?.request({ method: 'DELETE', path: `/api/v1/namespaces/${name}` }).catch(() => {});
});

const names = (rels: Array<{ name: string; status: string }>) => rels.map((r) => [r.name, r.status]);

test('a storageNamespace apart from the release namespace holds the release, while the objects go to the release namespace', async () => {
  await createObject(client, `/apis/helm.toolkit.fluxcd.io/v2/namespaces/${ns.name}/helmreleases`, {
    apiVersion: 'helm.toolkit.fluxcd.io/v2',
    kind: 'HelmRelease',
    metadata: { name: 'stored' },
    spec: {
      interval: '1h',
      storageNamespace: storage,
      chart: { spec: { chart: 'web', sourceRef: { kind: 'HelmRepository', name: 'charts' } } },
      values: { message: 'here' },
    },
  });
  const s = await untilHR(client, ns.name, 'stored', 'installed', readyAt(1));
  assert.equal(s.storageNamespace, storage);
  assert.equal(s.history?.[0]?.namespace, ns.name, 'the snapshot names the release namespace');
  const cli = await testHelm();
  const admin = await clusterTarget();
  assert.deepEqual(names(await listReleases(cli, admin, storage)), [['stored', 'deployed']]);
  assert.deepEqual(await listReleases(cli, admin, ns.name), [], 'no storage in the release namespace');
  const rel = await releaseStatus(cli, admin, storage, 'stored');
  assert.equal(rel?.namespace, ns.name, '.Release.Namespace is the release namespace');
  assert.equal((await configMapData(client, ns.name, 'stored-settings'))?.message, 'here');
  assert.equal(await configMapData(client, storage, 'stored-settings'), undefined);

  // An upgrade finds the release in its storage namespace and adds a revision there.
  await patchSpec(client, hrPath(ns.name, 'stored'), { values: { message: 'again' } });
  await untilHR(client, ns.name, 'stored', 'upgraded', readyAt(2));
  assert.deepEqual(
    (await releaseHistory(cli, admin, storage, 'stored')).map((h) => [h.revision, h.status]),
    [
      [1, 'superseded'],
      [2, 'deployed'],
    ],
  );
  assert.equal((await configMapData(client, ns.name, 'stored-settings'))?.message, 'again');

  // Deleting the HelmRelease uninstalls from the storage namespace.
  await client.request({ method: 'DELETE', path: hrPath(ns.name, 'stored') });
  await eventually(
    'the release and its objects to go',
    async () => {
      assert.deepEqual(await listReleases(cli, admin, storage), []);
      assert.equal(await configMapData(client, ns.name, 'stored-settings'), undefined);
      return true;
    },
    60_000,
  );
});

test('with targetNamespace and no storageNamespace, storage is the HelmRelease namespace; setting storageNamespace moves the release', async () => {
  await createObject(client, `/apis/helm.toolkit.fluxcd.io/v2/namespaces/${ns.name}/helmreleases`, {
    apiVersion: 'helm.toolkit.fluxcd.io/v2',
    kind: 'HelmRelease',
    metadata: { name: 'apart' },
    spec: {
      interval: '1h',
      targetNamespace: target,
      chart: { spec: { chart: 'web', sourceRef: { kind: 'HelmRepository', name: 'charts' } } },
    },
  });
  const release = `${target}-apart`;
  const s = await untilHR(client, ns.name, 'apart', 'installed', readyAt(1));
  assert.equal(s.storageNamespace, ns.name);
  const cli = await testHelm();
  const admin = await clusterTarget();
  assert.deepEqual(names(await listReleases(cli, admin, ns.name)), [[release, 'deployed']]);
  assert.deepEqual(await listReleases(cli, admin, target), []);
  assert.ok((await configMapData(client, target, `${release}-settings`))?.message, 'the objects are in the target namespace');

  // A new storage namespace: the release is uninstalled from the old storage and installed in the new one.
  await patchSpec(client, hrPath(ns.name, 'apart'), { storageNamespace: storage });
  const moved = await untilHR(
    client,
    ns.name,
    'apart',
    'moved',
    (x) => cond(x, 'Ready')?.status === 'True' && x.storageNamespace === storage && x.observedGeneration === (x as { generation?: number }).generation,
  );
  assert.equal(moved.history?.length, 1, 'history restarts with the new release');
  assert.deepEqual(await listReleases(cli, admin, ns.name), []);
  assert.deepEqual(names(await listReleases(cli, admin, storage)), [[release, 'deployed']]);
  assert.ok((await configMapData(client, target, `${release}-settings`))?.message);
  await client.request({ method: 'DELETE', path: hrPath(ns.name, 'apart') });
  await eventually(
    'the release to go',
    async () => {
      assert.deepEqual(await listReleases(cli, admin, storage), []);
      return true;
    },
    60_000,
  );
});
