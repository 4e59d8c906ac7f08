import type { KubeClient } from '../src/kube/client.ts';
import { isNotFound } from '../src/kube/errors.ts';
import { eventually } from './harness.ts';

// A custom resource definition of the tests' own, whose objects report their
// health in a shape no built-in rule knows: `status.state` (Provisioning,
// Online, Broken) and `status.observedGeneration`, no conditions. kstatus
// calls such an object Current as soon as it exists; only health check
// expressions can tell when it is really ready. The test plays its
// controller by writing the status subresource.

export const CR_GROUP = 'celtest.sluice.dev';

export interface TestKind {
  kind: string;
  plural: string;
  apiVersion: string;
  /** `/apis/<group>/v1/namespaces/<ns>/<plural>/<name>` */
  path(namespace: string, name: string): string;
  /** The object as YAML, for a git repository or a chart. */
  manifest(name: string, size?: number): string;
  /** Writes the status subresource as the kind's controller would. */
  setStatus(client: KubeClient, namespace: string, name: string, status: Record<string, unknown>): Promise<void>;
  /** Deletes the CRD (and with it every object of the kind). */
  uninstall(client: KubeClient): Promise<void>;
}

/** Installs a namespaced kind (one per test file, so parallel files do not share it) and waits until it is served. */
export async function installTestKind(client: KubeClient, kind: string): Promise<TestKind> {
  const plural = `${kind.toLowerCase()}s`;
  const name = `${plural}.${CR_GROUP}`;
  const open = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name },
    spec: {
      group: CR_GROUP,
      scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: { openAPIV3Schema: { type: 'object', properties: { spec: open, status: open } } },
        },
      ],
    },
  };
  await client.request({ method: 'POST', path: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', body: crd }).catch((err: unknown) => {
    if ((err as { status?: number }).status !== 409) throw err;
  });
  await eventually(`CRD ${name} established`, async () => {
    const c = await client.request<{ status?: { conditions?: Array<{ type: string; status: string }> } }>({ path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}` });
    return c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True') ? true : undefined;
  });
  const apiVersion = `${CR_GROUP}/v1`;
  const path = (ns: string, n: string) => `/apis/${apiVersion}/namespaces/${ns}/${plural}/${n}`;
  // Served does not mean listed yet: wait until a list of the kind answers.
  await eventually(`${plural} listable`, async () => ((await client.request({ path: `/apis/${apiVersion}/${plural}` })) ? true : undefined));
  return {
    kind,
    plural,
    apiVersion,
    path,
    manifest: (n, size = 1) => `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata:\n  name: ${n}\nspec:\n  size: ${size}\n`,
    async setStatus(c, ns, n, status) {
      const obj = await c.request<{ metadata: { generation?: number } }>({ path: path(ns, n) });
      await c.request({
        method: 'PATCH',
        path: `${path(ns, n)}/status`,
        contentType: 'application/merge-patch+json',
        body: { status: { observedGeneration: obj.metadata.generation, ...status } },
      });
    },
    async uninstall(c) {
      await c.request({ method: 'DELETE', path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}` }).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
    },
  };
}
