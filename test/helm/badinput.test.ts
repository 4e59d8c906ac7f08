import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, type TestNamespace } from '../harness.ts';
import { startGitHttpServer, TestRepo, type GitHttpServer } from '../gitserver/index.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { releaseHistory } from './helmcli/history.ts';
import { getValues } from './helmcli/getvalues.ts';
import { encodeRelease, readReleases } from '../../src/helm/release.ts';
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
  webChart,
  writeChart,
  type ChartRepoServer } from './helpers.ts';
import { startHelmFixture, type HelmFixture } from './helpers.ts';
import { closeAll } from '../cleanup.ts';

// Bad input: each case ends in a clear condition, and the release that runs
// stays as it was.

let ns: TestNamespace;
let client: KubeClient;
let repo: ChartRepoServer;
let git: GitHttpServer;
let gitRepo: TestRepo;
let gitRoot: string;
let work: string;
let f: HelmFixture | undefined;

before(async () => {
  f = await startHelmFixture('helm-bad', { watchAllNamespaces: true, chartRepo: { dir: 'web-1.0.0' } });
  ({ ns, client, repo, work } = f);
  gitRoot = await mkdtemp(join(tmpdir(), 'sluice-helm-git-'));
  git = await startGitHttpServer({ root: gitRoot });
  gitRepo = await TestRepo.create(gitRoot, 'charts', { defaultBranch: 'main' });
  await gitRepo.commitFiles(Object.fromEntries(Object.entries(webChart({ name: 'gitweb', version: '1.0.0' })).map(([k, v]) => [`charts/gitweb/${k}`, v])), 'chart');
  await gitRepo.push();
  await createObject(client, `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns.name}/gitrepositories`, {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'GitRepository',
    metadata: { name: 'charts' },
    spec: { url: git.url('charts'), interval: '1h', ref: { branch: 'main' } },
  });
});

after(async () => {
  await closeAll(
    f && (() => f!.close()),
    git && (() => git.close()),
    gitRepo && (() => gitRepo.dispose()),
    gitRoot && (() => rm(gitRoot, { recursive: true, force: true })),
  );
});

const hrs = () => `/apis/helm.toolkit.fluxcd.io/v2/namespaces/${ns.name}/helmreleases`;
const fromRepo = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'helm.toolkit.fluxcd.io/v2',
  kind: 'HelmRelease',
  metadata: { name },
  spec: { interval: '1h', timeout: '1m', chart: { spec: { chart: 'web', version: '1.0.0', sourceRef: { kind: 'HelmRepository', name: 'charts' } } }, ...spec },
});
const fromGit = (name: string, chart: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'helm.toolkit.fluxcd.io/v2',
  kind: 'HelmRelease',
  metadata: { name },
  spec: { interval: '1h', timeout: '1m', chart: { spec: { chart, sourceRef: { kind: 'GitRepository', name: 'charts' } } }, ...spec },
});

async function revisions(name: string): Promise<Array<[number, string]>> {
  return (await releaseHistory(await testHelm(), await clusterTarget(), ns.name, name)).map((e) => [e.revision, e.status]);
}

async function requestReconcile(path: string): Promise<void> {
  await client.request({
    method: 'PATCH',
    path,
    contentType: 'application/merge-patch+json',
    body: { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': new Date().toISOString() } } },
  });
}

describe('bad input', () => {
  test('a chart path that does not exist', async () => {
    await createObject(client, hrs(), fromGit('path', 'charts/gitweb', { values: { message: 'running' } }));
    await untilHR(client, ns.name, 'path', 'installed from git', readyAt(1));
    await patchSpec(client, hrPath(ns.name, 'path'), { chart: { spec: { chart: 'charts/nope' } } });
    const s = await untilHR(client, ns.name, 'path', 'source not ready', (x) => cond(x, 'Ready')?.reason === 'SourceNotReady' && /invalid chart reference/.test(cond(x, 'Ready')!.message));
    assert.match(cond(s, 'Ready')!.message, /HelmChart '.*-path' is not ready: invalid chart reference: path 'charts\/nope' not found/);
    const hc = await client.request<KubeObject>({ path: `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns.name}/helmcharts/${ns.name}-path` });
    assert.equal(cond(hc.status as never, 'Ready')?.reason, 'InvalidChartReference');
    assert.equal(cond(hc.status as never, 'Stalled')?.status, 'True');
    assert.deepEqual(await revisions('path'), [[1, 'deployed']]);
    assert.equal((await configMapData(client, ns.name, 'path-settings'))!.message, 'running');
  });

  test('inline values that are not a map: the schema takes any JSON, as Flux\'s does; the release fails and says why', async () => {
    await createObject(client, hrs(), fromRepo('listvals', { values: { message: 'running' } }));
    await untilHR(client, ns.name, 'listvals', 'installed', readyAt(1));
    await patchSpec(client, hrPath(ns.name, 'listvals'), { values: ['message', 'changed'] });
    const s = await untilHR(client, ns.name, 'listvals', 'values error', (x) => cond(x, 'Ready')?.reason === 'ValuesError');
    assert.match(cond(s, 'Ready')!.message, /^spec\.values must be a map of values, not a list/);
    assert.deepEqual(await revisions('listvals'), [[1, 'deployed']], 'the running release is left as it was');
  });

  test('a values file that is not YAML: in a ConfigMap, and as the chart\'s values.yaml in Git', async () => {
    await createObject(client, hrs(), fromRepo('vals', { values: { message: 'running' } }));
    await untilHR(client, ns.name, 'vals', 'installed', readyAt(1));
    await createObject(client, `/api/v1/namespaces/${ns.name}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'bad-values' },
      data: { 'values.yaml': 'message: [oops\n' },
    });
    await patchSpec(client, hrPath(ns.name, 'vals'), { valuesFrom: [{ kind: 'ConfigMap', name: 'bad-values' }] });
    const s = await untilHR(client, ns.name, 'vals', 'values error', (x) => cond(x, 'Ready')?.reason === 'ValuesError');
    assert.match(cond(s, 'Ready')!.message, new RegExp(`^could not resolve ConfigMap chart values reference '${ns.name}/bad-values' with key 'values\\.yaml': failed to read values data: `));
    assert.deepEqual(await revisions('vals'), [[1, 'deployed']]);

    // The chart's own values.yaml, broken in a commit with a new chart version.
    await createObject(client, hrs(), fromGit('gitvals', 'charts/gitweb'));
    await untilHR(client, ns.name, 'gitvals', 'installed from git', readyAt(1));
    await gitRepo.commitFiles({ 'charts/gitweb/Chart.yaml': 'apiVersion: v2\nname: gitweb\nversion: 1.0.1\n', 'charts/gitweb/values.yaml': 'message: [oops\n' }, 'broken values');
    await gitRepo.push();
    await requestReconcile(`/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns.name}/gitrepositories/charts`);
    const g = await untilHR(client, ns.name, 'gitvals', 'chart build failure reported', (x) => /ValuesFilesError|values file/.test(cond(x, 'Ready')?.message ?? '') && cond(x, 'Ready')?.status === 'False');
    assert.equal(cond(g, 'Ready')?.reason, 'SourceNotReady');
    assert.match(cond(g, 'Ready')!.message, /values file 'charts\/gitweb\/values\.yaml' is not valid YAML/);
    assert.deepEqual(await revisions('gitvals'), [[1, 'deployed']]);
    // Put the chart right again for the other cases.
    await gitRepo.commitFiles({ 'charts/gitweb/Chart.yaml': 'apiVersion: v2\nname: gitweb\nversion: 1.0.2\n', 'charts/gitweb/values.yaml': webChart()['values.yaml']! }, 'fixed values');
    await gitRepo.push();
    await requestReconcile(`/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns.name}/gitrepositories/charts`);
    await untilHR(client, ns.name, 'gitvals', 'upgraded to the fixed chart', readyAt(2));
  });

  test('a chart that fails to render', async () => {
    await createObject(client, hrs(), fromRepo('render', { values: { message: 'running' } }));
    await untilHR(client, ns.name, 'render', 'installed', readyAt(1));
    await repo.publish(await writeChart(join(work, 'web-1.1.0'), webChart({ version: '1.1.0', broken: true })));
    await requestReconcile(`/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns.name}/helmrepositories/charts`);
    await eventually('index has 1.1.0', async () => {
      const r = await client.request<KubeObject>({ path: `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns.name}/helmrepositories/charts` });
      return cond(r.status as never, 'Ready')?.status === 'True' && (r.status?.lastHandledReconcileAt as string | undefined) ? true : undefined;
    });
    await patchSpec(client, hrPath(ns.name, 'render'), { chart: { spec: { version: '1.1.0' } } });
    const s = await untilHR(client, ns.name, 'render', 'upgrade failed and stalled', (x) => cond(x, 'Stalled')?.status === 'True');
    assert.equal(cond(s, 'Ready')?.reason, 'UpgradeFailed');
    assert.match(cond(s, 'Ready')!.message, /Helm upgrade failed for release .*\/render with chart web@1\.1\.0: web\/templates\/broken\.yaml:6:15[\s\S]*<\.Values\.nothing\.here>[\s\S]*nil pointer evaluating interface \{\}\.here/);
    assert.equal(s.upgradeFailures, 1);
    assert.deepEqual(await revisions('render'), [[1, 'deployed']], 'nothing was released');
    assert.equal((await configMapData(client, ns.name, 'render-settings'))!.message, 'running');
  });

  test('a release stuck in pending-upgrade from an interrupted run is unlocked and recovered', async () => {
    await createObject(client, hrs(), fromRepo('stuck', { values: { message: 'v1' } }));
    await untilHR(client, ns.name, 'stuck', 'installed', readyAt(1));
    // What an interrupted `helm upgrade` leaves behind: revision 2, pending-upgrade.
    const [v1] = await readReleases(client, ns.name, 'stuck');
    const pending = { ...v1!, version: 2, info: { ...v1!.info, status: 'pending-upgrade' as const, description: 'Preparing upgrade' }, config: { message: 'half-done' } };
    await createObject(client, `/api/v1/namespaces/${ns.name}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'helm.sh/release.v1',
      metadata: { name: 'sh.helm.release.v1.stuck.v2', labels: { ...v1!.labels, status: 'pending-upgrade', version: '2' } },
      data: { release: encodeRelease(pending) },
    });
    // helm itself refuses to work on it now.
    await assert.rejects(
      (await testHelm()).run(['upgrade', 'stuck', join(work, 'web-1.0.0')], { target: await clusterTarget(), namespace: ns.name }),
      /another operation \(install\/upgrade\/rollback\) is in progress/,
    );
    await patchSpec(client, hrPath(ns.name, 'stuck'), { values: { message: 'v2' } });
    const s = await untilHR(client, ns.name, 'stuck', 'recovered', (x) => cond(x, 'Ready')?.status === 'True' && (x.history?.[0]?.version ?? 0) >= 4);
    assert.equal(cond(s, 'Released')?.reason, 'UpgradeSucceeded');
    const hist = await releaseHistory(await testHelm(), await clusterTarget(), ns.name, 'stuck');
    assert.deepEqual(hist.map((e) => e.status), ['superseded', 'failed', 'superseded', 'deployed']);
    assert.match(hist[1]!.description, /Release unlocked from stale 'pending-upgrade' state/);
    assert.deepEqual(await getValues(await testHelm(), await clusterTarget(), ns.name, 'stuck'), { message: 'v2' });
  });

  test('a HelmRelease whose release name belongs to another release', async () => {
    await createObject(client, hrs(), fromRepo('owner', { releaseName: 'shared', values: { message: 'owner' } }));
    await untilHR(client, ns.name, 'owner', 'installed', readyAt(1));
    await createObject(client, hrs(), fromRepo('intruder', { releaseName: 'shared', values: { message: 'intruder' } }));
    const s = await untilHR(client, ns.name, 'intruder', 'conflict reported', (x) => cond(x, 'Ready')?.reason === 'ReleaseOwnershipConflict');
    assert.equal(cond(s, 'Ready')!.message, `Helm release ${ns.name}/shared belongs to HelmRelease '${ns.name}/owner'; set a different releaseName`);
    assert.deepEqual(await revisions('shared'), [[1, 'deployed']]);
    assert.equal((await configMapData(client, ns.name, 'shared-settings'))!.message, 'owner');
    // Deleting the intruder leaves the owner's release alone.
    await client.request({ method: 'DELETE', path: hrPath(ns.name, 'intruder') });
    await eventually('intruder gone', async () => ((await client.getOrUndefined(hrPath(ns.name, 'intruder'))) ? undefined : true));
    assert.deepEqual(await revisions('shared'), [[1, 'deployed']]);
    assert.equal(cond(await hrStatus(client, ns.name, 'owner'), 'Ready')?.status, 'True');
  });
});
