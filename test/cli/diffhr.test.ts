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
import { clusterTarget, testHelm, webChart, writeChart } from '../helm/helpers.ts';
import { sluice } from './sluice.ts';

// `sluice diff hr NAME`: the release Helm stored against the live objects.
// The release is installed by the helm CLI; the HelmRelease object only
// names it (no controller runs here).

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

test('diff hr: 0 when the live objects are the release\'s; 1 with the drift; 2 for a missing HelmRelease', async () => {
  const none = await sluice(['diff', 'hr', 'web', '-n', ns.name]);
  assert.equal(none.code, 0, `${none.stdout}\n${none.stderr}`);
  assert.equal(none.stderr, 'no changes\n');

  await client.request({ method: 'PATCH', path: `/api/v1/namespaces/${ns.name}/configmaps/web-settings`, contentType: 'application/merge-patch+json', body: { data: { message: 'edited by hand' } } });
  await client.request({ method: 'DELETE', path: `/api/v1/namespaces/${ns.name}/services/web` });
  const r = await sluice(['diff', 'hr', 'web', '-n', ns.name]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, new RegExp(`^► ConfigMap/${ns.name}/web-settings drifted\\n`, 'm'));
  assert.match(r.stdout, /^-  message: edited by hand\n\+  message: hello$/m);
  assert.match(r.stdout, new RegExp(`^► Service/${ns.name}/web created$`, 'm'));

  const md = await sluice(['diff', 'hr', 'web', '-n', ns.name, '-o', 'markdown']);
  assert.match(md.stdout, new RegExp(`^### sluice diff: HelmRelease ${ns.name}/web \\(release web v1, chart web@0.1.0\\)\\n\\n1 to create, 1 changed\\.`));

  const missing = await sluice(['diff', 'hr', 'nope', '-n', ns.name]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /HelmRelease "nope" not found in namespace/);
});
