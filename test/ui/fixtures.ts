// The objects the dashboard tests look at, in one namespace: a
// GitRepository with an artifact, Kustomizations that depend on each other
// (one failing), a HelmRelease, and a Secret whose value is planted in
// every place a secret could leak from (Secret data, postBuild
// substitution, Helm values, inventory).
import { randomBytes } from 'node:crypto';
import type { KubeClient } from '../../src/kube/client.ts';
import { createWithStatus, gitPath, hrPath, ksPath, readyCondition } from './helpers.ts';

export const PLANTED = `planted-${randomBytes(8).toString('hex')}`;

/** What the GitRepository reconcile records about the fetched commit and the fetch (src/source/git/commit.ts, src/source/shell.ts). */
export const COMMIT_METADATA = {
  'sluice.dev/commit-author': 'Ada Lovelace <ada@example.org>',
  'sluice.dev/commit-date': new Date(Date.now() - 3 * 3600_000).toISOString().replace(/\.\d+Z$/, 'Z'),
  'sluice.dev/commit-subject': 'Scale the web tier to three replicas',
  'sluice.dev/fetch-duration': '1.23s',
};

export async function createFixtures(client: KubeClient, ns: string): Promise<void> {
  await client.request({ method: 'POST', path: `/api/v1/namespaces/${ns}/secrets`, body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'planted' }, stringData: { password: PLANTED, 'values.yaml': `password: ${PLANTED}\n` } } });
  await client.request({ method: 'POST', path: `/api/v1/namespaces/${ns}/configmaps`, body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app-config' }, data: { a: 'b' } } });
  const now = new Date().toISOString();
  await createWithStatus(client, gitPath(ns), { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name: 'repo' }, spec: { url: 'https://127.0.0.1:1/none.git', interval: '1h', ref: { branch: 'main' } } }, {
    artifact: { path: 'x.tar.gz', url: 'http://127.0.0.1:1/x.tar.gz', revision: 'main@sha1:0123456789abcdef0123456789abcdef01234567', digest: 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', size: 2048, lastUpdateTime: now, metadata: COMMIT_METADATA },
    conditions: [readyCondition('True', 'Succeeded', "stored artifact for revision 'main@sha1:0123456789abcdef'")],
  });
  const ks = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name }, spec: { interval: '1h', path: `./${name}`, prune: true, sourceRef: { kind: 'GitRepository', name: 'repo' }, ...spec } });
  const applied = { lastAppliedRevision: 'main@sha1:0123456789abcdef0123456789abcdef01234567', lastAttemptedRevision: 'main@sha1:0123456789abcdef0123456789abcdef01234567' };
  await createWithStatus(client, ksPath(ns), ks('infra', {}), { ...applied, conditions: [readyCondition('True', 'ReconciliationSucceeded', 'Applied revision: main@sha1:0123456789abcdef')] });
  await createWithStatus(client, ksPath(ns), ks('apps', { dependsOn: [{ name: 'infra' }], postBuild: { substitute: { db_password: PLANTED }, substituteFrom: [{ kind: 'Secret', name: 'planted' }] } }), {
    ...applied,
    conditions: [readyCondition('True', 'ReconciliationSucceeded', 'Applied revision: main@sha1:0123456789abcdef')],
    inventory: { entries: [{ id: `${ns}_planted__Secret`, v: 'v1' }, { id: `${ns}_app-config__ConfigMap`, v: 'v1' }, { id: `${ns}_gone__ConfigMap`, v: 'v1' }] },
  });
  await createWithStatus(client, ksPath(ns), ks('broken', { dependsOn: [{ name: 'apps' }] }), {
    lastAttemptedRevision: applied.lastAttemptedRevision,
    conditions: [readyCondition('False', 'BuildFailed', 'kustomize build failed: accumulating resources')],
  });
  await createWithStatus(client, hrPath(ns), {
    apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease', metadata: { name: 'web' },
    spec: { interval: '1h', chart: { spec: { chart: 'web', version: '1.x', sourceRef: { kind: 'HelmRepository', name: 'charts' } } }, values: { replicas: 2, auth: { password: PLANTED } }, valuesFrom: [{ kind: 'Secret', name: 'planted', valuesKey: 'values.yaml' }] },
  }, {
    history: [{ chartName: 'web', chartVersion: '1.2.3', version: 1, status: 'deployed', name: 'web', namespace: ns, digest: 'sha256:abc', firstDeployed: now, lastDeployed: now, configDigest: 'sha256:def', appVersion: '1.0' }],
    conditions: [readyCondition('True', 'InstallSucceeded', 'Helm install succeeded for release web with chart web@1.2.3')],
  });
}
