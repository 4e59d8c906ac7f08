import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { eventually } from '../harness.ts';
import { closeAll } from '../cleanup.ts';
import { cond, createObject, startChartRepo, startHelmFixture, webChart, writeChart, type ChartRepoServer, type Cond, type HelmFixture } from './helpers.ts';

// A HelmChart from an HTTP HelmRepository downloads the chart within the
// repository's spec.timeout, as source-controller does (not a fixed 60 s):
// a server that never sends the archive fails the HelmChart after 2 s.

let f: HelmFixture;
let repo: ChartRepoServer;

before(async () => {
  f = await startHelmFixture('hc-timeout', { chartRepo: false });
  repo = await startChartRepo({ stallArchives: true });
  await repo.publish(await writeChart(join(f.work, 'web'), webChart({ version: '1.0.0' })));
});

after(async () => {
  await closeAll(repo && (() => repo.close()), f && (() => f.close()));
});

test("the chart download gives up after the HelmRepository's timeout", async () => {
  const { client, ns } = f;
  await createObject(client, `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns.name}/helmrepositories`, {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'HelmRepository',
    metadata: { name: 'slow' },
    spec: { url: repo.url, interval: '1h', timeout: '2s' },
  });
  const created = Date.now();
  await createObject(client, `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns.name}/helmcharts`, {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'HelmChart',
    metadata: { name: 'web' },
    spec: { chart: 'web', version: '1.0.0', interval: '1h', sourceRef: { kind: 'HelmRepository', name: 'slow' } },
  });
  const ready = await eventually(
    'HelmChart web failed on the download',
    async () => {
      const hc = await client.request<{ status?: { conditions?: Cond[] } }>({ path: `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns.name}/helmcharts/web` });
      const c = cond(hc.status, 'Ready');
      return c?.status === 'False' && /timeout/.test(c.message) ? c : undefined;
    },
    50_000,
  );
  assert.match(ready.message, /after 2000 ms/);
  assert.ok(Date.now() - created < 50_000, 'well before the 60 s default');
  assert.ok(repo.requests.some((r) => r.path.endsWith('.tgz')), 'the archive was asked for');
});
