// Which GitOps controllers run in a cluster: Sluice's (`sluice install` or
// bootstrap) and Flux's, found by the part-of label both put on their
// Deployments. Uninstall, check and a Bevel takeover all start here: what is
// shared in a cluster (the CRDs) may only go when nobody else uses it.
import type { KubeClient } from '../kube/client.ts';
import type { KubeObject } from '../kube/object.ts';

export type Distribution = 'sluice' | 'flux';

export interface Installation {
  distribution: Distribution;
  namespace: string;
  /** The controller Deployments, by name. */
  deployments: ControllerDeployment[];
}

export interface ControllerDeployment {
  name: string;
  images: string[];
  /** app.kubernetes.io/version, as both label their objects. */
  version?: string;
  desired: number;
  ready: number;
  /** Whether the Deployment's rollout is complete (observed, updated, available). */
  rolledOut: boolean;
}

type Deployment = KubeObject & {
  spec?: { replicas?: number; template?: { spec?: { containers?: Array<{ image?: string }> } } };
  status?: { observedGeneration?: number; replicas?: number; updatedReplicas?: number; readyReplicas?: number; availableReplicas?: number };
};

const PART_OF = 'app.kubernetes.io/part-of';

function describe(d: Deployment): ControllerDeployment {
  const desired = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  return {
    name: d.metadata.name!,
    images: (d.spec?.template?.spec?.containers ?? []).map((c) => c.image ?? ''),
    version: d.metadata.labels?.['app.kubernetes.io/version'],
    desired,
    ready: s.readyReplicas ?? 0,
    rolledOut:
      (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) &&
      (s.updatedReplicas ?? 0) >= desired &&
      (s.availableReplicas ?? 0) >= desired &&
      (s.replicas ?? 0) <= desired,
  };
}

/** Every installation in the cluster (or in `namespace`), Sluice's and Flux's, by namespace. */
export async function findInstallations(client: KubeClient, namespace?: string): Promise<Installation[]> {
  const path = namespace ? `/apis/apps/v1/namespaces/${namespace}/deployments` : '/apis/apps/v1/deployments';
  const list = await client.request<{ items: Deployment[] }>({ path, query: { labelSelector: `${PART_OF} in (sluice,flux)` } });
  const byKey = new Map<string, Installation>();
  for (const d of list.items) {
    const distribution = d.metadata.labels?.[PART_OF] as Distribution;
    const key = `${distribution}/${d.metadata.namespace}`;
    let inst = byKey.get(key);
    if (!inst) byKey.set(key, (inst = { distribution, namespace: d.metadata.namespace!, deployments: [] }));
    inst.deployments.push(describe(d));
  }
  return [...byKey.values()].sort((a, b) => a.namespace.localeCompare(b.namespace) || a.distribution.localeCompare(b.distribution));
}
