// Benchmark: apply 1,000 objects (Deployments, Services, ConfigMaps,
// ServiceAccounts) to an empty namespace, then re-apply them unchanged, with
// Sluice's apply engine, with `kubectl apply --server-side`, and with a plain
// loop of server-side-apply requests at the same concurrency (the API
// server's own limit here). Each contender gets a fresh namespace.
//
//   node --import tsx bench/apply.ts [--objects 1000] [--concurrency 32] [--runs 3]
import { parseArgs } from 'node:util';
import { mkdtemp, mkdir, writeFile, readFile, readdir } from 'node:fs/promises';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { stringify, parseAllDocuments } from 'yaml';
import { upCluster } from '../src/dev/cluster/up.ts';
import { KubeClient } from '../src/kube/client.ts';
import { ResourceManager } from '../src/apply/manager.ts';
import { mapSettled } from '../src/util/pool.ts';
import { Discovery, resourcePath } from '../src/kube/discovery.ts';
import type { KubeObject } from '../src/kube/object.ts';

const { values } = parseArgs({
  options: {
    objects: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '32' },
    runs: { type: 'string', default: '3' },
    out: { type: 'string' },
  },
});
const N = Number(values.objects);
const CONCURRENCY = Number(values.concurrency);
const RUNS = Number(values.runs);

function objectsFor(ns: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (let i = 0; out.length < N; i++) {
    const name = `app-${i}`;
    const labels = { app: name };
    out.push({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns, labels } });
    out.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, labels }, data: { 'app.properties': `name=${name}\nreplicas=1\n` } });
    out.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns, labels },
      spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    });
    out.push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: ns, labels },
      spec: {
        replicas: 0,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { serviceAccountName: name, containers: [{ name: 'app', image: `example.invalid/app:${i}`, ports: [{ containerPort: 8080 }] }] },
        },
      },
    });
  }
  return out.slice(0, N);
}

async function writeDir(objs: KubeObject[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
  // One file per app, as a repository would hold them.
  for (let i = 0; i < objs.length; i += 4) {
    await writeFile(join(dir, `app-${i / 4}.yaml`), objs.slice(i, i + 4).map((o) => stringify(o)).join('---\n'));
  }
  return dir;
}

async function readDir(dir: string): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  for (const f of (await readdir(dir)).sort()) {
    for (const d of parseAllDocuments(await readFile(join(dir, f), 'utf8'))) out.push(d.toJS() as KubeObject);
  }
  return out;
}

const time = async (fn: () => Promise<unknown>) => {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
};

async function main() {
  const cluster = await upCluster({ profile: 'bench', log: (m) => process.stderr.write(`${m}\n`) });
  const client = await KubeClient.fromFile(cluster.kubeconfig, undefined, { maxSockets: CONCURRENCY, qps: 0 });
  const discovery = new Discovery(client);
  const results: Record<string, { create: number[]; noop: number[] }> = {
    sluice: { create: [], noop: [] },
    'ssa loop': { create: [], noop: [] },
    'kubectl --server-side': { create: [], noop: [] },
  };
  let peakRss = 0;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

  for (let run = 0; run < RUNS; run++) {
    for (const who of Object.keys(results)) {
      const ns = `bench-${who.replace(/[^a-z]+/g, '')}-${run}-${Date.now() % 100000}`;
      await client.request({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name: ns } } });
      const dir = await writeDir(objectsFor(ns));
      const r = results[who]!;
      if (who === 'sluice') {
        const rm = new ResourceManager(client, discovery);
        for (const phase of ['create', 'noop'] as const) {
          r[phase].push(await time(async () => rm.apply(await readDir(dir), { concurrency: CONCURRENCY, fieldManager: 'sluice' })));
        }
      } else if (who === 'ssa loop') {
        for (const phase of ['create', 'noop'] as const) {
          r[phase].push(
            await time(async () => {
              const objs = await readDir(dir);
              await mapSettled(objs, CONCURRENCY, async (o) => {
                const m = (await discovery.mapping(o.apiVersion, o.kind))!;
                await client.request({
                  method: 'PATCH',
                  path: resourcePath(m, o.metadata.namespace, o.metadata.name),
                  query: { fieldManager: 'loop', force: 'true' },
                  body: o,
                  contentType: 'application/apply-patch+yaml',
                });
              });
            }),
          );
        }
      } else {
        for (const phase of ['create', 'noop'] as const) {
          r[phase].push(
            await time(async () => {
              const res = spawnSync('kubectl', ['apply', '--server-side', '-f', dir, '--kubeconfig', cluster.kubeconfig], { encoding: 'utf8' });
              if (res.status !== 0) throw new Error(`kubectl failed: ${res.stderr}`);
            }),
          );
        }
      }
      await client.request({ method: 'DELETE', path: `/api/v1/namespaces/${ns}` });
      process.stderr.write(`run ${run + 1} ${who}: create ${r.create.at(-1)!.toFixed(2)} s, unchanged ${r.noop.at(-1)!.toFixed(2)} s\n`);
    }
  }
  clearInterval(rssTimer);
  client.close();

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const s = results.sluice!;
  const lines = [
    `### Apply ${N} objects (Deployments, Services, ConfigMaps, ServiceAccounts), concurrency ${CONCURRENCY}`,
    '',
    `Median of ${RUNS} runs; ${cpus().length} cores, ${new Date().toISOString().slice(0, 10)}, local control plane with the bench profile.`,
    '',
    '| contender | create (empty namespace) | re-apply, unchanged | Sluice / contender (create, unchanged) |',
    '| --- | --- | --- | --- |',
  ];
  for (const [who, r] of Object.entries(results)) {
    const ratio = who === 'sluice' ? '1.00, 1.00' : `${(median(s.create) / median(r.create)).toFixed(2)}, ${(median(s.noop) / median(r.noop)).toFixed(2)}`;
    lines.push(`| ${who} | ${median(r.create).toFixed(2)} s | ${median(r.noop).toFixed(2)} s | ${ratio} |`);
  }
  lines.push('', `Peak RSS of the benchmark process (Sluice and the loop share it): ${(peakRss / 1024 / 1024).toFixed(0)} MiB.`, '');
  const text = lines.join('\n');
  process.stdout.write(`${text}\n`);
  if (values.out) {
    await mkdir(join(values.out, '..'), { recursive: true });
    await writeFile(values.out, text);
  }
}

await main();
