import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { TestNamespace } from '../harness.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import { cond, createObject, hrPath, hrStatus, startHelmFixture, untilHR as waitHR, writeChart, type ChartRepoServer, type HelmFixture } from './helpers.ts';

// Public charts guard themselves with `kubeVersion` (Helm checks it against
// the server's /version), and stateful ones claim volumes from a cloud
// StorageClass. Both install on the local control plane: it reports the
// Kubernetes version it is built from, and its volume provisioner binds a
// claim of any class.

let f: HelmFixture | undefined;
let ns: TestNamespace;
let client: KubeClient;
let repo: ChartRepoServer;
const storageClass = `gp3-${Date.now().toString(36)}`;

/** A StatefulSet chart in the shape of Bevel's Fabric CA server: its data on a cloud disk. */
function statefulChart(name: string, kubeVersion: string) {
  return {
    'Chart.yaml': `apiVersion: v2\nname: ${name}\nversion: 1.0.0\nkubeVersion: "${kubeVersion}"\n`,
    'values.yaml': `storage:\n  class: standard\n  size: 512Mi\n`,
    'templates/statefulset.yaml': `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: 2
  serviceName: {{ .Release.Name }}
  selector:
    matchLabels: {app: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}}
    spec:
      containers:
      - name: ca
        image: ghcr.io/hyperledger/bevel-fabric-ca:1.4.8
        volumeMounts:
        - {name: data, mountPath: /etc/hyperledger/fabric-ca-server}
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      storageClassName: {{ .Values.storage.class }}
      accessModes: [ReadWriteOnce]
      resources:
        requests:
          storage: {{ .Values.storage.size }}
`,
  };
}

/** untilHR, with the HelmRelease's last status in the error: a time-out says where it stood. */
async function untilHR(...args: Parameters<typeof waitHR>): ReturnType<typeof waitHR> {
  try {
    return await waitHR(...args);
  } catch (err) {
    const last = await hrStatus(args[0], args[1], args[2]).catch(() => undefined);
    throw new Error(`${(err as Error).message}; last status: ${JSON.stringify(last?.conditions)}`);
  }
}

const release = (name: string, chart: string) => ({
  apiVersion: 'helm.toolkit.fluxcd.io/v2',
  kind: 'HelmRelease',
  metadata: { name },
  spec: {
    interval: '1h',
    timeout: '2m',
    chart: { spec: { chart, version: '1.0.0', sourceRef: { kind: 'HelmRepository', name: 'charts' } } },
    values: { storage: { class: storageClass } },
  },
});

before(async () => {
  f = await startHelmFixture('kubeversion');
  ({ ns, client, repo } = f);
  await createObject(client, '/apis/storage.k8s.io/v1/storageclasses', {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: storageClass },
    provisioner: 'ebs.csi.aws.com',
    volumeBindingMode: 'WaitForFirstConsumer',
    parameters: { type: 'gp3' },
  });
  await repo.publish(await writeChart(join(f.work, 'ca-server'), statefulChart('ca-server', '>=1.30.0-0')));
  await repo.publish(await writeChart(join(f.work, 'ancient'), statefulChart('ancient', '<1.20.0-0')));
  // The fixture's HelmRepository may have read the index before these charts were in it.
  await client.request({
    method: 'PATCH',
    path: `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns.name}/helmrepositories/charts`,
    contentType: 'application/merge-patch+json',
    body: { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': new Date().toISOString() } } },
  });
});

after(async () => {
  await f?.close();
  await client?.request({ method: 'DELETE', path: `/apis/storage.k8s.io/v1/storageclasses/${storageClass}` }).catch(() => {});
});

test('a chart requiring kubeVersion >=1.30.0-0 whose StatefulSet claims cloud disks installs and becomes Ready', async () => {
  await createObject(client, hrPath(ns.name, 'ca').replace(/\/ca$/, ''), release('ca', 'ca-server'));
  const s = await untilHR(client, ns.name, 'ca', 'Ready', (st) => cond(st, 'Ready')?.status === 'True', 120_000);
  assert.equal(cond(s, 'Released')?.reason, 'InstallSucceeded');
  const sts = await client.request<{ status?: { readyReplicas?: number } }>({ path: `/apis/apps/v1/namespaces/${ns.name}/statefulsets/ca` });
  assert.equal(sts.status?.readyReplicas, 2);
  for (const claim of ['data-ca-0', 'data-ca-1']) {
    const c = await client.request<{ spec: { storageClassName?: string }; status?: { phase?: string } }>({
      path: `/api/v1/namespaces/${ns.name}/persistentvolumeclaims/${claim}`,
    });
    assert.deepEqual([c.spec.storageClassName, c.status?.phase], [storageClass, 'Bound'], claim);
  }
});

test('a chart whose kubeVersion excludes the cluster is refused, naming both versions', async () => {
  await createObject(client, hrPath(ns.name, 'old').replace(/\/old$/, ''), release('old', 'ancient'));
  const s = await untilHR(client, ns.name, 'old', 'install failed', (st) => cond(st, 'Ready')?.status === 'False' && (st.installFailures ?? 0) > 0, 90_000);
  const msg = cond(s, 'Ready')!.message;
  assert.match(msg, /chart requires kubeVersion: <1\.20\.0-0 which is incompatible with Kubernetes v1\.\d+\.\d+/);
});
