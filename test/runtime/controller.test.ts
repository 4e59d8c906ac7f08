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
import { ApiProxy, ControllerProcess, GitForwardProxy, controllerArgs, metricFind, metricSum, scrape, sleep, type Sample } from './helpers.ts';
import { ListWatch } from '../../src/kube/watch.ts';
import { createGitRepository, createKustomization, dropFinalizers, gitPath, ksPath, leaseHolder, readyOf, type FluxObject } from './objects.ts';
import { closeAll } from '../cleanup.ts';

// One `sluice controller --leader-elect` process: health and readiness,
// Prometheus metrics, JSON logs, and a graceful shutdown in the middle of a
// reconcile.

let ns: TestNamespace;
let client: KubeClient;
let root: string;
let server: GitHttpServer;
let slowServer: GitHttpServer;
let repo: TestRepo;
let slowRepo: TestRepo;
let proxy: ApiProxy;
let gitProxy: GitForwardProxy;
let proc: ControllerProcess;

before(async () => {
  ns = await testNamespace('controller-process');
  client = await adminClient();
  root = await mkdtemp(join(tmpdir(), 'sluice-ctrl-'));
  server = await startGitHttpServer({ root: join(root, 'git') });
  repo = await TestRepo.create(join(root, 'git'), 'app', { defaultBranch: 'main' });
  await repo.commitFiles({ 'deploy/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-git\ndata:\n  value: "1"\n' }, 'first');
  await repo.push();
  // Every answer of this one takes 1.5 s, so a reconcile of it is long enough to interrupt.
  slowServer = await startGitHttpServer({ root: join(root, 'slow'), delayMs: 1_500 });
  slowRepo = await TestRepo.create(join(root, 'slow'), 'slow', { defaultBranch: 'main' });
  await slowRepo.commitFiles({ 'README.md': 'slow\n' }, 'slow');
  await slowRepo.push();
  // The slow repository is reachable only through this proxy, i.e. only by
  // the controller of this test (other engineers' controllers may watch the
  // whole shared cluster).
  gitProxy = await GitForwardProxy.start({ port: slowServer.port });
  await new ResourceManager(client).apply(allCrds() as KubeObject[]);
  proxy = await ApiProxy.start(await testKubeconfig(), ns.name);
});

after(async () => {
  await closeAll(
    proc && (() => proc.stop(5_000)),
    client && ns && (() => dropFinalizers(client, ns.name).catch(() => {})),
    ns && (() => ns.cleanup()),
    proxy && (() => proxy.close()),
    server && (() => server.close()),
    slowServer && (() => slowServer.close()),
    gitProxy && (() => gitProxy.close()),
    repo && (() => repo.dispose()),
    slowRepo && (() => slowRepo.dispose()),
    client && (() => client.close()),
    root && (() => rm(root, { recursive: true, force: true })),
  );
});

const get = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
};

test('/healthz answers at once; /readyz is 503 until the caches are synced', async () => {
  proxy.hold(); // the API server "does not answer" yet
  proc = ControllerProcess.start('ctrl', controllerArgs({ kubeconfig: await proxy.writeKubeconfig(root), dataDir: join(root, 'data'), leaseNamespace: ns.name }), {
    http_proxy: gitProxy.url,
    HTTP_PROXY: gitProxy.url,
    no_proxy: '127.0.0.1,localhost',
    NO_PROXY: '127.0.0.1,localhost',
  });
  const url = await proc.httpUrl();
  assert.equal((await get(`${url}/healthz`)).status, 200);
  const notReady = await get(`${url}/readyz`);
  assert.equal(notReady.status, 503);
  assert.match(notReady.body, /not synced/);
  await sleep(1_500);
  assert.equal((await get(`${url}/readyz`)).status, 503, 'still not ready while the lists hang');
  assert.equal((await get(`${url}/metrics`)).status, 200, '/metrics is served before the caches sync');
  proxy.release();
  await eventually('ready', async () => ((await get(`${url}/readyz`)).status === 200 ? true : undefined));
  assert.equal((await get(`${url}/nothing-here`)).status, 404);
  await proc.waitLog('leadership', (l) => l.msg === 'became leader');
});

test('/metrics: reconcile durations and counts per kind and result, queue depth, Ready condition per object', async () => {
  const url = await proc.httpUrl();
  await createGitRepository(client, ns.name, 'app', server.url('app'));
  await createKustomization(client, ns.name, 'app', 'app', './deploy');
  await createGitRepository(client, ns.name, 'broken', server.url('does-not-exist'));
  const head = `main@sha1:${await repo.head()}`;
  await eventually('Kustomization applied', async () => {
    const k = await client.request<FluxObject>({ path: ksPath(ns.name, 'app') });
    return readyOf(k)?.status === 'True' && k.status?.lastAppliedRevision === head ? true : undefined;
  });
  await eventually('broken GitRepository failed', async () => {
    const g = await client.request<FluxObject>({ path: gitPath(ns.name, 'broken') });
    return readyOf(g)?.status === 'False' ? true : undefined;
  });

  let m: Sample[] = [];
  await eventually('metrics caught up', async () => {
    m = await scrape(url);
    return metricSum(m, 'sluice_reconcile_total', { kind: 'GitRepository', result: 'error' }) >= 1 &&
      metricSum(m, 'sluice_reconcile_total', { kind: 'GitRepository', result: 'success' }) >= 1 &&
      metricSum(m, 'sluice_reconcile_total', { kind: 'Kustomization', result: 'success' }) >= 1 &&
      metricFind(m, 'sluice_workqueue_depth', { kind: 'Kustomization' })
      ? true
      : undefined;
  });
  for (const kind of ['GitRepository', 'Kustomization']) {
    const ok = metricSum(m, 'sluice_reconcile_total', { kind, result: 'success' });
    assert.ok(ok >= 1, `${kind} successes counted (${ok})`);
    const count = metricSum(m, 'sluice_reconcile_duration_seconds_count', { kind, result: 'success' });
    assert.ok(count >= 1, `${kind} duration observations (${count})`);
    assert.ok(metricSum(m, 'sluice_reconcile_duration_seconds_sum', { kind, result: 'success' }) > 0);
    assert.equal(metricFind(m, 'sluice_reconcile_duration_seconds_bucket', { kind, result: 'success', le: '+Inf' })?.value, count);
    const depth = metricFind(m, 'sluice_workqueue_depth', { kind });
    assert.ok(depth && depth.value >= 0, `queue depth of ${kind} exported`);
  }
  assert.ok(metricSum(m, 'sluice_reconcile_duration_seconds_count', { kind: 'GitRepository', result: 'error' }) >= 1);

  const cond = (kind: string, name: string, status: string) =>
    metricFind(m, 'sluice_reconcile_condition', { kind, name, namespace: ns.name, type: 'Ready', status })?.value;
  assert.equal(cond('GitRepository', 'app', 'True'), 1);
  assert.equal(cond('GitRepository', 'app', 'False'), 0);
  assert.equal(cond('GitRepository', 'broken', 'False'), 1);
  assert.equal(cond('GitRepository', 'broken', 'True'), 0);
  assert.equal(cond('Kustomization', 'app', 'True'), 1);
  assert.equal(cond('Kustomization', 'app', 'Unknown'), 0);
  // Process metrics come along.
  assert.ok(metricFind(m, 'sluice_process_resident_memory_bytes', {}));
});

test('SIGTERM during a reconcile lets it finish, releases the lease and exits 0', async () => {
  const head = `main@sha1:${await slowRepo.head()}`;
  const storage = await proc.storageUrl();
  // Every status the GitRepository goes through, as it happens.
  const statuses: Array<{ url?: string; revision?: string; at: number }> = [];
  const watch = new ListWatch(client, {
    path: gitPath(ns.name),
    fieldSelector: 'metadata.name=slow',
    onEvent: (_t, o) => {
      const a = (o as FluxObject).status?.artifact;
      statuses.push({ url: a?.url, revision: a?.revision, at: Date.now() });
    },
  });
  await watch.start();
  try {
    await createGitRepository(client, ns.name, 'slow', 'http://slow.sluice.invalid/slow.git');
    await eventually('the slow reconcile under way', async () => (gitProxy.log.length > 0 ? true : undefined), 20_000);
    const term = Date.now();
    proc.kill('SIGTERM');
    const exit = await proc.exited;
    const took = exit.at - term;
    process.stderr.write(`# SIGTERM to exit with a reconcile in flight: ${took} ms\n`);
    assert.equal(exit.code, 0, `exit code after SIGTERM:\n${proc.lines.slice(-10).join('\n')}`);
    assert.ok(took >= 1_000, `the process waited for the reconcile (${took} ms)`);
    assert.ok(took < 25_000, `and exited promptly once it finished (${took} ms)`);
    const fetches = gitProxy.log;
    assert.ok(fetches.every((f) => f.end !== undefined && f.status === 200), `every git request completed: ${JSON.stringify(fetches)}`);
    assert.ok(Math.max(...fetches.map((f) => f.end!)) > term, 'the fetch went on after SIGTERM');
    await eventually('the status written before the exit seen', async () =>
      statuses.some((s) => s.url?.startsWith(`${storage}/`) && s.revision === head && s.at >= term) ? true : undefined,
    5_000);
    assert.equal(await leaseHolder(client, ns.name), undefined, 'the lease was released');
    const order = proc.logs.map((l) => l.msg);
    assert.ok(order.indexOf('shutting down') < order.indexOf('released leadership'), 'released after shutdown began');
    assert.equal(order.at(-1), 'stopped');
  } finally {
    watch.stop();
  }
});

test('every log line is a JSON object with level, ts and msg', () => {
  assert.ok(proc.lines.length >= 5, `${proc.lines.length} lines`);
  for (const line of proc.lines) {
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch {
      assert.fail(`not JSON: ${line}`);
    }
    assert.ok(rec && typeof rec === 'object' && !Array.isArray(rec), line);
    assert.ok(['debug', 'info', 'error'].includes(rec.level as string), `level in ${line}`);
    assert.ok(typeof rec.ts === 'string' && !Number.isNaN(Date.parse(rec.ts)), `ts in ${line}`);
    assert.ok(typeof rec.msg === 'string' && rec.msg.length > 0, `msg in ${line}`);
  }
  assert.equal(proc.stdout.join(''), '', 'nothing on stdout');
  assert.ok(proc.logs.some((l) => l.level === 'error' && l.msg === 'reconcile error'), 'the broken source is logged as an error');
});
