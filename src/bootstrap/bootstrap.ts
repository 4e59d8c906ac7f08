// `sluice bootstrap git`, as named steps: check what is installed already,
// commit the components and sync files, install the components, write the
// source Secret, apply the sync objects, wait until the cluster follows the
// repository. Every step is idempotent: a second run with the same arguments
// changes nothing and says so.
import { KS_NAME_LABEL, KS_NAMESPACE_LABEL } from '../api/kustomization.ts';
import { formatEntry, hasChanges, type ChangeSetEntry } from '../apply/changeset.ts';
import { ResourceManager } from '../apply/manager.ts';
import { waitForSet } from '../health/wait.ts';
import type { KubeClient } from '../kube/client.ts';
import type { KubeObject } from '../kube/object.ts';
import { installManifests } from '../install/manifests.ts';
import type { SecretData } from '../source/git/auth.ts';
import { bootstrapFiles, normalizePath, syncObjects, type SyncOptions } from './manifests.ts';
import { BootstrapRepository, type Author } from './repository.ts';
import { pauseFlux, planTakeover, removeFlux, resumeFlux, type FluxTakeover } from './takeover.ts';

export interface BootstrapOptions extends SyncOptions {
  client: KubeClient;
  secret: SecretData;
  image: string;
  version: string;
  author: Author;
  timeoutMs: number;
  say: (line: string) => void;
  /** Say what would be committed, applied and taken over; change nothing. */
  dryRun?: boolean;
}

export class BootstrapError extends Error {}

interface Condition {
  type: string;
  status: string;
  message?: string;
}
type FluxObject = KubeObject & { spec?: Record<string, unknown>; status?: { conditions?: Condition[]; artifact?: { revision?: string }; lastAppliedRevision?: string } };

const gitPath = (ns: string, name: string) => `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns}/gitrepositories/${name}`;
const ksPath = (ns: string, name: string) => `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${ns}/kustomizations/${name}`;

/** Step 1: an existing installation from another URL, branch or path is not rewritten. */
async function checkExisting(o: BootstrapOptions): Promise<boolean> {
  const git = await o.client.getOrUndefined<FluxObject>(gitPath(o.namespace, o.namespace)).catch(() => undefined);
  const ks = await o.client.getOrUndefined<FluxObject>(ksPath(o.namespace, o.namespace)).catch(() => undefined);
  if (!git && !ks) return false;
  const problems: string[] = [];
  const url = git?.spec?.url as string | undefined;
  const branch = (git?.spec?.ref as { branch?: string } | undefined)?.branch;
  const path = normalizePath(String(ks?.spec?.path ?? ''));
  if (url !== undefined && url !== o.url) problems.push(`its URL is ${url}, not ${o.url}`);
  if (branch !== undefined && branch !== o.branch) problems.push(`its branch is ${branch}, not ${o.branch}`);
  if (ks && path !== normalizePath(o.path)) problems.push(`its path is ./${path}, not ./${normalizePath(o.path)}`);
  if (problems.length) {
    throw new BootstrapError(
      `namespace ${o.namespace} is already bootstrapped, and ${problems.join('; ')}. Bootstrap will not move an installation: ` +
        `run it with the same --url, --branch and --path, or move the sync manifests in Git yourself (or uninstall first)`,
    );
  }
  return true;
}

/** Step 5: until the GitRepository has `revision` and the Kustomization applied it, with progress lines. */
async function waitForSync(o: BootstrapOptions, revision: string): Promise<void> {
  const started = Date.now();
  const deadline = started + o.timeoutMs;
  const ready = (obj: FluxObject | undefined) => obj?.status?.conditions?.find((c) => c.type === 'Ready');
  for (const [what, path, done] of [
    ['GitRepository', gitPath(o.namespace, o.namespace), (x: FluxObject | undefined) => ready(x)?.status === 'True' && x?.status?.artifact?.revision === revision],
    ['Kustomization', ksPath(o.namespace, o.namespace), (x: FluxObject | undefined) => ready(x)?.status === 'True' && x?.status?.lastAppliedRevision === revision],
  ] as const) {
    o.say(`◎ waiting for ${what} "${o.namespace}/${o.namespace}" to reconcile ${revision}`);
    let lastShown = 0;
    for (;;) {
      const obj = await o.client.getOrUndefined<FluxObject>(path);
      if (done(obj)) break;
      const r = ready(obj);
      if (Date.now() > deadline) {
        throw new BootstrapError(`timed out after ${Math.round(o.timeoutMs / 1000)} s waiting for ${what} ${o.namespace}/${o.namespace}${r?.message ? `: ${r.message}` : ' (is the controller running?)'}`);
      }
      if (Date.now() - lastShown >= 10_000) {
        if (lastShown) o.say(`  ${Math.round((Date.now() - started) / 1000)} s: ${r ? `${r.status}: ${r.message ?? ''}` : 'not reconciled yet'}`);
        lastShown = Date.now();
      }
      await new Promise((res) => setTimeout(res, 500));
    }
    o.say(`✔ ${what} reconciled`);
  }
}

/** Runs the bootstrap; returns whether anything changed. */
export async function bootstrapGit(o: BootstrapOptions): Promise<boolean> {
  const existing = await checkExisting(o);
  o.say(existing ? `► ${o.namespace} is bootstrapped from this repository already: checking it is up to date` : `► bootstrapping ${o.namespace} from ${o.url} (branch ${o.branch}, path ./${normalizePath(o.path)})`);
  const components = installManifests({ namespace: o.namespace, image: o.image, replicas: 1, multiTenant: false, version: o.version });
  const rm = new ResourceManager(o.client);
  // A namespace Flux bootstrapped: Sluice takes its objects over and replaces its controllers.
  const takeover = await planTakeover(o.client, rm.discovery, o.namespace, components);
  if (takeover) o.say(`► Flux runs in ${o.namespace} (${takeover.controllers.map((c) => `${c.name}${c.version ? ` ${c.version}` : ''}`).join(', ')}): Sluice takes the installation over; Flux's objects stay, its controllers go`);

  // Step 2: the files in Git.
  const repo = await BootstrapRepository.clone(o.url, o.branch, o.secret);
  let head: string;
  let pushed = false;
  let installed = false;
  try {
    o.say(`✔ cloned branch "${o.branch}"`);
    const files = bootstrapFiles(o, components, o.version);
    const replacesFlux = /app\.kubernetes\.io\/part-of: flux\b/.test((await repo.read(Object.keys(files)[0]!)) ?? '');
    const changed = await repo.write(files);
    if (o.dryRun) {
      o.say(changed.length ? `► would commit ${changed.join(', ')}${replacesFlux ? " (replacing Flux's gotk-components.yaml)" : ''}` : '► the component and sync manifests are up to date in Git');
      if (takeover) describeTakeover(takeover, o.say);
      o.say(`► would apply ${components.length} components in ${o.namespace}, the source Secret ${o.namespace}/${o.secretName} (keys ${Object.keys(o.secret).sort().join(', ')}) and the sync GitRepository and Kustomization ${o.namespace}/${o.namespace}`);
      return false;
    }
    if (takeover) await pauseFlux(o.client, takeover, o.say);
    if (changed.length) {
      head = await repo.commitAndPush(changed, `Add Sluice ${o.version} component and sync manifests`, o.author);
      pushed = true;
      o.say(`✔ committed and pushed ${changed.join(', ')} (${head.slice(0, 12)})${replacesFlux ? ": Sluice's components replace Flux's" : ''}`);
    } else {
      head = (await repo.head())!;
      o.say('✔ component and sync manifests are up to date in Git');
    }

    // Step 3: the components, then the source Secret and the sync objects.
    const log = (e: ChangeSetEntry) => e.action !== 'unchanged' && o.say(`  ${formatEntry(e)}`);
    // Applied as the sync Kustomization will apply them (same field manager, its
    // labels), so that bootstrap and controller agree and a second run is a no-op.
    const ownerLabels = { [KS_NAME_LABEL]: o.namespace, [KS_NAMESPACE_LABEL]: o.namespace };
    o.say(`► installing components in "${o.namespace}"`);
    const applied = await rm.apply(components, { onEntry: log, ownerLabels });
    const crds = components.filter((c) => c.kind === 'CustomResourceDefinition');
    const established = await waitForSet(o.client, rm.discovery, crds.map((c) => ({ apiVersion: c.apiVersion, kind: c.kind, name: c.metadata.name! })), { timeoutMs: 60_000 });
    if (!established.ok) throw new BootstrapError(`CRDs not established:\n${established.message}`);
    installed = true;
    o.say(hasChanges(applied) ? '✔ installed components' : '✔ components are up to date');
    if (takeover) await removeFlux(o.client, takeover, o.say);
    const secret: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: o.secretName, namespace: o.namespace },
      type: 'Opaque',
      data: Object.fromEntries(Object.entries(o.secret).map(([k, v]) => [k, v.toString('base64')])),
    };
    const sync = [...(await rm.apply([secret], { onEntry: log })), ...(await rm.apply(syncObjects(o), { onEntry: log, ownerLabels }))];
    o.say(hasChanges(sync) ? '✔ applied the source Secret and the sync configuration' : '✔ source Secret and sync configuration are up to date');

    // Step 4: the cluster follows the repository.
    await waitForSync(o, `${o.branch}@sha1:${head}`);
    const changedAnything = pushed || hasChanges(applied) || hasChanges(sync) || !!takeover;
    o.say(changedAnything ? '✔ bootstrap finished' : '✔ already bootstrapped: nothing changed');
    return changedAnything;
  } catch (err) {
    // Flux keeps running if Sluice could not be installed: never neither.
    if (takeover && !installed) {
      await resumeFlux(o.client, takeover);
      o.say(`! bootstrap failed before Sluice was installed: Flux's controllers in ${o.namespace} are running again`);
    }
    throw err;
  } finally {
    await repo.dispose();
  }
}

function describeTakeover(t: FluxTakeover, say: (line: string) => void): void {
  say(`► would pause and then remove Flux's controllers: ${t.controllers.map((c) => c.name).join(', ')}`);
  for (const crd of t.keptCrds) say(`► would keep CustomResourceDefinition/${crd} (Sluice does not serve it) out of the sync's prune`);
  if (t.leftovers.length) say(`► would remove the rest of Flux's components: ${t.leftovers.map((l) => l.subject).join(', ')}`);
}
