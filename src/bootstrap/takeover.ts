// Taking over a namespace that Flux bootstrapped: its objects (the sync
// GitRepository and Kustomization, every HelmRelease, every workload) stay
// and Sluice's controller picks them up where Flux left them; only Flux's
// controllers go. In order:
//   1. pause: Flux's controller Deployments scaled to 0, so that no two
//      controllers act at once (undone if the bootstrap fails before Sluice
//      runs);
//   2. protect: Flux CRDs that Sluice's components do not carry (image
//      automation, say) get the prune-disabled annotation first, or the sync
//      would prune them with Flux's old inventory, and every object of their
//      kind with them;
//      Both leave the sync Kustomization's inventory, so that the sync never
//      prunes them (nor refuses to, as a mass prune);
//   3. remove: once Sluice's components are applied, Flux's Deployments and
//      the rest of its components (ServiceAccounts, Services, RBAC) are
//      deleted.
// Nothing else is touched: no workload is re-created, so none restarts.
import type { KubeClient } from '../kube/client.ts';
import type { Discovery } from '../kube/discovery.ts';
import { isNotFound } from '../kube/errors.ts';
import { objectId, parseObjectId, subject, type KubeObject } from '../kube/object.ts';
import { findInstallations, type ControllerDeployment } from '../install/installations.ts';

const PRUNE = 'kustomize.toolkit.fluxcd.io/prune';

export interface FluxTakeover {
  namespace: string;
  /** Flux's controllers and the replicas each had. */
  controllers: Array<{ name: string; replicas: number; version?: string }>;
  /** CRDs of Flux's components that Sluice does not serve: kept, with their objects. */
  keptCrds: string[];
  /** The rest of Flux's components (not its Deployments), deleted once Sluice's are applied. */
  leftovers: Array<{ id: string; subject: string; path: string }>;
}

type Inventory = { entries?: Array<{ id: string; v: string }> };

const deploymentPath = (ns: string, name: string) => `/apis/apps/v1/namespaces/${ns}/deployments/${name}`;

async function scale(client: KubeClient, ns: string, name: string, replicas: number): Promise<void> {
  await client.request({ method: 'PATCH', path: `${deploymentPath(ns, name)}/scale`, contentType: 'application/merge-patch+json', body: { spec: { replicas } } });
}

/**
 * What a takeover of `namespace` would do, or undefined when Flux runs no
 * controller there. `components` are Sluice's, about to be applied.
 */
export async function planTakeover(client: KubeClient, discovery: Discovery, namespace: string, components: KubeObject[]): Promise<FluxTakeover | undefined> {
  const flux = (await findInstallations(client, namespace)).find((i) => i.distribution === 'flux');
  if (!flux) return undefined;
  const ks = await client.getOrUndefined<KubeObject & { status?: { inventory?: Inventory } }>(`/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${namespace}/kustomizations/${namespace}`);
  const ours = new Set(components.map((c) => objectId(c)));
  const keptCrds: string[] = [];
  const leftovers: FluxTakeover['leftovers'] = [];
  for (const e of ks?.status?.inventory?.entries ?? []) {
    if (ours.has(e.id)) continue;
    const ref = parseObjectId(e.id);
    // Only Flux's own components: everything else in the inventory is the user's and still in Git.
    if (ref.group === 'apiextensions.k8s.io' && ref.kind === 'CustomResourceDefinition') keptCrds.push(ref.name);
    else if (ref.group === 'apps' && ref.kind === 'Deployment' && ref.namespace === namespace && flux.deployments.some((d) => d.name === ref.name)) continue;
    else {
      const path = await fluxComponentPath(client, discovery, ref, e.v);
      if (path) leftovers.push({ id: e.id, subject: subject(ref), path });
    }
  }
  return { namespace, controllers: flux.deployments.map((d: ControllerDeployment) => ({ name: d.name, replicas: d.desired, version: d.version })), keptCrds: keptCrds.sort(), leftovers };
}

/** The API path of the object when it is live and carries Flux's part-of label (one of Flux's components, not a workload). */
async function fluxComponentPath(client: KubeClient, discovery: Discovery, ref: ReturnType<typeof parseObjectId>, version: string): Promise<string | undefined> {
  const apiVersion = ref.group ? `${ref.group}/${version}` : version;
  const m = await discovery.mapping(apiVersion, ref.kind);
  if (!m) return undefined;
  const base = ref.group ? `/apis/${apiVersion}` : `/api/${version}`;
  const path = `${base}${m.namespaced && ref.namespace ? `/namespaces/${ref.namespace}` : ''}/${m.resource}/${ref.name}`;
  const live = await client.getOrUndefined<KubeObject>(path).catch(() => undefined);
  return live?.metadata.labels?.['app.kubernetes.io/part-of'] === 'flux' ? path : undefined;
}

const ksPath = (ns: string) => `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${ns}/kustomizations/${ns}`;

/** Takes what the takeover handles itself out of the sync Kustomization's inventory. */
async function dropFromInventory(client: KubeClient, t: FluxTakeover): Promise<void> {
  const drop = new Set([...t.leftovers.map((l) => l.id), ...t.controllers.map((c) => `${t.namespace}_${c.name}_apps_Deployment`), ...t.keptCrds.map((n) => `_${n}_apiextensions.k8s.io_CustomResourceDefinition`)]);
  const ks = await client.getOrUndefined<KubeObject & { status?: { inventory?: Inventory } }>(ksPath(t.namespace));
  const entries = ks?.status?.inventory?.entries;
  if (!entries?.some((e) => drop.has(e.id))) return;
  await client.request({
    method: 'PATCH',
    path: `${ksPath(t.namespace)}/status`,
    contentType: 'application/merge-patch+json',
    body: { metadata: { resourceVersion: ks!.metadata.resourceVersion }, status: { inventory: { entries: entries.filter((e) => !drop.has(e.id)) } } },
  });
}

/** Step 1 and 2: Flux's controllers to 0 replicas; its CRDs that Sluice lacks out of the sync's reach. */
export async function pauseFlux(client: KubeClient, t: FluxTakeover, say: (line: string) => void): Promise<void> {
  for (const c of t.controllers) {
    if (c.replicas > 0) await scale(client, t.namespace, c.name, 0);
  }
  say(`✔ paused Flux's controllers in ${t.namespace}: ${t.controllers.map((c) => c.name).join(', ')}`);
  for (const name of t.keptCrds) {
    await client.request({
      method: 'PATCH',
      path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
      contentType: 'application/merge-patch+json',
      body: { metadata: { annotations: { [PRUNE]: 'disabled' } } },
    }).catch((err) => {
      if (!isNotFound(err)) throw err;
    });
    say(`✔ kept CustomResourceDefinition/${name}: Sluice does not serve it, its objects stay (annotated ${PRUNE}: disabled)`);
  }
  await dropFromInventory(client, t);
}

/** Undoes the pause when the bootstrap fails before Sluice is installed: Flux runs again as it did. */
export async function resumeFlux(client: KubeClient, t: FluxTakeover): Promise<void> {
  for (const c of t.controllers) if (c.replicas > 0) await scale(client, t.namespace, c.name, c.replicas).catch(() => {});
}

/** Step 3: Flux's controllers deleted; says what the sync will prune. */
export async function removeFlux(client: KubeClient, t: FluxTakeover, say: (line: string) => void): Promise<void> {
  for (const c of t.controllers) {
    await client.request({ method: 'DELETE', path: deploymentPath(t.namespace, c.name) }).catch((err) => {
      if (!isNotFound(err)) throw err;
    });
    say(`✔ removed Flux's ${c.name}${c.version ? ` ${c.version}` : ''}`);
  }
  for (const l of t.leftovers) {
    await client.request({ method: 'DELETE', path: l.path }).catch((err) => {
      if (!isNotFound(err)) throw err;
    });
    say(`✔ removed Flux's ${l.subject}`);
  }
}
