import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ResourceManager } from '../apply/manager.ts';
import { formatEntry } from '../apply/changeset.ts';
import { clusterNames, installManifests } from '../install/manifests.ts';
import { imageReference, type ImageRecord } from '../install/image.ts';
import type { KubeObject } from '../kube/object.ts';
import { waitForSet } from '../health/wait.ts';
import { projectRoot, sluiceVersion } from '../util/paths.ts';
import { clientFromFlags, clusterFlags } from './kubeconfig.ts';

const usage = `usage: sluice install [--export] [flags]
  --export              print the manifests instead of applying them
  --namespace NS        namespace of the controller (default sluice-system)
  --image IMAGE         controller image, used as given (default: the last \`sluice image build\`, by digest)
  --registry REG        where that image was pushed: REG/sluice:<version>@<digest>
  --replicas N          controller replicas (default 1; 0 when you run \`sluice controller\` yourself)
  --multi-tenant        no cluster-admin for the controller: every apply impersonates a service account
  --dashboard           serve the read-only web dashboard (port 9797, Service sluice-dashboard)
  --dashboard-actions   the dashboard with reconcile, suspend and resume after a token login, by
                        impersonation (adds the RBAC for TokenReview, SubjectAccessReview, impersonation)
  --kubeconfig FILE  --context NAME

examples:
  sluice install
  sluice install --export > sluice-components.yaml
  sluice install --registry registry.example.com --replicas 2
`;

/** What the last `sluice image build` into dist/image recorded, if it ran here. */
export function lastImageBuild(): ImageRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(projectRoot, 'dist', 'image.json'), 'utf8')) as ImageRecord;
  } catch {
    return undefined;
  }
}

export async function installCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...clusterFlags,
      export: { type: 'boolean', default: false },
      namespace: { type: 'string', default: 'sluice-system' },
      image: { type: 'string' },
      registry: { type: 'string' },
      replicas: { type: 'string', default: '1' },
      'multi-tenant': { type: 'boolean', default: false },
      dashboard: { type: 'boolean', default: false },
      'dashboard-actions': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  const version = sluiceVersion();
  const image = imageReference({ image: values.image, registry: values.registry, record: lastImageBuild(), version });
  if (image.warning) process.stderr.write(`sluice install: ${image.warning}\n`);
  const objects = installManifests({
    namespace: values.namespace,
    image: image.image,
    replicas: Number(values.replicas),
    multiTenant: values['multi-tenant'],
    version,
    dashboard: values['dashboard-actions'] ? 'actions' : values.dashboard ? 'read-only' : 'off',
  });
  if (values.export) {
    process.stdout.write(objects.map((o) => `---\n${stringify(o)}`).join(''));
    return 0;
  }
  const client = await clientFromFlags(values);
  try {
    const rm = new ResourceManager(client);
    await rm.apply(objects, { onEntry: (e) => process.stdout.write(`${formatEntry(e)}\n`) });
    if (values['multi-tenant']) {
      // Applying never deletes: a cluster-admin binding left by an earlier
      // single-tenant install would silently defeat the lock-down.
      const binding = clusterNames(values.namespace).reconciler;
      const path = `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${binding}`;
      const old = await client.getOrUndefined<KubeObject>(path);
      if (old?.metadata.labels?.['app.kubernetes.io/part-of'] === 'sluice') {
        await client.request({ method: 'DELETE', path });
        process.stdout.write(`ClusterRoleBinding/${binding} deleted\n`);
      }
    }
    const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition');
    const res = await waitForSet(
      client,
      rm.discovery,
      crds.map((c) => ({ apiVersion: c.apiVersion, kind: c.kind, name: c.metadata.name! })),
      { timeoutMs: 60_000 },
    );
    if (!res.ok) {
      process.stderr.write(`CRDs not established:\n${res.message}\n`);
      return 1;
    }
    process.stderr.write(`installed Sluice ${version} in ${values.namespace}\n`);
    return 0;
  } finally {
    client.close();
  }
}
