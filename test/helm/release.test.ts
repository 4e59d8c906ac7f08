import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { adminClient, eventually, type TestNamespace } from '../harness.ts';
import type { Operator } from '../../src/controllers/operator.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { releaseHistory } from './helmcli/history.ts';
import { getValues } from './helmcli/getvalues.ts';
import { listReleases } from './helmcli/status.ts';
import {
  clusterTarget,
  cond,
  configMapData,
  createObject,
  eventsFor,
  hrPath,
  hrStatus,
  patchSpec,
  readyAt,
  
  testHelm,
  untilHR,
  webChart,
  writeChart,
  type ChartRepoServer } from './helpers.ts';
import { startHelmFixture, type HelmFixture } from './helpers.ts';

// HelmRepository → HelmChart → HelmRelease against the local control plane,
// with a chart repository on loopback and real Helm releases.

let ns: TestNamespace;
let client: KubeClient;
let operator: Operator;
let repo: ChartRepoServer;
let work: string;
let f: HelmFixture | undefined;
/** Requests the operator sent, as `METHOD path[?labelSelector=…]`. */
const sent: string[] = [];

const srcPath = (plural: string, name = '') => `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns.name}/${plural}${name ? `/${name}` : ''}`;

before(async () => {
  // The operator's own client, so that a test can see what it sends.
  const operatorClient = await adminClient();
  const send = operatorClient.request.bind(operatorClient);
  operatorClient.request = (async (o: Parameters<KubeClient['request']>[0]) => {
    const selector = o.query?.labelSelector ? `?labelSelector=${o.query.labelSelector}` : '';
    sent.push(`${o.method ?? 'GET'} ${o.path}${selector}${o.query?.dryRun ? ' dry-run' : ''}`);
    return send(o);
  }) as KubeClient['request'];
  f = await startHelmFixture('helm-release', {
    watchAllNamespaces: true,
    operatorClient,
    chartRepo: {
      auth: { username: 'reader', password: 'not-a-secret' },
      dir: 'web-0.1.0',
      chart: { version: '0.1.0', hook: true, testHook: true },
    },
  });
  ({ ns, client, operator, repo, work } = f);
});

after(async () => {
  await f?.close();
});

const release = (name: string, spec: Record<string, unknown> = {}, apiVersion = 'helm.toolkit.fluxcd.io/v2') => ({
  apiVersion,
  kind: 'HelmRelease',
  metadata: { name },
  spec: {
    interval: '1h',
    timeout: '2m',
    chart: { spec: { chart: 'web', version: '0.1.x', sourceRef: { kind: 'HelmRepository', name: 'charts' } } },
    ...spec,
  },
});

async function requestReconcile(path: string): Promise<void> {
  await client.request({
    method: 'PATCH',
    path,
    contentType: 'application/merge-patch+json',
    body: { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': new Date().toISOString() } } },
  });
}

describe('HelmRelease from a HelmRepository', () => {
  test('the repository index is stored as an artifact', async () => {
    const r = await eventually('HelmRepository Ready', async () => {
      const o = await client.request<KubeObject>({ path: srcPath('helmrepositories', 'charts') });
      return cond(o.status as never, 'Ready')?.status === 'True' ? o : undefined;
    });
    const a = r.status!.artifact as { revision: string; url: string };
    assert.match(a.revision, /^sha256:[0-9a-f]{64}$/);
    assert.equal(cond(r.status as never, 'ArtifactInStorage')?.status, 'True');
    assert.ok(repo.requests.some((q) => q.path === '/index.yaml' && q.auth?.startsWith('Basic ')), 'the index was fetched with the credentials');
  });

  test('installs a real Helm release and reports it as Flux does', async () => {
    await createObject(client, hrPath(ns.name, 'web').replace(/\/web$/, ''), release('web', { values: { message: 'first' }, test: { enable: true } }));
    const s = await untilHR(client, ns.name, 'web', 'Ready after install and test', readyAt(1));
    const ready = cond(s, 'Ready')!;
    assert.equal(ready.reason, 'TestSucceeded');
    assert.match(ready.message, new RegExp(`^Helm test succeeded for release ${ns.name}/web\\.v1 with chart web@0\\.1\\.0: 1 test hooks completed successfully$`));
    assert.equal(cond(s, 'Released')?.reason, 'InstallSucceeded');
    assert.equal(cond(s, 'Released')?.message, `Helm install succeeded for release ${ns.name}/web.v1 with chart web@0.1.0`);
    assert.equal(cond(s, 'TestSuccess')?.status, 'True');
    assert.equal(s.helmChart, `${ns.name}/${ns.name}-web`);
    assert.equal(s.storageNamespace, ns.name);
    assert.equal(s.lastAttemptedRevision, '0.1.0');
    assert.equal(s.lastAttemptedReleaseAction, 'install');
    assert.match(s.lastAttemptedConfigDigest!, /^sha256:[0-9a-f]{64}$/);
    assert.match(s.lastAttemptedValuesChecksum!, /^[0-9a-f]{40}$/);
    const h = s.history![0]!;
    assert.deepEqual([h.name, h.namespace, h.version, h.status, h.chartName, h.chartVersion], ['web', ns.name, 1, 'deployed', 'web', '0.1.0']);
    assert.equal(h.configDigest, s.lastAttemptedConfigDigest);
    assert.equal(h.testHooks?.['web-test']?.phase, 'Succeeded');
    assert.deepEqual(s.inventory!.entries.map((e) => e.id).sort(), [`${ns.name}_web-settings__ConfigMap`, `${ns.name}_web__Service`, `${ns.name}_web_apps_Deployment`]);

    // The HelmChart made from the template, as Flux names it.
    const hc = await client.request<KubeObject>({ path: srcPath('helmcharts', `${ns.name}-web`) });
    assert.equal((hc.status!.artifact as { revision: string }).revision, '0.1.0');
    assert.equal(cond(hc.status as never, 'Ready')?.reason, 'ChartPullSucceeded');

    // helm itself sees exactly this release.
    const cli = await testHelm();
    const target = await clusterTarget();
    const list = await listReleases(cli, target, ns.name);
    assert.deepEqual(list.map((r) => [r.name, r.revision, r.status, r.chart]), [['web', '1', 'deployed', 'web-0.1.0']]);
    const hist = await releaseHistory(cli, target, ns.name, 'web');
    assert.deepEqual(hist.map((e) => [e.revision, e.status]), [[1, 'deployed']]);
    assert.deepEqual(await getValues(cli, target, ns.name, 'web'), { message: 'first' });

    // The objects, with Flux's origin labels; the pre-install hook ran.
    const cm = await client.request<KubeObject & { data: Record<string, string> }>({ path: `/api/v1/namespaces/${ns.name}/configmaps/web-settings` });
    assert.equal(cm.data.message, 'first');
    assert.equal(cm.metadata.labels?.['helm.toolkit.fluxcd.io/name'], 'web');
    assert.equal(cm.metadata.labels?.['helm.toolkit.fluxcd.io/namespace'], ns.name);
    const job = await client.request<KubeObject>({ path: `/apis/batch/v1/namespaces/${ns.name}/jobs/web-setup` });
    assert.ok((job.status as { succeeded?: number }).succeeded, 'the hook Job completed');
    const events = await eventsFor(client, ns.name, 'web');
    assert.ok(events.some((e) => e.reason === 'InstallSucceeded' && e.type === 'Normal'));
    assert.ok(events.some((e) => e.reason === 'TestSucceeded'));
  });

  test('a change of values upgrades the release', async () => {
    await patchSpec(client, hrPath(ns.name, 'web'), { values: { message: 'second', replicas: 2 } });
    const s = await untilHR(client, ns.name, 'web', 'upgraded to v2', readyAt(2));
    assert.equal(cond(s, 'Released')?.reason, 'UpgradeSucceeded');
    assert.equal(s.history![0]!.status, 'deployed');
    assert.equal(s.history![1]!.status, 'superseded');
    const cli = await testHelm();
    const target = await clusterTarget();
    assert.deepEqual(await getValues(cli, target, ns.name, 'web'), { message: 'second', replicas: 2 });
    assert.deepEqual((await releaseHistory(cli, target, ns.name, 'web')).map((e) => [e.revision, e.status]), [
      [1, 'superseded'],
      [2, 'deployed'],
    ]);
    assert.equal((await configMapData(client, ns.name, 'web-settings'))!.message, 'second');
  });

  test('a reconcile of an unchanged release reads Helm storage once and writes nothing', async () => {
    await patchSpec(client, hrPath(ns.name, 'web'), { interval: '1s' });
    await untilHR(client, ns.name, 'web', 'the new interval observed', readyAt(2));
    await new Promise((r) => setTimeout(r, 1_500));

    let reconciles = 0;
    const hr = operator.helmReleases;
    const reconcile = hr.reconcile.bind(hr);
    hr.reconcile = async (key, signal) => {
      if (key === `${ns.name}/web`) reconciles++;
      return reconcile(key, signal);
    };
    const rv = (await client.request<KubeObject>({ path: hrPath(ns.name, 'web') })).metadata.resourceVersion;
    sent.length = 0;
    await new Promise((r) => setTimeout(r, 7_000));
    hr.reconcile = reconcile;
    // The operator watches every namespace: what it sends about objects of other tests is theirs.
    const window = sent.splice(0).filter((r) => r.includes(`/namespaces/${ns.name}/`));
    const rvAfter = (await client.request<KubeObject>({ path: hrPath(ns.name, 'web') })).metadata.resourceVersion;
    await patchSpec(client, hrPath(ns.name, 'web'), { interval: '1h' });

    assert.ok(reconciles >= 3, `the HelmRelease was reconciled again (${reconciles} times)`);
    assert.equal(rvAfter, rv, 'no status write');
    const storageReads = window.filter((r) => r === `GET /api/v1/namespaces/${ns.name}/secrets?labelSelector=owner=helm,name=web`);
    // The window may cut one reconcile at either end; two reads each would be at least 2 × reconciles - 1.
    assert.ok(storageReads.length >= reconciles - 1 && storageReads.length <= reconciles + 1, `one storage read per reconcile: ${storageReads.length} for ${reconciles}`);
    assert.deepEqual(window.filter((r) => !r.startsWith('GET ')), [], 'no writes, events or dry runs');
  });

  test('valuesFrom: ConfigMaps and Secrets in Flux\'s order, and a watched ConfigMap triggers an upgrade', async () => {
    await createObject(client, `/api/v1/namespaces/${ns.name}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'web-values', labels: { 'reconcile.fluxcd.io/watch': 'Enabled' } },
      data: { 'values.yaml': 'message: from-configmap\nreplicas: 3\nservice:\n  port: 8080\n' },
    });
    await createObject(client, `/api/v1/namespaces/${ns.name}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'web-secret' },
      stringData: { port: '9090' },
    });
    await patchSpec(client, hrPath(ns.name, 'web'), {
      values: { replicas: 1, message: null },
      valuesFrom: [
        { kind: 'ConfigMap', name: 'web-values' },
        { kind: 'Secret', name: 'web-secret', valuesKey: 'port', targetPath: 'service.port' },
        { kind: 'ConfigMap', name: 'absent', optional: true },
      ],
    });
    await untilHR(client, ns.name, 'web', 'upgraded to v3', readyAt(3));
    const cli = await testHelm();
    const target = await clusterTarget();
    // Inline values win over the references; targetPath puts one value in place.
    assert.deepEqual(await getValues(cli, target, ns.name, 'web'), { message: 'from-configmap', replicas: 1, service: { port: 9090 } });

    await client.request({
      method: 'PATCH',
      path: `/api/v1/namespaces/${ns.name}/configmaps/web-values`,
      contentType: 'application/merge-patch+json',
      body: { data: { 'values.yaml': 'message: changed-in-configmap\n' } },
    });
    await untilHR(client, ns.name, 'web', 'upgraded to v4 by the watched ConfigMap', readyAt(4));
    assert.equal((await configMapData(client, ns.name, 'web-settings'))!.message, 'changed-in-configmap');
  });

  test('a new chart version in the range is released', async () => {
    await repo.publish(await writeChart(join(work, 'web-0.1.1'), webChart({ version: '0.1.1', appVersion: '1.1.0', hook: true, testHook: true })));
    await repo.publish(await writeChart(join(work, 'web-0.2.0'), webChart({ version: '0.2.0' })));
    await requestReconcile(srcPath('helmrepositories', 'charts'));
    const s = await untilHR(client, ns.name, 'web', 'upgraded to chart 0.1.1', (x) => readyAt(5)(x) && x.history?.[0]?.chartVersion === '0.1.1');
    assert.equal(s.lastAttemptedRevision, '0.1.1', '0.2.0 is outside 0.1.x');
    const hist = await releaseHistory(await testHelm(), await clusterTarget(), ns.name, 'web');
    assert.equal(hist[hist.length - 1]!.chart, 'web-0.1.1');
    assert.equal(hist[hist.length - 1]!.app_version, '1.1.0');
  });

  test('v2beta1 and v2beta2 objects, as older tools write them, are accepted and released', async () => {
    const base = `/apis/helm.toolkit.fluxcd.io/v2beta1/namespaces/${ns.name}/helmreleases`;
    await createObject(client, base, release('old', { releaseName: 'old-web', install: { skipCRDs: true }, values: { message: 'beta1' } }, 'helm.toolkit.fluxcd.io/v2beta1'));
    await createObject(
      client,
      base.replace('v2beta1', 'v2beta2'),
      release('older', { releaseName: 'older-web', values: { message: 'beta2' }, upgrade: { remediation: { retries: 1 } } }, 'helm.toolkit.fluxcd.io/v2beta2'),
    );
    await untilHR(client, ns.name, 'old', 'v2beta1 installed', readyAt(1));
    await untilHR(client, ns.name, 'older', 'v2beta2 installed', readyAt(1));
    const beta = await client.request<KubeObject>({ path: hrPath(ns.name, 'old', 'v2beta1') });
    assert.equal(beta.apiVersion, 'helm.toolkit.fluxcd.io/v2beta1');
    assert.equal(cond(beta.status as never, 'Ready')?.status, 'True');
    assert.equal((await configMapData(client, ns.name, 'old-web-settings'))!.message, 'beta1');
    assert.equal((await configMapData(client, ns.name, 'older-web-settings'))!.message, 'beta2');
    // kubectl's columns: Age, Ready, Status (then, at priority 1, the ones `sluice get` reads: src/cli/gettable.test.ts;
    // only the first four here, as the shared cluster's CRDs may be another branch's).
    const table = await client.request<{ columnDefinitions: Array<{ name: string }>; rows: Array<{ cells: unknown[] }> }>({
      path: `/apis/helm.toolkit.fluxcd.io/v2beta1/namespaces/${ns.name}/helmreleases/old`,
      accept: 'application/json;as=Table;g=meta.k8s.io;v=v1',
    });
    assert.deepEqual(table.columnDefinitions.map((c) => c.name).slice(0, 4), ['Name', 'Age', 'Ready', 'Status']);
    assert.equal(table.rows[0]!.cells[2], 'True');
  });

  test('an OCI HelmRepository is Ready without an index', async () => {
    await createObject(client, srcPath('helmrepositories'), {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'HelmRepository',
      metadata: { name: 'oci' },
      spec: { type: 'oci', url: 'oci://registry.example.invalid/charts', interval: '1h' },
    });
    const o = await eventually('OCI HelmRepository Ready', async () => {
      const r = await client.request<KubeObject>({ path: srcPath('helmrepositories', 'oci') });
      return cond(r.status as never, 'Ready')?.status === 'True' ? r : undefined;
    });
    assert.equal(o.status!.artifact, undefined);
  });

  test('deleting a HelmRelease uninstalls its release and removes its HelmChart', async () => {
    await client.request({ method: 'DELETE', path: hrPath(ns.name, 'older') });
    await eventually('release uninstalled', async () => {
      const list = await listReleases(await testHelm(), await clusterTarget(), ns.name);
      return list.some((r) => r.name === 'older-web') ? undefined : true;
    });
    await eventually('HelmChart removed', async () => ((await client.getOrUndefined(srcPath('helmcharts', `${ns.name}-older`))) ? undefined : true));
    assert.equal(await configMapData(client, ns.name, 'older-web-settings'), undefined);
    const s = await hrStatus(client, ns.name, 'web');
    assert.equal(cond(s, 'Ready')?.status, 'True', 'other releases are untouched');
  });
});
