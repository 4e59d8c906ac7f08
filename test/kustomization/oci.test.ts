import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitOps, configMap } from '../gitops.ts';
import { writeChart } from '../helm/helpers.ts';
import { startOciRegistry, type OciRegistryServer } from '../helm/ociregistry.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { closeAll } from '../cleanup.ts';

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
