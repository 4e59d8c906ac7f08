import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { type TestNamespace } from '../harness.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import { releaseHistory } from './helmcli/history.ts';
import { listReleases } from './helmcli/status.ts';
import {
  clusterTarget,
  cond,
  configMapData,
  createObject,
  hrPath,
  hrStatus,
  patchSpec,
  readyAt,
  testHelm,
  untilHR,
  startHelmFixture,
  type HelmFixture,
} from './helpers.ts';

// spec.dependsOn: a HelmRelease is not released until the HelmReleases it
// depends on are Ready at their latest generation, then it is at once.

let f: HelmFixture;
let ns: TestNamespace;
let client: KubeClient;

before(async () => {
  f = await startHelmFixture('hrx-dependson');
  ({ ns, client } = f);
});

after(async () => {
  await f?.close();
});

const hrs = () => `/apis/helm.toolkit.fluxcd.io/v2/namespaces/${ns.name}/helmreleases`;
const release = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'helm.toolkit.fluxcd.io/v2',
  kind: 'HelmRelease',
  metadata: { name },
  spec: { interval: '1h', timeout: '1m', chart: { spec: { chart: 'web', sourceRef: { kind: 'HelmRepository', name: 'charts' } } }, ...spec },
});
// A Service port the API server refuses: the install fails.
const badPort = { service: { port: 70000 } };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function releaseNames(): Promise<string[]> {
  return (await listReleases(await testHelm(), await clusterTarget(), ns.name)).map((r) => r.name).sort();
}

test('a release waits while its dependency fails, and is installed once the dependency is Ready', async () => {
  await createObject(client, hrs(), release('backend', { values: badPort }));
  await createObject(client, hrs(), release('frontend', { dependsOn: [{ name: 'backend' }], values: { message: 'front' } }));
  const failed = await untilHR(client, ns.name, 'backend', 'install failed', (x) => cond(x, 'Ready')?.reason === 'InstallFailed' || cond(x, 'Stalled')?.status === 'True');
  assert.equal(cond(failed, 'Ready')?.status, 'False');

  const waiting = await untilHR(client, ns.name, 'frontend', 'waiting for its dependency', (x) => cond(x, 'Ready')?.reason === 'DependencyNotReady');
  assert.equal(cond(waiting, 'Ready')?.status, 'False');
  assert.equal(cond(waiting, 'Ready')?.message, `dependency '${ns.name}/backend' is not ready`);
  // The dependency check is retried every second in the tests: several looks, still nothing.
  await sleep(4_000);
  const still = await hrStatus(client, ns.name, 'frontend');
  assert.equal(cond(still, 'Ready')?.reason, 'DependencyNotReady');
  assert.equal(still.history, undefined, 'no release was made for the dependent');
  assert.equal(still.helmChart, undefined, 'nothing of the dependent is prepared before its dependencies are Ready');
  assert.deepEqual(await releaseNames(), ['backend'], 'helm list has no frontend');
  assert.equal(await configMapData(client, ns.name, 'frontend-settings'), undefined);

  // The fix: backend becomes Ready, which releases frontend without waiting for its interval.
  await patchSpec(client, hrPath(ns.name, 'backend'), { values: { service: { port: 8080 } } });
  const backend = await untilHR(client, ns.name, 'backend', 'Ready after the fix', (x) => cond(x, 'Ready')?.status === 'True' && x.observedGeneration === (x as { generation?: number }).generation);
  const frontend = await untilHR(client, ns.name, 'frontend', 'installed', readyAt(1));
  assert.equal(cond(frontend, 'Released')?.reason, 'InstallSucceeded');
  assert.deepEqual(await releaseNames(), ['backend', 'frontend']);
  assert.equal((await configMapData(client, ns.name, 'frontend-settings'))?.message, 'front');

  // Ordering: frontend's only revision was made after backend's successful one.
  const cli = await testHelm();
  const target = await clusterTarget();
  const backendDeployed = (await releaseHistory(cli, target, ns.name, 'backend')).find((h) => h.status === 'deployed')!;
  const [frontendRev] = await releaseHistory(cli, target, ns.name, 'frontend');
  assert.ok(backendDeployed, `backend has a deployed revision (history ${JSON.stringify(backend.history)})`);
  assert.ok(Date.parse(frontendRev!.updated) >= Date.parse(backendDeployed.updated), 'frontend was installed after backend succeeded');
});

test('a dependency created later releases the release that waits for it', async () => {
  await createObject(client, hrs(), release('late', { dependsOn: [{ name: 'early', namespace: ns.name }] }));
  const waiting = await untilHR(client, ns.name, 'late', 'waiting for a missing dependency', (x) => cond(x, 'Ready')?.reason === 'DependencyNotReady');
  assert.equal(cond(waiting, 'Ready')?.message, `dependency '${ns.name}/early' is not ready`);
  await sleep(3_000);
  assert.ok(!(await releaseNames()).includes('late'), 'not installed while the dependency does not exist');

  await createObject(client, hrs(), release('early', {}));
  await untilHR(client, ns.name, 'early', 'installed', readyAt(1));
  await untilHR(client, ns.name, 'late', 'installed after its dependency', readyAt(1));
  const names = await releaseNames();
  assert.ok(names.includes('early') && names.includes('late'), `both released: ${names.join(', ')}`);
});

test('a dependency whose new generation is not yet Ready holds the dependent back', async () => {
  await createObject(client, hrs(), release('base', { values: { message: 'v1' } }));
  await untilHR(client, ns.name, 'base', 'installed', readyAt(1));
  // The dependency's new generation fails: Ready for the old generation does not count.
  await patchSpec(client, hrPath(ns.name, 'base'), { values: { message: 'v2', ...badPort } });
  await untilHR(client, ns.name, 'base', 'upgrade failed', (x) => x.observedGeneration === (x as { generation?: number }).generation && cond(x, 'Ready')?.status === 'False');
  await createObject(client, hrs(), release('top', { dependsOn: [{ name: 'base' }] }));
  await untilHR(client, ns.name, 'top', 'waiting', (x) => cond(x, 'Ready')?.reason === 'DependencyNotReady');
  await sleep(3_000);
  assert.ok(!(await releaseNames()).includes('top'));

  await patchSpec(client, hrPath(ns.name, 'base'), { values: { message: 'v3', service: null } });
  await untilHR(client, ns.name, 'base', 'Ready at the new generation', (x) => cond(x, 'Ready')?.status === 'True' && x.observedGeneration === (x as { generation?: number }).generation);
  await untilHR(client, ns.name, 'top', 'installed', readyAt(1));
  assert.equal((await configMapData(client, ns.name, 'base-settings'))?.message, 'v3');
});
