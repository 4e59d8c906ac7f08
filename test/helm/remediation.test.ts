import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, type TestNamespace } from '../harness.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { releaseHistory } from './helmcli/history.ts';
import { getValues } from './helmcli/getvalues.ts';
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
  startHelmFixture,
  type HelmFixture,
} from './helpers.ts';

// Failure handling, drift and post-renderers, with real Helm releases.

let f: HelmFixture;
let ns: TestNamespace;
let client: KubeClient;

before(async () => {
  f = await startHelmFixture('helm-remediation');
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

async function requestReconcile(name: string): Promise<void> {
  await client.request({
    method: 'PATCH',
    path: hrPath(ns.name, name),
    contentType: 'application/merge-patch+json',
    body: { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': new Date().toISOString() } } },
  });
}

// A Service port the API server refuses: helm records the revision as failed.
const badPort = { service: { port: 70000 } };

describe('failure handling', () => {
  test('a failed upgrade is rolled back, retried, rolled back again, and the status says so', async () => {
    await createObject(client, hrs(), release('rb', { values: { message: 'good' }, upgrade: { remediation: { retries: 1 } } }));
    await untilHR(client, ns.name, 'rb', 'installed', readyAt(1));
    await patchSpec(client, hrPath(ns.name, 'rb'), { values: { message: 'bad', ...badPort } });
    const s = await untilHR(client, ns.name, 'rb', 'stalled after the retry', (x) => cond(x, 'Stalled')?.status === 'True');
    assert.equal(s.upgradeFailures, 2);
    assert.equal(cond(s, 'Stalled')?.reason, 'RetriesExceeded');
    assert.equal(cond(s, 'Stalled')?.message, 'Failed to upgrade after 2 attempt(s)');
    assert.equal(cond(s, 'Remediated')?.status, 'True');
    assert.equal(cond(s, 'Remediated')?.reason, 'RollbackSucceeded');
    assert.match(cond(s, 'Remediated')!.message, new RegExp(`^Helm rollback to previous release ${ns.name}/rb\\.v\\d with chart web@1\\.0\\.0 succeeded$`));
    assert.equal(cond(s, 'Ready')?.status, 'False');
    assert.equal(cond(s, 'Released')?.reason, 'UpgradeFailed');
    assert.match(cond(s, 'Released')!.message, /Helm upgrade failed for release .*\/rb with chart web@1\.0\.0: .*70000/);

    const cli = await testHelm();
    const target = await clusterTarget();
    const hist = await releaseHistory(cli, target, ns.name, 'rb');
    assert.deepEqual(
      hist.map((e) => e.status),
      ['superseded', 'failed', 'superseded', 'failed', 'deployed'],
    );
    assert.match(hist[4]!.description, /^Rollback to [13]$/, 'back to the last good revision');
    assert.deepEqual(await getValues(cli, target, ns.name, 'rb'), { message: 'good' });
    assert.equal((await configMapData(client, ns.name, 'rb-settings'))!.message, 'good', 'the running release is the good one');
    const events = await eventsFor(client, ns.name, 'rb');
    assert.ok(events.some((e) => e.reason === 'UpgradeFailed' && e.type === 'Warning'));
    assert.ok(events.some((e) => e.reason === 'RollbackSucceeded'));

    // A fix clears the counters and the stall.
    await patchSpec(client, hrPath(ns.name, 'rb'), { values: { message: 'fixed', service: null } });
    const fixed = await untilHR(client, ns.name, 'rb', 'upgraded after the fix', readyAt(6));
    assert.equal(fixed.upgradeFailures, 0);
    assert.equal(cond(fixed, 'Stalled'), undefined);
    assert.equal(cond(fixed, 'Remediated'), undefined);
  });

  test('a failed install is remediated by uninstalling it', async () => {
    await createObject(client, hrs(), release('ri', { values: badPort, install: { remediation: { retries: 1, remediateLastFailure: true } } }));
    const s = await untilHR(client, ns.name, 'ri', 'stalled after install retries', (x) => cond(x, 'Stalled')?.status === 'True');
    assert.equal(s.installFailures, 2);
    assert.equal(cond(s, 'Stalled')?.message, 'Failed to install after 2 attempt(s)');
    assert.equal(cond(s, 'Remediated')?.reason, 'UninstallSucceeded');
    assert.equal(cond(s, 'Ready')?.status, 'False');
    const list = await listReleases(await testHelm(), await clusterTarget(), ns.name);
    assert.ok(!list.some((r) => r.name === 'ri'), 'the failed release is gone');

    await patchSpec(client, hrPath(ns.name, 'ri'), { values: { service: { port: 8080 } } });
    const ok = await untilHR(client, ns.name, 'ri', 'installed after the fix', (x) => cond(x, 'Ready')?.status === 'True');
    assert.equal(cond(ok, 'Released')?.reason, 'InstallSucceeded');
    assert.equal(ok.installFailures, 0);
  });

  test('upgrade remediation strategy uninstall removes the failed release', async () => {
    await createObject(client, hrs(), release('ru', { upgrade: { remediation: { strategy: 'uninstall', remediateLastFailure: true } } }));
    await untilHR(client, ns.name, 'ru', 'installed', readyAt(1));
    await patchSpec(client, hrPath(ns.name, 'ru'), { values: badPort });
    const s = await untilHR(client, ns.name, 'ru', 'stalled', (x) => cond(x, 'Stalled')?.status === 'True');
    assert.equal(cond(s, 'Remediated')?.reason, 'UninstallSucceeded');
    assert.equal(s.upgradeFailures, 1);
    const list = await listReleases(await testHelm(), await clusterTarget(), ns.name);
    assert.ok(!list.some((r) => r.name === 'ru'));
  });
});

describe('drift', () => {
  test('drift is corrected, ignore rules are kept', async () => {
    await createObject(
      client,
      hrs(),
      release('drift', {
        values: { message: 'desired' },
        driftDetection: { mode: 'enabled', ignore: [{ paths: ['/spec/replicas'], target: { kind: 'Deployment' } }] },
      }),
    );
    const s0 = await untilHR(client, ns.name, 'drift', 'installed', readyAt(1));
    assert.equal(cond(s0, 'Drifted')?.status, 'False');
    await client.request({
      method: 'PATCH',
      path: `/api/v1/namespaces/${ns.name}/configmaps/drift-settings`,
      query: { fieldManager: 'kubectl-edit' },
      contentType: 'application/merge-patch+json',
      body: { data: { message: 'hand-edited' } },
    });
    await client.request({
      method: 'PATCH',
      path: `/apis/apps/v1/namespaces/${ns.name}/deployments/drift`,
      query: { fieldManager: 'hpa' },
      contentType: 'application/merge-patch+json',
      body: { spec: { replicas: 4 } },
    });
    await client.request({ method: 'DELETE', path: `/api/v1/namespaces/${ns.name}/services/drift` });
    await eventually('service gone', async () => ((await client.getOrUndefined(`/api/v1/namespaces/${ns.name}/services/drift`)) ? undefined : true));
    await requestReconcile('drift');
    // The correction patches and re-creates objects concurrently: wait for both, then check each.
    await eventually('drift corrected: the ConfigMap as desired and the deleted Service back', async () =>
      (await configMapData(client, ns.name, 'drift-settings'))?.message === 'desired' && (await client.getOrUndefined(`/api/v1/namespaces/${ns.name}/services/drift`)) ? true : undefined,
    );
    const dep = await client.request<KubeObject & { spec: { replicas: number } }>({ path: `/apis/apps/v1/namespaces/${ns.name}/deployments/drift` });
    assert.equal(dep.spec.replicas, 4, 'ignored path keeps its live value');
    const events = await eventsFor(client, ns.name, 'drift');
    const ev = events.find((e) => e.reason === 'DriftCorrected');
    assert.ok(ev, 'a DriftCorrected event');
    assert.match(ev!.message, /ConfigMap\/.*\/drift-settings configured/);
    assert.match(ev!.message, /Service\/.*\/drift created/);
    const hist = await releaseHistory(await testHelm(), await clusterTarget(), ns.name, 'drift');
    assert.equal(hist.length, 1, 'drift correction makes no new revision');
  });

  test('warn mode reports drift and leaves it', async () => {
    await createObject(client, hrs(), release('warn', { values: { message: 'desired' }, driftDetection: { mode: 'warn' } }));
    await untilHR(client, ns.name, 'warn', 'installed', readyAt(1));
    await client.request({
      method: 'PATCH',
      path: `/api/v1/namespaces/${ns.name}/configmaps/warn-settings`,
      query: { fieldManager: 'kubectl-edit' },
      contentType: 'application/merge-patch+json',
      body: { data: { message: 'hand-edited' } },
    });
    await requestReconcile('warn');
    const s = await untilHR(client, ns.name, 'warn', 'drift reported', (x) => cond(x, 'Drifted')?.status === 'True');
    assert.equal(cond(s, 'Drifted')?.reason, 'DriftDetected');
    assert.match(cond(s, 'Drifted')!.message, /ConfigMap\/.*\/warn-settings changed \(\/data\/message\)/);
    assert.equal(cond(s, 'Ready')?.status, 'True');
    assert.equal((await configMapData(client, ns.name, 'warn-settings'))!.message, 'hand-edited');
  });
});

describe('post-renderers', () => {
  test('kustomize patches, JSON 6902 patches, images and common metadata reach the objects and the stored manifest', async () => {
    await createObject(
      client,
      hrs(),
      release('pr', {
        commonMetadata: { labels: { team: 'blue' } },
        postRenderers: [
          {
            kustomize: {
              patches: [
                { target: { kind: 'Deployment', name: 'pr' }, patch: '- op: add\n  path: /spec/template/metadata/labels/environment\n  value: production\n' },
                { patch: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: pr-settings\ndata:\n  extra: from-patch\n' },
              ],
              images: [{ name: 'example.invalid/web', newName: 'registry.example.invalid/web', newTag: '2.0' }],
            },
          },
          { kustomize: { patchesJson6902: [{ target: { version: 'v1', kind: 'Service', name: 'pr' }, patch: [{ op: 'add', path: '/metadata/annotations', value: { second: 'stage' } }] }] } },
        ],
      }),
    );
    await untilHR(client, ns.name, 'pr', 'installed', readyAt(1));
    const dep = await client.request<KubeObject & { spec: { template: { metadata: { labels: Record<string, string> }; spec: { containers: Array<{ image: string }> } } } }>({
      path: `/apis/apps/v1/namespaces/${ns.name}/deployments/pr`,
    });
    assert.equal(dep.spec.template.metadata.labels.environment, 'production');
    assert.equal(dep.metadata.labels?.team, 'blue');
    assert.equal(dep.metadata.labels?.['helm.toolkit.fluxcd.io/name'], 'pr');
    assert.equal(dep.spec.template.spec.containers[0]!.image, 'registry.example.invalid/web:2.0');
    assert.equal((await configMapData(client, ns.name, 'pr-settings'))!.extra, 'from-patch');
    const svc = await client.request<KubeObject>({ path: `/api/v1/namespaces/${ns.name}/services/pr` });
    assert.equal(svc.metadata.annotations?.second, 'stage');
    const manifest = await (await testHelm()).run(['get', 'manifest', 'pr'], { target: await clusterTarget(), namespace: ns.name });
    assert.match(manifest, /registry\.example\.invalid\/web:2\.0/, 'helm stored the post-rendered manifest');

    // A change of the post-renderers alone upgrades the release.
    await patchSpec(client, hrPath(ns.name, 'pr'), { postRenderers: [{ kustomize: { images: [{ name: 'example.invalid/web', newTag: '3.0' }] } }] });
    await untilHR(client, ns.name, 'pr', 'upgraded', readyAt(2));
    const dep2 = await client.request<KubeObject & { spec: { template: { spec: { containers: Array<{ image: string }> } } } }>({
      path: `/apis/apps/v1/namespaces/${ns.name}/deployments/pr`,
    });
    assert.equal(dep2.spec.template.spec.containers[0]!.image, 'example.invalid/web:3.0');
  });
});
