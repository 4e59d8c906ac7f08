import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { adminClient, eventually, testKubeconfig, testNamespace, type TestNamespace } from '../harness.ts';
import { startGitHttpServer, TestRepo, type GitHttpServer } from '../gitserver/index.ts';
import { ResourceManager } from '../../src/apply/manager.ts';
import { allCrds } from '../../src/api/crds.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { isNotFound } from '../../src/kube/errors.ts';
import { ApiProxy, ControllerProcess, controllerArgs } from '../runtime/helpers.ts';
import { dropFinalizers, gitPath, ksPath, readyOf, type FluxObject } from '../runtime/objects.ts';
import { closeAll } from '../cleanup.ts';

// The hostile corpus (test/hostile/corpus/) through a real `sluice
// controller` against the shared cluster: each bad directory fails its own
// Kustomization with a condition naming the file or field, nothing of that
// Kustomization is applied (and what an earlier revision applied stays as
// it was), the other Kustomizations of the repository apply, a planted
// Secret value is in no log line, event or status, and the controller's
// peak RSS (VmHWM) stays bounded through an alias bomb and a 5 MB file.

const here = dirname(fileURLToPath(import.meta.url));
const corpus = (f: string) => readFile(join(here, 'corpus', f), 'utf8');
const PLANTED = `planted-${Math.random().toString(36).slice(2)}-s3cr3t`;

let ns: TestNamespace;
let client: KubeClient;
let root: string;
let server: GitHttpServer;
let repo: TestRepo;
let proxy: ApiProxy;
let proc: ControllerProcess;
const peaks: Record<string, number> = {};

const cm = (name: string, data: Record<string, string> = { v: '1' }) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n${Object.entries(data).map(([k, v]) => `  ${k}: "${v}"`).join('\n')}\n`;

/** Peak resident set of the controller process so far, in MiB (Linux VmHWM). */
async function peakMiB(): Promise<number> {
  const status = await readFile(`/proc/${proc.child.pid}/status`, 'utf8');
  return Math.round(Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024);
}

async function ks(name: string, path: string, extra: Record<string, unknown> = {}): Promise<void> {
  await client.request({
    method: 'POST',
    path: ksPath(ns.name),
    body: { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name }, spec: { interval: '1h', retryInterval: '10s', path, prune: true, targetNamespace: ns.name, sourceRef: { kind: 'GitRepository', name: 'repo' }, ...extra } },
  });
}

async function ready(name: string, pred: (s: string, m: string) => boolean, what: string, timeoutMs = 120_000): Promise<{ status: string; message: string; reason: string }> {
  return eventually(`${name}: ${what}`, async () => {
    const r = readyOf(await client.request<FluxObject>({ path: ksPath(ns.name, name) }));
    return r && pred(r.status, r.message) ? r : undefined;
  }, timeoutMs);
}

async function configMap(name: string): Promise<Record<string, string> | undefined> {
  try {
    return (await client.request<{ data?: Record<string, string> }>({ path: `/api/v1/namespaces/${ns.name}/configmaps/${name}` })).data ?? {};
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

before(async () => {
  ns = await testNamespace('hostile-controller');
  client = await adminClient();
  root = await mkdtemp(join(tmpdir(), 'sluice-hostile-ctl-'));
  await new ResourceManager(client).apply(allCrds() as KubeObject[]);
  await client.request({ method: 'POST', path: `/api/v1/namespaces/${ns.name}/secrets`, body: { metadata: { name: 'vars' }, stringData: { PASSWORD: PLANTED } } });
  server = await startGitHttpServer({ root: join(root, 'git') });
  repo = await TestRepo.create(join(root, 'git'), 'mono', { defaultBranch: 'main' });
  const big = `${cm('huge')}${Array.from({ length: 100_000 }, (_, i) => `  k${i}: "${'v'.repeat(40)}"`).join('\n')}\n`.replace('data:\n  v: "1"\n', 'data:\n');
  await repo.commitFiles(
    {
      'good/cm.yaml': cm('good'),
      'partial/a.yaml': cm('partial-a', { v: '1' }),
      'bomb/bomb.yaml': await corpus('alias-bomb.yaml'),
      'bomb/sibling.yaml': cm('bomb-sibling'),
      'malformed/malformed.yaml': await corpus('malformed.yaml'),
      'malformed/sibling.yaml': cm('malformed-sibling'),
      'dupkeys/dup.yaml': await corpus('duplicate-keys.yaml'),
      'dupkeys/sibling.yaml': cm('dupkeys-sibling'),
      'deep/deep.yaml': `${cm('deep')}x: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`,
      'deep/sibling.yaml': cm('deep-sibling'),
      'unknown/frob.yaml': 'apiVersion: hostile.example.com/v1\nkind: Frobnicator\nmetadata:\n  name: frob\nspec: {}\n',
      'unknown/sibling.yaml': cm('unknown-sibling'),
      'invalid/deploy.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: bad\nspec:\n  replicas: many\n  selector: {matchLabels: {a: b}}\n  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: x}]}}\n',
      'invalid/sibling.yaml': cm('invalid-sibling'),
      'huge/huge.yaml': big,
      'huge/sibling.yaml': cm('huge-sibling'),
      'oversize/big.yaml': `${cm('oversize')}${'# padding\n'.repeat(1_200_000)}`,
      'secret/cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: with-secret\ndata:\n  password: "\${PASSWORD}"\n`,
      'secret/frob.yaml': 'apiVersion: hostile.example.com/v1\nkind: Frobnicator\nmetadata:\n  name: frob-${PASSWORD}\n',
      'secret/broken.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\ndata:\n  x: ${PASSWORD}: [\n',
    },
    'hostile corpus',
  );
  await repo.push();
  proxy = await ApiProxy.start(await testKubeconfig(), ns.name);
  await client.request({
    method: 'POST',
    path: gitPath(ns.name),
    body: { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name: 'repo' }, spec: { url: server.url('mono'), interval: '1h', timeout: '30s', ref: { branch: 'main' } } },
  });
  proc = ControllerProcess.start('hostile', controllerArgs({ kubeconfig: await proxy.writeKubeconfig(root), dataDir: join(root, 'data'), extra: ['--log-encoding=json', '--log-level=debug'] }));
  await eventually('source Ready', async () => (readyOf(await client.request<FluxObject>({ path: gitPath(ns.name, 'repo') }))?.status === 'True' ? true : undefined), 120_000);
});

after(async () => {
  if (Object.keys(peaks).length) process.stderr.write(`# controller peak RSS (VmHWM, MiB): ${JSON.stringify(peaks)}\n`);
  await closeAll(
    proc && (() => proc.stop(10_000)),
    client && ns && (() => dropFinalizers(client, ns.name).catch(() => {})),
    ns && (() => ns.cleanup()),
    proxy && (() => proxy.close()),
    server && (() => server.close()),
    repo && (() => repo.dispose()),
    client && (() => client.close()),
    root && (() => rm(root, { recursive: true, force: true })),
  );
});

test('the healthy Kustomizations of the repository apply (baseline)', async (t) => {
  await ks('good', './good');
  await ks('partial', './partial');
  await ready('good', (s) => s === 'True', 'Ready');
  await ready('partial', (s) => s === 'True', 'Ready');
  assert.deepEqual(await configMap('good'), { v: '1' });
  peaks.baseline = await peakMiB();
  t.diagnostic(`controller peak RSS after the healthy applies: ${peaks.baseline} MiB`);
});

const cases: Array<[string, RegExp]> = [
  ['malformed', /malformed\/malformed\.yaml:\d+:\d+: invalid YAML/],
  ['dupkeys', /dupkeys\/dup\.yaml:7:1: invalid YAML: mapping key "metadata" already defined at line 3/],
  ['deep', /deep\/deep\.yaml:\d+:\d+: invalid YAML: collections nested too deeply/],
  ['unknown', /Frobnicator.*(no matches for kind|not found|could not find|unknown)|(no matches for kind|not found|unknown).*Frobnicator/is],
  ['invalid', /Deployment\/.*bad.*replicas|replicas.*Deployment/is],
];
for (const [dir, msg] of cases) {
  test(`corpus ${dir}: its Kustomization fails naming the file or field, nothing of it applied`, async () => {
    await ks(dir, `./${dir}`);
    const r = await ready(dir, (s, m) => s === 'False' && msg.test(m), `Ready=False matching ${msg}`);
    assert.match(r.message, msg);
    assert.equal(await configMap(`${dir}-sibling`), undefined, 'the sibling object of the same Kustomization is not applied');
  });
}

test('alias bomb and a 5 MB file of 100,000 keys: clear failures, bounded controller memory', async (t) => {
  await ks('bomb', './bomb');
  await ready('bomb', (s, m) => s === 'False' && /bomb\/bomb\.yaml:\d+:\d+: document expands to over 100000 nodes through aliases/.test(m), 'alias bomb refused');
  peaks.bomb = await peakMiB();
  await ks('huge', './huge');
  const r = await ready('huge', (s) => s === 'False', 'huge refused', 240_000);
  peaks.huge = await peakMiB();
  t.diagnostic(`huge: ${r.message.slice(0, 200)}`);
  assert.match(r.message, /ConfigMap\/.*\/huge: is [\d.]+ MiB, over the API's limit of 1\.5 MiB per object/);
  assert.equal(await configMap('bomb-sibling'), undefined);
  // Over the manifest file limit: refused before it is parsed.
  await ks('oversize', './oversize');
  await ready('oversize', (s, m) => s === 'False' && /oversize\/big\.yaml: the file is 1[12]\.\d MiB, over the 10 MiB a manifest file may have/.test(m), 'oversize refused');
  peaks.oversize = await peakMiB();
  assert.equal(await configMap('huge-sibling'), undefined);
  t.diagnostic(`controller peak RSS: baseline ${peaks.baseline} MiB, after the alias bomb ${peaks.bomb} MiB, after the 5 MB file ${peaks.huge} MiB, after an 11 MiB file ${peaks.oversize} MiB`);
  assert.ok(peaks.bomb! - peaks.baseline! < 150, `alias bomb raised the peak by ${peaks.bomb! - peaks.baseline!} MiB`);
  assert.ok(peaks.huge! < 1024, `peak ${peaks.huge} MiB is under the Deployment's 1 GiB limit`);
});

test('no partial apply: a new revision with one bad object leaves the objects of the last good one unchanged', async () => {
  await repo.commitFiles({ 'partial/a.yaml': cm('partial-a', { v: '2' }), 'partial/frob.yaml': 'apiVersion: hostile.example.com/v1\nkind: Frobnicator\nmetadata:\n  name: frob\n' }, 'a bad object beside a change');
  await repo.push();
  await client.request({ method: 'PATCH', path: gitPath(ns.name, 'repo'), contentType: 'application/merge-patch+json', body: { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': new Date().toISOString() } } } });
  await ready('partial', (s, m) => s === 'False' && /Frobnicator/.test(m), 'the new revision fails');
  assert.deepEqual(await configMap('partial-a'), { v: '1' }, 'the change in the same revision is not applied');
  assert.deepEqual(await configMap('good'), { v: '1' }, 'the other Kustomization keeps its objects');
});

test('a Secret value substituted into failing objects shows in no log, event or status', async () => {
  await ks('secret', './secret', { postBuild: { substituteFrom: [{ kind: 'Secret', name: 'vars' }] } });
  await ready('secret', (s) => s === 'False', 'fails');
  // Let the retry run once more, with its events and log lines.
  await new Promise((r) => setTimeout(r, 12_000));
  assert.equal(await configMap('with-secret'), undefined);
  const texts = [proc.lines.join('\n'), JSON.stringify(await client.request({ path: `/api/v1/namespaces/${ns.name}/events` })), JSON.stringify(await client.request({ path: ksPath(ns.name) })), JSON.stringify(await client.request({ path: gitPath(ns.name) }))];
  const all = texts.join('\n');
  assert.ok(all.includes('secret'), 'the failure is recorded');
  assert.ok(!all.includes(PLANTED), 'the planted Secret value leaked');
  assert.ok(!all.includes(PLANTED.slice(8, 20)), 'a part of the planted Secret value leaked');
});
