import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { GitOps, configMap, ready } from '../gitops.ts';
import type { KubeObject } from '../../src/kube/object.ts';

// kubeConfig.configMapRef with provider generic: the controller builds the
// kubeconfig from the ConfigMap's address and CA and a token it requests for
// the ConfigMap's service account. The "remote" cluster here is the test
// cluster itself, reached through that token (its API server trusts its own
// service-account tokens for its audience), so what is applied is applied as
// that service account and its RBAC decides. Cloud providers are refused.

const AUDIENCE = 'https://kubernetes.default.svc.cluster.local';

let g: GitOps;
let rev: string;
let server: string;
let caPem: string;

before(async () => {
  g = await GitOps.start('ks-kcm');
  const kc = JSON.parse(g.client.exportKubeconfig()) as { clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }> };
  server = kc.clusters[0]!.cluster.server;
  caPem = Buffer.from(kc.clusters[0]!.cluster['certificate-authority-data'], 'base64').toString('utf8');
  const ns = g.ns.name;
  const post = (path: string, body: Record<string, unknown>) => g.client.request({ method: 'POST', path, body });
  await post(`/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: 'remote-deployer' } });
  await post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, {
    metadata: { name: 'configmaps' },
    rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'] }],
  });
  await post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
    metadata: { name: 'remote-deployer' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmaps' },
    subjects: [{ kind: 'ServiceAccount', name: 'remote-deployer', namespace: ns }],
  });
  rev = await g.push({
    'cm/cm.yaml': configMap('via-token', { how: 'generic provider' }),
    'secret/s.yaml': `apiVersion: v1\nkind: Secret\nmetadata:\n  name: not-allowed\nstringData:\n  a: b\n`,
  }, 'init');
  await g.createGitRepository();
});
after(async () => {
  await g?.close();
});

async function kubeconfigMap(name: string, data: Record<string, string>): Promise<void> {
  await g.client.request({ method: 'POST', path: `/api/v1/namespaces/${g.ns.name}/configmaps`, body: { metadata: { name }, data } });
}

test('provider generic: applied through a token for the ConfigMap\'s service account, whose RBAC decides', async () => {
  await kubeconfigMap('kubeconfig', { provider: 'generic', address: server, 'ca.crt': caPem, audiences: AUDIENCE, serviceAccountName: 'remote-deployer' });
  await g.createKustomization('via-cm', { path: './cm', targetNamespace: g.ns.name, kubeConfig: { configMapRef: { name: 'kubeconfig' } } });
  await g.untilReady('via-cm', rev);
  const cm = await g.get<KubeObject & { data?: Record<string, string> }>(g.path('configmaps', 'via-token'));
  assert.equal(cm?.data?.how, 'generic provider');

  // The service account may not write Secrets: the API server says so, as that account.
  await g.createKustomization('denied', { path: './secret', targetNamespace: g.ns.name, kubeConfig: { configMapRef: { name: 'kubeconfig' } } });
  const s = await g.untilKs('denied', 'failed', (st) => ready(st)?.status === 'False' && st.lastAttemptedRevision === rev);
  assert.match(ready(s)!.message, new RegExp(`system:serviceaccount:${g.ns.name}:remote-deployer.*cannot .*secrets`));
  assert.equal(await g.get(g.path('secrets', 'not-allowed')), undefined);
});

test('a cloud provider, a missing address or a missing ConfigMap fails with a message that says so', async () => {
  await kubeconfigMap('eks', { provider: 'aws', cluster: 'arn:aws:eks:eu-west-1:111122223333:cluster/prod' });
  await kubeconfigMap('no-address', { provider: 'generic' });
  const cases: Array<[string, string, RegExp]> = [
    ['cloud', 'eks', /kubeconfig ConfigMap '.*\/eks': provider 'aws' authenticates through cloud workload identity, which Sluice does not support/],
    ['no-address', 'no-address', /kubeconfig ConfigMap '.*\/no-address': key 'address' is required for provider 'generic'/],
    ['no-cm', 'no-such-configmap', /kubeconfig ConfigMap '.*\/no-such-configmap' not found/],
  ];
  for (const [name, cmName] of cases) {
    await g.createKustomization(name, { path: './cm', targetNamespace: g.ns.name, prune: false, kubeConfig: { configMapRef: { name: cmName } } });
  }
  for (const [name, , message] of cases) {
    const s = await g.untilKs(name, 'failed', (st) => ready(st)?.status === 'False');
    assert.match(ready(s)!.message, message, name);
  }
});
