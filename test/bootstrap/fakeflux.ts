// A namespace as `flux bootstrap git` leaves it, for the takeover test: the
// gotk-components.yaml of a Flux v2.9 installation (Flux's real CRDs from
// test/compat/flux-crds, an image-automation CRD, Flux's controller
// Deployments, ServiceAccounts, RBAC and Service, all labelled part-of
// flux), its gotk-sync.yaml, and the cluster state Flux's controllers would
// have made from them: everything applied by the kustomize-controller field
// manager with the sync Kustomization's owner labels, and that
// Kustomization's status (inventory, applied revision) filled as Flux fills
// it. No Flux controller runs: KWOK fakes their pods, which is all a takeover
// looks at.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { ResourceManager } from '../../src/apply/manager.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import { objectId, parseApiVersion, type KubeObject } from '../../src/kube/object.ts';
import { projectRoot } from '../../src/util/paths.ts';

const FLUX = { 'app.kubernetes.io/part-of': 'flux', 'app.kubernetes.io/instance': 'flux-system', 'app.kubernetes.io/version': 'v2.9.3' };
export const FLUX_CONTROLLERS = ['source-controller', 'kustomize-controller', 'helm-controller', 'notification-controller', 'image-reflector-controller', 'image-automation-controller'];

async function fluxCrds(): Promise<KubeObject[]> {
  const dir = join(projectRoot, 'test', 'compat', 'flux-crds');
  const out: KubeObject[] = [];
  for (const mod of (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory())) {
    for (const f of (await readdir(join(dir, mod.name))).filter((f) => f.endsWith('.yaml')).sort()) {
      for (const doc of parseAllDocuments(await readFile(join(dir, mod.name, f), 'utf8'))) {
        const crd = doc.toJS() as KubeObject | null;
        if (crd) out.push({ ...crd, metadata: { ...crd.metadata, labels: { ...crd.metadata.labels, ...FLUX } } });
      }
    }
  }
  // Image automation's CRDs are not among the compat data; one stands for them.
  out.push({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'imagepolicies.image.toolkit.fluxcd.io', labels: FLUX },
    spec: {
      group: 'image.toolkit.fluxcd.io',
      names: { kind: 'ImagePolicy', listKind: 'ImagePolicyList', plural: 'imagepolicies', singular: 'imagepolicy' },
      scope: 'Namespaced',
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
    },
  });
  return out;
}

/** Flux's components for `ns`: what its gotk-components.yaml holds. */
export async function fluxComponents(ns: string): Promise<KubeObject[]> {
  const objs: KubeObject[] = [...(await fluxCrds()), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: FLUX } }];
  for (const name of FLUX_CONTROLLERS) {
    objs.push({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns, labels: { ...FLUX, 'app.kubernetes.io/component': name } } });
    objs.push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: ns, labels: { ...FLUX, 'app.kubernetes.io/component': name, 'control-plane': 'controller' } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { serviceAccountName: name, containers: [{ name: 'manager', image: `fluxcd/${name}:v2.9.3`, args: ['--watch-all-namespaces=true'] }] } },
      },
    });
  }
  objs.push(
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: `crd-controller-${ns}`, labels: FLUX }, rules: [{ apiGroups: ['source.toolkit.fluxcd.io'], resources: ['*'], verbs: ['*'] }] },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `cluster-reconciler-${ns}`, labels: FLUX },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'kustomize-controller', namespace: ns }],
    },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'source-controller', namespace: ns, labels: FLUX }, spec: { selector: { app: 'source-controller' }, ports: [{ name: 'http', port: 80, targetPort: 9090 }] } },
  );
  return objs;
}

/** Flux's gotk-sync.yaml objects. */
export function fluxSync(ns: string, url: string, branch: string, path: string): KubeObject[] {
  return [
    { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name: ns, namespace: ns }, spec: { interval: '1m0s', ref: { branch }, secretRef: { name: ns }, url } },
    { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: ns, namespace: ns }, spec: { interval: '10m0s', path: `./${path}`, prune: true, sourceRef: { kind: 'GitRepository', name: ns } } },
  ];
}

const yamlOf = (objs: KubeObject[]) => objs.map((o) => `---\n${stringify(o)}`).join('');

/** The three files `flux bootstrap` commits to <path>/<ns>/. */
export function fluxBootstrapFiles(ns: string, path: string, components: KubeObject[], sync: KubeObject[]): Record<string, string> {
  return {
    [`${path}/${ns}/gotk-components.yaml`]: `# This manifest was generated by flux. DO NOT EDIT.\n# Flux Version: v2.9.3\n${yamlOf(components)}`,
    [`${path}/${ns}/gotk-sync.yaml`]: `# This manifest was generated by flux. DO NOT EDIT.\n${yamlOf(sync)}`,
    [`${path}/${ns}/kustomization.yaml`]: stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: ['gotk-components.yaml', 'gotk-sync.yaml'] }),
  };
}

/** What Flux's controllers would have done with `objects` at `revision`: applied, inventoried, Ready. */
export async function applyAsFlux(client: KubeClient, ns: string, objects: KubeObject[], revision: string): Promise<void> {
  const rm = new ResourceManager(client);
  const ownerLabels = { 'kustomize.toolkit.fluxcd.io/name': ns, 'kustomize.toolkit.fluxcd.io/namespace': ns };
  await rm.apply(objects, { fieldManager: 'kustomize-controller', ownerLabels });
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const entries = objects.map((o) => ({ id: objectId(o), v: parseApiVersion(o.apiVersion).version })).sort((a, b) => a.id.localeCompare(b.id));
  await client.request({
    method: 'PATCH',
    path: `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${ns}/kustomizations/${ns}/status`,
    contentType: 'application/merge-patch+json',
    body: {
      status: {
        observedGeneration: 1,
        lastAppliedRevision: revision,
        lastAttemptedRevision: revision,
        inventory: { entries },
        conditions: [{ type: 'Ready', status: 'True', reason: 'ReconciliationSucceeded', message: `Applied revision: ${revision}`, lastTransitionTime: now, observedGeneration: 1 }],
      },
    },
  });
}
