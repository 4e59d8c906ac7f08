// Benchmark: the web dashboard at fleet size. 10,000 Kustomizations and
// 1,000 HelmReleases (written with their status subresource, no controller)
// in a clean cluster; `sluice dashboard` as a child process; Debian's
// chromium through playwright-core. Measures, per page load (median of the
// runs): first meaningful paint (navigation start to the first rows drawn),
// time to interactive (navigation start to the answer to a filter typed the
// moment the rows appear), filter response (input to the next painted
// frame), the serving process's extra RSS with 5 pages open, and how long a
// status write takes to show on an open page. Baseline in the same run:
// `kubectl get kustomizations -A` over the same objects, and Flux's web UI,
// which refreshes every 30 s.
//
//   node --import tsx bench/dashboard.ts [--kustomizations 10000] [--releases 1000] [--runs 5] [--kubeconfig F] [--short] [--controller]
//
// --controller: served by `sluice controller --dashboard-addr` (confined to
// the bench namespace, whose objects are then created suspended so nothing is
// reconciled) instead of `sluice dashboard`; its RSS without the dashboard is
// measured first, so the dashboard's own cost shows.
//
// --short: 500 + 50 objects, 3 runs (quick enough for CI). The cluster must
// hold no Kustomization or HelmRelease before it starts (a clean bench
// cluster); the objects are deleted at the end, unless --keep (then
// --namespace NS measures them again without creating them).
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium, type Page } from 'playwright-core';
import { ResourceManager } from '../src/apply/manager.ts';
import { allCrds } from '../src/api/crds.ts';
import { kubeconfigPath } from '../src/dev/cluster/state.ts';
import { KubeClient } from '../src/kube/client.ts';
import type { KubeObject } from '../src/kube/object.ts';
import { mapSettled } from '../src/util/pool.ts';
import { deleteNamespace, median, processStats } from './lib.ts';

const { values } = parseArgs({
  options: {
    kustomizations: { type: 'string', default: '10000' },
    releases: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '5' },
    kubeconfig: { type: 'string' },
    short: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    namespace: { type: 'string' },
    controller: { type: 'boolean', default: false },
  },
});
const KS_N = values.short ? 500 : Number(values.kustomizations);
const HR_N = values.short ? 50 : Number(values.releases);
const RUNS = values.short ? 3 : Number(values.runs);
const kubeconfig = values.kubeconfig ?? process.env.KUBECONFIG ?? kubeconfigPath();
const log = (m: string) => process.stderr.write(`# ${m}\n`);
const REV = 'main@sha1:0123456789abcdef0123456789abcdef01234567';
const ns = values.namespace ?? `bench-dash-${Date.now().toString(36)}`;
const ksPath = `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${ns}/kustomizations`;
const hrPath = `/apis/helm.toolkit.fluxcd.io/v2/namespaces/${ns}/helmreleases`;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))] ?? NaN;
const ms = (x: number) => `${Math.round(x)} ms`;

const client = await KubeClient.fromFile(kubeconfig, undefined, { qps: 1000, burst: 2000 });
let dashboard: ReturnType<typeof spawn> | undefined;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
try {
  await new ResourceManager(client).apply(allCrds() as KubeObject[]);
  if (!values.namespace) {
    for (const path of ['/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations', '/apis/helm.toolkit.fluxcd.io/v2/helmreleases']) {
      const n = (await client.request<{ items: unknown[] }>({ path })).items.length;
      if (n) throw new Error(`the cluster is not clean: ${n} objects at ${path}; run this on a bench cluster of its own`);
    }
    await create();
  }

  const bin = fileURLToPath(new URL('../bin/sluice.js', import.meta.url));
  const rssOf = async (pid: number): Promise<number> => {
    const xs: number[] = [];
    for (let i = 0; i < 15; i++) {
      xs.push(processStats(pid).rssMiB);
      await new Promise((r) => setTimeout(r, 300));
    }
    return median(xs);
  };
  let controllerBaseline: number | undefined;
  if (values.controller) {
    // The same controller without the dashboard first: what the dashboard itself adds.
    const plain = startController(false);
    await plain.ready;
    await new Promise((r) => setTimeout(r, 5_000));
    controllerBaseline = await rssOf(plain.child.pid!);
    plain.child.kill('SIGTERM');
    await new Promise((r) => plain.child.once('exit', r));
  }
  const t0 = Date.now();
  let url: string;
  if (values.controller) {
    const c = startController(true);
    dashboard = c.child;
    url = await c.ready;
  } else {
    dashboard = spawn(process.execPath, [bin, 'dashboard', '--port', '0', '--open=false', '--kubeconfig', kubeconfig], { stdio: ['ignore', 'pipe', 'inherit'] });
    url = await new Promise<string>((resolve, reject) => {
      let out = '';
      dashboard!.stdout!.setEncoding('utf8').on('data', (c: string) => {
        out += c;
        const m = /dashboard: (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      dashboard!.once('exit', (code) => reject(new Error(`sluice dashboard exited (${code}) before serving`)));
    });
  }
  log(`${values.controller ? 'controller' : 'dashboard'} serving ${KS_N + HR_N} objects at ${url} after ${Date.now() - t0} ms`);
  const pid = dashboard.pid!;
  const rssNow = () => rssOf(pid);
  if (controllerBaseline !== undefined) {
    await new Promise((r) => setTimeout(r, 5_000));
    log(`controller RSS: ${controllerBaseline.toFixed(0)} MiB without the dashboard, ${(await rssNow()).toFixed(0)} MiB with it (no page open)`);
  }

  /** `sluice controller` confined to the bench namespace (its objects are suspended: nothing is reconciled). */
  function startController(withDashboard: boolean): { child: ReturnType<typeof spawn>; ready: Promise<string> } {
    const args = [bin, 'controller', `--kubeconfig=${kubeconfig}`, '--http-addr=127.0.0.1:0', '--storage-addr=127.0.0.1:0', '--receiverAddr=127.0.0.1:0', `--data-dir=${join(tmpdir(), `bench-dash-ctrl-${process.pid}`)}`, `--watch-namespace=${ns}`, ...(withDashboard ? ['--dashboard-addr=127.0.0.1:0'] : [])];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const ready = new Promise<string>((resolve, reject) => {
      let buf = '';
      child.stderr!.setEncoding('utf8').on('data', (c: string) => {
        buf += c;
        for (const line of buf.split('\n')) {
          if (withDashboard && line.includes('"serving the dashboard"')) resolve(String(JSON.parse(line).address));
          if (!withDashboard && line.includes('"controller running"')) resolve('');
        }
        buf = buf.slice(buf.lastIndexOf('\n') + 1);
      });
      child.once('exit', (code) => reject(new Error(`sluice controller exited (${code}) before it was ready`)));
    });
    return { child, ready };
  }

  // Page loads: paint, interactive, filter.
  const fmp: number[] = [];
  const tti: number[] = [];
  const filter: number[] = [];
  const filterJs: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(url, { waitUntil: 'commit' });
    // Type a filter the moment the rows appear; interactive = when it is answered on screen.
    // A string, not a function: tsx's transform would wrap inner functions in a helper the page lacks.
    const r = (await page.evaluate(`(async () => {
      const first = await new Promise((resolve) => {
        const check = () => {
          const m = performance.getEntriesByName('sluice:first-rows')[0];
          if (m && document.querySelector('.row')) resolve(m.startTime);
          else requestAnimationFrame(check);
        };
        check();
      });
      const input = document.querySelector('input[type=search]');
      input.value = 'app-00042';
      input.dispatchEvent(new Event('input'));
      await new Promise((res) => requestAnimationFrame(() => setTimeout(res)));
      return { first, interactive: performance.now(), shown: Number(document.body.dataset.filtered) };
    })()`)) as { first: number; interactive: number; shown: number };
    if (r.shown < 1) throw new Error('the filter found nothing');
    fmp.push(r.first);
    tti.push(r.interactive);
    for (const text of ['app-0999', 'failed', 'hr-00', 'team-7/', '']) {
      const f = await timeFilter(page, text);
      filter.push(f.frame);
      filterJs.push(f.js);
    }
    await page.close();
  }

  // Memory: the process after the page loads above (their pages closed, its heap grown to its working size), then with 5 pages open.
  await new Promise((r) => setTimeout(r, 3_000));
  const rssIdle = await rssNow();
  const pages: Page[] = [];
  for (let i = 0; i < 5; i++) {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
    pages.push(page);
  }
  await new Promise((r) => setTimeout(r, 3_000));
  const rss5 = await rssNow();
  const snapshotBytes = Buffer.byteLength(await (await fetch(`${url}api/rows`)).text());

  // Status change to screen, with the 5 pages open (one of them watches).
  const watcher = pages[0]!;
  const live: number[] = [];
  for (let i = 0; i < 20; i++) {
    const name = `app-${String((i * 37) % KS_N).padStart(5, '0')}`;
    await watcher.fill('input[type=search]', `${ns}/${name}`);
    const marker = `bench change ${i} ${Date.now()}`;
    const t = Date.now();
    await client.request({ method: 'PATCH', path: `${ksPath}/${name}/status`, contentType: 'application/merge-patch+json', body: { status: { conditions: [{ type: 'Ready', status: 'False', reason: 'HealthCheckFailed', message: marker, lastTransitionTime: new Date().toISOString(), observedGeneration: 1 }] } } });
    await watcher.waitForFunction((m) => !!document.querySelector('.row')?.textContent?.includes(m), marker, { polling: 'raf', timeout: 30_000 });
    live.push(Date.now() - t);
  }
  for (const p of pages) await p.close();

  // Baseline: the same objects through kubectl.
  const kt = Date.now();
  const k = spawnSync('kubectl', ['--kubeconfig', kubeconfig, 'get', 'kustomizations.kustomize.toolkit.fluxcd.io', '-A', '--no-headers'], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const kubectlMs = k.status === 0 ? Date.now() - kt : NaN;

  const rows = [
    ['first meaningful paint (navigation to first rows drawn)', ms(median(fmp)), ms(p95(fmp)), '< 1 s'],
    ['time to interactive (navigation to a filter answered on screen)', ms(median(tti)), ms(p95(tti)), '< 1 s'],
    ['filter response, input to painted frame', ms(median(filter)), ms(p95(filter)), '< 100 ms'],
    ['of which filtering the rows (JS)', ms(median(filterJs)), ms(p95(filterJs)), ''],
    ['status change visible on an open page', ms(median(live)), ms(p95(live)), '< 1 s; Flux UI: 30 s refresh (15 s on average)'],
    ...(controllerBaseline !== undefined ? [['controller RSS without the dashboard', `${controllerBaseline.toFixed(0)} MiB`, '', '']] : []),
    [`serving process RSS (${values.controller ? 'controller with the dashboard' : 'sluice dashboard'}), no page open`, `${rssIdle.toFixed(0)} MiB`, '', ''],
    ['rows sent to an opening page (packed JSON)', `${(snapshotBytes / 1024 / 1024).toFixed(2)} MiB`, '', ''],
    ['extra RSS with 5 pages open', `${(rss5 - rssIdle).toFixed(1)} MiB`, '', '< 50 MiB'],
    ['baseline: kubectl get kustomizations -A', Number.isNaN(kubectlMs) ? 'n/a' : ms(kubectlMs), '', ''],
  ];
  process.stdout.write(`\n| ${KS_N} Kustomizations + ${HR_N} HelmReleases, ${RUNS} page loads | median | p95 | target |\n| --- | ---: | ---: | --- |\n${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}\n`);
} finally {
  dashboard?.kill('SIGTERM');
  await browser.close();
  client.close();
  if (values.keep) log(`kept namespace ${ns}`);
  else {
    const cleanup = await KubeClient.fromFile(kubeconfig);
    await deleteNamespace(cleanup, ns, log).catch((err: unknown) => log(`could not delete ${ns}: ${(err as Error).message}`));
    cleanup.close();
  }
}

async function timeFilter(page: Page, text: string): Promise<{ frame: number; js: number }> {
  return (await page.evaluate(`(async () => {
    const input = document.querySelector('input[type=search]');
    const start = performance.now();
    input.value = ${JSON.stringify(text)};
    input.dispatchEvent(new Event('input'));
    await new Promise((res) => requestAnimationFrame(() => setTimeout(res)));
    return { frame: performance.now() - start, js: window.sluice.overview.lastFilterMs };
  })()`)) as { frame: number; js: number };
}

async function create(): Promise<void> {
  await client.request({ method: 'POST', path: '/api/v1/namespaces', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } });
  const started = Date.now();
  const now = new Date().toISOString();
  const ks = Array.from({ length: KS_N }, (_, i) => i);
  await mapSettled(ks, 48, async (i) => {
    const name = `app-${String(i).padStart(5, '0')}`;
    const dependsOn = i % 10 ? [{ name: `app-${String(i - (i % 10)).padStart(5, '0')}` }] : undefined;
    await client.request({ method: 'POST', path: ksPath, body: { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name, labels: { team: `team-${i % 20}` } }, spec: { interval: '10m', path: `./apps/${name}`, prune: true, dependsOn, suspend: values.controller || undefined, sourceRef: { kind: 'GitRepository', name: 'flux-system' } } } });
    const ok = i % 25 !== 0;
    await client.request({
      method: 'PATCH', path: `${ksPath}/${name}/status`, contentType: 'application/merge-patch+json',
      body: { status: { observedGeneration: 1, lastAppliedRevision: REV, conditions: [{ type: 'Ready', status: ok ? 'True' : 'False', reason: ok ? 'ReconciliationSucceeded' : 'HealthCheckFailed', message: ok ? `Applied revision: ${REV}` : 'timeout waiting for: [Deployment/apps/web status: InProgress]', lastTransitionTime: now, observedGeneration: 1 }] } },
    });
  });
  const hr = Array.from({ length: HR_N }, (_, i) => i);
  await mapSettled(hr, 48, async (i) => {
    const name = `hr-${String(i).padStart(5, '0')}`;
    await client.request({ method: 'POST', path: hrPath, body: { apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease', metadata: { name }, spec: { interval: '10m', suspend: values.controller || undefined, chart: { spec: { chart: 'podinfo', sourceRef: { kind: 'HelmRepository', name: 'charts' } } } } } });
    await client.request({
      method: 'PATCH', path: `${hrPath}/${name}/status`, contentType: 'application/merge-patch+json',
      body: { status: { observedGeneration: 1, history: [{ chartName: 'podinfo', chartVersion: '6.5.0', version: 1, status: 'deployed', name, namespace: ns, digest: 'sha256:0', firstDeployed: now, lastDeployed: now, configDigest: 'sha256:0', appVersion: '6.5.0' }], conditions: [{ type: 'Ready', status: 'True', reason: 'InstallSucceeded', message: 'Helm install succeeded', lastTransitionTime: now, observedGeneration: 1 }] } },
    });
  });
  log(`created ${KS_N} Kustomizations and ${HR_N} HelmReleases with status in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
