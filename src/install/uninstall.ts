// `sluice uninstall`, as named steps: stop the controller, release the
// objects from Flux's finalizer, delete the components, then (only when no
// other installation is left in the cluster) the CRDs, and the namespace.
// What the controllers deployed stays running, as with `flux uninstall`:
// with the finalizers gone, nothing garbage-collects it. Two installations
// on one cluster (Bevel's networks) keep working when one goes: its CRDs stay
// while another installation is there, and objects in other namespaces are
// left to their own controller.
import { FINALIZER } from '../api/annotations.ts';
import { kinds } from '../api/crds.ts';
import type { KubeClient } from '../kube/client.ts';
import { isConflict, isNotFound } from '../kube/errors.ts';
import type { KubeObject } from '../kube/object.ts';
import { findInstallations, type Installation } from './installations.ts';
import { installManifests } from './manifests.ts';

export interface UninstallOptions {
  client: KubeClient;
  namespace: string;
  keepNamespace: boolean;
  /** Keep the CRDs (and so every Flux object) even when this is the last installation. */
  keepCrds: boolean;
  dryRun: boolean;
  timeoutMs: number;
  say: (line: string) => void;
}

export class UninstallError extends Error {}

/** What the uninstall will do, worked out before anything changes (and all that --dry-run prints). */
export interface UninstallPlan {
  installation: Installation;
  /** The other installations in the cluster, Sluice's or Flux's. */
  others: Installation[];
  /** Whether Flux's objects of every namespace are released (the last installation), or only those in ours. */
  allNamespaces: boolean;
  deleteCrds: boolean;
}

const crdName = (k: (typeof kinds)[number]) => `${k.plural}.${k.group}`;
const kindPath = (k: (typeof kinds)[number], ns?: string) => `/apis/${k.group}/${k.versions[0]!.name}${ns ? `/namespaces/${ns}` : ''}/${k.plural}`;

async function waitUntil(what: string, timeoutMs: number, done: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new UninstallError(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Step 1: the installation in the namespace, and who else runs in the cluster. */
export async function planUninstall(o: Pick<UninstallOptions, 'client' | 'namespace' | 'keepCrds'>): Promise<UninstallPlan> {
  const all = await findInstallations(o.client);
  const installation = all.find((i) => i.distribution === 'sluice' && i.namespace === o.namespace);
  if (!installation) {
    const flux = all.find((i) => i.distribution === 'flux' && i.namespace === o.namespace);
    if (flux) throw new UninstallError(`namespace ${o.namespace} runs Flux's controllers, not Sluice's: \`flux uninstall --namespace ${o.namespace}\` removes them`);
    const found = all.filter((i) => i.distribution === 'sluice').map((i) => i.namespace);
    throw new UninstallError(`no Sluice installation in namespace ${o.namespace}${found.length ? `; Sluice runs in ${found.join(', ')}: pass -n/--namespace` : ''}`);
  }
  const others = all.filter((i) => i !== installation);
  return { installation, others, allNamespaces: others.length === 0, deleteCrds: others.length === 0 && !o.keepCrds };
}

/** The plan as lines a person reads before saying yes. */
export function describePlan(p: UninstallPlan, o: Pick<UninstallOptions, 'namespace' | 'keepNamespace'>): string[] {
  const version = p.installation.deployments[0]?.version;
  const lines = [`Sluice${version ? ` ${version}` : ''} in namespace ${o.namespace}: the controller, its RBAC and Service will be deleted`];
  lines.push(
    p.allNamespaces
      ? "Flux's finalizers come off every source, Kustomization and HelmRelease in the cluster; what they deployed keeps running"
      : `Flux's finalizers come off the objects in ${o.namespace}, which are deleted; what they deployed keeps running`,
  );
  if (p.others.length) lines.push(`the CRDs stay: ${p.others.map((i) => `${i.distribution === 'flux' ? 'Flux' : 'Sluice'} in ${i.namespace}`).join(', ')} still use${p.others.length === 1 ? 's' : ''} them`);
  else lines.push(p.deleteCrds ? 'the CRDs are deleted (and with them every Flux object left in the cluster)' : 'the CRDs stay (--keep-crds)');
  lines.push(o.keepNamespace ? `namespace ${o.namespace} stays (--keep-namespace)` : `namespace ${o.namespace} is deleted`);
  return lines;
}

/** Step 2: the controller goes first, so that nothing acts on the deletions that follow. */
async function stopController(o: UninstallOptions): Promise<void> {
  const ns = o.namespace;
  const path = `/apis/apps/v1/namespaces/${ns}/deployments/sluice-controller`;
  await o.client.request({ method: 'DELETE', path, body: { propagationPolicy: 'Foreground' } }).catch((err) => {
    if (!isNotFound(err)) throw err;
  });
  await waitUntil(`the controller's pods in ${ns} to stop`, o.timeoutMs, async () => {
    const pods = await o.client.request<{ items: unknown[] }>({ path: `/api/v1/namespaces/${ns}/pods`, query: { labelSelector: 'app=sluice-controller' } });
    return pods.items.length === 0 && !(await o.client.getOrUndefined(path));
  });
  o.say(`✔ Deployment/${ns}/sluice-controller deleted`);
}

/**
 * Step 3: Flux's finalizer off every object in scope, so that no deletion
 * (ours, the namespace's, the CRDs') waits for a controller that is gone or
 * garbage-collects workloads. Objects in our namespace are also suspended:
 * another installation that watches every namespace must not pick them up
 * and prune on their deletion.
 */
async function releaseObjects(o: UninstallOptions, allNamespaces: boolean): Promise<number> {
  let released = 0;
  for (const k of kinds) {
    const list = await o.client
      .request<{ items: KubeObject[] }>({ path: kindPath(k, allNamespaces ? undefined : o.namespace) })
      .catch((err) => (isNotFound(err) ? { items: [] } : Promise.reject(err)));
    for (let obj of list.items) {
      for (let attempt = 0; ; attempt++) {
        const ours = obj.metadata.namespace === o.namespace;
        const finalizers = obj.metadata.finalizers ?? [];
        if (!finalizers.includes(FINALIZER) && !ours) break;
        const path = `${kindPath(k, obj.metadata.namespace)}/${obj.metadata.name}`;
        try {
          await o.client.request({
            method: 'PATCH',
            path,
            contentType: 'application/merge-patch+json',
            body: {
              metadata: { resourceVersion: obj.metadata.resourceVersion, finalizers: finalizers.filter((f) => f !== FINALIZER) },
              ...(ours ? { spec: { suspend: true } } : {}),
            },
          });
          released++;
          break;
        } catch (err) {
          if (isNotFound(err)) break;
          if (!isConflict(err) || attempt >= 5) throw err;
          const fresh = await o.client.getOrUndefined<KubeObject>(path);
          if (!fresh) break;
          obj = fresh;
        }
      }
    }
  }
  return released;
}

/** Step 4: the Flux objects of our namespace (the sync GitRepository and Kustomization, and any other). */
async function deleteOwnObjects(o: UninstallOptions): Promise<void> {
  for (const k of kinds) {
    const list = await o.client
      .request<{ items: KubeObject[] }>({ path: kindPath(k, o.namespace) })
      .catch((err) => (isNotFound(err) ? { items: [] } : Promise.reject(err)));
    for (const obj of list.items) {
      await o.client.request({ method: 'DELETE', path: `${kindPath(k, o.namespace)}/${obj.metadata.name}` }).catch((err) => {
        if (!isNotFound(err)) throw err;
      });
      o.say(`✔ ${k.kind}/${o.namespace}/${obj.metadata.name} deleted`);
    }
  }
}

const rbac = '/apis/rbac.authorization.k8s.io/v1';

/** Step 5: the rest of what `sluice install` made for this namespace, and the cluster-wide RBAC named after it. */
async function deleteComponents(o: UninstallOptions): Promise<void> {
  const ns = o.namespace;
  const manifests = installManifests({ namespace: ns, image: 'unused', replicas: 2, multiTenant: false, version: '', dashboard: 'actions' });
  const paths: Array<[string, string]> = [];
  for (const m of manifests) {
    const name = m.metadata.name!;
    switch (m.kind) {
      case 'ServiceAccount':
        paths.push([`ServiceAccount/${ns}/${name}`, `/api/v1/namespaces/${ns}/serviceaccounts/${name}`]);
        break;
      case 'Service':
        paths.push([`Service/${ns}/${name}`, `/api/v1/namespaces/${ns}/services/${name}`]);
        break;
      case 'Role':
      case 'RoleBinding':
        paths.push([`${m.kind}/${ns}/${name}`, `${rbac}/namespaces/${ns}/${m.kind.toLowerCase()}s/${name}`]);
        break;
      case 'ClusterRole':
      case 'ClusterRoleBinding':
        paths.push([`${m.kind}/${name}`, `${rbac}/${m.kind.toLowerCase()}s/${name}`]);
        break;
      case 'PodDisruptionBudget':
        paths.push([`PodDisruptionBudget/${ns}/${name}`, `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/${name}`]);
        break;
    }
  }
  // Before the names carried the namespace, one install had `sluice-controller`
  // and `sluice-reconciler`: they go too when they are bound to this namespace.
  for (const legacy of ['sluice-controller', 'sluice-reconciler']) {
    const b = await o.client.getOrUndefined<{ subjects?: Array<{ namespace?: string }> }>(`${rbac}/clusterrolebindings/${legacy}`);
    if (b?.subjects?.some((s) => s.namespace === ns)) paths.push([`ClusterRoleBinding/${legacy}`, `${rbac}/clusterrolebindings/${legacy}`]);
  }
  for (const [what, path] of paths) {
    try {
      await o.client.request({ method: 'DELETE', path });
      o.say(`✔ ${what} deleted`);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

/** Step 6: the CRDs, when this was the last installation. */
async function deleteCrds(o: UninstallOptions): Promise<void> {
  const ext = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
  for (const k of kinds) {
    await o.client.request({ method: 'DELETE', path: `${ext}/${crdName(k)}` }).catch((err) => {
      if (!isNotFound(err)) throw err;
    });
  }
  await waitUntil('the CRDs to be deleted', o.timeoutMs, async () => {
    for (const k of kinds) if (await o.client.getOrUndefined(`${ext}/${crdName(k)}`)) return false;
    return true;
  });
  for (const k of kinds) o.say(`✔ CustomResourceDefinition/${crdName(k)} deleted`);
}

/** Step 7: the namespace; if it hangs, say what holds it. */
async function deleteNamespace(o: UninstallOptions): Promise<void> {
  const path = `/api/v1/namespaces/${o.namespace}`;
  await o.client.request({ method: 'DELETE', path }).catch((err) => {
    if (!isNotFound(err)) throw err;
  });
  try {
    await waitUntil(`namespace ${o.namespace} to be deleted`, o.timeoutMs, async () => !(await o.client.getOrUndefined(path)));
  } catch (err) {
    const ns = await o.client.getOrUndefined<{ status?: { conditions?: Array<{ type: string; status: string; message?: string }> } }>(path);
    const why = ns?.status?.conditions?.filter((c) => c.status === 'True' && c.message).map((c) => `${c.type}: ${c.message}`) ?? [];
    throw new UninstallError(`${(err as Error).message}${why.length ? `\n  ${why.join('\n  ')}` : ''}`);
  }
  o.say(`✔ Namespace/${o.namespace} deleted`);
}

/** Runs the uninstall; with dryRun, only says what it would do. */
export async function uninstall(o: UninstallOptions): Promise<UninstallPlan> {
  const plan = await planUninstall(o);
  for (const line of describePlan(plan, o)) o.say(`► ${line}`);
  if (o.dryRun) return plan;
  await stopController(o);
  const released = await releaseObjects(o, plan.allNamespaces);
  o.say(`✔ ${released} object${released === 1 ? '' : 's'} released from ${FINALIZER}`);
  await deleteOwnObjects(o);
  await deleteComponents(o);
  if (plan.deleteCrds) await deleteCrds(o);
  else o.say(plan.others.length ? `✔ CRDs kept: ${plan.others.map((i) => i.namespace).join(', ')} still use${plan.others.length === 1 ? 's' : ''} them` : '✔ CRDs kept (--keep-crds)');
  if (!o.keepNamespace) await deleteNamespace(o);
  o.say('✔ uninstall finished');
  return plan;
}
