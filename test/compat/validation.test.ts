import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { adminClient, testNamespace, type TestNamespace } from '../harness.ts';
import { ResourceManager } from '../../src/apply/manager.ts';
import { allCrds } from '../../src/api/crds.ts';
import { KubeApiError } from '../../src/kube/errors.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';

// What the API server accepts with Sluice's CRDs installed, where Sluice's
// schemas were aligned with Flux 2.9's (test/compat/differences.yaml lists
// what still differs): objects Flux accepts are accepted, objects Flux
// refuses are refused with the message of the validation that refuses them.
// Spec cases use server-side dry run, so nothing is stored and no controller
// sees them; status cases patch the status subresource of a stored object
// with dry run.

let ns: TestNamespace;
let client: KubeClient;

before(async () => {
  client = await adminClient();
  await new ResourceManager(client).apply(allCrds() as KubeObject[]);
  ns = await testNamespace('compat-validation');
});

after(async () => {
  await ns?.cleanup();
  client?.close();
});

const plurals: Record<string, string> = {
  GitRepository: 'gitrepositories',
  HelmRepository: 'helmrepositories',
  HelmChart: 'helmcharts',
  OCIRepository: 'ocirepositories',
  Kustomization: 'kustomizations',
  HelmRelease: 'helmreleases',
};

const collection = (apiVersion: string, kind: string) => `/apis/${apiVersion}/namespaces/${ns.name}/${plurals[kind]}`;

/** Creates the object with server-side dry run and returns what the API server would store. */
function dryCreate(apiVersion: string, kind: string, name: string, spec: Record<string, unknown>): Promise<KubeObject & { spec: Record<string, any> }> {
  return client.request({
    method: 'POST',
    path: collection(apiVersion, kind),
    query: { dryRun: 'All' },
    body: { apiVersion, kind, metadata: { name, namespace: ns.name }, spec },
  });
}

/** Asserts the API server refuses the object as invalid, with a message matching `message`. */
async function refused(p: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof KubeApiError, String(err));
    assert.equal(err.status, 422, err.message);
    assert.match(err.message, message);
    return true;
  });
}

const helmRelease = (spec: Record<string, unknown>) =>
  dryCreate('helm.toolkit.fluxcd.io/v2', 'HelmRelease', 'hr', { interval: '5m', chartRef: { kind: 'OCIRepository', name: 'chart' }, ...spec });
const kustomization = (spec: Record<string, unknown>) =>
  dryCreate('kustomize.toolkit.fluxcd.io/v1', 'Kustomization', 'ks', { interval: '5m', prune: true, sourceRef: { kind: 'GitRepository', name: 'repo' }, ...spec });

test('a HelmChart with an empty chart (the source root) is accepted, as Flux accepts it', async () => {
  const hc = await dryCreate('source.toolkit.fluxcd.io/v1', 'HelmChart', 'root', { chart: '', interval: '5m', sourceRef: { kind: 'GitRepository', name: 'repo' } });
  assert.equal(hc.spec.chart, '');
});

test('a HelmChart verifying a chart that does not come from a HelmRepository is refused', async () => {
  await refused(
    dryCreate('source.toolkit.fluxcd.io/v1', 'HelmChart', 'verified', {
      chart: './charts/app',
      interval: '5m',
      sourceRef: { kind: 'GitRepository', name: 'repo' },
      verify: { provider: 'cosign' },
    }),
    /spec\.verify is only supported when spec\.sourceRef\.kind is 'HelmRepository'/,
  );
  const ok = await dryCreate('source.toolkit.fluxcd.io/v1', 'HelmChart', 'verified', {
    chart: 'app',
    interval: '5m',
    sourceRef: { kind: 'HelmRepository', name: 'repo' },
    verify: { provider: 'cosign' },
  });
  assert.equal(ok.spec.verify.provider, 'cosign');
});

test('a HelmRelease needs exactly one of chart and chartRef', async () => {
  await refused(dryCreate('helm.toolkit.fluxcd.io/v2', 'HelmRelease', 'none', { interval: '5m' }), /either chart or chartRef must be set/);
  await refused(
    helmRelease({ chart: { spec: { chart: 'app', sourceRef: { kind: 'HelmRepository', name: 'repo' } } } }),
    /either chart or chartRef must be set/,
  );
  await helmRelease({});
});

test('HelmRelease strategies refuse a retryInterval without RetryOnFailure, with Flux\'s messages', async () => {
  await refused(
    helmRelease({ install: { strategy: { name: 'RemediateOnFailure', retryInterval: '1m' } } }),
    /\.retryInterval cannot be set when \.name is 'RemediateOnFailure'/,
  );
  await refused(
    helmRelease({ upgrade: { strategy: { name: 'RemediateOnFailure', retryInterval: '1m' } } }),
    /\.retryInterval can only be set when \.name is 'RetryOnFailure'/,
  );
  await helmRelease({ install: { strategy: { name: 'RetryOnFailure', retryInterval: '1m' } }, upgrade: { strategy: { name: 'RetryOnFailure', retryInterval: '1m' } } });
});

test('HelmRelease serverSideApply of upgrade and rollback takes enabled, disabled or auto only', async () => {
  const hr = await helmRelease({ upgrade: { serverSideApply: 'auto' }, rollback: { serverSideApply: 'disabled' } });
  assert.equal(hr.spec.upgrade.serverSideApply, 'auto');
  await refused(helmRelease({ upgrade: { serverSideApply: 'true' } }), /spec\.upgrade\.serverSideApply: Unsupported value: "true"/);
  await refused(helmRelease({ rollback: { serverSideApply: 'yes' } }), /spec\.rollback\.serverSideApply: Unsupported value: "yes"/);
});

test('HelmRelease test filters and valuesFrom keys and paths are checked as Flux checks them', async () => {
  await refused(helmRelease({ test: { enable: true, filters: [{ name: '' }] } }), /spec\.test\.filters\[0\]\.name: Invalid value: "": spec\.test\.filters\[0\]\.name in body should be at least 1 chars long/);
  await refused(helmRelease({ valuesFrom: [{ kind: 'ConfigMap', name: 'values', valuesKey: 'my values' }] }), /spec\.valuesFrom\[0\]\.valuesKey in body should match/);
  await refused(helmRelease({ valuesFrom: [{ kind: 'Secret', name: 'values', targetPath: 'a b' }] }), /spec\.valuesFrom\[0\]\.targetPath in body should match/);
  await helmRelease({
    test: { enable: true, filters: [{ name: 'smoke', exclude: true }] },
    valuesFrom: [{ kind: 'ConfigMap', name: 'values', valuesKey: 'prod.values-1_a.yaml', targetPath: 'a.b[0].c\\.d' }],
  });
});

test('Kustomization: substituteFrom names are checked, optional and force default to false', async () => {
  await refused(
    kustomization({ postBuild: { substituteFrom: [{ kind: 'ConfigMap', name: '' }] } }),
    /spec\.postBuild\.substituteFrom\[0\]\.name in body should be at least 1 chars long/,
  );
  const ks = await kustomization({ postBuild: { substituteFrom: [{ kind: 'ConfigMap', name: 'vars' }] } });
  assert.equal(ks.spec.force, false);
  assert.equal(ks.spec.postBuild.substituteFrom[0].optional, false);
});

test('kubeConfig takes exactly one of configMapRef and secretRef, for Kustomizations and HelmReleases alike', async () => {
  const message = /exactly one of spec\.kubeConfig\.configMapRef or spec\.kubeConfig\.secretRef must be specified/;
  for (const make of [kustomization, helmRelease]) {
    await refused(make({ kubeConfig: {} }), message);
    await refused(make({ kubeConfig: { configMapRef: { name: 'cm' }, secretRef: { name: 's' } } }), message);
    assert.deepEqual((await make({ kubeConfig: { configMapRef: { name: 'cm' } } })).spec.kubeConfig, { configMapRef: { name: 'cm' } });
    assert.deepEqual((await make({ kubeConfig: { secretRef: { name: 's', key: 'k' } } })).spec.kubeConfig, { secretRef: { name: 's', key: 'k' } });
  }
});

test('Kustomization: the enums of buildMetadata and substituteStrategy, and ignore rules need paths', async () => {
  await refused(kustomization({ buildMetadata: ['originAnnotations', 'managedByLabel'] }), /spec\.buildMetadata\[1\]: Unsupported value: "managedByLabel"/);
  await refused(kustomization({ postBuild: { substituteStrategy: 'Never' } }), /spec\.postBuild\.substituteStrategy: Unsupported value: "Never"/);
  await refused(kustomization({ ignore: [{ target: { kind: 'Deployment' } }] }), /spec\.ignore\[0\]\.paths: Required value/);
  const ks = await kustomization({
    buildMetadata: ['originAnnotations', 'transformerAnnotations'],
    ignoreMissingComponents: true,
    postBuild: { substituteStrategy: 'Always' },
    decryption: { provider: 'sops', serviceAccountName: 'kms' },
    ignore: [{ paths: ['/spec/replicas'], target: { kind: 'Deployment', labelSelector: 'a=b' } }],
  });
  assert.equal(ks.spec.postBuild.substituteStrategy, 'Always');
  assert.equal(ks.spec.decryption.serviceAccountName, 'kms');
  assert.deepEqual(ks.spec.ignore, [{ paths: ['/spec/replicas'], target: { kind: 'Deployment', labelSelector: 'a=b' } }]);
});

test('HelmRepository provider defaults to generic', async () => {
  const repo = await dryCreate('source.toolkit.fluxcd.io/v1', 'HelmRepository', 'charts', { url: 'https://charts.example.com', interval: '5m' });
  assert.equal(repo.spec.provider, 'generic');
});

test('status: observedGeneration starts at -1; condition types and reasons, artifact digests and storageNamespace are checked', async () => {
  const created = await client.request<KubeObject & { status?: Record<string, unknown> }>({
    method: 'POST',
    path: collection('source.toolkit.fluxcd.io/v1', 'GitRepository'),
    body: { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name: 'repo', namespace: ns.name }, spec: { url: 'https://example.com/repo.git', interval: '5m', suspend: true } },
  });
  const got = await client.request<KubeObject & { status?: Record<string, unknown> }>({ path: `${collection('source.toolkit.fluxcd.io/v1', 'GitRepository')}/repo` });
  assert.deepEqual(got.status, { observedGeneration: -1 }, `created: ${JSON.stringify(created.status)}`);

  const patchStatus = (kind: string, apiVersion: string, name: string, status: Record<string, unknown>) =>
    client.request({
      method: 'PATCH',
      path: `${collection(apiVersion, kind)}/${name}/status`,
      query: { dryRun: 'All' },
      contentType: 'application/merge-patch+json',
      body: { status },
    });
  const condition = (type: string, reason: string) => ({ type, status: 'True', reason, message: 'm', lastTransitionTime: '2026-01-01T00:00:00Z' });
  const artifact = { path: 'a.tar.gz', url: 'http://x/a.tar.gz', revision: 'main@sha1:1', lastUpdateTime: '2026-01-01T00:00:00Z' };

  await patchStatus('GitRepository', 'source.toolkit.fluxcd.io/v1', 'repo', { observedGeneration: 1, conditions: [condition('Ready', 'Succeeded')], artifact: { ...artifact, digest: 'sha256:abc' } });
  await refused(patchStatus('GitRepository', 'source.toolkit.fluxcd.io/v1', 'repo', { conditions: [condition('Ready', 'not ok')] }), /status\.conditions\[0\]\.reason: Invalid value: "not ok": .*should match/);
  await refused(patchStatus('GitRepository', 'source.toolkit.fluxcd.io/v1', 'repo', { conditions: [condition('Ready!', 'Succeeded')] }), /status\.conditions\[0\]\.type: Invalid value: "Ready!": .*should match/);
  await refused(patchStatus('GitRepository', 'source.toolkit.fluxcd.io/v1', 'repo', { artifact }), /status\.artifact\.digest: Required value/);
  await refused(
    patchStatus('GitRepository', 'source.toolkit.fluxcd.io/v1', 'repo', { includedArtifacts: [artifact] }),
    /status\.includedArtifacts\[0\]\.digest: Required value/,
  );

  await client.request({
    method: 'POST',
    path: collection('helm.toolkit.fluxcd.io/v2', 'HelmRelease'),
    body: { apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease', metadata: { name: 'hr', namespace: ns.name }, spec: { interval: '5m', suspend: true, chartRef: { kind: 'OCIRepository', name: 'chart' } } },
  });
  await refused(patchStatus('HelmRelease', 'helm.toolkit.fluxcd.io/v2', 'hr', { storageNamespace: '' }), /status\.storageNamespace: Invalid value: "": .*should be at least 1 chars long/);
  await patchStatus('HelmRelease', 'helm.toolkit.fluxcd.io/v2', 'hr', { storageNamespace: ns.name });
});

test("GitRepository: provider aws and serviceAccountName with Flux's rule; OCI keyless verification fields", async () => {
  const git = { url: 'https://git.example.invalid/repo.git', interval: '1m' };
  const aws = await dryCreate('source.toolkit.fluxcd.io/v1', 'GitRepository', 'aws', { ...git, provider: 'aws', serviceAccountName: 'codecommit' });
  assert.equal(aws.spec.serviceAccountName, 'codecommit');
  await refused(dryCreate('source.toolkit.fluxcd.io/v1', 'GitRepository', 'generic-sa', { ...git, serviceAccountName: 'x' }), /serviceAccountName can only be set when provider is 'azure' or 'aws'/);
  const oci = await dryCreate('source.toolkit.fluxcd.io/v1', 'OCIRepository', 'keyless', {
    url: 'oci://registry.example.invalid/app',
    interval: '1m',
    verify: { provider: 'cosign', matchOIDCIdentity: [{ issuer: '^https://token\\.actions\\.githubusercontent\\.com$', subject: '^https://github\\.com/org/.*$' }], trustedRootSecretRef: { name: 'sigstore' } },
  });
  assert.equal(oci.spec.verify.trustedRootSecretRef.name, 'sigstore');
  await refused(dryCreate('source.toolkit.fluxcd.io/v1', 'OCIRepository', 'keyless-bad', { url: 'oci://r.example.invalid/a', interval: '1m', verify: { provider: 'cosign', matchOIDCIdentity: [{ issuer: 'x' }] } }), /subject: Required value/);
});
