import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitOps, configMap } from '../gitops.ts';
import { upCluster } from '../../src/dev/cluster/up.ts';
import { stopCluster } from '../../src/dev/cluster/down.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { closeAll } from '../cleanup.ts';

// kubeConfig.secretRef: a Kustomization in this cluster applies to a second,
// separate local control plane.

let g: GitOps;
let remoteHome: string;
let remote: KubeClient;

before(async () => {
  remoteHome = await mkdtemp(join(tmpdir(), 'sluice-remote-'));
  const r = await upCluster({ home: remoteHome, nodes: 1 });
  remote = await KubeClient.fromFile(r.kubeconfig);
  g = await GitOps.start('remote');
  await g.client.request({
    method: 'POST',
    path: `/api/v1/namespaces/${g.ns.name}/secrets`,
    body: { metadata: { name: 'remote-kubeconfig' }, stringData: { value: await readFile(r.kubeconfig, 'utf8') } },
  });
});

after(async () => {
  await closeAll(
    g && (() => g.close()),
    remote && (() => remote.close()),
    remoteHome &&
      (async () => {
        await stopCluster(remoteHome);
        await rm(remoteHome, { recursive: true, force: true });
      }),
  );
});

test('kubeConfig.secretRef applies to the remote cluster, and only there', async () => {
  const rev = await g.push({ 'remote/ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: from-afar\n', 'remote/cm.yaml': configMap('remote-config', { where: 'remote' }).replace('metadata:\n', 'metadata:\n  namespace: from-afar\n') }, 'remote');
  await g.createGitRepository();
  await g.createKustomization('remote', { path: './remote', kubeConfig: { secretRef: { name: 'remote-kubeconfig' } } });
  const s = await g.untilReady('remote', rev, 60_000);
  assert.deepEqual(s.inventory!.entries.map((e) => e.id).sort(), ['_from-afar__Namespace', 'from-afar_remote-config__ConfigMap']);
  const there = await remote.getOrUndefined<{ data: Record<string, string> }>('/api/v1/namespaces/from-afar/configmaps/remote-config');
  assert.equal(there?.data.where, 'remote');
  assert.equal(await g.client.getOrUndefined('/api/v1/namespaces/from-afar'), undefined, 'nothing lands in the local cluster');
});

test('a missing kubeconfig Secret is a clear failure', async () => {
  await g.createKustomization('nowhere', { path: './remote', kubeConfig: { secretRef: { name: 'no-such-secret' } } });
  const s = await g.untilKs('nowhere', 'failed', (st) => st.conditions?.find((c) => c.type === 'Ready')?.status === 'False');
  assert.match(s.conditions!.find((c) => c.type === 'Ready')!.message, /kubeconfig Secret '.*\/no-such-secret' not found/);
});
