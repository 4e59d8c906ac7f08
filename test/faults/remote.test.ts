import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminClient, eventually, testKubeconfig, testNamespace, type TestNamespace } from '../harness.ts';
import { startGitHttpServer, TestRepo, type GitHttpServer } from '../gitserver/index.ts';
import { ResourceManager } from '../../src/apply/manager.ts';
import { allCrds } from '../../src/api/crds.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { closeAll } from '../cleanup.ts';
import { TcpProxy } from '../runtime/helpers.ts';
import { Fleet, fleetTeardown } from './procs.ts';
import { figure, size } from './sizes.ts';
import { readyOf, type FluxObj } from './state.ts';

// Issue 20, faults: a remote cluster (Kustomization spec.kubeConfig) becomes
// unreachable. The "remote" is the test cluster itself reached through a
// loopback TCP proxy the test can cut (connections then hang unanswered, as
// when a network drops packets). Only the remote Kustomizations fail, with
// the reason; the local ones keep their pace: the time from a push to all
// local Kustomizations applied is measured with the remote alive and dead.
// As many remote Kustomizations as the controller runs reconciles at once
// (--concurrent), so hung remotes could starve everything else.

const CONCURRENT = 4;
const LOCAL = size(6, 20);
const REMOTE = CONCURRENT;
const ROUNDS = size(4, 6);

let ns: TestNamespace;
let remoteNs: TestNamespace;
let client: KubeClient;
let root: string;
let server: GitHttpServer;
let proxy: TcpProxy;
let repo: TestRepo;
let fleet: Fleet;

before(async () => {
  ns = await testNamespace('faults-remote');
  remoteNs = await testNamespace('faults-remote-far');
  client = await adminClient();
  root = await mkdtemp(join(tmpdir(), 'sluice-faults-remote-'));
  server = await startGitHttpServer({ root: join(root, 'git') });
  repo = await TestRepo.create(join(root, 'git'), 'app', { defaultBranch: 'main' });
  await new ResourceManager(client).apply(allCrds() as KubeObject[]);
  const kubeconfig = await testKubeconfig();
  proxy = await TcpProxy.forKubeconfig(kubeconfig);
  // The API server's certificate names 127.0.0.1, so the proxied address verifies.
  const remoteKubeconfig = (await readFile(kubeconfig, 'utf8')).replace(/server: https:\/\/127\.0\.0\.1:\d+/, `server: https://127.0.0.1:${proxy.port}`);
  assert.match(remoteKubeconfig, new RegExp(`127\\.0\\.0\\.1:${proxy.port}`));
  await client.request({ method: 'POST', path: `/api/v1/namespaces/${ns.name}/secrets`, body: { metadata: { name: 'remote-kubeconfig' }, stringData: { value: remoteKubeconfig } } });
  fleet = new Fleet({ kubeconfig, dataDir: () => join(root, 'storage'), extra: [`--watch-namespace=${ns.name}`, `--concurrent=${CONCURRENT}`] });
});

after(async () => {
  await closeAll(
    proxy && (() => ((proxy.blackhole = false), proxy.down().then(() => proxy.up()))),
    ...fleetTeardown(client, ns, fleet),
    remoteNs && (() => remoteNs.cleanup()),
    proxy && (() => proxy.close()),
    server && (() => server.close()),
    repo && (() => repo.dispose()),
    root && (() => rm(root, { recursive: true, force: true })),
  );
});

const ksApi = () => `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${ns.name}/kustomizations`;
const cm = (name: string, round: number) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  round: "${round}"\n`;

async function push(round: number): Promise<string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < LOCAL; i++) files[`local/l${i}/cm.yaml`] = cm(`local-${i}`, round);
  for (let i = 0; i < REMOTE; i++) files[`remote/r${i}/cm.yaml`] = cm(`remote-${i}`, round);
  const sha = await repo.commitFiles(files, `round ${round}`);
  await repo.push();
  return `main@sha1:${sha}`;
}

/** From a push to every local Kustomization applied at it (ms). */
async function localLatency(round: number): Promise<number> {
  const t = Date.now();
  const rev = await push(round);
  await client.request({ method: 'PATCH', path: `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns.name}/gitrepositories/app`, contentType: 'application/merge-patch+json', body: { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': `${Date.now()}` } } } });
  await eventually(
    `the local Kustomizations at round ${round}`,
    async () => {
      const items = (await client.request<{ items: FluxObj[] }>({ path: ksApi() })).items.filter((k) => (k.metadata.name ?? "").startsWith('local-'));
      return items.length === LOCAL && items.every((k) => readyOf(k)?.status === 'True' && k.status?.lastAppliedRevision === rev) ? true : undefined;
    },
    180_000,
  );
  return Date.now() - t;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

test(`a remote cluster unreachable: only its ${REMOTE} Kustomizations fail, the ${LOCAL} local ones keep their pace`, async () => {
  await push(0);
  await client.request({
    method: 'POST',
    path: `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns.name}/gitrepositories`,
    body: { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name: 'app' }, spec: { url: server.url('app'), interval: '1h', ref: { branch: 'main' } } },
  });
  const ks = (name: string, path: string, extra: object) => ({ apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name }, spec: { interval: '1h', retryInterval: '5s', prune: true, path, sourceRef: { kind: 'GitRepository', name: 'app' }, ...extra } });
  for (let i = 0; i < LOCAL; i++) await client.request({ method: 'POST', path: ksApi(), body: ks(`local-${i}`, `./local/l${i}`, { targetNamespace: ns.name }) });
  for (let i = 0; i < REMOTE; i++) await client.request({ method: 'POST', path: ksApi(), body: ks(`remote-${i}`, `./remote/r${i}`, { targetNamespace: remoteNs.name, kubeConfig: { secretRef: { name: 'remote-kubeconfig' } } }) });
  fleet.start('c0');
  await eventually('every Kustomization Ready', async () => {
    const items = (await client.request<{ items: FluxObj[] }>({ path: ksApi() })).items;
    return items.length === LOCAL + REMOTE && items.every((k) => readyOf(k)?.status === 'True') ? true : undefined;
  }, 120_000);

  const alive: number[] = [];
  for (let r = 1; r <= ROUNDS; r++) alive.push(await localLatency(r));

  // The remote dies: open connections are cut, new ones hang unanswered.
  proxy.blackhole = true;
  await proxy.down();
  await proxy.up();
  const cutAt = Date.now();
  // The remote Kustomizations run again now (a commit for everyone).
  const dead: number[] = [];
  for (let r = ROUNDS + 1; r <= 2 * ROUNDS; r++) dead.push(await localLatency(r));

  const remote = await eventually(
    'every remote Kustomization Ready=False',
    async () => {
      const items = (await client.request<{ items: FluxObj[] }>({ path: ksApi() })).items.filter((k) => (k.metadata.name ?? "").startsWith('remote-'));
      return items.every((k) => readyOf(k)?.status === 'False') ? items : undefined;
    },
    180_000,
  );
  const failMs = Date.now() - cutAt;
  const cond = readyOf(remote[0])!;
  process.stderr.write(`# remote Kustomization while the remote is cut: ${cond.reason}: ${cond.message}\n`);
  assert.match(cond.message, new RegExp(`127\\.0\\.0\\.1:${proxy.port}|timed out|timeout|connect`, 'i'), 'the message says the remote cluster could not be reached');
  const local = (await client.request<{ items: FluxObj[] }>({ path: ksApi() })).items.filter((k) => (k.metadata.name ?? "").startsWith('local-'));
  assert.ok(local.every((k) => readyOf(k)?.status === 'True'), 'every local Kustomization stays Ready');
  const remoteCm = await client.request<{ items: KubeObject[] }>({ path: `/api/v1/namespaces/${remoteNs.name}/configmaps` });
  assert.equal(remoteCm.items.filter((c) => (c.metadata.name ?? "").startsWith('remote-')).length, REMOTE, 'what the remote cluster runs stays');

  // The first round after the cut meets remote requests already under way
  // (they hang until their timeout); from then on the gate fails them at once.
  const later = dead.slice(1);
  figure('remote: local push-to-applied, remote alive (median)', (median(alive) / 1000).toFixed(2), 's');
  figure('remote: local push-to-applied, first push after the cut', (dead[0]! / 1000).toFixed(2), 's');
  figure('remote: local push-to-applied, remote dead, later pushes (median)', (median(later) / 1000).toFixed(2), 's');
  figure('remote: remote Kustomizations Ready=False after the cut', (failMs / 1000).toFixed(1), 's');
  assert.ok(dead[0]! <= 45_000, `the first push after the cut waits at most for the remote requests under way (${dead[0]} ms)`);
  process.stderr.write(`# local push-to-applied per push: alive ${alive.join(' ')} ms; dead ${dead.join(' ')} ms\n`);
  // Detecting that the remote died under requests already sent takes up to
  // a heartbeat and a probe timeout (1 s + 3 s, src/runtime/reachability.ts);
  // beyond that the dead remote must cost the others nothing.
  assert.ok(median(later) <= median(alive) + 4_000 + 3_000, `the local Kustomizations keep their pace: ${median(later)} ms with the remote dead against ${median(alive)} ms alive`);
});
