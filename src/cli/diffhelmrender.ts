// `sluice diff hr NAME`: the release a reconcile would make now, rendered by
// the Helm SDK driver in a server-side dry run (the chart at its source's
// current artifact, the HelmRelease's values composed as the controller
// composes them, its post-renderers and Flux's labels), nothing applied and
// no revision stored. src/cli/diffapplier.ts diffs its objects against the
// live ones.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactResolver, type ArtifactRef } from '../runtime/artifacts.ts';
import { readSecret } from '../runtime/secrets.ts';
import { HelmDriver } from '../helm/driver.ts';
import { installRelease, upgradeRelease, type InstallRequest } from '../helm/actions.ts';
import { writePostRenderer } from '../helm/postrender.ts';
import { readReleases, type HelmReleaseRecord } from '../helm/release.ts';
import { composeValues, type Values } from '../helm/values.ts';
import { chartRoot } from '../source/helm/chart.ts';
import { ensureHelmDriver } from '../tools/localgo.ts';
import { ensureKustomize } from '../tools/gotool.ts';
import type { KubeClient } from '../kube/client.ts';
import type { KubeObject } from '../kube/object.ts';
import { releaseLabels, releaseNameOf, type HelmReleaseObject } from '../controllers/helmrelease/object.ts';

export interface Rendered {
  release: HelmReleaseRecord;
  /** Where the chart came from, for the title: HelmChart/ns/name at revision. */
  source: string;
}

/** The HelmChart (or chartRef) whose artifact the controller installs from, as src/controllers/helmrelease/prepare.ts finds it. */
async function chartArtifact(client: KubeClient, hr: HelmReleaseObject, ns: string): Promise<{ artifact: ArtifactRef; source: string }> {
  const spec = hr.spec;
  let path: string;
  let what: string;
  if (spec.chartRef) {
    const refNs = spec.chartRef.namespace ?? ns;
    const plural = { HelmChart: 'helmcharts', OCIRepository: 'ocirepositories', ExternalArtifact: 'externalartifacts' }[spec.chartRef.kind];
    if (!plural) throw new Error(`chartRef of kind ${spec.chartRef.kind} is not supported`);
    if (spec.chartRef.kind === 'OCIRepository') throw new Error('a chart from an OCIRepository (chartRef) is not rendered by diff hr yet: its chart version carries the digest; use --stored for the drift from the current release');
    path = `/apis/source.toolkit.fluxcd.io/v1/namespaces/${refNs}/${plural}/${spec.chartRef.name}`;
    what = `${spec.chartRef.kind}/${refNs}/${spec.chartRef.name}`;
  } else if (spec.chart?.spec) {
    const chartNs = spec.chart.spec.sourceRef.namespace ?? ns;
    path = `/apis/source.toolkit.fluxcd.io/v1/namespaces/${chartNs}/helmcharts/${ns}-${hr.metadata.name}`;
    what = `HelmChart/${chartNs}/${ns}-${hr.metadata.name}`;
  } else throw new Error('the HelmRelease has neither spec.chart nor spec.chartRef');
  const src = await client.getOrUndefined<KubeObject & { status?: { artifact?: ArtifactRef } }>(path);
  if (!src) throw new Error(`${what} not found: the controller makes it from spec.chart at the first reconcile (sluice get hr ${hr.metadata.name} -n ${ns})`);
  const artifact = src.status?.artifact;
  if (!artifact?.url) throw new Error(`${what} has no artifact yet (sluice get source chart -n ${src.metadata.namespace})`);
  return { artifact, source: `${what} at ${artifact.revision}` };
}

/** Renders what a reconcile of the HelmRelease would install or upgrade to now. */
export async function renderRelease(client: KubeClient, hr: HelmReleaseObject, ns: string, timeoutMs: number): Promise<Rendered> {
  const spec = hr.spec;
  const { artifact, source } = await chartArtifact(client, hr, ns);
  const work = await mkdtemp(join(tmpdir(), 'sluice-diff-hr-'));
  const helm = new HelmDriver({ bin: () => ensureHelmDriver({}) });
  try {
    let chartDir: string;
    try {
      chartDir = await chartRoot(await new ArtifactResolver(join(work, 'artifacts')).resolve(artifact));
    } catch (err) {
      throw new Error(`could not fetch the chart from ${artifact.url} (${source}): ${(err as Error).message}; the artifact server must be reachable from here, else use --stored`);
    }
    const inline: unknown = spec.values;
    if (inline !== undefined && inline !== null && (typeof inline !== 'object' || Array.isArray(inline))) throw new Error('spec.values must be a map of values');
    const values = await composeValues(ns, inline as Values | undefined, spec.valuesFrom ?? [], async (kind, n) => {
      if (kind === 'Secret') {
        const s = await readSecret(client, ns, n);
        return s && Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, v.toString('utf8')]));
      }
      const o = await client.getOrUndefined<{ data?: Record<string, string> }>(`/api/v1/namespaces/${ns}/configmaps/${n}`);
      return o && (o.data ?? {});
    });
    // Flux's labels and the spec's post-renderers, as the controller's actions add them.
    const postRenderer = await writePostRenderer({
      kustomize: await ensureKustomize({}),
      dir: join(work, 'post-render'),
      postRenderers: spec.postRenderers ?? [],
      labels: { ...(spec.commonMetadata?.labels ?? {}), ...releaseLabels(ns, hr.metadata.name!) },
      annotations: spec.commonMetadata?.annotations,
    });
    const name = releaseNameOf(hr);
    const storageNamespace = spec.storageNamespace ?? ns;
    const request: InstallRequest = {
      target: { kubeconfig: client.exportKubeconfig() },
      name,
      namespace: spec.targetNamespace ?? ns,
      storageNamespace,
      chart: chartDir,
      values,
      timeoutMs,
      postRenderer,
      labels: releaseLabels(ns, hr.metadata.name!),
      dryRun: true,
    };
    const deployed = (await readReleases(client, storageNamespace, name)).some((r) => r.info.status === 'deployed');
    const release = deployed
      ? await upgradeRelease(helm, { ...request, historyMax: spec.maxHistory ?? 5, serverSideApply: 'auto' })
      : await installRelease(helm, request);
    return { release, source };
  } finally {
    await helm.stop();
    await rm(work, { recursive: true, force: true });
  }
}
