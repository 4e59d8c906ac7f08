import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeClient } from '../kube/client.ts';
import { Reachability } from './reachability.ts';
import { TargetError, Targets } from './target.ts';

// What a tenant's spec may not make the controller do: act as a name that is
// no service account of the object's namespace, or lend the controller's own
// identity to a kubeConfig ConfigMap under lockdown. A stub client stands in:
// these refusals happen before any request that would need a cluster.

/** The remote cluster of a kubeConfig ConfigMap counts as up: these tests are about whose token it gets. */
class AlwaysReachable extends Reachability {
  override async check(): Promise<void> {}
  override watch(): void {}
}

function stubClient(configMaps: Record<string, Record<string, string>> = {}): { client: KubeClient; posts: string[] } {
  const posts: string[] = [];
  const client = {
    impersonate: () => client,
    getOrUndefined: async (path: string) => {
      const name = path.split('/').pop()!;
      return configMaps[name] ? { metadata: { resourceVersion: '1' }, data: configMaps[name] } : undefined;
    },
    request: async (o: { method?: string; path: string }) => {
      posts.push(`${o.method ?? 'GET'} ${o.path}`);
      return { status: { token: 'minted', expirationTimestamp: new Date(Date.now() + 3_600_000).toISOString() } };
    },
  } as unknown as KubeClient;
  return { client, posts };
}

test('serviceAccountName must be a service account name of the object namespace', async () => {
  const { client } = stubClient();
  const targets = new Targets({ client, defaultServiceAccount: 'default', make: () => 1 });
  for (const sa of ['kube-system:default', 'system:masters', '../x', 'A', 'a'.repeat(254)]) {
    await assert.rejects(targets.for('tenant-a', { serviceAccountName: sa }), (err: unknown) => err instanceof TargetError && err.problem === 'serviceAccountInvalid' && err.message.includes('spec.serviceAccountName'));
  }
  const ok = await targets.for('tenant-a', { serviceAccountName: 'deployer.v2' });
  assert.equal(ok.id.asUser, 'system:serviceaccount:tenant-a:deployer.v2');
  assert.equal((await targets.for('tenant-a', {})).id.asUser, 'system:serviceaccount:tenant-a:default');
});

test('under lockdown a kubeConfig ConfigMap without serviceAccountName gets no token; with --default-kubeconfig-service-account it gets that account', async () => {
  const cm = { provider: 'generic', address: 'http://127.0.0.1:9', audiences: 'https://kubernetes.default.svc.cluster.local' };
  const locked = stubClient({ steal: cm });
  const targets = new Targets({ client: locked.client, defaultServiceAccount: 'default', reachability: new AlwaysReachable(), make: () => 1 });
  await assert.rejects(targets.for('tenant-a', { kubeConfig: { configMapRef: { name: 'steal' } } }), /no serviceAccountName, and with --default-service-account/);
  assert.deepEqual(locked.posts, [], 'no token was requested');

  const withDefault = stubClient({ steal: cm });
  const targets2 = new Targets({ client: withDefault.client, defaultServiceAccount: 'default', defaultKubeConfigServiceAccount: 'remote-deployer', reachability: new AlwaysReachable(), make: () => 1 });
  await targets2.for('tenant-a', { kubeConfig: { configMapRef: { name: 'steal' } } });
  assert.deepEqual(withDefault.posts, ['POST /api/v1/namespaces/tenant-a/serviceaccounts/remote-deployer/token'], "the token is the tenant namespace's account's");
});
