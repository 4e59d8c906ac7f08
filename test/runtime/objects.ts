// Flux objects and small API helpers shared by the runtime tests.
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { isNotFound } from '../../src/kube/errors.ts';

export const gitPath = (ns: string, name = '') =>
  `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns}/gitrepositories${name ? `/${name}` : ''}`;
export const ksPath = (ns: string, name = '') =>
  `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${ns}/kustomizations${name ? `/${name}` : ''}`;
export const leasePath = (ns: string, name = 'sluice-controller-leader') => `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${name}`;

export async function createGitRepository(client: KubeClient, ns: string, name: string, url: string, interval = '1h'): Promise<void> {
  await client.request({
    method: 'POST',
    path: gitPath(ns),
    body: {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'GitRepository',
      metadata: { name },
      spec: { url, interval, timeout: '20s', ref: { branch: 'main' } },
    },
  });
}

export async function createKustomization(client: KubeClient, ns: string, name: string, source: string, path: string, interval = '1h'): Promise<void> {
  await client.request({
    method: 'POST',
    path: ksPath(ns),
    body: {
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
      kind: 'Kustomization',
      metadata: { name },
      spec: { interval, path, prune: true, targetNamespace: ns, sourceRef: { kind: 'GitRepository', name: source } },
    },
  });
}

export interface Cond {
  type: string;
  status: string;
  reason: string;
  message: string;
}

export type FluxObject = KubeObject & {
  status?: {
    conditions?: Cond[];
    artifact?: { url: string; revision: string; digest: string };
    lastAppliedRevision?: string;
  };
};

export const readyOf = (o: FluxObject | undefined) => o?.status?.conditions?.find((c) => c.type === 'Ready');

export interface Lease {
  spec: { holderIdentity?: string; leaseTransitions?: number; renewTime?: string; leaseDurationSeconds?: number };
}

export async function leaseHolder(client: KubeClient, ns: string): Promise<string | undefined> {
  const l = await client.getOrUndefined<Lease>(leasePath(ns));
  return l?.spec.holderIdentity || undefined;
}

/**
 * Removes the finalizers of the test's Flux objects once no controller runs,
 * so that deleting the namespace does not hang on them.
 */
export async function dropFinalizers(client: KubeClient, ns: string): Promise<void> {
  for (const path of [gitPath(ns), ksPath(ns)]) {
    const list = await client.getOrUndefined<{ items: KubeObject[] }>(path);
    for (const o of list?.items ?? []) {
      if (!o.metadata.finalizers?.length) continue;
      await client
        .request({ method: 'PATCH', path: `${path}/${o.metadata.name}`, contentType: 'application/merge-patch+json', body: { metadata: { finalizers: null } } })
        .catch((err) => {
          if (!isNotFound(err)) throw err;
        });
    }
  }
}
