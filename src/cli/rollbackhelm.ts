// `sluice rollback helmrelease NAME [--to N]`: the pin is set first (the
// HelmRelease controller then leaves the release alone: no upgrade back to
// what Git says, no drift correction), then Helm's own rollback runs through
// the helm driver, making a new revision with revision N's chart, values and
// manifest. `--clear` removes the pin and asks for a reconcile, which
// upgrades the release back to Git's.
import type { KubeClient } from '../kube/client.ts';
import type { KubeObject } from '../kube/object.ts';
import { SLUICE_PIN } from '../api/annotations.ts';
import { HelmDriver } from '../helm/driver.ts';
import { rollbackRelease } from '../helm/actions.ts';
import { readReleases, type HelmReleaseRecord } from '../helm/release.ts';
import { ensureHelmDriver } from '../tools/localgo.ts';
import { releaseNameOf, type HelmReleaseObject } from '../controllers/helmrelease/object.ts';
import { kindByName } from './args.ts';
import { requestAndWait } from './reconcile.ts';

/** The revision `--to` means: N itself when stored, else the newest successful one before the current. */
export function helmTarget(releases: HelmReleaseRecord[], to: string | undefined): HelmReleaseRecord | { error: string } {
  const cur = releases[releases.length - 1];
  if (!cur) return { error: 'the release has no stored revision' };
  if (to !== undefined) {
    if (!/^\d+$/.test(to)) return { error: `--to takes a Helm revision number, not '${to}'` };
    const n = Number(to);
    const rel = releases.find((r) => r.version === n);
    if (!rel) return { error: `revision ${n} is not in Helm's storage (it keeps ${releases.map((r) => r.version).join(', ')})` };
    if (n === cur.version) return { error: `revision ${n} is the current one` };
    return rel;
  }
  const prev = [...releases].reverse().find((r) => r.version < cur.version && (r.info.status === 'superseded' || r.info.status === 'deployed'));
  return prev ?? { error: `no successful revision before ${cur.version}` };
}

export async function rollbackHelmRelease(client: KubeClient, obj: KubeObject, o: { to?: string; clear: boolean; wait: boolean; timeoutMs: number }): Promise<number> {
  const hr = obj as HelmReleaseObject;
  const namespace = hr.metadata.namespace!;
  const kind = kindByName('HelmRelease')!;
  if (o.clear) {
    process.stderr.write(`► HelmRelease ${hr.metadata.name} unpinned: back to what Git says\n`);
    // The pin's removal and the reconcile request in one patch: one reconcile upgrades it back.
    return requestAndWait(client, kind, namespace, hr.metadata.name!, {
      deadline: Date.now() + o.timeoutMs,
      timeoutMs: o.timeoutMs,
      noWait: !o.wait,
      annotations: { [SLUICE_PIN]: null },
    });
  }
  const storageNamespace = hr.spec.storageNamespace ?? namespace;
  const releases = await readReleases(client, storageNamespace, releaseNameOf(hr));
  const target = helmTarget(releases, o.to);
  if ('error' in target) {
    process.stderr.write(`✗ ${target.error}\n`);
    return 1;
  }
  // The pin first: from here on the controller does not upgrade the release back.
  await client.request({
    method: 'PATCH',
    path: `/apis/${hr.apiVersion}/namespaces/${namespace}/helmreleases/${hr.metadata.name}`,
    contentType: 'application/merge-patch+json',
    body: { metadata: { annotations: { [SLUICE_PIN]: String(target.version) } } },
  });
  process.stderr.write(`► HelmRelease ${hr.metadata.name} pinned to revision ${target.version}; rolling back\n`);
  const helm = new HelmDriver({ bin: () => ensureHelmDriver({}) });
  try {
    await rollbackRelease(helm, {
      // The driver takes the kubeconfig's text, as the controller gives it.
      target: { kubeconfig: client.exportKubeconfig() },
      name: target.name,
      namespace: target.namespace,
      storageNamespace,
      revision: target.version,
      timeoutMs: o.timeoutMs,
      historyMax: hr.spec.maxHistory ?? 5,
      serverSideApply: 'auto',
      ...(o.wait ? { waitStrategy: 'watcher' as const } : {}),
    });
  } catch (err) {
    process.stderr.write(`✗ helm rollback to revision ${target.version} failed: ${(err as Error).message}\n  the pin stays; sluice rollback helmrelease ${hr.metadata.name} --clear removes it\n`);
    return 1;
  } finally {
    await helm.stop();
  }
  const after = await readReleases(client, storageNamespace, target.name);
  const cur = after[after.length - 1]!;
  process.stdout.write(`✔ release ${target.name} at revision ${cur.version} (${cur.info.status}): ${cur.info.description ?? ''}\n`);
  return 0;
}
