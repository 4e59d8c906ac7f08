import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { adminClient, eventually, testKubeconfig, testNamespace, type TestNamespace } from '../harness.ts';
import { startGitHttpServer, TestRepo, type GitHttpServer } from '../gitserver/index.ts';
import { ResourceManager } from '../../src/apply/manager.ts';
import { allCrds } from '../../src/api/crds.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { closeAll } from '../cleanup.ts';
import { LatencyProxy } from './latency.ts';
import { Fleet, fleetTeardown } from './procs.ts';
import { figure, size } from './sizes.ts';
import { readyOf, type FluxObj } from './state.ts';

// Issue 20, faults: a slow API server. The controller reaches the API
// server through a loopback proxy that adds a fixed latency to every chunk
// in each direction. A commit that changes every Kustomization is pushed
// at 0 ms and at each added latency; everything must still be applied (no
// timeouts turned into failures), and the time from the push to all
// Kustomizations applied is the figure.

const KS = size(8, 50);
const LATENCIES = size([0, 250], [0, 50, 100, 250, 500]);

let ns: TestNamespace;
let client: KubeClient;
let root: string;
let server: GitHttpServer;
let proxy: LatencyProxy;
let repo: TestRepo;
let fleet: Fleet;

before(async () => {
  ns = await testNamespace('faults-slowapi');
  client = await adminClient();
  root = await mkdtemp(join(tmpdir(), 'sluice-faults-slow-'));
  server = await startGitHttpServer({ root: join(root, 'git') });
  repo = await TestRepo.create(join(root, 'git'), 'app', { defaultBranch: 'main' });
  await new ResourceManager(client).apply(allCrds() as KubeObject[]);
  const kubeconfig = await testKubeconfig();
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const url = new URL(kc.getCurrentCluster()!.server);
  proxy = new LatencyProxy(url.hostname, Number(url.port));
  await proxy.start();
  const slow = join(root, 'slow.kubeconfig');
  await writeFile(slow, (await readFile(kubeconfig, 'utf8')).replace(/server: https:\/\/127\.0\.0\.1:\d+/, `server: https://127.0.0.1:${proxy.port}`));
  fleet = new Fleet({ kubeconfig: slow, dataDir: () => join(root, 'storage'), extra: [`--watch-namespace=${ns.name}`] });
});

after(async () => {
  if (proxy) proxy.delayMs = 0;
  await closeAll(
    ...fleetTeardown(client, ns, fleet),
    proxy && (() => proxy.close()),
    server && (() => server.close()),
    repo && (() => repo.dispose()),
    root && (() => rm(root, { recursive: true, force: true })),
  );
});

const ksApi = () => `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${ns.name}/kustomizations`;

async function push(round: number): Promise<string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < KS; i++) {
    for (const part of ['a', 'b', 'c']) files[`apps/k${i}/${part}.yaml`] = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: k${i}-${part}\ndata:\n  round: "${round}"\n`;
  }
  const sha = await repo.commitFiles(files, `round ${round}`);
  await repo.push();
  return `main@sha1:${sha}`;
}

async function allAt(rev: string, timeoutMs: number): Promise<void> {
  await eventually(
    `every Kustomization at ${rev}`,
    async () => {
      const items = (await client.request<{ items: FluxObj[] }>({ path: ksApi() })).items;
      return items.length === KS && items.every((k) => readyOf(k)?.status === 'True' && k.status?.lastAppliedRevision === rev) ? true : undefined;
    },
    timeoutMs,
  );
}

test(`a slow API server (${LATENCIES.join(', ')} ms added each way): every commit still applies, the time grows with the latency`, async () => {
  const rev0 = await push(0);
  await client.request({
    method: 'POST',
    path: `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns.name}/gitrepositories`,
    body: { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name: 'app' }, spec: { url: server.url('app'), interval: '1h', ref: { branch: 'main' } } },
  });
  for (let i = 0; i < KS; i++) {
    await client.request({
      method: 'POST',
      path: ksApi(),
      body: { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: `k${i}` }, spec: { interval: '1h', prune: true, path: `./apps/k${i}`, targetNamespace: ns.name, sourceRef: { kind: 'GitRepository', name: 'app' } } },
    });
  }
  const controller = fleet.start('c0');
  await allAt(rev0, 120_000);

  const times: Record<number, number> = {};
  let round = 1;
  for (const latency of LATENCIES) {
    proxy.delayMs = latency;
    const t = Date.now();
    const rev = await push(round++);
    await client.request({ method: 'PATCH', path: `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns.name}/gitrepositories/app`, contentType: 'application/merge-patch+json', body: { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': `${Date.now()}` } } } });
    await allAt(rev, 300_000);
    times[latency] = Date.now() - t;
    figure(`slowapi: ${KS} Kustomizations, push to applied at +${latency} ms each way`, (times[latency]! / 1000).toFixed(2), 's');
  }
  const failures = controller.logs.filter((l) => l.level === 'error' && /reconcile/.test(l.msg)).length;
  figure('slowapi: reconcile errors logged', failures);
  assert.equal(failures, 0, `no reconcile failed because the API server was slow:\n${controller.lines.filter((l) => l.includes('"error"')).slice(0, 5).join('\n')}`);
  assert.equal(controller.child.exitCode, null);
});
