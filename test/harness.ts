import { randomBytes } from 'node:crypto';
import { KubeClient } from '../src/kube/client.ts';
import { upCluster } from '../src/dev/cluster/up.ts';
import { isNotFound } from '../src/kube/errors.ts';

/**
 * Integration tests share one control plane per test run. `npm test` starts
 * it (or reuses a running one) and passes its kubeconfig in
 * SLUICE_TEST_KUBECONFIG; a test file run on its own brings it up itself.
 */
let kubeconfigPromise: Promise<string> | undefined;

export function testKubeconfig(): Promise<string> {
  if (process.env.SLUICE_TEST_KUBECONFIG) return Promise.resolve(process.env.SLUICE_TEST_KUBECONFIG);
  kubeconfigPromise ??= upCluster({ log: (m) => process.stderr.write(`# ${m}\n`) }).then((r) => r.kubeconfig);
  return kubeconfigPromise;
}

export async function adminClient(): Promise<KubeClient> {
  return KubeClient.fromFile(await testKubeconfig());
}

/** A client that authenticates with a bearer token against the test cluster. */
export async function tokenClient(admin: KubeClient, token: string): Promise<KubeClient> {
  return admin.withToken(token);
}

export interface TestNamespace {
  name: string;
  client: KubeClient;
  cleanup(): Promise<void>;
}

/** A namespace of the test's own, named after it, deleted when the test ends. */
export async function testNamespace(label: string): Promise<TestNamespace> {
  const client = await adminClient();
  const slug = label.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40);
  const name = `t-${slug}-${randomBytes(3).toString('hex')}`;
  await client.request({
    method: 'POST',
    path: '/api/v1/namespaces',
    body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'sluice.test/owned': 'true' } } },
  });
  return {
    name,
    client,
    async cleanup() {
      try {
        await client.request({ method: 'DELETE', path: `/api/v1/namespaces/${name}` });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      } finally {
        client.close();
      }
    },
  };
}

/** Polls `check` until it returns a value other than undefined, or fails with the last reason. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
