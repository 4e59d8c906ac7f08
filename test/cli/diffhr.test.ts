import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminClient, testNamespace, type TestNamespace } from '../harness.ts';
import { closeAll } from '../cleanup.ts';
import { ResourceManager } from '../../src/apply/manager.ts';
import { allCrds } from '../../src/api/crds.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { clusterTarget, configMapData, createObject, hrPath, patchSpec, readyAt, startHelmFixture, testHelm, untilHR, webChart, writeChart } from '../helm/helpers.ts';
import { sluice } from './sluice.ts';

// `sluice diff hr NAME --stored`: the release Helm stored against the live
// objects. The release is installed by the helm CLI; the HelmRelease object
// only names it (no controller runs for it). `sluice diff hr NAME`: the
// release a reconcile would make now, rendered by the Helm SDK driver from
// the chart source's current artifact, against the live objects, with a
// controller that installed the first revision (startHelmFixture).

let ns: TestNamespace;
let client: KubeClient;
let dir: string;

before(async () => {
  ns = await testNamespace('cli-diffhr');
  client = await adminClient();
  await new ResourceManager(client).apply(allCrds() as KubeObject[]);
  dir = await mkdtemp(join(tmpdir(), 'sluice-diffhr-'));
  await writeChart(dir, webChart());
  await (await testHelm()).run(['install', 'web', dir, '-n', ns.name, '--set', 'replicas=0'], { target: await clusterTarget() });
  await client.request({
    method: 'POST',
    path: `/apis/helm.toolkit.fluxcd.io/v2/namespaces/${ns.name}/helmreleases`,
    body: { apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease', metadata: { name: 'web' }, spec: { interval: '1h', chart: { spec: { chart: 'web', sourceRef: { kind: 'HelmRepository', name: 'none' } } } } },
  });
});
after(async () => {
  await closeAll(ns && (() => ns.cleanup()), client && (() => client.close()), dir && (() => rm(dir, { recursive: true, force: true })));
});

test('diff hr --stored: 0 when the live objects are the release\'s; 1 with the drift; 2 for a missing HelmRelease', async () => {
  const none = await sluice(['diff', 'hr', 'web', '-n', ns.name, '--stored']);
  assert.equal(none.code, 0, `${none.stdout}\n${none.stderr}`);
  assert.equal(none.stderr, 'no changes\n');

  await client.request({ method: 'PATCH', path: `/api/v1/namespaces/${ns.name}/configmaps/web-settings`, contentType: 'application/merge-patch+json', body: { data: { message: 'edited by hand' } } });
  await client.request({ method: 'DELETE', path: `/api/v1/namespaces/${ns.name}/services/web` });
  const r = await sluice(['diff', 'hr', 'web', '-n', ns.name, '--stored']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, new RegExp(`^► ConfigMap/${ns.name}/web-settings drifted\\n`, 'm'));
  assert.match(r.stdout, /^-  message: edited by hand\n\+  message: hello$/m);
  assert.match(r.stdout, new RegExp(`^► Service/${ns.name}/web created$`, 'm'));

  const md = await sluice(['diff', 'hr', 'web', '-n', ns.name, '--stored', '-o', 'markdown']);
  assert.match(md.stdout, new RegExp(`^### sluice diff: HelmRelease ${ns.name}/web \\(release web v1, chart web@0.1.0\\)\\n\\n1 to create, 1 changed\\.`));

  const missing = await sluice(['diff', 'hr', 'nope', '-n', ns.name]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /HelmRelease "nope" not found in namespace/);
});

test('diff hr: the release a reconcile would make now (values from the spec and a ConfigMap) against the live objects; nothing applied, no revision stored', async () => {
  const fx = await startHelmFixture('cli-diffhr-render');
  try {
    const path = hrPath(fx.ns.name, 'web');
    await createObject(fx.client, `/apis/helm.toolkit.fluxcd.io/v2/namespaces/${fx.ns.name}/helmreleases`, {
      apiVersion: 'helm.toolkit.fluxcd.io/v2',
      kind: 'HelmRelease',
      metadata: { name: 'web' },
      spec: { interval: '1h', chart: { spec: { chart: 'web', version: '1.0.x', sourceRef: { kind: 'HelmRepository', name: 'charts' } } }, values: { replicas: 0 } },
    });
    await untilHR(fx.client, fx.ns.name, 'web', 'installed', readyAt(1), 120_000);
    const same = await sluice(['diff', 'hr', 'web', '-n', fx.ns.name]);
    assert.equal(same.code, 0, `${same.stdout}\n${same.stderr}`);
    assert.equal(same.stderr, 'no changes\n');

    // Suspended, so that only the diff renders the new values: a message from a ConfigMap (valuesFrom) and a port.
    await patchSpec(fx.client, path, { suspend: true });
    await createObject(fx.client, `/api/v1/namespaces/${fx.ns.name}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-values' }, data: { 'values.yaml': 'message: from a ConfigMap\n' } });
    await patchSpec(fx.client, path, { valuesFrom: [{ kind: 'ConfigMap', name: 'web-values' }], values: { replicas: 0, service: { port: 8080 } } });
    const r = await sluice(['diff', 'hr', 'web', '-n', fx.ns.name]);
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^► ConfigMap/${fx.ns.name}/web-settings drifted\\n`, 'm'));
    assert.match(r.stdout, /^-  message: hello\n\+  message: from a ConfigMap$/m);
    assert.match(r.stdout, new RegExp(`^► Service/${fx.ns.name}/web drifted\\n`, 'm'));
    assert.match(r.stdout, /^- {4}- port: 80\n\+ {4}- port: 8080$/m);
    assert.doesNotMatch(r.stdout, /Deployment/, 'the Deployment renders as it runs');
    // Nothing applied and no revision stored: the live ConfigMap and Helm's history are as they were.
    assert.equal((await configMapData(fx.client, fx.ns.name, 'web-settings'))!.message, 'hello');
    const secrets = await fx.client.request<{ items: KubeObject[] }>({ path: `/api/v1/namespaces/${fx.ns.name}/secrets`, query: { labelSelector: 'owner=helm,name=web' } });
    assert.deepEqual(secrets.items.map((x) => x.metadata.name), ['sh.helm.release.v1.web.v1']);
    // --stored compares the stored release: no drift there.
    const stored = await sluice(['diff', 'hr', 'web', '-n', fx.ns.name, '--stored']);
    assert.equal(stored.code, 0, `${stored.stdout}\n${stored.stderr}`);

    const md = await sluice(['diff', 'hr', 'web', '-n', fx.ns.name, '-o', 'markdown']);
    assert.match(md.stdout, new RegExp(`^### sluice diff: HelmRelease ${fx.ns.name}/web \\(chart web@1\\.0\\.0 from HelmChart/${fx.ns.name}/${fx.ns.name}-web at 1\\.0\\.0, against release web v1\\)\\n\\n2 changed\\.`));
  } finally {
    await fx.close();
  }
});
