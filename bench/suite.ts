// The benchmark suite (issue "Benchmarks at scale"). One command:
//
//   node --import tsx bench/suite.ts            # quick: N=100, one run, 20 HelmReleases
//   node --import tsx bench/suite.ts --full     # N=100,500,1000 (3 runs), Helm 100/500/1000,
//                                                # 10,000 small apps, 5-minute steady state
//
// Pick parts with --sizes, --runs, --baseline-runs, --replicas, --helm-sizes,
// --small and --steady-minutes; --skip-one-change leaves out sections 4 and 5.
//
// It brings up a local control plane of its own (SLUICE_HOME=~/.sluice/bench)
// with the bench profile, runs the controller as a separate process (so its
// CPU and memory are its own), serves the apps from a loopback git server,
// and writes bench/RESULTS.md.
import { parseArgs } from 'node:util';
import { readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { cpus, homedir, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { upCluster } from '../src/dev/cluster/up.ts';
import { limits } from '../src/dev/cluster/flags.ts';
import { auditLogPath } from '../src/dev/cluster/audit.ts';
import { clusterDir } from '../src/dev/cluster/state.ts';
import { KubeClient } from '../src/kube/client.ts';
import { ResourceManager } from '../src/apply/manager.ts';
import { mapSettled } from '../src/util/pool.ts';
import { Discovery, resourcePath } from '../src/kube/discovery.ts';
import { allCrds } from '../src/api/crds.ts';
import { startGitHttpServer, type GitHttpServer } from '../src/dev/gitserver/http.ts';
import { run } from '../src/util/exec.ts';
import { projectRoot } from '../src/util/paths.ts';
import { parseManifests } from '../src/render/manifests.ts';
import type { KubeObject } from '../src/kube/object.ts';
import { runHelmBench } from './helm.ts';
import { apiRequestCounts, auditCounts, deleteNamespace, auditOffset, auditedControllerKubeconfig, median, processStats, sampleRss, startController, waitFor, type ControllerProcess } from './lib.ts';

const { values } = parseArgs({
  options: {
    full: { type: 'boolean', default: false },
    sizes: { type: 'string' },
    runs: { type: 'string' },
    small: { type: 'string' },
    'helm-sizes': { type: 'string' },
    'baseline-runs': { type: 'string' },
    'steady-minutes': { type: 'string' },
    replicas: { type: 'string', default: '0,1' },
    'skip-one-change': { type: 'boolean', default: false },
    concurrent: { type: 'string', default: '32' },
    out: { type: 'string', default: join(projectRoot, 'bench', 'RESULTS.md') },
  },
});
const SIZES = (values.sizes ?? (values.full ? '100,500,1000' : '100')).split(',').map(Number);
const RUNS = Number(values.runs ?? (values.full ? 3 : 1));
const SMALL_APPS = Number(values.small ?? (values.full ? 10_000 : 0));
const HELM_SIZES = (values['helm-sizes'] ?? (values.full ? '100,500,1000' : '20')).split(',').map(Number).filter((x) => x > 0);
const STEADY_MINUTES = Number(values['steady-minutes'] ?? (values.full ? 5 : 0));
const CONCURRENT = Number(values.concurrent);
/** The baselines vary little between runs and kubectl's is slow: they may run fewer times than Sluice. */
const BASELINE_RUNS = Math.min(RUNS, Number(values['baseline-runs'] ?? RUNS));
const log = (m: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${m}\n`);

// ---------------------------------------------------------------------------
// Workload

function appFiles(i: number, replicas: number): Record<string, string> {
  const name = `app-${i}`;
  const labels = `{app: ${name}}`;
  return {
    [`apps/${name}/serviceaccount.yaml`]: `apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: ${name}\n`,
    [`apps/${name}/service.yaml`]: `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n  selector: ${labels}\n  ports: [{name: http, port: 80, targetPort: 8080}]\n`,
    [`apps/${name}/ingress.yaml`]: `apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: ${name}\nspec:\n  rules:\n  - host: ${name}.example.invalid\n    http:\n      paths:\n      - path: /\n        pathType: Prefix\n        backend: {service: {name: ${name}, port: {number: 80}}}\n`,
    [`apps/${name}/deployment.yaml`]: `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\nspec:\n  replicas: ${replicas}\n  selector: {matchLabels: ${labels}}\n  template:\n    metadata: {labels: ${labels}}\n    spec:\n      serviceAccountName: ${name}\n      containers: [{name: app, image: example.invalid/app:1, ports: [{containerPort: 8080}]}]\n`,
  };
}

function smallAppFiles(i: number): Record<string, string> {
  return { [`small/s-${i}/cm.yaml`]: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: s-${i}\ndata:\n  index: "${i}"\n` };
}

class Repo {
  private constructor(
    readonly work: string,
    readonly bare: string,
    readonly server: GitHttpServer,
  ) {}

  static async create(): Promise<Repo> {
    const root = await mkdtemp(join(tmpdir(), 'sluice-bench-git-'));
    const bare = join(root, 'apps.git');
    const work = join(root, 'work');
    await run('git', ['init', '-q', '--bare', '--initial-branch=main', bare]);
    await run('git', ['init', '-q', '--initial-branch=main', work]);
    const server = await startGitHttpServer({ root });
    const repo = new Repo(work, bare, server);
    await repo.commit({ 'README.md': 'benchmark apps\n' }, 'init');
    return repo;
  }

  get url(): string {
    return this.server.url('apps');
  }

  async commit(files: Record<string, string>, message: string): Promise<string> {
    const { mkdir } = await import('node:fs/promises');
    const { dirname } = await import('node:path');
    for (const [rel, text] of Object.entries(files)) {
      await mkdir(dirname(join(this.work, rel)), { recursive: true });
      await writeFile(join(this.work, rel), text);
    }
    const env = { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'b@x.invalid', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'b@x.invalid' };
    await run('git', ['-C', this.work, 'add', '--all'], { env });
    await run('git', ['-C', this.work, 'commit', '-q', '-m', message], { env });
    await run('git', ['-C', this.work, 'push', '-q', this.bare, 'main'], { env });
    return `main@sha1:${(await run('git', ['-C', this.work, 'rev-parse', 'HEAD'])).stdout.trim()}`;
  }

  async close(): Promise<void> {
    await this.server.close();
  }
}

// ---------------------------------------------------------------------------
// Scenario helpers

interface Env {
  client: KubeClient;
  kubeconfig: string;
  /** The controller's own kubeconfig: an identity the audit log records. */
  controllerKubeconfig: string;
  auditLog: string;
}

async function createNamespace(c: KubeClient, name: string): Promise<void> {
  await c.request({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name } } });
}

/** Namespaces the benchmarks make (bench/suite.ts, bench/helm.ts, and scratch runs of one change). */
const BENCH_NAMESPACE = /^(ttp|small|bench-helm|one)-/;

/**
 * Deletes what an interrupted earlier run left in the bench cluster. Left
 * alone, its objects keep their finalizers with no controller to remove
 * them, and the namespace controller retries their namespaces for ever: a
 * cluster with eight such namespaces (8,500 Kustomizations) kept the API
 * server at over one core while idle, and every figure measured on it slow.
 */
async function deleteLeftovers(c: KubeClient): Promise<void> {
  const list = await c.request<{ items: KubeObject[] }>({ path: '/api/v1/namespaces' });
  const left = list.items.map((n) => n.metadata.name!).filter((n) => BENCH_NAMESPACE.test(n));
  if (!left.length) return;
  log(`deleting ${left.length} namespaces left by earlier runs: ${left.join(', ')}`);
  await mapSettled(left, 4, (n) => deleteNamespace(c, n));
}

async function createGitOps(c: KubeClient, ns: string, url: string, names: string[], path: (n: string) => string, wait: boolean): Promise<void> {
  await c.request({
    method: 'POST',
    path: `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns}/gitrepositories`,
    body: { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name: 'apps' }, spec: { url, interval: '1m', ref: { branch: 'main' } } },
  });
  await mapSettled(names, 32, (n) =>
    c.request({
      method: 'POST',
      path: `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${ns}/kustomizations`,
      body: {
        apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
        kind: 'Kustomization',
        metadata: { name: n },
        spec: { interval: '1m', path: path(n), prune: true, wait, timeout: '5m', targetNamespace: ns, sourceRef: { kind: 'GitRepository', name: 'apps' } },
      },
    }),
  );
}

async function requestFetch(c: KubeClient, ns: string): Promise<void> {
  await c.request({
    method: 'PATCH',
    path: `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns}/gitrepositories/apps`,
    contentType: 'application/merge-patch+json',
    body: { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': new Date().toISOString() } } },
  });
}

async function countReady(c: KubeClient, ns: string, revision: string): Promise<{ ready: number; total: number; seen: number; failed: string[] }> {
  let ready = 0;
  let total = 0;
  let seen = 0;
  const failed: string[] = [];
  let cont: string | undefined;
  do {
    const page = await c.request<{ items: KubeObject[]; metadata: { continue?: string } }>({
      path: `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${ns}/kustomizations`,
      query: { limit: 2000, continue: cont },
    });
    for (const k of page.items) {
      total++;
      const r = (k.status?.conditions as Array<{ type: string; status: string; message: string }> | undefined)?.find((x) => x.type === 'Ready');
      if (r) seen++;
      if (r?.status === 'True' && k.status?.lastAppliedRevision === revision) ready++;
      else if (r?.status === 'False' && failed.length < 3) failed.push(`${k.metadata.name}: ${r.message}`);
    }
    cont = page.metadata.continue || undefined;
  } while (cont);
  return { ready, total, seen, failed };
}

/** Time from the push (and fetch request) of `files` to every Kustomization Ready at the new revision. */
async function timeToProduction(env: Env, ctl: ControllerProcess, repo: Repo, ns: string, n: number, files: Record<string, string>, timeoutMs: number) {
  // A running controller has seen every Kustomization once (their paths do
  // not exist yet, so they are not Ready): the clock starts from that state.
  await waitFor('the controller to see every Kustomization', timeoutMs, async () => ((await countReady(env.client, ns, '')).seen === n ? true : undefined), 500);
  const rss = sampleRss(ctl.pid);
  const cpu0 = processStats(ctl.pid).cpuSeconds;
  const wall0 = Date.now();
  const audit0 = auditOffset(env.auditLog);
  const t0 = performance.now();
  const rev = await repo.commit(files, `${n} apps`);
  await requestFetch(env.client, ns);
  let last = { ready: 0, total: 0, seen: 0, failed: [] as string[] };
  await waitFor(`${n} Kustomizations Ready`, timeoutMs, async () => {
    last = await countReady(env.client, ns, rev);
    return last.ready === n ? true : undefined;
  }, 500).catch((err) => {
    throw new Error(`${(err as Error).message}: ${last.ready}/${last.total} ready; e.g. ${last.failed.join(' | ')}`);
  });
  const seconds = (performance.now() - t0) / 1000;
  const cpuSeconds = processStats(ctl.pid).cpuSeconds - cpu0;
  const requests = auditCounts(env.auditLog, wall0, Date.now(), audit0);
  return { seconds, cpuSeconds, revision: rev, requests, ...rss.stop() };
}

// Baselines: the same objects, by a tight loop of server-side applies and by kubectl.
async function baselineLoop(env: Env, ns: string, files: Record<string, string>): Promise<number> {
  const objs = Object.values(files).flatMap((t) => parseManifests(t, 'x').map((m) => m.object as KubeObject));
  // Resolved before the clock starts: the loop times the applies alone.
  const discovery = new Discovery(env.client);
  const mappings = await Promise.all(objs.map(async (o) => {
    const m = await discovery.mapping(o.apiVersion, o.kind);
    if (!m) throw new Error(`the API server does not serve ${o.apiVersion} ${o.kind}`);
    return m;
  }));
  const t0 = performance.now();
  const results = await mapSettled(objs, CONCURRENT, async (o, i) => {
    const m = mappings[i]!;
    await env.client.request({
      method: 'PATCH',
      path: resourcePath(m, ns, o.metadata.name),
      query: { fieldManager: 'baseline', force: 'true' },
      body: { ...o, metadata: { ...o.metadata, namespace: m.namespaced ? ns : undefined } },
      contentType: 'application/apply-patch+yaml',
    });
  });
  const seconds = (performance.now() - t0) / 1000;
  // A failed request takes no time: a loop with failures would report a limit the API server never reached.
  const failed = results.filter((r) => r.error !== undefined);
  if (failed.length) throw new Error(`ssa loop: ${failed.length} of ${objs.length} applies failed, first: ${(failed[0]!.error as Error).message}`);
  return seconds;
}

/** The ssa loop in a namespace of its own; a failed loop (all its requests must succeed) is run once more in a new one. */
async function measureLoop(env: Env, ns: string, files: Record<string, string>): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const bns = attempt === 1 ? ns : `${ns}${attempt}`;
    await createNamespace(env.client, bns);
    try {
      return await baselineLoop(env, bns, files);
    } catch (err) {
      if (attempt >= 2) throw err;
      log(`  ${(err as Error).message}; once more`);
    } finally {
      await deleteNamespace(env.client, bns);
    }
  }
}

async function baselineKubectl(env: Env, ns: string, files: Record<string, string>): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-kubectl-'));
  const { mkdir } = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), text);
  }
  const t0 = performance.now();
  const res = spawnSync('kubectl', ['apply', '--server-side', '-R', '-f', dir, '-n', ns, '--kubeconfig', env.kubeconfig], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (res.status !== 0) throw new Error(`kubectl apply failed: ${res.stderr.slice(0, 500)}`);
  const s = (performance.now() - t0) / 1000;
  await rm(dir, { recursive: true, force: true });
  return s;
}

// ---------------------------------------------------------------------------

async function main() {
  const started = new Date();
  const home = join(process.env.SLUICE_HOME ?? join(homedir(), '.sluice'), 'bench');
  log(`bringing up the bench cluster in ${home}`);
  const cluster = await upCluster({ home, profile: 'bench', nodes: 2, log });
  const client = await KubeClient.fromFile(cluster.kubeconfig, undefined, { maxSockets: CONCURRENT, qps: 0 });
  await new ResourceManager(client).apply(allCrds() as KubeObject[]);
  await deleteLeftovers(client);
  const env: Env = {
    client,
    kubeconfig: cluster.kubeconfig,
    controllerKubeconfig: await auditedControllerKubeconfig(client),
    auditLog: auditLogPath(clusterDir(home)),
  };
  const k8sVersion = (await client.request<{ gitVersion: string }>({ path: '/version' })).gitVersion;
  const lines: string[] = [];
  const lim = limits.bench;
  const header = () => [
    '# Benchmark results',
    '',
    `Written by \`node --import tsx bench/suite.ts ${process.argv.slice(2).join(' ')}\` on ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC.`,
    '',
    `- Machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}; Kubernetes ${k8sVersion.startsWith('v0.0.0') ? `${goModuleVersion()} (the unstamped build of cluster/go.mod)` : k8sVersion} (local control plane, KWOK nodes).`,
    `- Control plane limits (bench profile): kube-controller-manager and kube-scheduler --kube-api-qps=${lim.apiQps} --kube-api-burst=${lim.apiBurst}; kube-controller-manager --concurrent-deployment-syncs=${lim.workloadSyncs} --concurrent-replicaset-syncs=${lim.workloadSyncs}; kube-apiserver --max-requests-inflight=${lim.maxInflight} --max-mutating-requests-inflight=${lim.maxMutatingInflight}, an audit log of the controller's requests (metadata only), the controller's service account in the exempt priority level like the admin the baselines use; etcd without fsync.`,
    `- Sluice controller: a separate process, --concurrent=${CONCURRENT}, client QPS 500 / burst 1000; everything shares the same ${cpus().length} cores.`,
    '',
  ];
  // Each section is written as soon as it is measured: a long run that is stopped keeps what it has.
  const section = (title: string, ...body: string[]) => {
    lines.push(`## ${title}`, '', ...body, '');
    writeFileSync(values.out, [...header(), ...lines].join('\n'));
  };

  // 1 and 8: time to production, with both baselines.
  const ttp: string[] = [
    '| apps (objects) | replicas | Sluice (median) | runs | ssa loop (median) | kubectl --server-side (median) | Sluice/loop | Sluice/kubectl | Sluice requests per app (dry runs, writes, reads) | controller CPU | peak RSS |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const replicas of values.replicas.split(',').map(Number)) {
    for (const n of SIZES) {
      const sluice: number[] = [];
      const loop: number[] = [];
      const kubectl: number[] = [];
      let peak = 0;
      let perApp = '';
      const cpu: number[] = [];
      for (let r = 0; r < RUNS; r++) {
        const ns = `ttp-${n}-${replicas}-${r}-${Date.now() % 100000}`;
        await createNamespace(client, ns);
        const repo = await Repo.create();
        const names = Array.from({ length: n }, (_, i) => `app-${i}`);
        await createGitOps(client, ns, repo.url, names, (x) => `./apps/${x}`, true);
        const ctl = await startController(env.controllerKubeconfig, { namespace: ns, concurrent: CONCURRENT });
        const files: Record<string, string> = {};
        for (let i = 0; i < n; i++) Object.assign(files, appFiles(i, replicas));
        const res = await timeToProduction(env, ctl, repo, ns, n, files, 15 * 60_000);
        sluice.push(res.seconds);
        peak = Math.max(peak, res.peakMiB);
        cpu.push(res.cpuSeconds);
        const q = res.requests;
        perApp = `${((q.dryRuns + q.writes + q.reads) / n).toFixed(1)} (${(q.dryRuns / n).toFixed(1)}, ${(q.writes / n).toFixed(1)}, ${(q.reads / n).toFixed(1)})`;
        await ctl.stop();
        log(`time to production n=${n} replicas=${replicas} run ${r + 1}: ${res.seconds.toFixed(1)} s, controller CPU ${res.cpuSeconds.toFixed(1)} s, peak RSS ${res.peakMiB.toFixed(0)} MiB, requests/app ${perApp}; writes ${JSON.stringify(q.writesBy)}`);
        if (r < BASELINE_RUNS) {
          loop.push(await measureLoop(env, `${ns}-base`, files));
          const kns = `${ns}-kubectl`;
          await createNamespace(client, kns);
          kubectl.push(await baselineKubectl(env, kns, files));
          await deleteNamespace(client, kns);
          log(`  baselines: loop ${loop.at(-1)!.toFixed(1)} s, kubectl ${kubectl.at(-1)!.toFixed(1)} s`);
        }
        if (n === SIZES.at(-1) && replicas === 0 && r === RUNS - 1 && !values['skip-one-change']) await steadyAndOneChange(env, ns, n, repo, ctl, section);
        await repo.close();
        await deleteNamespace(client, ns);
      }
      ttp.push(
        `| ${n} (${n * 4}) | ${replicas} | ${median(sluice).toFixed(1)} s | ${sluice.map((x) => x.toFixed(1)).join(', ')} | ${median(loop).toFixed(1)} s | ${median(kubectl).toFixed(1)} s | ${(median(sluice) / median(loop)).toFixed(2)} | ${(median(sluice) / median(kubectl)).toFixed(2)} | ${perApp} | ${median(cpu).toFixed(1)} s | ${peak.toFixed(0)} MiB |`,
      );
    }
  }
  section(
    '1. Time to production: N apps (Deployment, ServiceAccount, Service, Ingress), one Kustomization each, wait: true',
    'Measured from the push (with a fetch request to the GitRepository) to every Kustomization Ready at the new revision. Baselines in the same run: the same objects as server-side-apply requests from a tight loop at the same concurrency (the API server\'s own limit), and one `kubectl apply --server-side -R` of the same files. Requests per app are the controller\'s own, from the API server\'s audit log (last run); the loop sends 4 per app.',
    '',
    ...ttp,
  );

  // 2: the same for Helm.
  if (HELM_SIZES.length) {
    const rows = ['| releases (objects) | all Ready | throughput | controller CPU | with the helm driver | controller peak RSS | with the helm driver |', '| --- | --- | --- | --- | --- | --- | --- |'];
    for (const n of HELM_SIZES) {
      const r = await runHelmBench(client, env.controllerKubeconfig, n);
      log(`helm n=${n}: ${r.allReadySeconds.toFixed(1)} s, CPU ${r.cpuSeconds.toFixed(1)} s, peak RSS ${r.peakMiB.toFixed(0)} MiB (tree ${r.treePeakMiB.toFixed(0)} MiB)`);
      rows.push(`| ${n} (${n * 4}) | ${r.allReadySeconds.toFixed(1)} s | ${(n / r.allReadySeconds).toFixed(2)}/s | ${r.cpuSeconds.toFixed(1)} s | ${r.treeCpuSeconds.toFixed(1)} s | ${r.peakMiB.toFixed(0)} MiB | ${r.treePeakMiB.toFixed(0)} MiB |`);
    }
    section(
      '2. Helm: N HelmReleases of a small chart (Deployment, ServiceAccount, Service, Ingress) from a loopback chart repository',
      'Measured from creating the HelmReleases to every one Ready (the Helm SDK v4.3.2 in one helm-driver process beside the controller; charts packaged by the helm CLI). One run per size.',
      '',
      ...rows,
    );
  }

  // 3: many small apps.
  if (SMALL_APPS > 0) {
    const ns = `small-${Date.now() % 100000}`;
    await createNamespace(client, ns);
    const repo = await Repo.create();
    const names = Array.from({ length: SMALL_APPS }, (_, i) => `s-${i}`);
    await createGitOps(client, ns, repo.url, names, (x) => `./small/${x}`, false);
    const ctl = await startController(env.controllerKubeconfig, { namespace: ns, concurrent: CONCURRENT });
    const files: Record<string, string> = {};
    for (let i = 0; i < SMALL_APPS; i++) Object.assign(files, smallAppFiles(i));
    const res = await timeToProduction(env, ctl, repo, ns, SMALL_APPS, files, 30 * 60_000);
    await ctl.stop();
    await repo.close();
    await deleteNamespace(client, ns);
    log(`${SMALL_APPS} small apps: ${res.seconds.toFixed(1)} s, peak RSS ${res.peakMiB.toFixed(0)} MiB`);
    section(`3. Many small apps: ${SMALL_APPS} Kustomizations of one ConfigMap each`, `| time to all Ready | peak RSS |`, '| --- | --- |', `| ${res.seconds.toFixed(1)} s | ${res.peakMiB.toFixed(0)} MiB |`);
  }

  const text = [...header(), ...lines].join('\n');
  await writeFile(values.out, text);
  process.stdout.write(`${text}\n`);
  client.close();
}

/** 4, 5 and 6 on the largest set: steady state, then one change with and without notification. */
async function steadyAndOneChange(env: Env, ns: string, n: number, repo: Repo, previous: ControllerProcess, section: (t: string, ...b: string[]) => void) {
  // The same artifact storage as before, as a Service address and volume would give a real deployment.
  const ctl = await startController(env.controllerKubeconfig, { namespace: ns, concurrent: CONCURRENT, reuse: previous });
  // Let the restarted controller go through everything once (all unchanged).
  await new Promise((r) => setTimeout(r, 30_000));
  if (STEADY_MINUTES > 0) {
    const before = await apiRequestCounts(env.client);
    const cpu0 = processStats(ctl.pid).cpuSeconds;
    const rss = sampleRss(ctl.pid, 1000);
    const t0 = Date.now();
    const audit0 = auditOffset(env.auditLog);
    await new Promise((r) => setTimeout(r, STEADY_MINUTES * 60_000));
    const secs = (Date.now() - t0) / 1000;
    const after = await apiRequestCounts(env.client);
    const own = auditCounts(env.auditLog, t0, Date.now(), audit0);
    log(`steady state: controller ${JSON.stringify(own)}`);
    const cpu = (processStats(ctl.pid).cpuSeconds - cpu0) / secs;
    const mem = rss.stop();
    section(
      `4. Steady state: ${n} Kustomizations Ready, nothing changing, ${STEADY_MINUTES} minutes at a 1-minute interval`,
      '| requests from | reads/s | dry runs/s | writes/s | watches opened |',
      '| --- | --- | --- | --- | --- |',
      `| Sluice (audit log) | ${(own.reads / secs).toFixed(2)} | ${(own.dryRuns / secs).toFixed(2)} | ${(own.writes / secs).toFixed(2)} | ${own.watches} |`,
      `| all clients (apiserver_request_total) | ${((after.reads - before.reads) / secs).toFixed(1)} | ${((after.dryRuns - before.dryRuns) / secs).toFixed(1)} | ${((after.writes - before.writes) / secs).toFixed(2)} | ${after.watches - before.watches} |`,
      '',
      `Sluice's writes in the window: ${own.writesBy.length ? own.writesBy.map(([w, c]) => `${w} ×${c}`).join(', ') : 'none'}.`,
      '',
      '| controller CPU (share of one core) | RSS steady / peak |',
      '| --- | --- |',
      `| ${(cpu * 100).toFixed(1)} % | ${mem.lastMiB.toFixed(0)} / ${mem.peakMiB.toFixed(0)} MiB |`,
    );
  }
  // 5: one change, with a notification (requestedAt) and without (the 1-minute interval).
  const results: string[] = [];
  for (const notify of [true, false]) {
    const i = notify ? 1 : 2;
    const rev = await repo.commit({ [`apps/app-${i}/deployment.yaml`]: appFiles(i, 0)[`apps/app-${i}/deployment.yaml`]!.replace('image: example.invalid/app:1', `image: example.invalid/app:${notify ? 2 : 3}`) }, `change ${i}`);
    const t0 = performance.now();
    if (notify) await requestFetch(env.client, ns);
    await waitFor('one change applied', 5 * 60_000, async () => {
      const d = await env.client.getOrUndefined<{ spec: { template: { spec: { containers: Array<{ image: string }> } } } }>(`/apis/apps/v1/namespaces/${ns}/deployments/app-${i}`);
      return d?.spec.template.spec.containers[0]!.image.endsWith(`:${notify ? 2 : 3}`) ? true : undefined;
    }, 50);
    const s = (performance.now() - t0) / 1000;
    results.push(`| ${notify ? 'with notification (requestedAt)' : 'without (GitRepository interval 1m)'} | ${s.toFixed(2)} s |`);
    log(`one change ${notify ? 'with' : 'without'} notification: ${s.toFixed(2)} s (${rev})`);
  }
  section(`5. One change among ${n} Kustomizations: push to applied`, '| notification | time |', '| --- | --- |', ...results);
  await ctl.stop();
}

/** The k8s.io/kubernetes version cluster/go.mod requires. */
function goModuleVersion(): string {
  return /k8s\.io\/kubernetes (v\S+)/.exec(readFileSync(join(projectRoot, 'cluster', 'go.mod'), 'utf8'))?.[1] ?? 'unknown';
}

await main();
