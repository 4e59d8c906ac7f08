import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminClient, eventually, testKubeconfig, testNamespace, type TestNamespace } from '../harness.ts';
import { startGitHttpServer, TestRepo, type GitHttpServer } from '../gitserver/index.ts';
import { ResourceManager } from '../../src/apply/manager.ts';
import { allCrds } from '../../src/api/crds.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import type { FluxEvent } from '../../src/runtime/eventsink.ts';
import { ensureGoTool, ensureSops } from '../../src/tools/gotool.ts';
import { run } from '../../src/util/exec.ts';
import { ApiProxy, ControllerProcess, sleep } from './helpers.ts';
import { dropFinalizers, gitPath, ksPath, leaseHolder, readyOf, type FluxObject } from './objects.ts';
import { closeAll } from '../cleanup.ts';

// `sluice controller` started with the args of Flux's controller Deployments:
// Flux's flag names, an events receiver, a separate health address,
// sharding by label, leader election in RUNTIME_NAMESPACE, field managers to
// override, and the fallback SOPS age Secret.

let ns: TestNamespace;
let client: KubeClient;
let root: string;
let server: GitHttpServer;
let repo: TestRepo;
let proxy: ApiProxy;
let proc: ControllerProcess;
let receiver: http.Server;
const received: FluxEvent[] = [];
let receiverUrl: string;
let ageIdentity: string;
let ageRecipient: string;
let sops: string;

const SHARD = { 'sharding.fluxcd.io/key': 'shard1' };
const cm = (name: string, data: Record<string, string>) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n${Object.entries(data).map(([k, v]) => `  ${k}: "${v}"`).join('\n')}\n`;

async function create(kind: 'GitRepository' | 'Kustomization', name: string, spec: Record<string, unknown>, labels: Record<string, string> = SHARD): Promise<void> {
  const [apiVersion, path] = kind === 'GitRepository' ? ['source.toolkit.fluxcd.io/v1', gitPath(ns.name)] : ['kustomize.toolkit.fluxcd.io/v1', ksPath(ns.name)];
  await client.request({ method: 'POST', path, body: { apiVersion, kind, metadata: { name, labels }, spec: { interval: '1h', ...spec } } });
}

const ks = (name: string, path: string, extra: Record<string, unknown> = {}) => ({
  path,
  prune: true,
  targetNamespace: ns.name,
  sourceRef: { kind: 'GitRepository', name: 'app' },
  ...extra,
});

async function readyKs(name: string): Promise<FluxObject> {
  return eventually(`Kustomization ${name} Ready`, async () => {
    const k = await client.request<FluxObject>({ path: ksPath(ns.name, name) });
    return readyOf(k)?.status === 'True' ? k : undefined;
  });
}

before(async () => {
  ns = await testNamespace('flux-flags');
  client = await adminClient();
  root = await mkdtemp(join(tmpdir(), 'sluice-fluxflags-'));
  sops = await ensureSops();
  const keygen = await ensureGoTool({ name: 'age-keygen', module: 'filippo.io/age', version: 'v1.3.2', pkg: 'filippo.io/age/cmd/age-keygen' });
  ageIdentity = (await run(keygen, [])).stdout.trim();
  ageRecipient = /public key: (age1\w+)/.exec(ageIdentity)![1]!;
  const plain = join(root, 'secret.yaml');
  await writeFile(plain, 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: sealed\ntype: Opaque\nstringData:\n  password: fallback-key-works\n');
  const encrypted = (await run(sops, ['--encrypt', '--encrypted-regex', '^(data|stringData)$', '--age', ageRecipient, plain])).stdout;

  server = await startGitHttpServer({ root: join(root, 'git') });
  repo = await TestRepo.create(join(root, 'git'), 'app', { defaultBranch: 'main' });
  await repo.commitFiles(
    {
      'shard/cm.yaml': cm('sharded', { value: '1' }),
      'other/cm.yaml': cm('other-shard', { value: '1' }),
      'owned/cm.yaml': cm('owned', { kept: 'from-git' }),
      'sops/secret.yaml': encrypted,
    },
    'first',
  );
  await repo.push();
  await new ResourceManager(client).apply(allCrds() as KubeObject[]);
  proxy = await ApiProxy.start(await testKubeconfig(), ns.name);

  receiver = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      received.push(JSON.parse(body) as FluxEvent);
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`;

  // The age key only in the controller's fallback Secret, in its own namespace.
  await client.request({ method: 'POST', path: `/api/v1/namespaces/${ns.name}/secrets`, body: { metadata: { name: 'sops-age' }, stringData: { 'identity.agekey': ageIdentity } } });
  // A field owned by another tool, which --override-manager hands to Sluice (and so drops when Git does not declare it).
  await client.request({
    method: 'PATCH',
    path: `/api/v1/namespaces/${ns.name}/configmaps/owned?fieldManager=legacy-tool&force=true`,
    contentType: 'application/apply-patch+yaml',
    body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owned', namespace: ns.name }, data: { kept: 'from-git', extra: 'from-legacy-tool' } },
  });

  // As a Flux kustomize-controller Deployment passes them, plus the ones a test needs.
  proc = ControllerProcess.start(
    'flux-flags',
    [
      `--kubeconfig=${await proxy.writeKubeconfig(root)}`,
      `--events-addr=${receiverUrl}`,
      '--metrics-addr=127.0.0.1:0',
      '--health-addr=127.0.0.1:0',
      '--storage-addr=127.0.0.1:0',
      `--storage-path=${join(root, 'data')}`,
      '--watch-all-namespaces=true',
      '--watch-label-selector=sharding.fluxcd.io/key=shard1',
      '--log-level=debug',
      '--log-encoding=json',
      '--enable-leader-election',
      '--leader-election-lease-duration=10s',
      '--leader-election-renew-deadline=8s',
      '--leader-election-retry-period=1s',
      '--concurrent=4',
      '--concurrent-ssa=4',
      '--kube-api-qps=50',
      '--kube-api-burst=300',
      '--requeue-dependency=5s',
      '--http-retry=9',
      '--no-cross-namespace-refs=true',
      '--sops-age-secret=sops-age',
      '--override-manager=legacy-tool',
      '--feature-gates=GroupChangeLog=true,StrictPostBuildSubstitutions=true',
    ],
    { RUNTIME_NAMESPACE: ns.name },
  );
});

after(async () => {
  await closeAll(
    proc && (() => proc.stop(5_000)),
    client && ns && (() => dropFinalizers(client, ns.name).catch(() => {})),
    ns && (() => ns.cleanup()),
    proxy && (() => proxy.close()),
    server && (() => server.close()),
    repo && (() => repo.dispose()),
    receiver && (() => new Promise<void>((r) => receiver.close(() => r()))),
    client && (() => client.close()),
    root && (() => rm(root, { recursive: true, force: true })),
  );
});

test("Flux's flags start the controller: probes on --health-addr, metrics on --metrics-addr, the lease in RUNTIME_NAMESPACE", async () => {
  const metrics = `http://${String((await proc.waitLog('metrics address', (l) => l.msg === 'serving metrics')).address)}`;
  const health = `http://${String((await proc.waitLog('health address', (l) => l.msg === 'serving health')).address)}`;
  assert.notEqual(metrics, health);
  assert.equal((await fetch(`${health}/healthz`)).status, 200);
  await eventually('ready', async () => ((await fetch(`${health}/readyz`)).status === 200 ? true : undefined));
  assert.equal((await fetch(`${health}/metrics`)).status, 404, 'metrics are not on the health address');
  assert.equal((await fetch(`${metrics}/metrics`)).status, 200);
  assert.equal((await fetch(`${metrics}/healthz`)).status, 404, 'probes are not on the metrics address');
  await eventually('leader', async () => ((await leaseHolder(client, ns.name)) ? true : undefined));
  assert.ok(proc.logs.some((l) => l.msg === 'flag --http-retry has no effect in Sluice: artifacts are read from this process or fetched with its own retries'));
  assert.ok(proc.logs.some((l) => l.msg.startsWith('feature gate GroupChangeLog has no effect in Sluice')));
});

test('--watch-label-selector: only objects of the shard are reconciled', async () => {
  await create('GitRepository', 'app', { url: server.url('app'), ref: { branch: 'main' } });
  await create('Kustomization', 'sharded', ks('sharded', './shard'));
  await create('Kustomization', 'unsharded', ks('unsharded', './other'), {});
  await readyKs('sharded');
  await sleep(2_000);
  const other = await client.request<FluxObject>({ path: ksPath(ns.name, 'unsharded') });
  assert.equal(other.status?.conditions, undefined, 'a Kustomization outside the shard is left alone');
  assert.equal(await client.getOrUndefined(`/api/v1/namespaces/${ns.name}/configmaps/other-shard`), undefined);
  assert.ok(proc.logs.some((l) => l.level === 'debug' && l.msg === 'reconciled'), '--log-level=debug lets debug lines through');
});

test('--events-addr: every event also reaches the receiver in Flux event format', async () => {
  const head = `main@sha1:${await repo.head()}`;
  const ev = await eventually('Kustomization event received', async () =>
    received.find((e) => e.involvedObject.kind === 'Kustomization' && e.involvedObject.name === 'sharded' && e.severity === 'info'),
  );
  assert.equal(ev.involvedObject.namespace, ns.name);
  assert.equal(ev.involvedObject.apiVersion, 'kustomize.toolkit.fluxcd.io/v1');
  assert.ok(ev.involvedObject.uid);
  assert.equal(ev.reportingController, 'kustomize-controller');
  assert.match(ev.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.ok(ev.reason && ev.message);
  assert.equal(ev.metadata?.['kustomize.toolkit.fluxcd.io/revision'], head);
  const src = await eventually('GitRepository event received', async () => received.find((e) => e.involvedObject.kind === 'GitRepository'));
  assert.equal(src.reportingController, 'source-controller');
  assert.equal(src.metadata?.['source.toolkit.fluxcd.io/revision'], head);
});

test('--events-addr: a failure is sent with severity error', async () => {
  await create('Kustomization', 'broken', ks('broken', './does-not-exist'));
  const ev = await eventually('error event received', async () => received.find((e) => e.involvedObject.name === 'broken' && e.severity === 'error'));
  assert.match(ev.message, /does-not-exist/);
});

test("--override-manager: another tool's fields are taken over, so what Git no longer declares goes", async () => {
  await create('Kustomization', 'owned', ks('owned', './owned'));
  await readyKs('owned');
  const live = await client.request<KubeObject & { data?: Record<string, string> }>({ path: `/api/v1/namespaces/${ns.name}/configmaps/owned` });
  assert.deepEqual(live.data, { kept: 'from-git' });
  assert.ok(!live.metadata.managedFields?.some((f) => f.manager === 'legacy-tool'), 'legacy-tool owns nothing any more');
});

test('--sops-age-secret: a Kustomization that decrypts with SOPS and names no Secret uses the fallback age keys', async () => {
  await create('Kustomization', 'sops', ks('sops', './sops', { decryption: { provider: 'sops' } }));
  await readyKs('sops');
  const secret = await client.request<{ data: Record<string, string> }>({ path: `/api/v1/namespaces/${ns.name}/secrets/sealed` });
  assert.equal(Buffer.from(secret.data.password!, 'base64').toString(), 'fallback-key-works');
});
