import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../harness.ts';
import { startGitHttpServer, TestRepo, type GitHttpServer } from '../gitserver/index.ts';
import { upCluster } from '../../src/dev/cluster/up.ts';
import { stopCluster } from '../../src/dev/cluster/down.ts';
import { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { ControllerProcess, controllerArgs } from '../runtime/helpers.ts';
import { gitPath, ksPath } from '../runtime/objects.ts';
import { sluice, type Result } from '../cli/sluice.ts';
import { closeAll } from '../cleanup.ts';

// `sluice check` and `sluice uninstall` with two installations on one cluster,
// as Bevel runs one per network: uninstalling the first leaves the second
// working (its CRDs, RBAC and finalizers), uninstalling the last removes the
// CRDs; the workloads both deployed keep running, and no namespace hangs. The
// test has a control plane of its own: deleting CRDs would break the tests
// that share the suite's. A `sluice controller` process stands in for the
// controller pods (KWOK runs no containers); it is stopped before each
// uninstall, as the uninstall deletes the pod it would be.

let home: string;
let kubeconfig: string;
let client: KubeClient;
let server: GitHttpServer;
let repo: TestRepo;
let root: string;
let controller: ControllerProcess | undefined;

const NETS = ['net-a', 'net-b'] as const;
const run = (args: string[]): Promise<Result> => sluice(args, { KUBECONFIG: kubeconfig });

const app = (net: string) => `apiVersion: v1
kind: Namespace
metadata:
  name: apps-${net}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: apps-${net}
data:
  network: ${net}
`;

async function sync(net: string): Promise<void> {
  for (const [path, body] of [
    [`/apis/source.toolkit.fluxcd.io/v1/namespaces/${net}/gitrepositories`, { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name: net }, spec: { interval: '1m', url: server.url('fleet'), ref: { branch: 'main' } } }],
    [`/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${net}/kustomizations`, { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: net }, spec: { interval: '10m', path: `./${net}`, prune: true, sourceRef: { kind: 'GitRepository', name: net } } }],
  ] as const) {
    await client.request({ method: 'POST', path, body });
  }
}

type Flux = KubeObject & { status?: { conditions?: Array<{ type: string; status: string }> } };
const ready = (o: Flux | undefined) => o?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
const crd = (name: string) => client.getOrUndefined(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'sluice-uninstall-'));
  kubeconfig = (await upCluster({ home, nodes: 1 })).kubeconfig;
  client = await KubeClient.fromFile(kubeconfig);
  root = await mkdtemp(join(tmpdir(), 'sluice-uninstall-git-'));
  server = await startGitHttpServer({ root });
  repo = await TestRepo.create(root, 'fleet', { defaultBranch: 'main' });
  await repo.commitFiles({ 'net-a/app.yaml': app('net-a'), 'net-b/app.yaml': app('net-b'), 'net-c/app.yaml': app('net-c') }, 'three networks');
  await repo.push();
  for (const net of NETS) {
    const res = await run(['install', `--namespace=${net}`, '--replicas=1', '--image=sluice:uninstall-test']);
    assert.equal(res.code, 0, res.stdout + res.stderr);
  }
  controller = ControllerProcess.start('controller', controllerArgs({ kubeconfig, dataDir: join(root, 'data') }));
  for (const net of NETS) await sync(net);
  for (const net of NETS) {
    await eventually(`${net} applied`, async () => ((ready(await client.getOrUndefined<Flux>(ksPath(net, net))) ? true : undefined)), 90_000);
  }
  await controller.stop(5_000);
  controller = undefined;
});

after(async () => {
  await closeAll(
    controller && (() => controller!.stop(5_000)),
    client && (() => client.close()),
    server && (() => server.close()),
    repo && (() => repo.dispose()),
    root && (() => rm(root, { recursive: true, force: true })),
    home &&
      (async () => {
        await stopCluster(home);
        await rm(home, { recursive: true, force: true });
      }),
  );
});

test("deleting the controller's own namespace releases its objects: nothing hangs, nothing is garbage-collected", async () => {
  // The namespace the controller runs in (RUNTIME_NAMESPACE, as the Deployment sets it).
  await client.request({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name: 'net-c' } } });
  const c = ControllerProcess.start('controller-c', controllerArgs({ kubeconfig, dataDir: join(root, 'data-c') }), { RUNTIME_NAMESPACE: 'net-c' });
  controller = c;
  await sync('net-c');
  await eventually('net-c applied', async () => ((ready(await client.getOrUndefined<Flux>(ksPath('net-c', 'net-c'))) ? true : undefined)), 90_000);
  assert.deepEqual((await client.getOrUndefined<Flux>(ksPath('net-c', 'net-c')))?.metadata.finalizers, ['finalizers.fluxcd.io']);
  await client.request({ method: 'DELETE', path: '/api/v1/namespaces/net-c' });
  await eventually('namespace net-c gone', async () => ((await client.getOrUndefined('/api/v1/namespaces/net-c')) ? undefined : true), 60_000);
  await c.waitLog('the release logged', (r) => /releasing without garbage collection/.test(String(r.msg ?? '')));
  const cm = await client.getOrUndefined<{ data: Record<string, string> }>('/api/v1/namespaces/apps-net-c/configmaps/settings');
  assert.equal(cm?.data.network, 'net-c', 'what the Kustomization deployed keeps running');
  await c.stop(5_000);
  controller = undefined;
});

test('check: prerequisites, both controllers rolled out, the CRDs; skew is a warning', async () => {
  const pre = await run(['check', '--pre']);
  assert.equal(pre.code, 0, pre.stdout + pre.stderr);
  assert.match(pre.stdout, /✔ Kubernetes 1\.\d+\.\d+ >=1\.33\.0-0\n✔ prerequisites checks passed/);
  assert.doesNotMatch(pre.stdout, /checking controllers/);

  const full = await eventually('both Deployments rolled out', async () => {
    const r = await run(['check']);
    return r.code === 0 ? r : undefined;
  }, 60_000);
  assert.match(full.stdout, /✔ net-a\/sluice-controller: deployment ready \(1\/1\)\n► sluice:uninstall-test\n/);
  assert.match(full.stdout, /✔ net-b\/sluice-controller: deployment ready \(1\/1\)/);
  assert.match(full.stdout, /✔ kustomizations\.kustomize\.toolkit\.fluxcd\.io\/v1\n/);
  assert.match(full.stdout, /✔ all checks passed\n$/);

  await client.request({
    method: 'PATCH',
    path: '/apis/apps/v1/namespaces/net-b/deployments/sluice-controller',
    contentType: 'application/merge-patch+json',
    body: { metadata: { labels: { 'app.kubernetes.io/version': '0.0.1' } } },
  });
  const skewed = await run(['check', '-n', 'net-b']);
  assert.equal(skewed.code, 0, 'skew warns, it does not fail');
  assert.match(skewed.stdout, /! net-b\/sluice-controller is 0\.0\.1, this CLI is \S+: version skew \(upgrade the installation/);
  assert.doesNotMatch(skewed.stdout, /net-a/);

  const none = await run(['check', '-n', 'nowhere']);
  assert.equal(none.code, 1);
  assert.match(none.stdout, /✗ no Sluice controller found in namespace nowhere/);
  assert.match(none.stdout, /✗ check failed/);
});

test('uninstall asks first: without a terminal and without --silent nothing changes', async () => {
  const res = await run(['uninstall', '-n', 'net-a']);
  assert.equal(res.code, 1);
  assert.match(res.stdout, /► cluster: context ".*", API server https:\/\/127\.0\.0\.1:\d+/);
  assert.match(res.stdout, /the CRDs stay: Sluice in net-b still uses them/);
  assert.match(res.stderr, /not confirmed/);
  assert.ok(await client.getOrUndefined('/apis/apps/v1/namespaces/net-a/deployments/sluice-controller'));
});

test('uninstalling one of two installations leaves the other whole and every workload running', async () => {
  const res = await run(['uninstall', '-n', 'net-a', '--silent']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /✔ Deployment\/net-a\/sluice-controller deleted/);
  assert.match(res.stdout, /✔ Kustomization\/net-a\/net-a deleted/);
  assert.match(res.stdout, /✔ ClusterRoleBinding\/sluice-reconciler-net-a deleted/);
  assert.match(res.stdout, /✔ CRDs kept: net-b still uses them/);
  assert.match(res.stdout, /✔ Namespace\/net-a deleted/);

  assert.equal(await client.getOrUndefined('/api/v1/namespaces/net-a'), undefined, 'the namespace is gone, not stuck in Terminating');
  assert.ok(await crd('kustomizations.kustomize.toolkit.fluxcd.io'), 'the CRDs stay for net-b');
  const other = await client.getOrUndefined<Flux>(ksPath('net-b', 'net-b'));
  assert.deepEqual(other?.metadata.finalizers, ['finalizers.fluxcd.io'], "the other installation's objects keep their finalizer");
  assert.ok(await client.getOrUndefined(gitPath('net-b', 'net-b')));
  assert.ok(await client.getOrUndefined('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/sluice-controller-net-b'), "the other installation's RBAC stays");
  assert.ok(await client.getOrUndefined('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/sluice-reconciler-net-b'));
  for (const net of NETS) {
    const cm = await client.getOrUndefined<{ data: Record<string, string> }>(`/api/v1/namespaces/apps-${net}/configmaps/settings`);
    assert.equal(cm?.data.network, net, `what ${net} deployed keeps running`);
  }
});

test('the last installation: --dry-run changes nothing; then the CRDs go, the workloads stay', async () => {
  const dry = await run(['uninstall', '-n', 'net-b', '--dry-run']);
  assert.equal(dry.code, 0, dry.stdout + dry.stderr);
  assert.match(dry.stdout, /the CRDs are deleted \(and with them every Flux object left in the cluster\)/);
  assert.ok(await client.getOrUndefined('/apis/apps/v1/namespaces/net-b/deployments/sluice-controller'), '--dry-run deleted nothing');

  const res = await run(['uninstall', '--silent']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /Sluice \S+ in namespace net-b/, 'without -n, the only installation left');
  assert.match(res.stdout, /✔ CustomResourceDefinition\/kustomizations\.kustomize\.toolkit\.fluxcd\.io deleted/);
  assert.equal(await crd('kustomizations.kustomize.toolkit.fluxcd.io'), undefined);
  assert.equal(await crd('gitrepositories.source.toolkit.fluxcd.io'), undefined);
  assert.equal(await client.getOrUndefined('/api/v1/namespaces/net-b'), undefined);
  const cm = await client.getOrUndefined<{ data: Record<string, string> }>('/api/v1/namespaces/apps-net-b/configmaps/settings');
  assert.equal(cm?.data.network, 'net-b', 'the workload outlives Sluice');

  const again = await run(['uninstall', '-n', 'net-b', '--silent']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /no Sluice installation in namespace net-b/);
});
