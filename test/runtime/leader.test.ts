import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminClient, eventually, testKubeconfig, testNamespace, type TestNamespace } from '../harness.ts';
import { startGitHttpServer, TestRepo, type GitHttpServer } from '../gitserver/index.ts';
import { ResourceManager } from '../../src/apply/manager.ts';
import { allCrds } from '../../src/api/crds.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { ApiProxy, ControllerProcess, controllerArgs, metricSum, scrape, sleep } from './helpers.ts';
import { createGitRepository, createKustomization, dropFinalizers, gitPath, ksPath, leaseHolder, leasePath, readyOf, type FluxObject, type Lease } from './objects.ts';
import { closeAll } from '../cleanup.ts';

// Leader election between `sluice controller --leader-elect` processes on a
// Lease in the test's namespace. The processes reach the API server through
// a proxy that confines their watches to the test's namespace.

let ns: TestNamespace;
let client: KubeClient;
let server: GitHttpServer;
let repo: TestRepo;
let root: string;
let proxy: ApiProxy;
let proxyKubeconfig: string;
const procs: ControllerProcess[] = [];

before(async () => {
  ns = await testNamespace('leader');
  client = await adminClient();
  root = await mkdtemp(join(tmpdir(), 'sluice-leader-'));
  server = await startGitHttpServer({ root: join(root, 'git') });
  repo = await TestRepo.create(join(root, 'git'), 'app', { defaultBranch: 'main' });
  await repo.commitFiles({ 'deploy/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-git\ndata:\n  value: "1"\n' }, 'first');
  await repo.push();
  await new ResourceManager(client).apply(allCrds() as KubeObject[]);
  proxy = await ApiProxy.start(await testKubeconfig(), ns.name);
  proxyKubeconfig = await proxy.writeKubeconfig(root);
});

after(async () => {
  await closeAll(
    () => Promise.all(procs.map((p) => p.stop(5_000))),
    client && ns && (() => dropFinalizers(client, ns.name).catch(() => {})),
    ns && (() => ns.cleanup()),
    proxy && (() => proxy.close()),
    server && (() => server.close()),
    repo && (() => repo.dispose()),
    client && (() => client.close()),
    root && (() => rm(root, { recursive: true, force: true })),
  );
});

function start(name: string): ControllerProcess {
  const p = ControllerProcess.start(name, controllerArgs({ kubeconfig: proxyKubeconfig, dataDir: join(root, name), leaseNamespace: ns.name }));
  procs.push(p);
  return p;
}

async function readyz(p: ControllerProcess): Promise<void> {
  const url = await p.httpUrl();
  await eventually(`${p.name} ready`, async () => ((await fetch(`${url}/readyz`)).status === 200 ? true : undefined));
}

async function identity(p: ControllerProcess, timeoutMs = 30_000): Promise<string> {
  return String((await p.waitLog(`${p.name} leading`, (l) => l.msg === 'became leader', timeoutMs)).identity);
}

const reconciles = async (p: ControllerProcess, kind?: string) => metricSum(await scrape(await p.httpUrl()), 'sluice_reconcile_total', kind ? { kind } : {});

async function artifactFrom(p: ControllerProcess, timeoutMs = 30_000): Promise<FluxObject> {
  const base = await p.storageUrl();
  return eventually(
    `the GitRepository's artifact served by ${p.name}`,
    async () => {
      const g = await client.request<FluxObject>({ path: gitPath(ns.name, 'app') });
      return readyOf(g)?.status === 'True' && g.status?.artifact?.url.startsWith(`${base}/`) ? g : undefined;
    },
    timeoutMs,
  );
}

test('one replica acts; SIGTERM hands over at once; SIGKILL hands over once the lease expires', async () => {
  const a = start('A');
  const aId = await identity(a);
  assert.equal(await leaseHolder(client, ns.name), aId);
  const b = start('B');
  await readyz(b);

  await createGitRepository(client, ns.name, 'app', server.url('app'), '2s');
  await createKustomization(client, ns.name, 'app', 'app', './deploy', '2s');
  const head = `main@sha1:${await repo.head()}`;
  const git = await artifactFrom(a);
  assert.equal(git.status!.artifact!.revision, head);
  await eventually('Kustomization applied', async () => {
    const k = await client.request<FluxObject>({ path: ksPath(ns.name, 'app') });
    return readyOf(k)?.status === 'True' && k.status?.lastAppliedRevision === head ? true : undefined;
  });
  assert.notEqual(await client.getOrUndefined(`/api/v1/namespaces/${ns.name}/configmaps/from-git`), undefined);

  // A few intervals more: only A works.
  await sleep(5_000);
  assert.equal(await leaseHolder(client, ns.name), aId);
  assert.ok((await reconciles(a, 'GitRepository')) >= 2, 'A reconciles GitRepositories at their interval');
  assert.ok((await reconciles(a, 'Kustomization')) >= 1, 'A reconciles Kustomizations');
  assert.equal(await reconciles(b, ''), 0, 'B, the follower, reconciles nothing');
  assert.ok(!b.logs.some((l) => l.msg === 'became leader' || l.msg === 'controller started'), 'B never started its controllers');
  assert.ok((await artifactFrom(a)).status!.artifact!.url.startsWith(await a.storageUrl()));

  // SIGTERM: A drains, releases the lease and exits 0; B takes over well within the lease duration.
  const before = (await client.request<Lease>({ path: leasePath(ns.name) })).spec.leaseTransitions ?? 0;
  const term = Date.now();
  a.kill('SIGTERM');
  const aExit = await a.exited;
  assert.equal(aExit.code, 0, `A exits 0 after SIGTERM:\n${a.lines.slice(-10).join('\n')}`);
  assert.ok(a.logs.some((l) => l.msg === 'released leadership'), 'A released the lease');
  const bId = await identity(b, 15_000);
  await eventually('B holds the lease', async () => ((await leaseHolder(client, ns.name)) === bId ? true : undefined), 15_000);
  const handover = Date.now() - term;
  process.stderr.write(`# SIGTERM to new leader: ${handover} ms (A exited after ${aExit.at - term} ms)\n`);
  assert.ok(handover < 6_000, `handed over in ${handover} ms, well under the 15 s lease duration`);
  const lease = await client.request<Lease>({ path: leasePath(ns.name) });
  assert.equal(lease.spec.leaseTransitions, before + 1);
  await artifactFrom(b);
  assert.ok((await reconciles(b, 'GitRepository')) >= 1, 'B acts now');

  // SIGKILL: B cannot release; C waits for the lease to expire.
  const c = start('C');
  await readyz(c);
  const kill = Date.now();
  b.kill('SIGKILL');
  await b.exited;
  await sleep(8_000);
  assert.equal(await leaseHolder(client, ns.name), bId, 'the killed leader still holds the unexpired lease');
  assert.equal(await reconciles(c, ''), 0, 'C does not act before the lease expires');
  const cId = await identity(c, 20_000);
  await eventually('C holds the lease', async () => ((await leaseHolder(client, ns.name)) === cId ? true : undefined), 10_000);
  const expiry = Date.now() - kill;
  process.stderr.write(`# SIGKILL to new leader: ${expiry} ms\n`);
  assert.ok(expiry >= 12_000 && expiry <= 22_000, `took over after ${expiry} ms, once the 15 s lease expired`);
  await artifactFrom(c);

  const cTerm = Date.now();
  await c.stop();
  assert.equal((await c.exited).code, 0);
  assert.ok(Date.now() - cTerm < 10_000, `C stopped in ${Date.now() - cTerm} ms`);
  assert.equal(await leaseHolder(client, ns.name), undefined, 'the last leader released the lease');
});
