import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type TestNamespace } from '../harness.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import { listReleases } from '../../src/helm/status.ts';
import {
  clusterTarget,
  cond,
  configMapData,
  createObject,
  hrPath,
  patchSpec,
  testHelm,
  untilHR,
  startHelmFixture,
  type HelmFixture,
} from './helpers.ts';

// spec.storageNamespace: the helm CLI has one --namespace for the release's
// objects, .Release.Namespace and its storage, so a storage namespace apart
// from the release namespace is refused with a clear condition rather than
// silently stored somewhere else.

let f: HelmFixture;
let ns: TestNamespace;
let client: KubeClient;
const storage = `hrx-storage-${randomBytes(3).toString('hex')}`;

before(async () => {
  f = await startHelmFixture('hrx-storagens');
  ({ ns, client } = f);
  await createObject(client, '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: storage, labels: { 'sluice.test/owned': 'true' } } });
});

after(async () => {
  await client?.request({ method: 'DELETE', path: `/api/v1/namespaces/${storage}` }).catch(() => {});
  await f?.close();
});

test('a storageNamespace apart from the release namespace is refused, and nothing is installed anywhere', async () => {
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
  const s = await untilHR(client, ns.name, 'stored', 'refused', (x) => cond(x, 'Ready')?.status === 'False' && x.observedGeneration === (x as { generation?: number }).generation);
  assert.equal(cond(s, 'Ready')?.reason, 'StorageNamespaceUnsupported');
  assert.equal(
    cond(s, 'Ready')?.message,
    `storageNamespace '${storage}' differs from the release namespace '${ns.name}': Sluice drives the helm CLI, which stores a release in the namespace it installs into, so a separate storage namespace is not supported; remove storageNamespace or set it to '${ns.name}'`,
  );
  assert.equal(cond(s, 'Stalled')?.status, 'True', 'terminal until the spec changes');
  assert.equal(cond(s, 'Stalled')?.reason, 'StorageNamespaceUnsupported');
  assert.equal(cond(s, 'Reconciling'), undefined);
  assert.equal(s.helmChart, undefined, 'nothing prepared for a spec that is refused');
  const cli = await testHelm();
  const admin = await clusterTarget();
  assert.deepEqual(await listReleases(cli, admin, ns.name), []);
  assert.deepEqual(await listReleases(cli, admin, storage), []);
  assert.equal(await configMapData(client, ns.name, 'stored-settings'), undefined);

  // The storage namespace the helm CLI can honour (the release namespace) is accepted.
  await patchSpec(client, hrPath(ns.name, 'stored'), { storageNamespace: ns.name });
  const ok = await untilHR(client, ns.name, 'stored', 'installed', (x) => cond(x, 'Ready')?.status === 'True' && x.observedGeneration === (x as { generation?: number }).generation);
  assert.equal(cond(ok, 'Stalled'), undefined);
  assert.equal(ok.storageNamespace, ns.name);
  assert.deepEqual((await listReleases(cli, admin, ns.name)).map((r) => [r.name, r.status]), [['stored', 'deployed']]);
  assert.equal((await configMapData(client, ns.name, 'stored-settings'))?.message, 'here');
});

test('storageNamespace equal to targetNamespace keeps storage and objects together there', async () => {
  await createObject(client, `/apis/helm.toolkit.fluxcd.io/v2/namespaces/${ns.name}/helmreleases`, {
    apiVersion: 'helm.toolkit.fluxcd.io/v2',
    kind: 'HelmRelease',
    metadata: { name: 'together' },
    spec: {
      interval: '1h',
      targetNamespace: storage,
      storageNamespace: storage,
      chart: { spec: { chart: 'web', sourceRef: { kind: 'HelmRepository', name: 'charts' } } },
    },
  });
  const ok = await untilHR(client, ns.name, 'together', 'installed', (x) => cond(x, 'Ready')?.status === 'True' && x.observedGeneration === (x as { generation?: number }).generation);
  assert.equal(ok.storageNamespace, storage);
  const name = `${storage}-together`;
  const cli = await testHelm();
  const admin = await clusterTarget();
  assert.deepEqual((await listReleases(cli, admin, storage)).map((r) => [r.name, r.status]), [[name, 'deployed']]);
  assert.ok((await configMapData(client, storage, `${name}-settings`))?.message, 'the objects are in the target namespace');
  await client.request({ method: 'DELETE', path: hrPath(ns.name, 'together') });
});
