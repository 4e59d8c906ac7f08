import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { list } from 'tar';
import { eventually, type TestNamespace } from '../harness.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { listReleases } from './helmcli/status.ts';
import {
  clusterTarget,
  cond,
  configMapData,
  createObject,
  eventsFor,
  hrPath,
  patchSpec,
  readyAt,
  testHelm,
  untilHR,
  webChart,
  writeChart,
  type Cond } from './helpers.ts';
import { startOciRegistry, type OciRegistryServer } from './ociregistry.ts';
import { startHelmFixture, type HelmFixture } from './helpers.ts';
import { closeAll, settle } from '../cleanup.ts';

// HelmRepository (type oci) → HelmChart → HelmRelease against the local
// control plane, with real OCI registries on loopback (one open, one behind
// basic auth), charts pushed by the real `helm push` and pulled by `helm pull`.

const PASSWORD = 'oci-reader-pw-7f3a';
const WRONG_PASSWORD = 'not-the-pw-91c2';

let ns: TestNamespace;
let client: KubeClient;
let open: OciRegistryServer;
let locked: OciRegistryServer;
let work: string;
let f: HelmFixture | undefined;
const digests: Record<string, string> = {};

const srcPath = (plural: string, name = '') => `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns.name}/${plural}${name ? `/${name}` : ''}`;

type ChartStatus = { conditions?: Cond[]; artifact?: { revision: string; digest: string; url: string; size?: number }; observedChartName?: string; observedGeneration?: number };

async function chartStatus(name: string): Promise<ChartStatus & { generation?: number }> {
  const o = await client.request<KubeObject>({ path: srcPath('helmcharts', name) });
  return { ...(o.status as ChartStatus), generation: o.metadata.generation };
}

async function untilChart(name: string, what: string, ok: (s: ChartStatus) => boolean, timeoutMs = 60_000): Promise<ChartStatus> {
  return eventually(
    `HelmChart ${name}: ${what}`,
    async () => {
      const s = await chartStatus(name);
      // A failure that is retried leaves status.observedGeneration behind, as in Flux; the Ready condition tells which generation it is about.
      const readyGen = (cond(s, 'Ready') as { observedGeneration?: number } | undefined)?.observedGeneration;
      return readyGen === s.generation && ok(s) ? s : undefined;
    },
    timeoutMs,
  );
}

const ready = (s: ChartStatus) => cond(s, 'Ready')?.status === 'True';
const failedWith = (reason: string) => (s: ChartStatus) => cond(s, 'Ready')?.status === 'False' && cond(s, 'Ready')?.reason === reason;

async function helmRepository(name: string, url: string, extra: Record<string, unknown> = {}): Promise<void> {
  await createObject(client, srcPath('helmrepositories'), {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'HelmRepository',
    metadata: { name },
    spec: { type: 'oci', url, interval: '1h', insecure: true, ...extra },
  });
}

async function helmChart(name: string, repo: string, version?: string): Promise<void> {
  await createObject(client, srcPath('helmcharts'), {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'HelmChart',
    metadata: { name },
    spec: { chart: 'web', sourceRef: { kind: 'HelmRepository', name: repo }, interval: '1h', ...(version ? { version } : {}) },
  });
}

async function secret(name: string, data: Record<string, string>): Promise<void> {
  await createObject(client, `/api/v1/namespaces/${ns.name}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: data });
}

async function requestReconcile(path: string): Promise<void> {
  await client.request({
    method: 'PATCH',
    path,
    contentType: 'application/merge-patch+json',
    body: { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': new Date().toISOString() } } },
  });
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** The artifact as the storage server serves it: its sha256. */
async function servedDigest(url: string): Promise<string> {
  const res = await fetch(url);
  assert.equal(res.status, 200, `GET ${url}`);
  return `sha256:${createHash('sha256').update(Buffer.from(await res.arrayBuffer())).digest('hex')}`;
}

before(async () => {
  f = await startHelmFixture('oci-helm', { watchAllNamespaces: true, chartRepo: false });
  ({ ns, client, work } = f);
  await settle([
    startOciRegistry().then((r) => (open = r)),
    startOciRegistry({ username: 'reader', password: PASSWORD }).then((r) => (locked = r)),
  ]);
  for (const v of ['0.1.0', '0.2.0', '1.0.0-rc.1']) {
    digests[`open/${v}`] = await open.push(await writeChart(join(work, `open-${v}`), webChart({ version: v })));
  }
  digests['locked/0.3.0'] = await locked.push(await writeChart(join(work, 'locked-0.3.0'), webChart({ version: '0.3.0' })));
  await secret('reg-auth', { username: 'reader', password: PASSWORD });
  await secret('reg-wrong', { username: 'reader', password: WRONG_PASSWORD });
  await helmRepository('open', `oci://${open.host}/charts`);
  await helmRepository('locked', `oci://${locked.host}/charts`, { secretRef: { name: 'reg-auth' } });
  await helmRepository('locked-wrong', `oci://${locked.host}/charts`, { secretRef: { name: 'reg-wrong' } });
  await helmRepository('locked-anon', `oci://${locked.host}/charts`);
  await helmRepository('gone', `oci://127.0.0.1:${await closedPort()}/charts`);
});

after(async () => {
  await closeAll(
    f && (() => f!.close()),
    open && (() => open.close()),
    locked && (() => locked.close()),
  );
});

describe('HelmChart from an OCI HelmRepository', () => {
  test('no version: the newest stable tag, stored like an HTTP chart (revision = version, digest of the package)', async () => {
    await helmChart('latest', 'open');
    const s = await untilChart('latest', 'Ready', ready);
    assert.equal(cond(s, 'Ready')?.reason, 'ChartPullSucceeded');
    assert.equal(cond(s, 'Ready')?.message, "pulled 'web' chart with version '0.2.0'");
    assert.equal(cond(s, 'ArtifactInStorage')?.status, 'True');
    assert.equal(s.artifact?.revision, '0.2.0');
    assert.equal(s.artifact?.digest, digests['open/0.2.0'], 'the artifact is the pushed package, byte for byte');
    assert.equal(await servedDigest(s.artifact!.url), s.artifact!.digest);
    assert.equal(s.observedChartName, 'web');
  });

  test('a range picks the highest matching tag, and a newly pushed tag is picked up', async () => {
    await helmChart('range', 'open', '0.1.x');
    let s = await untilChart('range', 'Ready at 0.1.0', (x) => ready(x) && x.artifact?.revision === '0.1.0');
    assert.equal(s.artifact?.digest, digests['open/0.1.0']);
    const pushed = await open.push(await writeChart(join(work, 'open-0.1.1'), webChart({ version: '0.1.1' })));
    await requestReconcile(srcPath('helmcharts', 'range'));
    s = await untilChart('range', 'Ready at 0.1.1', (x) => ready(x) && x.artifact?.revision === '0.1.1');
    assert.equal(s.artifact?.digest, pushed);
    assert.equal(cond(s, 'Ready')?.message, "pulled 'web' chart with version '0.1.1'");
  });

  test('a pre-release only when the range asks for one', async () => {
    await helmChart('pre', 'open', '>=1.0.0-0');
    const s = await untilChart('pre', 'Ready', ready);
    assert.equal(s.artifact?.revision, '1.0.0-rc.1');
  });

  test('credentials from secretRef reach a registry behind basic auth', async () => {
    await helmChart('private', 'locked', '0.3.0');
    const s = await untilChart('private', 'Ready', ready);
    assert.equal(s.artifact?.revision, '0.3.0');
    assert.equal(s.artifact?.digest, digests['locked/0.3.0']);
  });

  test('wrong credentials: AuthenticationFailed, a clear message, the password nowhere', async () => {
    await helmChart('wrong-creds', 'locked-wrong');
    const s = await untilChart('wrong-creds', 'AuthenticationFailed', failedWith('AuthenticationFailed'));
    const msg = cond(s, 'Ready')!.message;
    assert.match(msg, /^failed to login to OCI registry: authentication to 127\.0\.0\.1:\d+ failed: 401 Unauthorized: the registry rejected the credentials/);
    assert.equal(cond(s, 'FetchFailed')?.reason, 'AuthenticationFailed');
    assert.equal(s.artifact, undefined);
    const events = await eventsFor(client, ns.name, 'wrong-creds');
    assert.ok(events.some((e) => e.type === 'Warning' && e.reason === 'AuthenticationFailed'));
    const everything = JSON.stringify({ s, events });
    for (const secretText of [WRONG_PASSWORD, PASSWORD, Buffer.from(`reader:${WRONG_PASSWORD}`).toString('base64')]) {
      assert.ok(!everything.includes(secretText), 'no secret in status or events');
    }
  });

  test('no credentials for a registry that needs them: AuthenticationFailed says so', async () => {
    await helmChart('anon', 'locked-anon', '0.3.0');
    const s = await untilChart('anon', 'AuthenticationFailed', failedWith('AuthenticationFailed'));
    assert.match(cond(s, 'Ready')!.message, /requires authentication \(401 Unauthorized\) and no credentials are set/);
  });

  test('a version that does not exist: ChartPullError naming the reference', async () => {
    await helmChart('missing', 'open', '9.9.9');
    const s = await untilChart('missing', 'ChartPullError', failedWith('ChartPullError'));
    assert.equal(cond(s, 'Ready')!.message, `chart pull error: failed to get chart version for remote reference: 'oci://${open.host}/charts/web:9.9.9' not found`);
    assert.equal(cond(s, 'FetchFailed')?.status, 'True');
    assert.equal(cond(s, 'Reconciling')?.reason, 'ProgressingWithRetry');

    await helmChart('no-match', 'open', '>=5.0.0');
    const t = await untilChart('no-match', 'ChartPullError', failedWith('ChartPullError'));
    assert.match(cond(t, 'Ready')!.message, /no 'web' chart with version matching '>=5\.0\.0' in 'oci:\/\/127\.0\.0\.1:\d+\/charts\/web' \(tags: .*0\.2\.0/);
  });

  test('a chart that is not in the registry: ChartPullError', async () => {
    await createObject(client, srcPath('helmcharts'), {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'HelmChart',
      metadata: { name: 'nochart' },
      spec: { chart: 'nothing-here', sourceRef: { kind: 'HelmRepository', name: 'open' }, interval: '1h' },
    });
    const s = await untilChart('nochart', 'ChartPullError', failedWith('ChartPullError'));
    assert.match(cond(s, 'Ready')!.message, /could not get tags for 'nothing-here': repository 'charts\/nothing-here' not found/);
  });

  test('the last good artifact stays when the wanted version goes missing', async () => {
    const before = await untilChart('range', 'Ready at 0.1.1', (x) => ready(x) && x.artifact?.revision === '0.1.1');
    await patchSpec(client, srcPath('helmcharts', 'range'), { version: '0.4.4' });
    const s = await untilChart('range', 'ChartPullError', failedWith('ChartPullError'));
    assert.deepEqual(s.artifact, before.artifact);
    assert.equal(await servedDigest(s.artifact!.url), before.artifact!.digest, 'still served');
  });

  test('an unreachable registry: ChartPullError with the connection error', async () => {
    await helmChart('unreachable', 'gone', '0.1.x');
    const s = await untilChart('unreachable', 'ChartPullError', failedWith('ChartPullError'));
    assert.match(cond(s, 'Ready')!.message, /could not get tags for 'web': cannot reach http:\/\/127\.0\.0\.1:\d+\/v2\/charts\/web\/tags\/list: connect ECONNREFUSED/);
  });

  test('signature verification that Sluice cannot do stalls instead of being skipped', async () => {
    await createObject(client, srcPath('helmcharts'), {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'HelmChart',
      metadata: { name: 'verified' },
      spec: { chart: 'web', sourceRef: { kind: 'HelmRepository', name: 'open' }, interval: '1h', verify: { provider: 'cosign' } },
    });
    const s = await untilChart('verified', 'UnsupportedConfiguration', failedWith('UnsupportedConfiguration'));
    assert.equal(cond(s, 'Stalled')?.status, 'True');
    assert.match(cond(s, 'Ready')!.message, /signature verification .* is not supported by Sluice/);
    assert.equal(s.artifact, undefined);
  });

  test('a wrong URL stalls with URLInvalid', async () => {
    await helmRepository('bad-url', 'oci://127.0.0.1/Charts');
    await helmChart('bad-url', 'bad-url');
    const s = await untilChart('bad-url', 'URLInvalid', failedWith('URLInvalid'));
    assert.equal(cond(s, 'Stalled')?.status, 'True');
  });
});

describe('HelmRelease from an OCI HelmRepository', () => {
  test('installs the chart from a registry behind basic auth', async () => {
    await createObject(client, hrPath(ns.name, 'web').replace(/\/web$/, ''), {
      apiVersion: 'helm.toolkit.fluxcd.io/v2',
      kind: 'HelmRelease',
      metadata: { name: 'web' },
      spec: {
        interval: '1h',
        timeout: '2m',
        chart: { spec: { chart: 'web', version: '0.3.x', sourceRef: { kind: 'HelmRepository', name: 'locked' } } },
        values: { message: 'from-oci' },
      },
    });
    const s = await untilHR(client, ns.name, 'web', 'Ready after install', readyAt(1));
    assert.equal(cond(s, 'Released')?.reason, 'InstallSucceeded');
    assert.equal(cond(s, 'Released')?.message, `Helm install succeeded for release ${ns.name}/web.v1 with chart web@0.3.0`);
    assert.equal(s.lastAttemptedRevision, '0.3.0');
    const list = await listReleases(await testHelm(), await clusterTarget(), ns.name);
    const rel = list.find((r) => r.name === 'web');
    assert.equal(rel?.status, 'deployed');
    assert.equal(rel?.chart, 'web-0.3.0');
    assert.equal((await configMapData(client, ns.name, 'web-settings'))?.message, 'from-oci');
    const dep = await client.getOrUndefined<KubeObject>(`/apis/apps/v1/namespaces/${ns.name}/deployments/web`);
    assert.ok(dep, 'the Deployment exists');
    assert.equal(dep.metadata.labels?.['app.kubernetes.io/managed-by'], 'Helm');
  });
});

describe('OCIRepository, and a HelmRelease with chartRef to it', () => {
  const HELM_LAYER = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip';

  async function ociRepository(name: string, spec: Record<string, unknown>): Promise<void> {
    await createObject(client, srcPath('ocirepositories'), {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'OCIRepository',
      metadata: { name },
      spec: { url: `oci://${open.host}/charts/web`, interval: '1h', insecure: true, ...spec },
    });
  }

  async function ociStatus(name: string): Promise<ChartStatus & { generation?: number; observedLayerSelector?: unknown }> {
    const o = await client.request<KubeObject>({ path: srcPath('ocirepositories', name) });
    return { ...(o.status as ChartStatus), generation: o.metadata.generation };
  }

  async function untilOci(name: string, what: string, ok: (s: ChartStatus) => boolean): Promise<ChartStatus & { observedLayerSelector?: unknown }> {
    return eventually(`OCIRepository ${name}: ${what}`, async () => {
      const s = await ociStatus(name);
      const readyGen = (cond(s, 'Ready') as { observedGeneration?: number } | undefined)?.observedGeneration;
      return readyGen === s.generation && ok(s) ? s : undefined;
    });
  }

  /** Paths inside a .tar.gz served by the storage server. */
  async function tarPaths(url: string): Promise<string[]> {
    const file = join(work, `artifact-${Date.now()}.tgz`);
    await writeFile(file, Buffer.from(await (await fetch(url)).arrayBuffer()));
    const paths: string[] = [];
    await list({ file, onReadEntry: (e) => paths.push(e.path) });
    return paths;
  }

  test('copy: the Helm chart layer is stored unaltered, revision <tag>@<digest>', async () => {
    await ociRepository('chart-copy', { ref: { tag: '0.2.0' }, layerSelector: { mediaType: HELM_LAYER, operation: 'copy' } });
    const s = await untilOci('chart-copy', 'Ready', ready);
    assert.match(s.artifact!.revision, /^0\.2\.0@sha256:[0-9a-f]{64}$/);
    assert.equal(cond(s, 'Ready')?.reason, 'Succeeded');
    assert.equal(cond(s, 'Ready')?.message, `stored artifact for revision '${s.artifact!.revision}'`);
    assert.equal(s.artifact!.digest, digests['open/0.2.0'], 'the layer blob is the artifact');
    assert.equal(await servedDigest(s.artifact!.url), s.artifact!.digest);
    assert.deepEqual(s.observedLayerSelector, { mediaType: HELM_LAYER, operation: 'copy' });
    const events = await eventsFor(client, ns.name, 'chart-copy');
    assert.ok(events.some((e) => e.reason === 'NewArtifact' && e.message.includes(s.artifact!.revision)));
  });

  test('extract (the default): the first layer unpacked and archived; semver picks the tag', async () => {
    await ociRepository('chart-extract', { ref: { semver: '>=0.1.0 <0.2.0' } });
    const s = await untilOci('chart-extract', 'Ready', ready);
    assert.match(s.artifact!.revision, /^0\.1\.\d+@sha256:[0-9a-f]{64}$/);
    assert.notEqual(s.artifact!.digest, digests['open/0.1.0']);
    assert.ok((await tarPaths(s.artifact!.url)).includes('web/Chart.yaml'));
  });

  test('a digest reference: the revision is the digest alone', async () => {
    const copy = await ociStatus('chart-copy');
    const digest = copy.artifact!.revision.split('@')[1]!;
    await ociRepository('chart-digest', { ref: { digest }, layerSelector: { mediaType: HELM_LAYER, operation: 'copy' } });
    const s = await untilOci('chart-digest', 'Ready', ready);
    assert.equal(s.artifact!.revision, digest);
    assert.equal(s.artifact!.digest, copy.artifact!.digest);
  });

  test('bad input: a missing tag, wrong credentials, a layer that is not there', async () => {
    await ociRepository('no-tag', { ref: { tag: '9.9.9' } });
    await ociRepository('wrong-creds', { url: `oci://${locked.host}/charts/web`, ref: { tag: '0.3.0' }, secretRef: { name: 'reg-wrong' } });
    await ociRepository('no-layer', { ref: { tag: '0.2.0' }, layerSelector: { mediaType: 'application/x-nothing' } });
    const a = await untilOci('no-tag', 'OCIArtifactPullFailed', failedWith('OCIArtifactPullFailed'));
    assert.equal(cond(a, 'Ready')!.message, `failed to pull artifact from 'oci://${open.host}/charts/web': couldn't find tag "9.9.9"`);
    const b = await untilOci('wrong-creds', 'AuthenticationFailed', failedWith('AuthenticationFailed'));
    assert.match(cond(b, 'Ready')!.message, /the registry rejected the credentials/);
    assert.ok(!JSON.stringify(b).includes(WRONG_PASSWORD));
    const c = await untilOci('no-layer', 'OCIArtifactLayerOperationFailed', failedWith('OCIArtifactLayerOperationFailed'));
    assert.match(cond(c, 'Ready')!.message, /failed to find layer with media type 'application\/x-nothing' in artifact/);
  });

  test('HelmRelease chartRef: installs with the digest in the chart version, and upgrades when the tag moves', async () => {
    await ociRepository('chart-moving', { ref: { tag: '0.5.0' }, layerSelector: { mediaType: HELM_LAYER, operation: 'copy' } });
    await open.push(await writeChart(join(work, 'open-0.5.0-a'), webChart({ version: '0.5.0', appVersion: '5.0.0' })));
    await requestReconcile(srcPath('ocirepositories', 'chart-moving'));
    const first = await untilOci('chart-moving', 'Ready', ready);
    const digest1 = first.artifact!.revision.split('@')[1]!;
    await createObject(client, hrPath(ns.name, 'web-oci').replace(/\/web-oci$/, ''), {
      apiVersion: 'helm.toolkit.fluxcd.io/v2',
      kind: 'HelmRelease',
      metadata: { name: 'web-oci' },
      spec: { interval: '1h', timeout: '2m', chartRef: { kind: 'OCIRepository', name: 'chart-moving' }, values: { message: 'from-ocirepository' } },
    });
    const version1 = `0.5.0+${digest1.slice('sha256:'.length, 'sha256:'.length + 12)}`;
    let s = await untilHR(client, ns.name, 'web-oci', 'Ready after install', readyAt(1));
    assert.equal(cond(s, 'Released')?.message, `Helm install succeeded for release ${ns.name}/web-oci.v1 with chart web@${version1}`);
    assert.equal(s.lastAttemptedRevision, version1);
    assert.equal((s as { lastAttemptedRevisionDigest?: string }).lastAttemptedRevisionDigest, digest1);
    let rel = (await listReleases(await testHelm(), await clusterTarget(), ns.name)).find((r) => r.name === 'web-oci');
    assert.equal(rel?.chart, `web-${version1}`);
    assert.equal(rel?.status, 'deployed');
    assert.equal((await configMapData(client, ns.name, 'web-oci-settings'))?.message, 'from-ocirepository');
    assert.ok(await client.getOrUndefined(`/apis/apps/v1/namespaces/${ns.name}/deployments/web-oci`), 'the Deployment exists');

    // The same tag pushed again with new content: a new digest, a new chart version, an upgrade.
    await open.push(await writeChart(join(work, 'open-0.5.0-b'), webChart({ version: '0.5.0', appVersion: '5.0.1' })));
    await requestReconcile(srcPath('ocirepositories', 'chart-moving'));
    const second = await untilOci('chart-moving', 'new digest', (x) => ready(x) && x.artifact!.revision !== first.artifact!.revision);
    const digest2 = second.artifact!.revision.split('@')[1]!;
    s = await untilHR(client, ns.name, 'web-oci', 'Ready after upgrade', readyAt(2));
    assert.equal(cond(s, 'Released')?.reason, 'UpgradeSucceeded');
    assert.equal(s.lastAttemptedRevision, `0.5.0+${digest2.slice(7, 19)}`);
    rel = (await listReleases(await testHelm(), await clusterTarget(), ns.name)).find((r) => r.name === 'web-oci');
    assert.equal(rel?.app_version, '5.0.1');
  });
});
