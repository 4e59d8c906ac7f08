import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, type TestNamespace } from '../harness.ts';
import { upCluster } from '../../src/dev/cluster/up.ts';
import { stopCluster } from '../../src/dev/cluster/down.ts';
import { KubeClient } from '../../src/kube/client.ts';
import type { HelmTarget } from '../../src/tools/helmcli.ts';
import { releaseHistory } from './helmcli/history.ts';
import { listReleases } from './helmcli/status.ts';
import {
  clusterTarget,
  cond,
  createObject,
  hrPath,
  
  testHelm,
  untilHR } from './helpers.ts';
import { startHelmFixture, type HelmFixture } from './helpers.ts';
import { closeAll } from '../cleanup.ts';

// kubeConfig.secretRef: a HelmRelease in this cluster releases into a second,
// separate local control plane (as test/remote.test.ts does for Kustomizations).

let ns: TestNamespace;
let local: KubeClient;
let remote: KubeClient;
let remoteHome: string;
let remoteHelm: HelmTarget;
let f: HelmFixture | undefined;
const remoteNs = 'hrx-afar';

before(async () => {
  remoteHome = await mkdtemp(join(tmpdir(), 'sluice-hrx-remote-'));
  const r = await upCluster({ home: remoteHome, nodes: 1 });
  remote = await KubeClient.fromFile(r.kubeconfig);
  remoteHelm = { kubeconfig: await readFile(r.kubeconfig, 'utf8') };
  f = await startHelmFixture('hrx-remote');
  ({ ns, client: local } = f);
  await createObject(local, `/api/v1/namespaces/${ns.name}/secrets`, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'remote-kubeconfig' },
    stringData: { value: remoteHelm.kubeconfig },
  });
});

after(async () => {
  await closeAll(
    f && (() => f!.close()),
    remote && (() => remote.close()),
    remoteHome &&
      (async () => {
        await stopCluster(remoteHome);
        await rm(remoteHome, { recursive: true, force: true });
      }),
  );
});

const release = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'helm.toolkit.fluxcd.io/v2',
  kind: 'HelmRelease',
  metadata: { name },
  spec: { interval: '1h', timeout: '2m', chart: { spec: { chart: 'web', sourceRef: { kind: 'HelmRepository', name: 'charts' } } }, ...spec },
});

test('kubeConfig.secretRef: the release is made in the remote cluster, and only there', async () => {
  await createObject(
    local,
    `/apis/helm.toolkit.fluxcd.io/v2/namespaces/${ns.name}/helmreleases`,
    // As with Flux, storage defaults to the HelmRelease's namespace, which the remote cluster lacks: keep it beside the objects.
    release('afar', {
      kubeConfig: { secretRef: { name: 'remote-kubeconfig' } },
      targetNamespace: remoteNs,
      storageNamespace: remoteNs,
      install: { createNamespace: true },
      values: { message: 'remote' },
    }),
  );
  const s = await untilHR(local, ns.name, 'afar', 'installed remotely', (x) => cond(x, 'Ready')?.status === 'True' && x.observedGeneration === (x as { generation?: number }).generation, 120_000);
  const name = `${remoteNs}-afar`;
  assert.equal(cond(s, 'Released')?.reason, 'InstallSucceeded');
  assert.equal(s.storageNamespace, remoteNs);
  assert.equal(s.history?.[0]?.namespace, remoteNs);

  const cli = await testHelm();
  const listed = await listReleases(cli, remoteHelm, remoteNs);
  assert.deepEqual(listed.map((r) => [r.name, r.status, r.chart]), [[name, 'deployed', 'web-1.0.0']], 'helm list against the remote cluster shows it');
  const cm = await remote.getOrUndefined<{ data: Record<string, string> }>(`/api/v1/namespaces/${remoteNs}/configmaps/${name}-settings`);
  assert.equal(cm?.data.message, 'remote');
  assert.ok(await remote.getOrUndefined(`/apis/apps/v1/namespaces/${remoteNs}/deployments/${name}`), 'the Deployment is in the remote cluster');

  // Nothing in the local cluster: no namespace, no release, no objects.
  assert.equal(await local.getOrUndefined(`/api/v1/namespaces/${remoteNs}`), undefined);
  const localHelm = await clusterTarget();
  assert.deepEqual(await listReleases(cli, localHelm, ns.name), []);
  assert.deepEqual(await releaseHistory(cli, localHelm, remoteNs, name), []);

  // Deleting the HelmRelease uninstalls it from the remote cluster.
  await local.request({ method: 'DELETE', path: hrPath(ns.name, 'afar') });
  await eventually('HelmRelease gone', async () => ((await local.getOrUndefined(hrPath(ns.name, 'afar'))) ? undefined : true), 60_000);
  assert.deepEqual(await listReleases(cli, remoteHelm, remoteNs), [], 'uninstalled from the remote cluster');
});

test('a missing kubeconfig Secret is a clear failure, and nothing is installed', async () => {
  await createObject(local, `/apis/helm.toolkit.fluxcd.io/v2/namespaces/${ns.name}/helmreleases`, release('nowhere', { kubeConfig: { secretRef: { name: 'no-such-secret' } } }));
  const s = await untilHR(local, ns.name, 'nowhere', 'failed', (x) => cond(x, 'Ready')?.status === 'False' && cond(x, 'Ready')?.reason === 'InitFailed');
  assert.equal(cond(s, 'Ready')?.message, `could not get kubeconfig Secret '${ns.name}/no-such-secret': not found`);
  assert.deepEqual(await listReleases(await testHelm(), await clusterTarget(), ns.name), []);
});
