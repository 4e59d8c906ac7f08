import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitOps, configMap, ready } from '../gitops.ts';
import { eventually } from '../harness.ts';
import { run } from '../../src/util/exec.ts';
import { parseFeatureGates } from '../../src/runtime/featuregates.ts';
import { cond, hrStatus, writeChart, type HRStatus } from '../helm/helpers.ts';
import { closeAll } from '../cleanup.ts';

// ExternalArtifact, as Flux 2.9 has it: a third-party controller publishes an
// artifact in the object's status (here, the test does, serving the tarballs
// from a loopback HTTP server), and Kustomizations (sourceRef) and
// HelmReleases (chartRef) consume it with Flux's ExternalArtifact feature
// gate; without the gate they are refused with Flux's message.

let g: GitOps;
let off: GitOps;
let root: string;
let server: Server;
let base: string;

const EA = (ns: string, name = '') => `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns}/externalartifacts${name ? `/${name}` : ''}`;

/** A tar.gz of `files`, served at /<name>; returns what a producer writes in status.artifact. */
async function publish(name: string, files: Record<string, string>, revision: string): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(root, 'src-'));
  for (const [p, content] of Object.entries(files)) {
    await mkdir(join(dir, p, '..'), { recursive: true });
    await writeFile(join(dir, p), content);
  }
  await run('tar', ['-czf', join(root, name), '-C', dir, '.']);
  const digest = createHash('sha256').update(await readFile(join(root, name))).digest('hex');
  return { path: `externalartifact/${name}`, url: `${base}/${name}`, revision, digest: `sha256:${digest}`, lastUpdateTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
}

async function createEA(on: GitOps, name: string, artifact: Record<string, unknown>): Promise<void> {
  if (!(await on.client.getOrUndefined(EA(on.ns.name, name)))) {
    await on.client.request({ method: 'POST', path: EA(on.ns.name), body: { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'ExternalArtifact', metadata: { name }, spec: { sourceRef: { apiVersion: 'example.org/v1', kind: 'Generator', name } } } });
  }
  await on.client.request({
    method: 'PATCH',
    path: `${EA(on.ns.name, name)}/status`,
    contentType: 'application/merge-patch+json',
    body: { status: { artifact, conditions: [{ type: 'Ready', status: 'True', reason: 'Succeeded', message: 'published', lastTransitionTime: artifact.lastUpdateTime }] } },
  });
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'sluice-ea-'));
  server = createServer((req, res) => {
    readFile(join(root, (req.url ?? '/').slice(1).replace(/[^\w.-]/g, ''))).then(
      (b) => res.end(b),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  g = await GitOps.start('ea', { featureGates: parseFeatureGates(['ExternalArtifact=true']) });
  off = await GitOps.start('ea-off');
});

after(async () => {
  await closeAll(g && (() => g.close()), off && (() => off.close()), server && (() => new Promise<void>((r) => server.close(() => r()))), root && (() => rm(root, { recursive: true, force: true })));
});

test('a Kustomization builds an ExternalArtifact, and follows it to its next artifact', async () => {
  await createEA(g, 'manifests', await publish('v1.tar.gz', { 'deploy/cm.yaml': configMap('generated', { generation: 'one' }) }, 'v1@sha256:one'));
  await g.createKustomization('from-ea', { path: './deploy', sourceRef: { kind: 'ExternalArtifact', name: 'manifests' }, targetNamespace: g.ns.name });
  await g.untilReady('from-ea', 'v1@sha256:one', 60_000);
  const cm = () => g.client.getOrUndefined<{ data: Record<string, string> }>(g.path('configmaps', 'generated'));
  assert.equal((await cm())?.data.generation, 'one');

  // The producer publishes again: the Kustomization applies it without waiting for its interval (1h).
  await createEA(g, 'manifests', await publish('v2.tar.gz', { 'deploy/cm.yaml': configMap('generated', { generation: 'two' }) }, 'v2@sha256:two'));
  await g.untilReady('from-ea', 'v2@sha256:two', 30_000);
  assert.equal((await cm())?.data.generation, 'two');
});

test('a HelmRelease installs the chart of an ExternalArtifact (chartRef)', async () => {
  const chart = await writeChart(await mkdtemp(join(root, 'chart-')), {
    'Chart.yaml': 'apiVersion: v2\nname: generated\nversion: 0.3.0\n',
    'templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  from: external\n',
  });
  const files: Record<string, string> = {};
  for (const f of ['Chart.yaml', 'templates/cm.yaml']) files[`generated/${f}`] = await readFile(join(chart, f), 'utf8');
  await createEA(g, 'chart', await publish('chart.tgz', files, '0.3.0'));
  await g.create('helm.toolkit.fluxcd.io/v2', 'HelmRelease', 'helmreleases', 'gen', { interval: '1h', chartRef: { kind: 'ExternalArtifact', name: 'chart' } });
  const s = await eventually('the release Ready', async () => {
    const x: HRStatus = await hrStatus(g.client, g.ns.name, 'gen');
    return cond(x, 'Ready')?.status === 'True' ? x : undefined;
  }, 90_000);
  assert.equal(s.history?.[0]?.chartVersion, '0.3.0');
  assert.equal((await g.client.getOrUndefined<{ data: Record<string, string> }>(g.path('configmaps', 'gen-cm')))?.data.from, 'external');
});

test("without the gate: refused with Flux's message, for Kustomizations and HelmReleases", async () => {
  await createEA(off, 'manifests', await publish('off.tar.gz', { 'deploy/cm.yaml': configMap('generated', { generation: 'one' }) }, 'v1@sha256:one'));
  await off.createKustomization('from-ea', { path: './deploy', sourceRef: { kind: 'ExternalArtifact', name: 'manifests' } });
  const s = await off.untilKs('from-ea', 'refused', (x) => ready(x)?.reason === 'AccessDenied', 30_000);
  assert.equal(ready(s)!.message, `can't access 'ExternalArtifact/${off.ns.name}/manifests', ExternalArtifact feature gate is disabled`);
  await off.create('helm.toolkit.fluxcd.io/v2', 'HelmRelease', 'helmreleases', 'gen', { interval: '1h', chartRef: { kind: 'ExternalArtifact', name: 'manifests' } });
  const h = await eventually('the release refused', async () => {
    const x: HRStatus = await hrStatus(off.client, off.ns.name, 'gen');
    return cond(x, 'Ready')?.reason === 'AccessDenied' ? x : undefined;
  }, 30_000);
  assert.match(cond(h, 'Ready')!.message, /ExternalArtifact feature gate is disabled/);
  assert.equal(await off.client.getOrUndefined(off.path('configmaps', 'generated')), undefined);
});
