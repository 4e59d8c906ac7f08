import type { KubeClient } from '../../kube/client.ts';
import { isConflict } from '../../kube/errors.ts';
import { KWOK_NODE_ANNOTATION } from './flags.ts';

export function nodeName(i: number): string {
  return `kwok-node-${i}`;
}

/**
 * Registers fake nodes for KWOK to manage. They are untainted and roomy so
 * ordinary workloads schedule on them without tolerations.
 */
export async function ensureNodes(client: KubeClient, count: number): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const name = nodeName(i);
      const node = {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name,
          annotations: { [KWOK_NODE_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
          labels: {
            'kubernetes.io/hostname': name,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': 'amd64',
            'node-role.kubernetes.io/agent': '',
            type: 'kwok',
          },
        },
        status: {
          allocatable: { cpu: '32', memory: '256Gi', pods: '1000' },
          capacity: { cpu: '32', memory: '256Gi', pods: '1000' },
        },
      };
      try {
        await client.request({ method: 'POST', path: '/api/v1/nodes', body: node });
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }),
  );
}

interface NodeList {
  items: Array<{ metadata: { name: string }; status?: { conditions?: Array<{ type: string; status: string }> } }>;
}

export async function waitNodesReady(client: KubeClient, count: number): Promise<boolean> {
  const list = await client.request<NodeList>({ path: '/api/v1/nodes' });
  const ready = list.items.filter((n) =>
    n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  );
  return ready.length >= count;
}
