// Small readers of cluster state for the fault tests.
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';

export interface Cond {
  type: string;
  status: string;
  reason: string;
  message: string;
}
export type FluxObj = KubeObject & { status?: { conditions?: Cond[]; artifact?: { revision: string; url: string }; lastAppliedRevision?: string } };
export const readyOf = (o: FluxObj | undefined) => o?.status?.conditions?.find((c) => c.type === 'Ready');

/**
 * The UID of every ConfigMap and Deployment in `ns` by kind/name: an object
 * deleted (even if recreated) shows up as a changed or missing UID.
 */
export async function liveUids(client: KubeClient, ns: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [kind, path] of [
    ['ConfigMap', `/api/v1/namespaces/${ns}/configmaps`],
    ['Deployment', `/apis/apps/v1/namespaces/${ns}/deployments`],
  ] as const) {
    for (const o of (await client.request<{ items: KubeObject[] }>({ path })).items) {
      // Only the workloads the rollout owns (not Sluice's own record ConfigMaps).
      const name = o.metadata.name ?? '';
      if (!/^(ks-\d+|hr-\d+)-/.test(name)) continue;
      out.set(`${kind}/${name}`, o.metadata.uid!);
    }
  }
  return out;
}

/**
 * The GitRepository's artifact must come from `storageUrl` (the controller
 * under test): in the shared cluster a test operator that watches every
 * namespace would otherwise reconcile it too, with a storage of its own,
 * and the two would undo each other's status.
 */
export async function ownArtifact(client: KubeClient, path: string, storageUrl: string): Promise<void> {
  const g = await client.request<FluxObj>({ path });
  const url = g.status?.artifact?.url;
  if (url && !url.startsWith(`${storageUrl}/`)) {
    throw new Error(`another controller reconciles this test's GitRepository: its artifact is served from ${url}, not from ${storageUrl} (a test operator watching every namespace of the shared cluster?)`);
  }
}
