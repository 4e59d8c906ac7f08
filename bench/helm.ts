// Benchmark: 100 HelmReleases of a small chart (a Deployment, a
// ServiceAccount, a Service and an Ingress) from a chart repository on
// loopback, installed by the controller running as its own process. Reports
// the time from creating the HelmReleases until every one is Ready, and the
// peak RSS of the controller process (and of the controller with the helm
// and kustomize processes it runs).
//
//   node --import tsx bench/helm.ts [--releases 100] [--keep]
import { parseArgs } from 'node:util';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, cpus, totalmem, homedir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { upCluster } from '../src/dev/cluster/up.ts';
import { KubeClient } from '../src/kube/client.ts';
import { ResourceManager } from '../src/apply/manager.ts';
import { mapSettled } from '../src/util/pool.ts';
import { allCrds } from '../src/api/crds.ts';
import type { KubeObject } from '../src/kube/object.ts';
import { startChartRepo, writeChart } from '../test/helm/helpers.ts';
import { apiRequestCounts, deleteNamespace, processStats, sampleRss, startController, waitFor } from './lib.ts';



const chart = {
  'Chart.yaml': 'apiVersion: v2\nname: small\nversion: 1.0.0\nappVersion: "1.0"\n',
  'values.yaml': 'image: example.invalid/small:1\nhost: small.example.test\nport: 80\n',
  'templates/serviceaccount.yaml': 'apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {{ .Release.Name }}\n',
  'templates/deployment.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: 1
  selector: {matchLabels: {app: {{ .Release.Name }}}}
  template:
    metadata: {labels: {app: {{ .Release.Name }}}}
    spec:
      serviceAccountName: {{ .Release.Name }}
      containers: [{name: app, image: {{ .Values.image }}, ports: [{containerPort: 8080}]}]
`,
  'templates/service.yaml': `apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
spec:
  selector: {app: {{ .Release.Name }}}
  ports: [{port: {{ .Values.port }}, targetPort: 8080}]
`,
  'templates/ingress.yaml': `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ .Release.Name }}
spec:
  rules:
    - host: {{ .Release.Name }}.{{ .Values.host }}
      http:
        paths:
          - path: /
            pathType: Prefix
            backend: {service: {name: {{ .Release.Name }}, port: {number: {{ .Values.port }}}}}
`,
};

/** A process and all its descendants (the helm driver, helm, kustomize, sh). */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Sum over the live processes of a tree, skipping any that end meanwhile. */
function treeSum(root: number, of: (s: ReturnType<typeof processStats>) => number): number {
  let total = 0;
  for (const pid of processTree(root)) {
    try {
      total += of(processStats(pid));
    } catch {
      /* gone */
    }
  }
  return total;
}

/** RSS of a process and all its descendants, in MiB. */
const treeRssMiB = (root: number) => treeSum(root, (s) => s.rssMiB);

/** CPU seconds of a process tree: the live processes, and the children that already ended (helm package, kustomize). */
function treeCpuSeconds(root: number): number {
  const stat = readFileSync(`/proc/${root}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const endedChildren = (Number(fields[13]) + Number(fields[14])) / 100;
  return treeSum(root, (s) => s.cpuSeconds) + endedChildren;
}

export interface HelmBenchResult {
  n: number;
  createdSeconds: number;
  firstReadySeconds: number;
  allReadySeconds: number;
  cpuSeconds: number;
  /** With the helm driver and any other child processes. */
  treeCpuSeconds: number;
  peakMiB: number;
  treePeakMiB: number;
  releaseSecrets: number;
  api: { reads: number; writes: number; dryRuns: number };
}

/**
 * Creates `n` HelmReleases of the small chart in a new namespace, served by
 * a loopback chart repository, with a controller process of its own, and
 * measures until every one is Ready. Cleans up unless `keep`.
 */
export async function runHelmBench(
  client: KubeClient,
  controllerKubeconfig: string,
  n: number,
  keep = false,
  extra: string[] = [],
  specExtra: Record<string, unknown> = {},
): Promise<HelmBenchResult> {
  await new ResourceManager(client).apply(allCrds() as KubeObject[]);
  const ns = `bench-helm-${randomBytes(3).toString('hex')}`;
  await client.request({ method: 'POST', path: '/api/v1/namespaces', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } });
  const work = await mkdtemp(join(tmpdir(), 'sluice-bench-helm-'));
  const repo = await startChartRepo();
  await repo.publish(await writeChart(join(work, 'small'), chart));

  const controller = await startController(controllerKubeconfig, { namespace: ns, extra });
  const rss = sampleRss(controller.pid);
  let treePeak = 0;
  const treeTimer = setInterval(() => (treePeak = Math.max(treePeak, treeRssMiB(controller.pid))), 200);
  const cpu0 = processStats(controller.pid).cpuSeconds;
  const treeCpu0 = treeCpuSeconds(controller.pid);
  const api0 = await apiRequestCounts(client);

  await client.request({
    method: 'POST',
    path: `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns}/helmrepositories`,
    body: { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'HelmRepository', metadata: { name: 'charts' }, spec: { url: repo.url, interval: '1h' } },
  });
  const t0 = performance.now();
  await mapSettled(
    Array.from({ length: n }, (_, i) => i),
    16,
    (i) =>
      client.request({
        method: 'POST',
        path: `/apis/helm.toolkit.fluxcd.io/v2/namespaces/${ns}/helmreleases`,
        body: {
          apiVersion: 'helm.toolkit.fluxcd.io/v2',
          kind: 'HelmRelease',
          metadata: { name: `app-${i}` },
          spec: { interval: '1h', chart: { spec: { chart: 'small', version: '1.x', sourceRef: { kind: 'HelmRepository', name: 'charts' } } }, values: { port: 80 + (i % 10) }, ...specExtra },
        },
      }),
  );
  const created = performance.now() - t0;
  let firstReady = 0;
  await waitFor(`${n} HelmReleases Ready`, 30 * 60_000, async () => {
    const list = await client.request<{ items: KubeObject[] }>({ path: `/apis/helm.toolkit.fluxcd.io/v2/namespaces/${ns}/helmreleases` });
    const ready = list.items.filter((o) => (o.status?.conditions as Array<{ type: string; status: string }> | undefined)?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
    if (ready > 0 && !firstReady) firstReady = performance.now() - t0;
    process.stderr.write(`\r# ${ready}/${n} Ready after ${((performance.now() - t0) / 1000).toFixed(0)} s `);
    return ready === n ? true : undefined;
  }, 1_000);
  const allReady = performance.now() - t0;
  process.stderr.write('\n');
  const cpu = processStats(controller.pid).cpuSeconds - cpu0;
  const treeCpu = treeCpuSeconds(controller.pid) - treeCpu0;
  const api1 = await apiRequestCounts(client);
  clearInterval(treeTimer);
  const mem = rss.stop();
  const secrets = await client.request<{ items: unknown[] }>({ path: `/api/v1/namespaces/${ns}/secrets`, query: { labelSelector: 'owner=helm' } });

  await controller.stop();
  if (!keep) {
    process.stderr.write(`# deleting ${ns}\n`);
    await deleteNamespace(client, ns);
  }
  await repo.close();
  await rm(work, { recursive: true, force: true });
  return {
    n,
    createdSeconds: created / 1000,
    firstReadySeconds: firstReady / 1000,
    allReadySeconds: allReady / 1000,
    cpuSeconds: cpu,
    treeCpuSeconds: treeCpu,
    peakMiB: mem.peakMiB,
    treePeakMiB: treePeak,
    releaseSecrets: secrets.items.length,
    api: { reads: api1.reads - api0.reads, writes: api1.writes - api0.writes, dryRuns: api1.dryRuns - api0.dryRuns },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      releases: { type: 'string', default: '100' },
      keep: { type: 'boolean', default: false },
      'concurrent-releases': { type: 'string' },
    },
  });
  const N = Number(values.releases);
  // The suite's cluster: the bench profile raises the control plane's own
  // client limits, so the Deployment controller is not what is measured.
  const home = join(process.env.SLUICE_HOME ?? join(homedir(), '.sluice'), 'bench');
  const cluster = await upCluster({ home, profile: 'bench', nodes: 2, log: (m) => process.stderr.write(`# ${m}\n`) });
  const client = await KubeClient.fromFile(cluster.kubeconfig);
  const extra = values['concurrent-releases'] ? [`--concurrent-releases=${values['concurrent-releases']}`] : [];
  const r = await runHelmBench(client, cluster.kubeconfig, N, values.keep, extra);
  const row = (k: string, v: string) => `| ${k} | ${v} |`;
  const out = [
    `## HelmRelease install: ${N} releases of a 4-object chart`,
    '',
    `Machine: ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; controller in its own process, watching one namespace; Helm SDK v4.3.2 in the helm driver.`,
    '',
    '| measure | value |',
    '| --- | --- |',
    row('HelmReleases created (API calls)', `${r.createdSeconds.toFixed(1)} s`),
    row('first release Ready', `${r.firstReadySeconds.toFixed(1)} s`),
    row(`all ${N} releases Ready`, `${r.allReadySeconds.toFixed(1)} s`),
    row('throughput', `${(N / r.allReadySeconds).toFixed(2)} releases/s`),
    row('controller CPU', `${r.cpuSeconds.toFixed(1)} s`),
    row('controller peak RSS', `${r.peakMiB.toFixed(0)} MiB`),
    row('controller + helm driver (and any helm/kustomize processes), CPU', `${r.treeCpuSeconds.toFixed(1)} s`),
    row('controller + helm driver (and any helm/kustomize processes), peak RSS', `${r.treePeakMiB.toFixed(0)} MiB`),
    row('Helm release Secrets written', String(r.releaseSecrets)),
    row('API requests (reads / writes / dry runs)', `${r.api.reads} / ${r.api.writes} / ${r.api.dryRuns}`),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  client.close();
}

// Run directly (not when the suite imports runHelmBench).
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) await main();

