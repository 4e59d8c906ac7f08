import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { adminClient, eventually, testKubeconfig, testNamespace, type TestNamespace } from './harness.ts';
import { run } from '../src/util/exec.ts';
import { startGitHttpServer, TestRepo, type GitHttpServer } from './gitserver/index.ts';
import { startOperator, type Operator } from '../src/controllers/operator.ts';
import { ResourceManager } from '../src/apply/manager.ts';
import { allCrds } from '../src/api/crds.ts';
import { silentLogger } from '../src/util/log.ts';
import type { KubeObject } from '../src/kube/object.ts';
import type { KubeClient } from '../src/kube/client.ts';
import { closeAll } from './cleanup.ts';

// Git to cluster, end to end: a real git server on loopback, the operator in
// this process, the local control plane.

let ns: TestNamespace;
let server: GitHttpServer;
let repo: TestRepo;
let root: string;
let operator: Operator;
let client: KubeClient;

const configMap = (name: string, value: string) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
data:
  value: "${value}"
`;
const deployment = (name: string, replicas = 1) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers: [{name: app, image: example.invalid/${name}:1}]
`;

before(async () => {
  ns = await testNamespace('operator');
  client = await adminClient();
  root = await mkdtemp(join(tmpdir(), 'sluice-e2e-git-'));
  server = await startGitHttpServer({ root });
  repo = await TestRepo.create(root, 'app', { defaultBranch: 'main' });
  await repo.commitFiles(
    {
      'deploy/app/web.yaml': deployment('web'),
      'deploy/app/settings.yaml': configMap('settings', 'one'),
      'deploy/app/extra.yaml': configMap('extra', 'x'),
      'deploy/app/more.yaml': configMap('more', 'y'),
      'deploy/app/README.md': 'not a manifest',
    },
    'first',
  );
  await repo.push();
  await new ResourceManager(client).apply(allCrds() as KubeObject[]);
  operator = await startOperator({
    client: await adminClient(),
    log: silentLogger,
    dataDir: await mkdtemp(join(tmpdir(), 'sluice-e2e-data-')),
    requeueDependencyMs: 1_000,
    watchNamespace: ns.name,
  });
});

after(async () => {
  await closeAll(
    operator && (() => operator.stop()),
    ns && (() => ns.cleanup()),
    server && (() => server.close()),
    repo && (() => repo.dispose()),
    root && (() => rm(root, { recursive: true, force: true })),
    client && (() => client.close()),
  );
});

const ksPath = (name: string) => `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${ns.name}/kustomizations/${name}`;
const gitPath = (name: string) => `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns.name}/gitrepositories/${name}`;
const cmPath = (name: string) => `/api/v1/namespaces/${ns.name}/configmaps/${name}`;

interface Cond {
  type: string;
  status: string;
  reason: string;
  message: string;
}
type Status = { conditions?: Cond[]; lastAppliedRevision?: string; lastAttemptedRevision?: string; inventory?: { entries: Array<{ id: string }> }; observedGeneration?: number };

async function ksStatus(name: string): Promise<Status & { generation?: number }> {
  const o = await client.request<KubeObject>({ path: ksPath(name) });
  return { ...(o.status as Status), generation: o.metadata.generation };
}

const ready = (s: Status) => s.conditions?.find((c) => c.type === 'Ready');

async function untilApplied(name: string, revision: string, timeoutMs = 30_000): Promise<Status> {
  return eventually(
    `Kustomization ${name} Ready at ${revision}`,
    async () => {
      const s = await ksStatus(name);
      return ready(s)?.status === 'True' && s.lastAppliedRevision === revision ? s : undefined;
    },
    timeoutMs,
  );
}

async function requestReconcile(path: string): Promise<void> {
  await client.request({
    method: 'PATCH',
    path,
    contentType: 'application/merge-patch+json',
    body: { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': new Date().toISOString() } } },
  });
}

describe('operator', () => {
  test('a commit reaches the cluster, reports Ready, and later commits follow', async () => {
    // Created with kubectl, as a user would.
    await run('kubectl', ['apply', '--kubeconfig', await testKubeconfig(), '-n', ns.name, '-f', '-'], {
      input: `apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: app\nspec:\n  url: ${server.url('app')}\n  interval: 1h\n  ref:\n    branch: main\n`,
    });
    await client.request({
      method: 'POST',
      path: `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${ns.name}/kustomizations`,
      body: {
        apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
        kind: 'Kustomization',
        metadata: { name: 'app' },
        spec: { interval: '1h', path: './deploy/app', prune: true, wait: true, timeout: '60s', targetNamespace: ns.name, sourceRef: { kind: 'GitRepository', name: 'app' } },
      },
    });
    const first = await repo.head();
    const s = await untilApplied('app', `main@sha1:${first}`, 60_000);
    assert.equal(ready(s)!.reason, 'ReconciliationSucceeded');
    assert.equal(ready(s)!.message, `Applied revision: main@sha1:${first}`);
    assert.equal(s.lastAttemptedRevision, `main@sha1:${first}`);
    assert.deepEqual(s.inventory!.entries.map((e) => e.id).sort(), [
      `${ns.name}_extra__ConfigMap`,
      `${ns.name}_more__ConfigMap`,
      `${ns.name}_settings__ConfigMap`,
      `${ns.name}_web_apps_Deployment`,
    ]);
    const cm = await client.request<KubeObject & { data: Record<string, string> }>({ path: cmPath('settings') });
    assert.equal(cm.data.value, 'one');
    assert.equal(cm.metadata.labels?.['kustomize.toolkit.fluxcd.io/name'], 'app');
    assert.equal(cm.metadata.labels?.['kustomize.toolkit.fluxcd.io/namespace'], ns.name);

    // The GitRepository reports its artifact as Flux does.
    const git = await client.request<KubeObject>({ path: gitPath('app') });
    const artifact = git.status!.artifact as { revision: string; digest: string; url: string; size: number };
    assert.equal(artifact.revision, `main@sha1:${first}`);
    assert.match(artifact.digest, /^sha256:[0-9a-f]{64}$/);
    const tarball = await fetch(artifact.url);
    assert.equal(tarball.status, 200);
    const bytes = Buffer.from(await tarball.arrayBuffer());
    assert.equal(bytes.length, artifact.size);
    assert.equal(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, artifact.digest, 'the digest is that of the served artifact');

    // A new commit, noticed through the requestedAt annotation instead of the one-hour interval.
    const second = await repo.commitFiles({ 'deploy/app/settings.yaml': configMap('settings', 'two') }, 'second');
    await repo.push();
    const t0 = Date.now();
    await requestReconcile(gitPath('app'));
    await untilApplied('app', `main@sha1:${second}`);
    const took = Date.now() - t0;
    assert.equal((await client.request<{ data: Record<string, string> }>({ path: cmPath('settings') })).data.value, 'two');
    process.stderr.write(`# push to applied (requestedAt): ${took} ms\n`);
  });

  test('drift is corrected at the next reconcile', async () => {
    await client.request({
      method: 'PATCH',
      path: cmPath('settings'),
      query: { fieldManager: 'kubectl-edit' },
      contentType: 'application/merge-patch+json',
      body: { data: { value: 'hand-edited' } },
    });
    await requestReconcile(ksPath('app'));
    await eventually('drift corrected', async () => {
      const cm = await client.request<{ data: Record<string, string> }>({ path: cmPath('settings') });
      return cm.data.value === 'two' ? true : undefined;
    });
  });

  test('a removed file is pruned', async () => {
    const third = await repo.commitFiles({ 'deploy/app/extra.yaml': null }, 'remove extra');
    await repo.push();
    await requestReconcile(gitPath('app'));
    const s = await untilApplied('app', `main@sha1:${third}`);
    assert.ok(!s.inventory!.entries.some((e) => e.id.includes('_extra_')));
    await eventually('extra pruned', async () => ((await client.getOrUndefined(cmPath('extra'))) === undefined ? true : undefined));
    assert.notEqual(await client.getOrUndefined(cmPath('more')), undefined);
  });

  test('a broken commit keeps the last good state running with a clear condition; a fix recovers', async () => {
    const good = (await ksStatus('app')).lastAppliedRevision!;
    const broken = await repo.commitFiles({ 'deploy/app/settings.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  value: [oops\n' }, 'broken');
    await repo.push();
    await requestReconcile(gitPath('app'));
    const failed = await eventually('build failure reported', async () => {
      const s = await ksStatus('app');
      return s.lastAttemptedRevision === `main@sha1:${broken}` && ready(s)?.status === 'False' ? s : undefined;
    });
    assert.equal(ready(failed)!.reason, 'BuildFailed');
    assert.match(ready(failed)!.message, /settings\.yaml:\d+/);
    assert.equal(failed.lastAppliedRevision, good, 'the last applied revision stays');
    assert.equal((await client.request<{ data: Record<string, string> }>({ path: cmPath('settings') })).data.value, 'two');
    assert.notEqual(await client.getOrUndefined(`/apis/apps/v1/namespaces/${ns.name}/deployments/web`), undefined);

    // An empty commit (every manifest deleted) must not wipe the workloads either:
    // an empty path fails the build, as in Flux.
    const empty = await repo.commitFiles(
      { 'deploy/app/settings.yaml': null, 'deploy/app/web.yaml': null, 'deploy/app/more.yaml': null },
      'oops, everything deleted',
    );
    await repo.push();
    await requestReconcile(gitPath('app'));
    const emptied = await eventually('empty path refused', async () => {
      const s = await ksStatus('app');
      return s.lastAttemptedRevision === `main@sha1:${empty}` && ready(s)?.status === 'False' ? s : undefined;
    });
    assert.equal(ready(emptied)!.reason, 'BuildFailed');
    assert.match(ready(emptied)!.message, /is empty/);
    assert.notEqual(await client.getOrUndefined(`/apis/apps/v1/namespaces/${ns.name}/deployments/web`), undefined);

    // A commit that replaces everything with something else would prune all of it: refused.
    const replaced = await repo.commitFiles({ 'deploy/app/other.yaml': configMap('other', 'z') }, 'replace everything');
    await repo.push();
    await requestReconcile(gitPath('app'));
    const refused = await eventually('mass prune refused', async () => {
      const s = await ksStatus('app');
      return s.lastAttemptedRevision === `main@sha1:${replaced}` && ready(s)?.reason === 'PruneFailed' ? s : undefined;
    });
    assert.match(ready(refused)!.message, /refusing to prune 3 of 3 objects \(more than half of the inventory\); if that is intended, set the annotation sluice\.dev\/allow-mass-prune/);
    assert.notEqual(await client.getOrUndefined(`/apis/apps/v1/namespaces/${ns.name}/deployments/web`), undefined);

    const fixed = await repo.commitFiles(
      { 'deploy/app/settings.yaml': configMap('settings', 'three'), 'deploy/app/web.yaml': deployment('web'), 'deploy/app/more.yaml': configMap('more', 'y'), 'deploy/app/other.yaml': null },
      'fixed',
    );
    await repo.push();
    await requestReconcile(gitPath('app'));
    await untilApplied('app', `main@sha1:${fixed}`);
    assert.equal((await client.request<{ data: Record<string, string> }>({ path: cmPath('settings') })).data.value, 'three');
  });

  test('dependsOn holds a Kustomization until its dependency is Ready', async () => {
    await repo.commitFiles({ 'deploy/second/cm.yaml': configMap('second-layer', 'ok') }, 'second layer');
    await repo.push();
    await requestReconcile(gitPath('app'));
    const head = `main@sha1:${await repo.head()}`;
    await client.request({
      method: 'POST',
      path: `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${ns.name}/kustomizations`,
      body: {
        apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
        kind: 'Kustomization',
        metadata: { name: 'second' },
        spec: {
          interval: '1h',
          path: './deploy/second',
          prune: true,
          targetNamespace: ns.name,
          dependsOn: [{ name: 'gate' }],
          sourceRef: { kind: 'GitRepository', name: 'app' },
        },
      },
    });
    const waiting = await eventually('dependency not ready', async () => {
      const s = await ksStatus('second');
      return ready(s)?.reason === 'DependencyNotReady' ? s : undefined;
    });
    assert.match(ready(waiting)!.message, /dependency '.*\/gate' is not ready/);
    assert.equal(await client.getOrUndefined(cmPath('second-layer')), undefined);
    await client.request({
      method: 'POST',
      path: `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${ns.name}/kustomizations`,
      body: {
        apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
        kind: 'Kustomization',
        metadata: { name: 'gate' },
        spec: { interval: '1h', path: './deploy/app', prune: false, targetNamespace: ns.name, sourceRef: { kind: 'GitRepository', name: 'app' } },
      },
    });
    await untilApplied('second', head);
    assert.notEqual(await client.getOrUndefined(cmPath('second-layer')), undefined);
  });

  test('deleting a Kustomization with prune deletes what it applied', async () => {
    await client.request({ method: 'DELETE', path: ksPath('second') });
    await eventually('objects of the deleted Kustomization removed', async () =>
      (await client.getOrUndefined(cmPath('second-layer'))) === undefined && (await client.getOrUndefined(ksPath('second'))) === undefined ? true : undefined,
    );
  });
});
