import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { eventually, type TestNamespace } from '../harness.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import { releaseHistory } from './helmcli/history.ts';
import { listReleases } from './helmcli/status.ts';
import {
  clusterTarget,
  cond,
  configMapData,
  createObject,
  eventsFor,
  hrPath,
  testHelm,
  untilHR,
  type HRStatus,
  startHelmFixture,
  type HelmFixture,
} from './helpers.ts';

// spec.serviceAccountName: everything done for the release (reading Helm's
// storage, and the Helm actions themselves) impersonates the service account, so
// RBAC on it decides what the release may do.

let f: HelmFixture;
let ns: TestNamespace;
let client: KubeClient;
/** The release's target namespace, apart from the HelmRelease's. */
const target = `hrx-access-target-${randomBytes(3).toString('hex')}`;

before(async () => {
  f = await startHelmFixture('hrx-access');
  ({ ns, client } = f);
  await createObject(client, '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: target, labels: { 'sluice.test/owned': 'true' } } });
  await createObject(client, `/api/v1/namespaces/${ns.name}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'deployer' } });
});

after(async () => {
  await client?.request({ method: 'DELETE', path: `/api/v1/namespaces/${target}` }).catch(() => {});
  await f?.close();
});

const user = () => `system:serviceaccount:${ns.name}:deployer`;
const releaseName = () => `${target}-app`;

async function bind(name: string, roleRef: { kind: 'Role' | 'ClusterRole'; name: string }): Promise<void> {
  await createObject(client, `/apis/rbac.authorization.k8s.io/v1/namespaces/${target}/rolebindings`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', ...roleRef },
    subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: ns.name }],
  });
}

/** What `flux reconcile hr --reset` does: reconcile now, with fresh failure counters. */
async function requestReset(name: string): Promise<string> {
  const at = new Date().toISOString();
  await client.request({
    method: 'PATCH',
    path: hrPath(ns.name, name),
    contentType: 'application/merge-patch+json',
    body: { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': at, 'reconcile.fluxcd.io/resetAt': at } } },
  });
  return at;
}

const handled = (at: string) => (s: HRStatus) => (s as { lastHandledReconcileAt?: string }).lastHandledReconcileAt === at && cond(s, 'Reconciling')?.reason !== 'Progressing';

test('serviceAccountName: without rights nothing is released and the status says forbidden; with them the release is installed', async () => {
  await createObject(client, `/apis/helm.toolkit.fluxcd.io/v2/namespaces/${ns.name}/helmreleases`, {
    apiVersion: 'helm.toolkit.fluxcd.io/v2',
    kind: 'HelmRelease',
    metadata: { name: 'app' },
    spec: {
      interval: '1h',
      timeout: '1m',
      targetNamespace: target,
      // Storage beside the objects, so one namespace's RBAC decides everything.
      storageNamespace: target,
      serviceAccountName: 'deployer',
      chart: { spec: { chart: 'web', sourceRef: { kind: 'HelmRepository', name: 'charts' } } },
      values: { message: 'as the deployer' },
    },
  });

  // No rights at all in the target namespace: even Helm's storage cannot be read.
  const denied = await untilHR(client, ns.name, 'app', 'denied', (x) => cond(x, 'Ready')?.status === 'False' && /forbidden/.test(cond(x, 'Ready')!.message));
  const msg = cond(denied, 'Ready')!.message;
  assert.match(msg, /forbidden/);
  assert.ok(msg.includes(`User "${user()}"`), `the message names the impersonated service account: ${msg}`);
  assert.ok(msg.includes(`namespace "${target}"`), msg);
  const cli = await testHelm();
  const admin = await clusterTarget();
  assert.deepEqual(await listReleases(cli, admin, target), [], 'nothing installed');
  assert.equal(await configMapData(client, target, `${releaseName()}-settings`), undefined);

  // Rights on Helm's storage only: the Helm action itself runs as the service account and is refused.
  await createObject(client, `/apis/rbac.authorization.k8s.io/v1/namespaces/${target}/roles`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'helm-storage' },
    rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] }],
  });
  await bind('helm-storage', { kind: 'Role', name: 'helm-storage' });
  const storageOnly = await requestReset('app');
  const refused = await untilHR(client, ns.name, 'app', 'install refused', (x) => handled(storageOnly)(x) && cond(x, 'Ready')?.reason === 'InstallFailed');
  const installMsg = cond(refused, 'Ready')!.message;
  assert.match(installMsg, /^Helm install failed for release .* forbidden/);
  assert.ok(installMsg.includes(user()), `helm acted as the service account: ${installMsg}`);
  assert.equal(await configMapData(client, target, `${releaseName()}-settings`), undefined, 'no object was created');
  assert.ok((await eventsFor(client, ns.name, 'app')).some((e) => e.reason === 'InstallFailed' && e.type === 'Warning'));

  // Namespace admin: the release goes through.
  await bind('deployer-admin', { kind: 'ClusterRole', name: 'admin' });
  const granted = await requestReset('app');
  const ok = await untilHR(client, ns.name, 'app', 'installed', (x) => handled(granted)(x) && cond(x, 'Ready')?.status === 'True', 90_000);
  assert.equal(cond(ok, 'Released')?.reason, 'InstallSucceeded');
  assert.equal(ok.storageNamespace, target);
  const listed = await listReleases(cli, admin, target);
  assert.deepEqual(listed.map((r) => [r.name, r.status]), [[releaseName(), 'deployed']]);
  assert.deepEqual(await listReleases(cli, admin, ns.name), [], 'nothing in the HelmRelease\'s own namespace');
  assert.equal((await configMapData(client, target, `${releaseName()}-settings`))?.message, 'as the deployer');
  assert.equal((await releaseHistory(cli, admin, target, releaseName())).at(-1)?.status, 'deployed');

  // Deleting the HelmRelease uninstalls as the service account too.
  await client.request({ method: 'DELETE', path: hrPath(ns.name, 'app') });
  await eventually('HelmRelease gone', async () => ((await client.getOrUndefined(hrPath(ns.name, 'app'))) ? undefined : true), 60_000);
  assert.deepEqual(await listReleases(cli, admin, target), [], 'uninstalled');
});
