import { KubeClient } from '../kube/client.ts';
import { upCluster } from '../cluster/up.ts';

/**
 * `npm start`. Uses the cluster in KUBECONFIG when one is configured and
 * reachable (read-only for now); otherwise brings up the local control plane.
 * It grows into the full GitOps demo as the controllers land.
 */
export async function demoCommand(_args: string[]): Promise<number> {
  const configured = process.env.KUBECONFIG;
  if (configured) {
    const client = await KubeClient.fromFile(configured, undefined, { timeoutMs: 5_000 });
    try {
      const v = await client.request<{ gitVersion: string }>({ path: '/version' });
      process.stdout.write(`using the cluster in KUBECONFIG: ${client.server} (Kubernetes ${v.gitVersion})\n`);
      return 0;
    } catch (err) {
      process.stderr.write(`KUBECONFIG is set but its cluster does not answer: ${(err as Error).message}\n`);
      return 1;
    } finally {
      client.close();
    }
  }
  const res = await upCluster({ log: (m) => process.stderr.write(`${m}\n`) });
  const client = await KubeClient.fromFile(res.kubeconfig);
  try {
    const v = await client.request<{ gitVersion: string }>({ path: '/version' });
    const nodes = await client.request<{ items: Array<{ metadata: { name: string } }> }>({ path: '/api/v1/nodes' });
    process.stdout.write(
      `local Kubernetes ${v.gitVersion} ready at ${res.server}` +
        `${res.reused ? ' (already running)' : ` (started in ${res.startSeconds.toFixed(1)} s)`}\n` +
        `nodes: ${nodes.items.map((n) => n.metadata.name).join(', ')}\n` +
        `kubeconfig: ${res.kubeconfig}\n  export KUBECONFIG=${res.kubeconfig}\n` +
        `stop it with: node bin/sluice.js cluster down\n`,
    );
  } finally {
    client.close();
  }
  return 0;
}
