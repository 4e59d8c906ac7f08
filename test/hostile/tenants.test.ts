import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminClient, eventually, testKubeconfig, testNamespace, type TestNamespace } from '../harness.ts';
import { startGitHttpServer, TestRepo, type GitHttpServer } from '../gitserver/index.ts';
import { ResourceManager } from '../../src/apply/manager.ts';
import { allCrds } from '../../src/api/crds.ts';
import { installManifests } from '../../src/install/manifests.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { isNotFound } from '../../src/kube/errors.ts';
import { ControllerProcess, controllerArgs } from '../runtime/helpers.ts';
import { dropFinalizers, gitPath, ksPath, readyOf, type FluxObject } from '../runtime/objects.ts';
import { closeAll } from '../cleanup.ts';

// Two tenants on one cluster, and a controller set up as `sluice install
// --multi-tenant` sets it up: its own service account bound to exactly the
// ClusterRole the installer writes (no cluster-admin), and the flags
// --no-cross-namespace-refs --default-service-account=default (plus
// --no-remote-bases). Each tenant has a namespace, a `default` service
// account with rights in that namespace only, and a Git repository. Tenant
// A tries every way out; each attempt must be denied, applied nowhere, and
// said in status. A Secret planted in the controller's namespace and in
// tenant B's must never show in any log line, event or status.

const RUN = randomBytes(3).toString('hex');
const SHARD = { 'sluice.test/tenants': RUN };
const CONTROLLER_SECRET = `controller-only-${randomBytes(12).toString('hex')}`;
const B_SECRET = `tenant-b-only-${randomBytes(12).toString('hex')}`;

let admin: KubeClient;
let ctl: TestNamespace;
let a: TestNamespace;
let b: TestNamespace;
let root: string;
let server: GitHttpServer;
let repoA: TestRepo;
let repoB: TestRepo;
let proc: ControllerProcess;
let clusterRoleName: string;
const marker = () => join(root, 'exec-ran');

const cm = (name: string, ns?: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${ns ? `  namespace: ${ns}\n` : ''}data:\n  tenant: a\n`;

async function post(path: string, body: Record<string, unknown>): Promise<void> {
  await admin.request({ method: 'POST', path, body });
}

async function ks(ns: string, name: string, spec: Record<string, unknown>): Promise<void> {
  await post(ksPath(ns), {
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name, labels: SHARD },
    spec: { interval: '1h', retryInterval: '5s', prune: true, sourceRef: { kind: 'GitRepository', name: 'repo' }, ...spec },
  });
}

async function readyState(path: string, what: string, pred: (status: string, message: string, reason: string) => boolean, timeoutMs = 90_000): Promise<{ status: string; message: string; reason: string }> {
  return eventually(
    what,
    async () => {
      const o = await admin.request<FluxObject>({ path });
      const r = readyOf(o);
      return r && pred(r.status, r.message, r.reason) ? r : undefined;
    },
    timeoutMs,
  );
}

const denied = (ns: string, name: string, pattern: RegExp) =>
  readyState(`${ksPath(ns, name)}`, `Kustomization ${ns}/${name} denied with ${pattern}`, (s, m) => s === 'False' && pattern.test(m));

async function exists(path: string): Promise<boolean> {
  try {
    await admin.request({ path });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** The tenant's `default` service account, with every right in its namespace and none elsewhere. */
async function tenantRbac(ns: string): Promise<void> {
  await post(`/api/v1/namespaces/${ns}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } }).catch(() => {});
  await post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'tenant-admin' },
    rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
  });
  for (const sa of ['default']) {
    await post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: `tenant-admin-${sa}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'tenant-admin' },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
    });
  }
  // A second account that may touch ConfigMaps only: what it is denied, the controller must not lend it.
  await post(`/api/v1/namespaces/${ns}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'configmaps-only' } });
  await post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'configmaps-only' },
    rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['*'] }],
  });
  await post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'configmaps-only' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmaps-only' },
    subjects: [{ kind: 'ServiceAccount', name: 'configmaps-only', namespace: ns }],
  });
}

before(async () => {
  admin = await adminClient();
  ctl = await testNamespace('tenants-ctl');
  a = await testNamespace('tenant-a');
  b = await testNamespace('tenant-b');
  root = await mkdtemp(join(tmpdir(), 'sluice-tenants-'));
  await new ResourceManager(admin).apply(allCrds() as KubeObject[]);

  // The controller's RBAC exactly as `sluice install --multi-tenant` writes it, for this namespace.
  const rbac = installManifests({ namespace: ctl.name, image: 'unused@sha256:0', replicas: 0, multiTenant: true, version: 'test' }).filter((o) =>
    ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(o.kind),
  );
  assert.ok(!rbac.some((o) => (o as { roleRef?: { name: string } }).roleRef?.name === 'cluster-admin'), 'no cluster-admin with --multi-tenant');
  clusterRoleName = rbac.find((o) => o.kind === 'ClusterRole')!.metadata.name!;
  await new ResourceManager(admin).apply(rbac);
  const token = (
    await admin.request<{ status: { token: string } }>({
      method: 'POST',
      path: `/api/v1/namespaces/${ctl.name}/serviceaccounts/sluice-controller/token`,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
    })
  ).status.token;
  const adminConfig = await readFile(await testKubeconfig(), 'utf8');
  const server0 = /server: (\S+)/.exec(adminConfig)![1]!;
  const ca = /certificate-authority-data: (\S+)/.exec(adminConfig)![1]!;
  const kubeconfig = join(root, 'controller.kubeconfig');
  await writeFile(
    kubeconfig,
    `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "${server0}", certificate-authority-data: ${ca}}}]\nusers: [{name: sluice-controller, user: {token: ${token}}}]\ncontexts: [{name: c, context: {cluster: c, user: sluice-controller}}]\ncurrent-context: c\n`,
    { mode: 0o600 },
  );
  // As a pod's mounted token would be: a file the controller can read.
  await writeFile(join(root, 'token'), token, { mode: 0o600 });

  for (const t of [a, b]) await tenantRbac(t.name);
  await post(`/api/v1/namespaces/${ctl.name}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'controller-credentials' }, stringData: { token: CONTROLLER_SECRET } });
  await post(`/api/v1/namespaces/${b.name}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'b-credentials' }, stringData: { PASSWORD: B_SECRET } });
  await post(`/api/v1/namespaces/${a.name}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'a-db' }, stringData: { PASSWORD: 'a-db-password-1234' } });
  // Kubeconfigs that would lend tenant A the controller's own identity, or run a program in it.
  const kc = (user: string) =>
    `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "${server0}", certificate-authority-data: ${ca}}}]\nusers: [{name: u, user: ${user}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n`;
  await post(`/api/v1/namespaces/${a.name}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'steal-token-file' }, stringData: { value: kc(`{tokenFile: "${join(root, 'token')}"}`) } });
  await post(`/api/v1/namespaces/${a.name}/secrets`, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'steal-exec' },
    stringData: { value: kc(`{exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh, args: ["-c", "touch ${marker()}; echo '{\\"apiVersion\\":\\"client.authentication.k8s.io/v1\\",\\"kind\\":\\"ExecCredential\\",\\"status\\":{\\"token\\":\\"'$(cat ${join(root, 'token')})'\\"}}'"], interactiveMode: Never}}`) },
  });

  server = await startGitHttpServer({ root: join(root, 'git') });
  repoA = await TestRepo.create(join(root, 'git'), 'tenant-a', { defaultBranch: 'main' });
  repoB = await TestRepo.create(join(root, 'git'), 'tenant-b', { defaultBranch: 'main' });
  await repoA.commitFiles(
    {
      'own/cm.yaml': cm('a-own'),
      'into-b/cm.yaml': cm('a-was-here', b.name),
      'cluster-scoped/ns.yaml': `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: evil-${RUN}\n`,
      'cluster-scoped/role.yaml': `apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: evil-${RUN}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: ServiceAccount, name: default, namespace: ${a.name}}]\n`,
      'subst/cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a-stolen\ndata:\n  stolen: "\${PASSWORD}"\n`,
      'remote/kustomization.yaml': 'resources:\n- https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v5.0.0\n',
      'charts/evil/Chart.yaml': 'apiVersion: v2\nname: evil\nversion: 1.0.0\n',
      'charts/evil/templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: helm-{{ .Release.Name }}\ndata:\n  tenant: a\n',
    },
    'tenant a',
  );
  await repoA.push();
  await repoB.commitFiles({ 'app/cm.yaml': cm('b-own') }, 'tenant b');
  await repoB.push();

  for (const [t, repo] of [[a, repoA], [b, repoB]] as const) {
    await post(gitPath(t.name), {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'GitRepository',
      metadata: { name: 'repo', labels: SHARD },
      spec: { url: server.url(repo === repoA ? "tenant-a" : "tenant-b"), interval: '1h', timeout: '20s', ref: { branch: 'main' } },
    });
  }

  proc = ControllerProcess.start(
    'tenants',
    controllerArgs({
      kubeconfig,
      dataDir: join(root, 'data'),
      extra: ['--no-cross-namespace-refs', '--default-service-account=default', '--no-remote-bases', `--watch-label-selector=sluice.test/tenants=${RUN}`, '--log-encoding=json', '--log-level=debug'],
    }),
  );
  await readyState(gitPath(a.name, 'repo'), 'tenant A source', (s) => s === 'True', 120_000);
  await readyState(gitPath(b.name, 'repo'), 'tenant B source', (s) => s === 'True', 120_000);
});

after(async () => {
  await closeAll(
    proc && (() => proc.stop(10_000)),
    admin && a && (() => dropFinalizers(admin, a.name).catch(() => {})),
    admin && b && (() => dropFinalizers(admin, b.name).catch(() => {})),
    ...[a, b, ctl].map((t) => t && (() => t.cleanup())),
    admin && clusterRoleName && (() => admin.request({ method: 'DELETE', path: `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${clusterRoleName}` }).then(() => {}, () => {})),
    admin && clusterRoleName && (() => admin.request({ method: 'DELETE', path: `/apis/rbac.authorization.k8s.io/v1/clusterroles/${clusterRoleName}` }).then(() => {}, () => {})),
    admin && (() => admin.request({ method: 'DELETE', path: `/api/v1/namespaces/evil-${RUN}` }).then(() => {}, () => {})),
    admin && (() => admin.request({ method: 'DELETE', path: `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/evil-${RUN}` }).then(() => {}, () => {})),
    server && (() => server.close()),
    repoA && (() => repoA.dispose()),
    repoB && (() => repoB.dispose()),
    root && (() => rm(root, { recursive: true, force: true })),
  );
});

test('each tenant applies its own namespace as its default service account (the control case)', async () => {
  await ks(a.name, 'own', { path: './own', targetNamespace: a.name });
  await ks(b.name, 'own', { path: './app', targetNamespace: b.name });
  await readyState(ksPath(a.name, 'own'), 'A own Ready', (s) => s === 'True');
  await readyState(ksPath(b.name, 'own'), 'B own Ready', (s) => s === 'True');
  assert.ok(await exists(`/api/v1/namespaces/${a.name}/configmaps/a-own`));
  assert.ok(await exists(`/api/v1/namespaces/${b.name}/configmaps/b-own`));
});

test("A deploys into B's namespace (metadata.namespace and targetNamespace): forbidden, nothing applied", async () => {
  await ks(a.name, 'into-b', { path: './into-b' });
  await ks(a.name, 'target-b', { path: './own', targetNamespace: b.name });
  for (const name of ['into-b', 'target-b']) {
    const r = await denied(a.name, name, /forbidden/);
    assert.match(r.message, new RegExp(`system:serviceaccount:${a.name}:default`), r.message);
  }
  assert.equal(await exists(`/api/v1/namespaces/${b.name}/configmaps/a-was-here`), false);
  assert.equal(await exists(`/api/v1/namespaces/${b.name}/configmaps/a-own`), false);
});

test('A creates cluster-scoped objects (a Namespace, a ClusterRoleBinding to cluster-admin): forbidden, none applied', async () => {
  await ks(a.name, 'cluster', { path: './cluster-scoped' });
  const r = await denied(a.name, 'cluster', /forbidden/);
  assert.match(r.message, /(namespaces|clusterrolebindings)/);
  assert.equal(await exists(`/api/v1/namespaces/evil-${RUN}`), false);
  assert.equal(await exists(`/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/evil-${RUN}`), false);
});

test("A references B's source: refused by --no-cross-namespace-refs, named in status", async () => {
  await ks(a.name, 'b-source', { path: './app', targetNamespace: a.name, sourceRef: { kind: 'GitRepository', name: 'repo', namespace: b.name } });
  const r = await denied(a.name, 'b-source', /cross-namespace/i);
  assert.match(r.message, new RegExp(b.name));
  assert.equal(await exists(`/api/v1/namespaces/${a.name}/configmaps/b-own`), false);
});

test("A reads B's Secret or a Secret its account may not read through postBuild.substituteFrom: not found / forbidden, nothing applied", async () => {
  // substituteFrom names no namespace: B's Secret is looked for in A, as A.
  await ks(a.name, 'subst-b', { path: './subst', targetNamespace: a.name, postBuild: { substituteFrom: [{ kind: 'Secret', name: 'b-credentials' }] } });
  await denied(a.name, 'subst-b', /b-credentials.*not found|not found.*b-credentials/);
  // The Secret is in A, but the account the Kustomization runs as may not read Secrets: the controller's own right to read them is not lent.
  await ks(a.name, 'subst-sa', { path: './subst', targetNamespace: a.name, serviceAccountName: 'configmaps-only', postBuild: { substituteFrom: [{ kind: 'Secret', name: 'a-db' }] } });
  const r = await denied(a.name, 'subst-sa', /forbidden/);
  assert.match(r.message, new RegExp(`system:serviceaccount:${a.name}:configmaps-only`));
  assert.equal(await exists(`/api/v1/namespaces/${a.name}/configmaps/a-stolen`), false);
});

test('A impersonates another account through serviceAccountName: only accounts of its own namespace, with their rights', async () => {
  // The controller's own account's name, and a name that tries to reach another namespace.
  await ks(a.name, 'as-controller', { path: './into-b', serviceAccountName: 'sluice-controller' });
  await ks(a.name, 'as-kube-system', { path: './into-b', serviceAccountName: 'kube-system:default' });
  const r1 = await denied(a.name, 'as-controller', /forbidden/);
  assert.match(r1.message, new RegExp(`system:serviceaccount:${a.name}:sluice-controller`), 'the name is taken in A, not the controller namespace');
  await denied(a.name, 'as-kube-system', /spec\.serviceAccountName "kube-system:default" is not a service account name/);
  assert.equal(await exists(`/api/v1/namespaces/${b.name}/configmaps/a-was-here`), false);
});

test("A reads the controller's credentials through kubeConfig (a token file, an exec plugin): refused before use, the program never runs", async () => {
  await ks(a.name, 'kc-file', { path: './own', targetNamespace: a.name, kubeConfig: { secretRef: { name: 'steal-token-file' } } });
  await ks(a.name, 'kc-exec', { path: './own', targetNamespace: a.name, kubeConfig: { secretRef: { name: 'steal-exec' } } });
  const r1 = await denied(a.name, 'kc-file', /tokenFile is refused/);
  assert.match(r1.message, new RegExp(`kubeconfig Secret '${a.name}/steal-token-file'`));
  await denied(a.name, 'kc-exec', /exec is refused/);
  assert.equal(existsSync(marker()), false, 'the exec plugin never ran');
});

test("A has the controller's own token minted and sent to a server of its choosing through kubeConfig.configMapRef: refused, no request made", async () => {
  const seen: string[] = [];
  const trap = http.createServer((req, res) => {
    seen.push(String(req.headers.authorization ?? ''));
    res.writeHead(401).end();
  });
  await new Promise<void>((r) => trap.listen(0, '127.0.0.1', () => r()));
  try {
    const address = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;
    // The audience of this cluster's API server, so that the token would work there.
    await post(`/api/v1/namespaces/${a.name}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'steal-identity' }, data: { provider: 'generic', address, audiences: 'https://kubernetes.default.svc.cluster.local' } });
    await ks(a.name, 'kc-configmap', { path: './own', targetNamespace: a.name, kubeConfig: { configMapRef: { name: 'steal-identity' } } });
    const r = await denied(a.name, 'kc-configmap', /no serviceAccountName, and with --default-service-account/);
    assert.match(r.message, new RegExp(`'${a.name}/steal-identity'`));
    assert.deepEqual(seen, [], 'nothing reached the trap');
  } finally {
    await new Promise<void>((r) => trap.close(() => r()));
  }
});

test('A fetches a remote base: refused by --no-remote-bases', async () => {
  await ks(a.name, 'remote', { path: './remote', targetNamespace: a.name });
  await denied(a.name, 'remote', /remote base.*--no-remote-bases/);
});

test("A escapes through a HelmRelease's targetNamespace and storageNamespace: forbidden, no release anywhere", async () => {
  const hr = (name: string, extra: Record<string, unknown>) =>
    post(`/apis/helm.toolkit.fluxcd.io/v2/namespaces/${a.name}/helmreleases`, {
      apiVersion: 'helm.toolkit.fluxcd.io/v2',
      kind: 'HelmRelease',
      metadata: { name, labels: SHARD },
      spec: {
        interval: '1h',
        timeout: '1m',
        chart: { spec: { chart: './charts/evil', sourceRef: { kind: 'GitRepository', name: 'repo' } }, metadata: { labels: SHARD } },
        install: { remediation: { retries: 0 } },
        ...extra,
      },
    });
  await hr('target-b', { targetNamespace: b.name });
  await hr('storage-b', { storageNamespace: b.name });
  await hr('source-b', { chart: { spec: { chart: './app', sourceRef: { kind: 'GitRepository', name: 'repo', namespace: b.name } }, metadata: { labels: SHARD } } });
  const hrPath = (n: string) => `/apis/helm.toolkit.fluxcd.io/v2/namespaces/${a.name}/helmreleases/${n}`;
  for (const name of ['target-b', 'storage-b']) {
    const r = await readyState(hrPath(name), `HelmRelease ${name} denied`, (s, m) => s === 'False' && /forbidden/.test(m), 180_000);
    assert.match(r.message, new RegExp(`system:serviceaccount:${a.name}:default`), r.message);
    assert.match(r.message, new RegExp(b.name), r.message);
  }
  const cross = await readyState(hrPath('source-b'), 'HelmRelease source-b denied', (s, m) => s === 'False' && /cross-namespace references are disabled/.test(m), 120_000);
  assert.match(cross.message, new RegExp(`GitRepository/${b.name}/repo`));
  const inB = await admin.request<{ items: KubeObject[] }>({ path: `/api/v1/namespaces/${b.name}/configmaps` });
  assert.deepEqual(inB.items.map((o) => o.metadata.name).filter((n) => n!.startsWith('helm-')), []);
  const secrets = await admin.request<{ items: KubeObject[] }>({ path: `/api/v1/namespaces/${b.name}/secrets?labelSelector=owner%3Dhelm` });
  assert.deepEqual(secrets.items, [], 'no Helm storage in B');
});

test("B's objects are as B left them, and no planted secret shows in the controller's log, events or status", async () => {
  const bObjects = await admin.request<{ items: KubeObject[] }>({ path: `/api/v1/namespaces/${b.name}/configmaps` });
  assert.deepEqual(bObjects.items.map((o) => o.metadata.name).filter((n) => n !== 'kube-root-ca.crt').sort(), ['b-own', 'sluice-history-own'].filter((n) => bObjects.items.some((o) => o.metadata.name === n)).sort());
  const texts: string[] = [proc.lines.join('\n')];
  for (const t of [a, b, ctl]) {
    texts.push(JSON.stringify(await admin.request({ path: `/api/v1/namespaces/${t.name}/events` })));
    for (const p of [ksPath(t.name), gitPath(t.name), `/apis/helm.toolkit.fluxcd.io/v2/namespaces/${t.name}/helmreleases`]) texts.push(JSON.stringify(await admin.request({ path: p })));
  }
  const all = texts.join('\n');
  assert.ok(all.length > 1000, 'there is something to search');
  for (const s of [CONTROLLER_SECRET, B_SECRET, 'a-db-password-1234']) assert.ok(!all.includes(s), `a planted secret leaked: ${s.slice(0, 12)}...`);
  // The controller had every right it needed: none of its own requests was refused.
  const own = `system:serviceaccount:${ctl.name}:sluice-controller`;
  const refusedOwn = proc.lines.filter((l) => l.includes(own) && /forbidden/i.test(l));
  assert.deepEqual(refusedOwn.slice(0, 3), [], 'the --multi-tenant ClusterRole lacks a right the controller used');
  const token = await readFile(join(root, 'token'), 'utf8');
  assert.ok(!all.includes(token), "the controller's token leaked");
});
