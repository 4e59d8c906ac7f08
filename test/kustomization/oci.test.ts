import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { create as createTar } from 'tar';
import { GitOps, configMap } from '../gitops.ts';
import { writeChart } from '../helm/helpers.ts';
import { startOciRegistry, type OciRegistryServer } from '../helm/ociregistry.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { closeAll } from '../cleanup.ts';
import { eventually } from '../harness.ts';

// A Kustomization whose source is an OCIRepository: manifests shipped as an
// OCI artifact (here inside a chart package, pushed by the real `helm push`
// to a real registry on loopback), extracted and applied.

let g: GitOps;
let registry: OciRegistryServer;
let work: string;

before(async () => {
  g = await GitOps.start('ks-oci');
  registry = await startOciRegistry();
  work = await mkdtemp(join(tmpdir(), 'sluice-ks-oci-'));
});
after(async () => {
  await closeAll(
    g && (() => g.close()),
    registry && (() => registry.close()),
    work && (() => rm(work, { recursive: true, force: true })),
  );
});

async function pushManifests(version: string, data: Record<string, string>): Promise<void> {
  const dir = await writeChart(join(work, version, 'bundle'), {
    'Chart.yaml': `apiVersion: v2\nname: bundle\nversion: ${version}\n`,
    'deploy/settings.yaml': configMap('oci-settings', data),
  });
  await registry.push(dir, 'manifests');
}

test('a Kustomization applies what an OCIRepository extracted, and follows a new tag', async () => {
  await pushManifests('1.0.0', { from: 'oci-1' });
  await g.create('source.toolkit.fluxcd.io/v1', 'OCIRepository', 'ocirepositories', 'bundle', {
    url: `oci://${registry.host}/manifests/bundle`,
    ref: { semver: '1.x' },
    insecure: true,
    interval: '1h',
  });
  await g.create('kustomize.toolkit.fluxcd.io/v1', 'Kustomization', 'kustomizations', 'from-oci', {
    interval: '1h',
    path: './bundle/deploy',
    prune: true,
    targetNamespace: g.ns.name,
    sourceRef: { kind: 'OCIRepository', name: 'bundle' },
  });
  const s1 = await g.untilKs('from-oci', 'Ready from the OCI artifact', (s) => !!s.lastAppliedRevision?.startsWith('1.0.0@sha256:'), 60_000);
  assert.equal(s1.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
  const cm = await g.get<KubeObject & { data: Record<string, string> }>(g.path('configmaps', 'oci-settings'));
  assert.equal(cm?.data.from, 'oci-1');

  // A new tag in range: the source moves, and the Kustomization follows without waiting for its interval.
  await pushManifests('1.1.0', { from: 'oci-2' });
  await g.requestReconcile(`/apis/source.toolkit.fluxcd.io/v1/namespaces/${g.ns.name}/ocirepositories/bundle`);
  await g.untilKs('from-oci', 'at the new tag', (s) => !!s.lastAppliedRevision?.startsWith('1.1.0@sha256:'), 60_000);
  const cm2 = await g.get<KubeObject & { data: Record<string, string> }>(g.path('configmaps', 'oci-settings'));
  assert.equal(cm2?.data.from, 'oci-2');
});

/**
 * Pushes a Flux-style OCI artifact (one tar+gzip layer of `files`, the
 * manifest annotated as `flux push artifact` annotates it) with the registry
 * API, so the test controls the annotations.
 */
async function pushArtifact(repo: string, tag: string, files: Record<string, string>, annotations: Record<string, string>): Promise<void> {
  const dir = await mkdtemp(join(work, 'artifact-'));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  const layerFile = join(work, `${tag}.tgz`);
  await createTar({ gzip: true, cwd: dir, file: layerFile, portable: true }, Object.keys(files));
  const layer = await readFile(layerFile);
  const config = Buffer.from('{}');
  const base = `http://${registry.host}/v2/${repo}`;
  const upload = async (blob: Buffer): Promise<{ digest: string; size: number }> => {
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
    const start = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
    assert.equal(start.status, 202, `blob upload start: HTTP ${start.status}`);
    const location = new URL(start.headers.get('location')!, base);
    location.searchParams.set('digest', digest);
    const put = await fetch(location, { method: 'PUT', body: new Uint8Array(blob), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(put.status, 201, `blob upload: HTTP ${put.status}`);
    return { digest, size: blob.length };
  };
  const l = await upload(layer);
  const c = await upload(config);
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.cncf.flux.config.v1+json', ...c },
    layers: [{ mediaType: 'application/vnd.cncf.flux.content.v1.tar+gzip', ...l }],
    annotations,
  };
  const res = await fetch(`${base}/manifests/${tag}`, {
    method: 'PUT',
    body: JSON.stringify(manifest),
    headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
  });
  assert.equal(res.status, 201, `manifest: HTTP ${res.status}`);
}

test('the artifact\'s origin revision reaches status.lastAppliedOriginRevision, the history and the events', async () => {
  const origin = 'main@sha1:0123456789abcdef0123456789abcdef01234567';
  await pushArtifact('apps/origin', 'v1', { 'deploy/cm.yaml': configMap('from-origin', { a: '1' }) }, {
    'org.opencontainers.image.revision': origin,
    'org.opencontainers.image.source': 'https://example.invalid/apps',
  });
  await g.create('source.toolkit.fluxcd.io/v1', 'OCIRepository', 'ocirepositories', 'origin', {
    url: `oci://${registry.host}/apps/origin`,
    ref: { tag: 'v1' },
    insecure: true,
    interval: '1h',
  });
  await g.create('kustomize.toolkit.fluxcd.io/v1', 'Kustomization', 'kustomizations', 'with-origin', {
    interval: '1h',
    path: './deploy',
    prune: true,
    targetNamespace: g.ns.name,
    sourceRef: { kind: 'OCIRepository', name: 'origin' },
  });
  const s = await g.untilKs('with-origin', 'Ready', (st) => st.conditions?.find((c) => c.type === 'Ready')?.status === 'True', 60_000);
  const status = s as typeof s & { lastAppliedOriginRevision?: string; history?: Array<{ metadata?: Record<string, string> }> };
  assert.equal(status.lastAppliedOriginRevision, origin);
  assert.deepEqual(status.history?.[0]?.metadata, { revision: status.lastAppliedRevision, originRevision: origin });
  const events = await eventually('the change-set event', async () => {
    const list = await g.client.request<{ items: Array<{ reason: string; involvedObject: { name: string }; metadata: { annotations?: Record<string, string> } }> }>({
      path: `/api/v1/namespaces/${g.ns.name}/events`,
    });
    const mine = list.items.filter((e) => e.involvedObject.name === 'with-origin' && e.reason === 'Progressing');
    return mine.length ? mine : undefined;
  });
  assert.equal(events[0]!.metadata.annotations?.['kustomize.toolkit.fluxcd.io/originRevision'], origin);
  assert.equal(events[0]!.metadata.annotations?.['kustomize.toolkit.fluxcd.io/revision'], status.lastAppliedRevision);

  // The first Kustomization's artifact (a chart pushed by helm) has no origin revision: none is written.
  const plain = (await g.ks('from-oci')).status as { lastAppliedOriginRevision?: string };
  assert.equal(plain.lastAppliedOriginRevision, undefined);
});
