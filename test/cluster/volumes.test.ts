import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { adminClient, eventually, testNamespace, type TestNamespace } from '../harness.ts';
import type { KubeClient } from '../../src/kube/client.ts';

// Volumes in the local control plane: KWOK's nodes mount nothing, and the
// stand-in provisioner in sluice-kube makes a PersistentVolume for a claim
// of any StorageClass, a cloud disk's included, so StatefulSets with
// volumeClaimTemplates (Bevel's Fabric charts are such) become ready.

let ns: TestNamespace;
let admin: KubeClient;
const classes: string[] = [];

interface Claim {
  metadata: { name: string; uid: string; annotations?: Record<string, string> };
  spec: { volumeName?: string; storageClassName?: string };
  status?: { phase?: string; capacity?: { storage?: string } };
}
interface Volume {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: {
    capacity: { storage: string };
    accessModes: string[];
    storageClassName: string;
    persistentVolumeReclaimPolicy: string;
    claimRef?: { namespace: string; name: string; uid: string };
  };
  status?: { phase?: string };
}

before(async () => {
  admin = await adminClient();
  ns = await testNamespace('volumes');
});

after(async () => {
  await ns?.cleanup();
  for (const c of classes) {
    await admin.request({ method: 'DELETE', path: `/apis/storage.k8s.io/v1/storageclasses/${c}` }).catch(() => {});
  }
  admin?.close();
});

async function storageClass(suffix: string, provisioner: string, extra: Record<string, unknown> = {}): Promise<string> {
  const name = `${ns.name}-${suffix}`;
  await admin.request({
    method: 'POST',
    path: '/apis/storage.k8s.io/v1/storageclasses',
    body: { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name }, provisioner, ...extra },
  });
  classes.push(name);
  return name;
}

const claimsPath = () => `/api/v1/namespaces/${ns.name}/persistentvolumeclaims`;
const claim = (name: string) => admin.request<Claim>({ path: `${claimsPath()}/${name}` });
const volume = (name: string) => admin.getOrUndefined<Volume>(`/api/v1/persistentvolumes/${name}`);

async function untilBound(name: string, timeoutMs = 60_000): Promise<Claim> {
  return eventually(`claim ${name} Bound`, async () => {
    const c = await claim(name);
    return c.status?.phase === 'Bound' ? c : undefined;
  }, timeoutMs);
}

async function untilGone(pv: string): Promise<void> {
  await eventually(`volume ${pv} deleted`, async () => ((await volume(pv)) ? undefined : true), 60_000);
}

test('a StatefulSet whose claims use an AWS EBS class becomes ready, and its volumes go with its claims', async () => {
  // As EKS's gp2 class: the in-tree provisioner name (CSI-migrated), bound on first consumer.
  const sc = await storageClass('gp2', 'kubernetes.io/aws-ebs', { volumeBindingMode: 'WaitForFirstConsumer', parameters: { type: 'gp2' } });
  await admin.request({
    method: 'POST',
    path: `/apis/apps/v1/namespaces/${ns.name}/statefulsets`,
    body: {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db' },
      spec: {
        replicas: 2,
        serviceName: 'db',
        selector: { matchLabels: { app: 'db' } },
        template: {
          metadata: { labels: { app: 'db' } },
          spec: {
            containers: [{ name: 'db', image: 'registry.invalid/db:1', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data' },
            spec: { storageClassName: sc, accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } } },
          },
        ],
      },
    },
  });
  await eventually(
    'StatefulSet db with 2 ready replicas',
    async () => {
      const s = await admin.request<{ status?: { readyReplicas?: number } }>({ path: `/apis/apps/v1/namespaces/${ns.name}/statefulsets/db` });
      return s.status?.readyReplicas === 2 ? true : undefined;
    },
    120_000,
  );

  const pvs: string[] = [];
  for (const name of ['data-db-0', 'data-db-1']) {
    const c = await untilBound(name);
    // The scheduler picked the node first: the class waited for its consumer.
    assert.match(c.metadata.annotations?.['volume.kubernetes.io/selected-node'] ?? '', /^kwok-node-/);
    assert.equal(c.status?.capacity?.storage, '2Gi');
    const pv = (await volume(c.spec.volumeName!))!;
    assert.equal(pv.spec.storageClassName, sc);
    assert.equal(pv.spec.capacity.storage, '2Gi');
    assert.deepEqual(pv.spec.accessModes, ['ReadWriteOnce']);
    assert.equal(pv.spec.persistentVolumeReclaimPolicy, 'Delete');
    assert.deepEqual(pv.spec.claimRef && [pv.spec.claimRef.namespace, pv.spec.claimRef.name, pv.spec.claimRef.uid], [ns.name, name, c.metadata.uid]);
    // Recorded as made by the CSI driver the in-tree name migrates to.
    assert.equal(pv.metadata.annotations?.['pv.kubernetes.io/provisioned-by'], 'ebs.csi.aws.com');
    assert.equal(pv.status?.phase, 'Bound');
    pvs.push(pv.metadata.name);
  }

  // Deleting the StatefulSet keeps its claims (Kubernetes' default); deleting
  // the claims releases the volumes, and Delete reclaims them.
  await admin.request({ method: 'DELETE', path: `/apis/apps/v1/namespaces/${ns.name}/statefulsets/db`, query: { propagationPolicy: 'Foreground' } });
  await eventually('pods of db gone', async () => {
    const pods = await admin.request<{ items: unknown[] }>({ path: `/api/v1/namespaces/${ns.name}/pods`, query: { labelSelector: 'app=db' } });
    return pods.items.length === 0 ? true : undefined;
  }, 60_000);
  for (const pv of pvs) assert.equal((await volume(pv))?.status?.phase, 'Bound', 'a claim outlives its StatefulSet');
  for (const name of ['data-db-0', 'data-db-1']) await admin.request({ method: 'DELETE', path: `${claimsPath()}/${name}` });
  for (const pv of pvs) await untilGone(pv);
});

test('a claim of an Immediate CSI class binds with no pod; with Retain its volume stays Released', async () => {
  const sc = await storageClass('retain', 'ebs.csi.aws.com', { reclaimPolicy: 'Retain', volumeBindingMode: 'Immediate' });
  await admin.request({
    method: 'POST',
    path: claimsPath(),
    body: {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'kept' },
      spec: { storageClassName: sc, accessModes: ['ReadWriteMany'], resources: { requests: { storage: '1Mi' } } },
    },
  });
  const c = await untilBound('kept');
  const pvName = c.spec.volumeName!;
  const pv = (await volume(pvName))!;
  assert.deepEqual(pv.spec.accessModes, ['ReadWriteMany']);
  assert.equal(pv.spec.persistentVolumeReclaimPolicy, 'Retain');
  await admin.request({ method: 'DELETE', path: `${claimsPath()}/kept` });
  await eventually(`volume ${pvName} Released`, async () => ((await volume(pvName))?.status?.phase === 'Released' ? true : undefined));
  // Retained: give the provisioner time to (wrongly) delete it, then check it is still there.
  await new Promise((r) => setTimeout(r, 2_000));
  assert.equal((await volume(pvName))?.status?.phase, 'Released');
  await admin.request({ method: 'DELETE', path: `/api/v1/persistentvolumes/${pvName}` });
  await untilGone(pvName);
});

test('a claim that names no class gets the default class, and binds once a pod uses it', async () => {
  await admin.request({
    method: 'POST',
    path: claimsPath(),
    body: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'plain' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
  });
  const pending = await claim('plain');
  assert.equal(pending.spec.storageClassName, 'standard', 'the DefaultStorageClass admission plugin filled in the default class');
  // The default class waits for a consumer: no pod, no volume.
  await new Promise((r) => setTimeout(r, 1_500));
  assert.equal((await claim('plain')).status?.phase, 'Pending');
  await admin.request({
    method: 'POST',
    path: `/api/v1/namespaces/${ns.name}/pods`,
    body: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'user' },
      spec: {
        containers: [{ name: 'c', image: 'registry.invalid/c:1', volumeMounts: [{ name: 'v', mountPath: '/v' }] }],
        volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'plain' } }],
      },
    },
  });
  await untilBound('plain');
  await eventually('pod user Ready', async () => {
    const p = await admin.request<{ status?: { conditions?: Array<{ type: string; status: string }> } }>({ path: `/api/v1/namespaces/${ns.name}/pods/user` });
    return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? true : undefined;
  }, 60_000);
});

test('a claim of a class with no provisioner stays Pending, as anywhere', async () => {
  const sc = await storageClass('static', 'kubernetes.io/no-provisioner', { volumeBindingMode: 'Immediate' });
  await admin.request({
    method: 'POST',
    path: claimsPath(),
    body: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'static' }, spec: { storageClassName: sc, accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
  });
  await new Promise((r) => setTimeout(r, 2_000));
  const c = await claim('static');
  assert.equal(c.status?.phase, 'Pending');
  assert.equal(c.spec.volumeName, undefined);
});
